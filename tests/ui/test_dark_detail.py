"""The step detail on a dark palette: every colour written into its rich text and its JSON tree
reads there (a pale highlight behind light text, or dark text, would not)."""

from __future__ import annotations

import re

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QLabel, QTextEdit
from test_layout import contrast

from spanscope.ui.detail.json_tree import QtJsonTree
from spanscope.ui.detail.panel import EVENTS_TAB, GROUNDING_TAB, IO_TAB, SCORES_TAB, USAGE_TAB
from spanscope.ui.style import ColorScheme, apply_color_scheme
from spanscope.ui.trace_diff import word_diff_html

RAG = "62f746b484e61ceb95bd447e7184d454"
RAG_LLM, RETRIEVER = "d2ab5d67c074a644", "1b2ba06b6ae12c97"
TRAVEL = "214119cf6d84cc7956364be9b85993a7"
TRAVEL_CHAT, FAILED_TOOL, FLIGHTS_TOOL = "a35ffc5b8ba060f1", "a5e833b64580daa6", "7288ad316e472364"
#: (trace, span, tab) shown: the grounding of a RAG answer, a retriever's documents, a failed tool's
#: exception event, a model call's usage and scores, a tool's JSON output.
SHOWN = [
    (RAG, RAG_LLM, GROUNDING_TAB),
    (RAG, RETRIEVER, IO_TAB),
    (TRAVEL, FAILED_TOOL, EVENTS_TAB),
    (TRAVEL, TRAVEL_CHAT, USAGE_TAB),
    (TRAVEL, TRAVEL_CHAT, SCORES_TAB),
    (TRAVEL, FLIGHTS_TOOL, IO_TAB),
]
_COLOR = re.compile(r"(background-color|background|color)\s*:\s*(#[0-9a-fA-F]{6})")
#: A score bar's cells: a drawing made of block glyphs, its empty cells dark on purpose, not text.
_BAR = re.compile(r'<span style="[^"]*">█+</span>')
#: Least contrast of coloured text on the base, and of the palette's text on a background colour.
TEXT_CONTRAST, BACKGROUND_CONTRAST = 3.0, 4.5


@pytest.fixture
def dark(qapp):
    palette, scheme = QPalette(qapp.palette()), qapp.property("spanscope_color_scheme")
    apply_color_scheme(qapp, ColorScheme.DARK)
    yield QGuiApplication.palette()
    qapp.setProperty("spanscope_color_scheme", scheme)
    qapp.setPalette(palette)


def unreadable(html: str, palette: QPalette) -> list[str]:
    """The colours of `html` that do not read on `palette`: text colours too close to its base,
    backgrounds too close to its text."""
    base, text = palette.color(QPalette.ColorRole.Base), palette.color(QPalette.ColorRole.Text)
    bad = []
    for prop, value in _COLOR.findall(_BAR.sub("", html)):
        if prop == "color" and contrast(QColor(value), base) < TEXT_CONTRAST:
            bad.append(f"text {value}")
        elif prop != "color" and contrast(text, QColor(value)) < BACKGROUND_CONTRAST:
            bad.append(f"background {value}")
    return bad


def shown_html(panel) -> list[str]:
    """The rich text of every text view and label of the panel that is showing."""
    views = [v.toHtml() for v in panel.findChildren(QTextEdit) if v.isVisible()]
    return views + [label.text() for label in panel.findChildren(QLabel) if label.isVisible()]


@pytest.mark.parametrize("trace_id, span_id, tab", SHOWN)
def test_the_detail_reads_on_a_dark_palette(qtbot, dark, panel, trace_id, span_id, tab):
    panel.context.select_trace(trace_id)
    panel.context.select_span(span_id)
    qtbot.waitUntil(lambda: panel.span is not None and panel.span.span_id == span_id)
    panel.tabs.setCurrentIndex(tab)
    qtbot.wait(50)
    html = shown_html(panel)
    assert _COLOR.search("".join(html))  # something coloured is shown, to be checked
    assert [bad for h in html for bad in unreadable(h, dark)] == []
    base = dark.color(QPalette.ColorRole.Base)
    for tree in (t for t in panel.findChildren(QtJsonTree) if t.isVisible()):
        model = tree.model()
        for row in range(model.rowCount(QModelIndex())):
            color = model.index(row, 1, QModelIndex()).data(Qt.ItemDataRole.ForegroundRole)
            assert contrast(color, base) >= TEXT_CONTRAST, color.name()


def test_a_word_diff_reads_on_a_dark_palette(dark):
    html = word_diff_html([("same", "the "), ("removed", "old"), ("added", "new"), ("same", " words")])
    assert unreadable(html, dark) == []


def test_a_detail_shown_before_the_palette_turns_dark_is_written_again(qtbot, qapp, panel):
    """Grounding highlights and the error message chosen under the light palette follow it to dark."""
    panel.context.select_trace(RAG)
    panel.context.select_span(RAG_LLM)
    qtbot.waitUntil(lambda: panel.span is not None and panel.span.span_id == RAG_LLM)
    panel.tabs.setCurrentIndex(GROUNDING_TAB)
    light = panel.grounding.browser.toHtml()
    palette, scheme = QPalette(qapp.palette()), qapp.property("spanscope_color_scheme")
    try:
        apply_color_scheme(qapp, ColorScheme.DARK)
        qtbot.wait(20)
        dark = QGuiApplication.palette()
        assert unreadable(light, dark)  # what was shown would not read
        assert unreadable(panel.grounding.browser.toHtml(), dark) == []
    finally:
        qapp.setProperty("spanscope_color_scheme", scheme)
        qapp.setPalette(palette)
