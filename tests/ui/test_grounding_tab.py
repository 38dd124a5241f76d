"""The Grounding tab of the step detail, on the demo RAG chain."""

from __future__ import annotations

from spanscope.ui.detail.grounding import SHARED_BACKGROUND
from spanscope.ui.detail.panel import GROUNDING_TAB

RAG = "62f746b484e61ceb95bd447e7184d454"
RAG_LLM, RETRIEVER = "d2ab5d67c074a644", "1b2ba06b6ae12c97"
TRAVEL, TRAVEL_CHAT = "214119cf6d84cc7956364be9b85993a7", "a35ffc5b8ba060f1"


def select(qtbot, panel, trace_id, span_id):
    panel.context.select_trace(trace_id)
    panel.context.select_span(span_id)
    qtbot.waitUntil(lambda: panel.span is not None and panel.span.span_id == span_id)


def test_grounding_tab_shows_sentences_passages_and_the_caveat(qtbot, panel):
    select(qtbot, panel, RAG, RAG_LLM)
    assert panel.tabs.isTabVisible(GROUNDING_TAB)
    panel.tabs.setCurrentIndex(GROUNDING_TAB)
    text = panel.grounding.text()
    assert text.startswith("Lexical evidence, not proof.")
    assert "3 documents, retrieved by retrieve_documents before this call" in text
    assert "1. 0.00 possibly not grounded" in text
    assert "4. 0.60 supported" in text
    assert "retrieve_documents #2 (kb-warranty-004)" in text
    assert SHARED_BACKGROUND in panel.grounding.browser.toHtml()


def test_grounding_tab_is_disabled_without_documents(qtbot, panel):
    select(qtbot, panel, RAG, RETRIEVER)
    assert not panel.tabs.isTabVisible(GROUNDING_TAB)
    select(qtbot, panel, TRAVEL, TRAVEL_CHAT)
    assert not panel.tabs.isTabVisible(GROUNDING_TAB)
    assert panel.grounding.text() == ""
