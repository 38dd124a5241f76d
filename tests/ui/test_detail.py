"""The step detail panel shows the selected span's content, attributes, events and usage."""

from __future__ import annotations

import base64
import json
import time

import pytest
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QColor, QGuiApplication, QTextDocument
from qt_images import png
from rich_links import follow_link

from spanscope.core.model import Event, Kind, Score, Span, Status, message
from spanscope.core.presentation.content import PREVIEW_CHARS, attribute_rows
from spanscope.ui.detail import QtDetailPanel
from spanscope.ui.detail.panel import EVENTS_TAB, SCORES_TAB
from spanscope.ui.style import ERROR_COLOR

RAG = "62f746b484e61ceb95bd447e7184d454"
RAG_LLM, RETRIEVER = "d2ab5d67c074a644", "1b2ba06b6ae12c97"
TRAVEL = "214119cf6d84cc7956364be9b85993a7"
TRAVEL_FIRST_CHAT, TRAVEL_THIRD_CHAT = "a35ffc5b8ba060f1", "7fd3cab26b5ec28a"
FAILED_TOOL = "a5e833b64580daa6"
TEN_MB = 10_000_000


def select(qtbot, panel, trace_id: str, span_id: str) -> Span:
    panel.context.select_trace(trace_id)
    panel.context.select_span(span_id)
    qtbot.waitUntil(lambda: panel.span is not None and panel.span.span_id == span_id)
    return panel.span


def form_values(panel) -> dict[str, str]:
    return panel.usage.rows()


def synthetic(**fields) -> Span:
    defaults = {"trace_id": "t" * 32, "span_id": "s" * 16, "parent_id": None, "name": "synthetic"}
    return Span(**(defaults | {"start_ns": 1_000_000_000, "end_ns": 3_000_000_000} | fields))


def png_data_url(width: int, height: int) -> str:
    return "data:image/png;base64," + base64.b64encode(png(width, height)).decode()


# --- Input / Output ------------------------------------------------------------------------------


def test_llm_span_shows_its_messages_as_a_conversation(qtbot, panel):
    select(qtbot, panel, RAG, RAG_LLM)
    assert "ChatCompletion" in panel.header.title.text()
    assert "gpt-4o-mini-2024-07-18" in panel.header.title.text()
    assert panel.input.view.currentWidget() is panel.input.view.rich
    assert "2 messages" in panel.input.heading.text()
    shown_input = panel.input.view.rich.text()
    assert "SYSTEM" in shown_input and "USER" in shown_input
    assert "You are Brightline Assist" in shown_input
    assert "left earcup crackles" in shown_input
    shown_output = panel.output.view.rich.text()
    assert "ASSISTANT" in shown_output
    assert "Sorry to hear about the crackling!" in shown_output


def test_tool_calls_show_name_and_arguments_and_results_link_to_their_call(qtbot, panel):
    select(qtbot, panel, TRAVEL, TRAVEL_THIRD_CHAT)
    shown_input = panel.input.view.rich.text()
    assert 'calls get_weather(location="Lisbon, Portugal", start_date="2026-11-27"' in shown_input
    assert "TOOL · result of get_weather:" in shown_input
    assert '"location": "Lisbon, PT"' in shown_input and '"precip_prob": 65' not in shown_input  # folded
    assert "calls search_flights" in shown_input and '"max_stops": 0' in shown_input  # too long for a line
    follow_link(panel.input.view.rich.browser, "Show all")
    assert '"precip_prob": 65' in panel.input.view.rich.text()  # the JSON tool result is indented
    html = panel.input.view.rich.browser.toHtml()
    assert 'name="call-0"' in html and 'href="#call-0"' in html
    shown_output = panel.output.view.rich.text()
    assert "calls book_hotel" in shown_output
    assert '"max_price_per_night": 170' in shown_output


def test_reasoning_is_shown_apart_from_the_answer(qtbot, panel):
    select(qtbot, panel, TRAVEL, TRAVEL_FIRST_CHAT)
    shown = panel.output.view.rich.text()
    assert shown.index("Reasoning") < shown.index("Lisbon, Nov 27-30") < shown.index("I'll start with")


def test_retriever_shows_documents_with_scores(qtbot, panel):
    select(qtbot, panel, RAG, RETRIEVER)
    assert panel.input.view.currentWidget() is panel.input.view.text
    assert "left earcup crackles" in panel.input.view.text.text()
    assert "3 documents" in panel.output.heading.text()
    shown = panel.output.view.rich.text()
    for doc_id, score in (
        ("kb-returns-001", "0.8712"),
        ("kb-warranty-004", "0.8345"),
        ("kb-returns-007", "0.7611"),
    ):
        assert doc_id in shown and f"score {score}" in shown
    assert shown.index("kb-returns-001") < shown.index("kb-warranty-004") < shown.index("kb-returns-007")
    assert "You can return most Brightline products within 30 days" in shown
    assert "source: help-center/returns/refund-policy.md" in shown


def test_json_input_is_a_collapsible_tree(qtbot, qtmodeltester, panel):
    select(qtbot, panel, TRAVEL, FAILED_TOOL)
    tree = panel.input.view.tree
    assert panel.input.view.currentWidget() is tree
    model = tree.json_model
    qtmodeltester.check(model)
    rows = {model.index(r, 0).data(): model.index(r, 1).data() for r in range(model.rowCount())}
    assert rows["city"] == "Lisbon" and rows["max_price_per_night"] == "170"
    assert "the span failed" in panel.output.view.empty.text()


def test_json_tree_is_lazy_and_passes_the_model_tester(qtbot, qtmodeltester):
    from spanscope.ui.detail.json_tree import FETCH_BATCH, QtJsonTree

    tree = QtJsonTree()
    qtbot.addWidget(tree)
    value = {
        "items": [{"n": i, "tags": ["a", "b"]} for i in range(3 * FETCH_BATCH)],
        "ok": True,
        "none": None,
    }
    tree.set_value(value)
    model = tree.json_model
    items = model.index(0, 0)
    assert (items.data(), model.index(0, 1).data()) == ("items", f"[{3 * FETCH_BATCH} items]")
    assert model.rowCount(items) < 3 * FETCH_BATCH
    while model.canFetchMore(items):
        model.fetchMore(items)
    assert model.rowCount(items) == 3 * FETCH_BATCH
    last = model.index(3 * FETCH_BATCH - 1, 0, items)
    assert last.data() == f"[{3 * FETCH_BATCH - 1}]"
    qtmodeltester.check(model)
    dialog = tree.copying.show_value(last.siblingAtColumn(1))
    assert dialog.view.text().startswith('{\n  "n": ')
    assert json.loads(dialog.view.text()) == {"n": 3 * FETCH_BATCH - 1, "tags": ["a", "b"]}


def test_images_become_thumbnails_and_web_images_are_not_fetched(qtbot, panel):
    content = [
        {"type": "text", "text": "What is in these pictures?"},
        {"type": "image", "url": png_data_url(800, 400)},
        {"type": "image", "url": "https://example.com/cat.png"},
        {"type": "image", "url": None},
    ]
    panel.set_span(synthetic(kind=Kind.LLM, input=[message("user", content)]))
    browser = panel.input.view.rich.browser
    (thumbnail,) = browser.images.values()
    assert (thumbnail.width(), thumbnail.height()) == (240, 120)
    assert "https://example.com/cat.png · Load image" in browser.toPlainText()
    assert 'href="https://example.com/cat.png"' not in browser.toHtml()
    assert "image not included in the trace" in browser.toPlainText()
    image_kind = QTextDocument.ResourceType.ImageResource.value
    assert browser.loadResource(image_kind, QUrl("https://example.com/cat.png")) is None


def test_html_in_content_is_shown_as_text(qtbot, panel):
    panel.set_span(synthetic(input=[message("user", "<b>not bold</b> <img src='http://x/y.png'>")]))
    assert "<b>not bold</b> <img src='http://x/y.png'>" in panel.input.view.rich.text()


# --- Attributes ----------------------------------------------------------------------------------


def test_attributes_filter_narrows_rows_and_copy_works(qtbot, qtmodeltester, panel):
    span = select(qtbot, panel, RAG, RAG_LLM)
    view = panel.attributes
    qtmodeltester.check(view.model)
    assert view.proxy.rowCount() == len(attribute_rows(span))
    assert panel.tabs.tabText(1) == f"Attributes ({len(attribute_rows(span))})"
    assert "resource.service.name" in [view.proxy.index(r, 0).data() for r in range(view.proxy.rowCount())]

    qtbot.keyClicks(view.filter, "TOKEN_COUNT.total")
    assert view.proxy.rowCount() == 1
    assert view.proxy.index(0, 0).data() == "llm.token_count.total"

    view.table.selectAll()
    view.table.setFocus()
    qtbot.keyClick(view.table, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == "llm.token_count.total\t1549"

    view.filter.setText("session")
    assert [view.proxy.index(r, 0).data() for r in range(view.proxy.rowCount())] == ["session.id"]
    menu = view.copying.context_menu(view.proxy.index(0, 0))
    actions = {action.text(): action for action in menu.actions()}
    actions["Copy value"].trigger()
    assert QGuiApplication.clipboard().text() == "sess-demo-17"
    actions["Copy key"].trigger()
    assert QGuiApplication.clipboard().text() == "session.id"


def test_long_attribute_values_are_elided_and_shown_in_full_on_demand(qtbot, panel):
    long_text = "word " * 2000
    panel.set_span(synthetic(attributes={"short": "hi", "long": long_text, "nested": {"a": [1, {"b": 2}]}}))
    view = panel.attributes
    keys = [view.proxy.index(r, 0).data() for r in range(view.proxy.rowCount())]
    assert keys == ["short", "long", "nested.a.0", "nested.a.1.b"]
    long_cell = view.proxy.index(1, 1)
    assert len(long_cell.data()) < 400 and long_cell.data().endswith("…")
    assert "double-click" in long_cell.data(Qt.ItemDataRole.ToolTipRole)
    assert view.proxy.index(0, 1).data(Qt.ItemDataRole.ToolTipRole).endswith(">hi</p>")
    dialog = view.copying.show_value(long_cell)
    assert dialog.windowTitle() == "long"
    assert dialog.view.text() == long_text


def test_json_attribute_values_are_indented_when_shown(qtbot, panel):
    span = select(qtbot, panel, RAG, RAG_LLM)
    view = panel.attributes
    view.filter.setText("llm.invocation_parameters")
    dialog = view.copying.show_value(view.proxy.index(0, 1))
    assert dialog.view.text() == '{\n  "model": "gpt-4o-mini",\n  "temperature": 0.2,\n  "max_tokens": 600\n}'
    assert span.attributes["llm.invocation_parameters"].startswith("{")


# --- Events --------------------------------------------------------------------------------------


def test_failed_tool_shows_exception_and_draws_attention(qtbot, panel):
    select(qtbot, panel, TRAVEL, FAILED_TOOL)
    assert panel.tabs.tabText(EVENTS_TAB) == "Events (1)"
    assert panel.tabs.tabBar().tabTextColor(EVENTS_TAB) == QColor(ERROR_COLOR)
    assert not panel.tabs.tabIcon(EVENTS_TAB).isNull()
    assert "ERROR" in panel.header.title.text()
    assert "Rate FLEX-DBL-BB" in panel.header.message.text()
    shown = panel.events.text()
    assert (
        "travel_agent.integrations.roomgrid.RateUnavailableError: Rate FLEX-DBL-BB at Casa Azulejo" in shown
    )
    assert "Traceback (most recent call last):" in shown
    assert 'File "/srv/travel-agent/travel_agent/tools/hotels.py", line 142, in book_hotel' in shown
    assert "+381 ms" in shown and "2026-11-20 09:37:59.810" in shown
    assert "font-family:'monospace'" in panel.events.browser.toHtml()


def test_events_of_a_healthy_span(qtbot, panel):
    select(qtbot, panel, RAG, RAG_LLM)
    assert panel.tabs.tabText(EVENTS_TAB) == "Events"
    assert panel.tabs.tabIcon(EVENTS_TAB).isNull()
    assert "No events recorded" in panel.events.text()
    events = [Event("retry", 1_500_000_000, {"attempt": 2}), Event("First Token Stream Event", 1_200_000_000)]
    panel.set_span(synthetic(events=events))
    shown = panel.events.text()
    assert shown.index("First Token Stream Event") < shown.index("retry")
    assert "+200 ms" in shown and "+500 ms" in shown and "attempt" in shown


def test_a_failed_span_without_exception_event_says_why(qtbot, panel):
    panel.set_span(synthetic(status=Status.ERROR, status_message="upstream timed out"))
    assert "Span failed" in panel.events.text() and "upstream timed out" in panel.events.text()
    assert panel.tabs.tabBar().tabTextColor(EVENTS_TAB) == QColor(ERROR_COLOR)


# --- Usage ---------------------------------------------------------------------------------------


def test_usage_shows_tokens_cost_source_timing_and_ids(qtbot, panel):
    select(qtbot, panel, RAG, RAG_LLM)
    values = form_values(panel)
    assert values["Input tokens"] == "1,420"
    assert values["of which cached (read)"] == "1,024"
    assert values["Output tokens"] == "129"
    assert values["Total tokens"] == "1,549"
    assert values["Cost"].startswith("~$0.000214 (computed with ")
    assert "gpt-4o-mini" in values["Cost"] and "genai-prices" in values["Cost"]
    assert values["Latency"] == "1.36 s"
    assert values["Time to first token"] == "not recorded"
    assert values["Start"] == "2026-11-20 09:04:12.516 UTC"
    assert values["Trace id"] == RAG and values["Span id"] == RAG_LLM
    assert values["Parent id"] == "36824dd6b80469b8"
    assert values["Session"] == "sess-demo-17" and values["User"] == "user-2291"
    assert values["Service"] == "support-bot" and values["Provider"] == "openai"
    assert values["Scope"] == "openinference.instrumentation.openai 0.1.66"


def test_usage_shows_cache_writes_reasoning_and_reported_cost(qtbot, panel):
    select(qtbot, panel, TRAVEL, TRAVEL_FIRST_CHAT)
    values = form_values(panel)
    assert values["of which cache write"] == "1,282"
    assert values["of which reasoning"] == "212"
    assert "of which cached (read)" not in values
    panel.set_span(synthetic(input_tokens=10, output_tokens=5, cost_usd=0.0123, ttft_ns=250_000_000))
    values = form_values(panel)
    assert values["Cost"] == "$0.0123 (reported by the source)"
    assert values["Time to first token"] == "250 ms"
    assert values["Total tokens"] == "15 (input + output)"
    panel.set_span(synthetic())
    assert form_values(panel)["Tokens"] == "not reported"


# --- large content and clearing ------------------------------------------------------------------


def test_ten_megabytes_render_quickly_and_show_all_loads_everything(qtbot, panel):
    line = "lorem ipsum dolor sit amet, consectetur adipiscing elit " * 2 + "\n"
    big = line * (TEN_MB // len(line)) + "THE END"
    span = synthetic(
        kind=Kind.LLM,
        input=big,
        output=[message("assistant", big)],
        attributes={"input.value": big},
        events=[Event("exception", 2_000_000_000, {"exception.type": "E", "exception.stacktrace": big})],
    )
    started = time.perf_counter()
    panel.set_span(span)
    qtbot.wait(1)
    assert time.perf_counter() - started < 0.5

    text = panel.input.view.text
    assert len(text.text()) <= PREVIEW_CHARS and "THE END" not in text.text()
    assert text.bar.isVisible() and text.bar.button.text() == "Show all (10.0 MB)"
    qtbot.mouseClick(text.bar.button, Qt.MouseButton.LeftButton)
    assert text.text() == big and not text.bar.isVisible()

    rich = panel.output.view.rich
    assert len(rich.text()) <= PREVIEW_CHARS + 100 and rich.bar.isVisible()
    qtbot.mouseClick(rich.bar.button, Qt.MouseButton.LeftButton)
    assert rich.text().rstrip().endswith("THE END") and not rich.bar.isVisible()
    assert not panel.events.bar.isHidden()


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param("QUJD" * (TEN_MB // 4), id="one-10MB-word"),
        pytest.param([{"id": i, "text": "x" * 90} for i in range(100_000)], id="10MB-json"),
        pytest.param([message("user", "QUJD" * (TEN_MB // 4))], id="one-10MB-word-message"),
    ],
)
def test_other_large_inputs_render_quickly(qtbot, panel, payload):
    started = time.perf_counter()
    panel.set_span(synthetic(input=payload))
    qtbot.wait(1)
    assert time.perf_counter() - started < 0.5


def test_none_clears_the_panel(qtbot, panel):
    select(qtbot, panel, TRAVEL, FAILED_TOOL)
    panel.set_span(None)
    assert panel.span is None
    assert "No step selected" in panel.header.title.text()
    assert panel.input.view.currentWidget() is panel.input.view.empty
    assert panel.input.view.tree.json_model.rowCount() == 0
    assert panel.attributes.model.rowCount() == 0
    assert panel.events.text() == ""
    assert panel.usage.rows() == {}
    assert panel.tabs.tabText(EVENTS_TAB) == "Events"
    assert panel.tabs.tabIcon(EVENTS_TAB).isNull()
    assert not panel.tabs.isEnabled()


def test_the_panel_follows_the_context(qtbot, panel):
    select(qtbot, panel, RAG, RAG_LLM)
    panel.context.select_trace(TRAVEL)
    assert panel.span is None
    select(qtbot, panel, TRAVEL, FAILED_TOOL)
    panel.context.close_store()
    assert panel.span is None and panel.attributes.model.rowCount() == 0


def test_a_panel_registered_later_shows_the_current_span(qtbot, context):
    late = QtDetailPanel()
    qtbot.addWidget(late)
    context.select_trace(RAG)
    context.select_span(RETRIEVER)
    qtbot.waitUntil(lambda: context.span_id == RETRIEVER)
    context.register(late)
    assert late.span is not None and late.span.span_id == RETRIEVER


def test_scores_tab_lists_each_score_with_who_gave_it_and_why(qtbot, panel):
    span = Span(
        "t",
        "s",
        None,
        "answer",
        0,
        10,
        scores=[
            Score("correctness", 0.5, comment="cites the wrong year", source="LLM"),
            Score("helpful", 1.0, label="yes", source="HUMAN", trace_level=True),
        ],
    )
    panel.set_span(span)
    assert panel.tabs.tabText(SCORES_TAB) == "Scores (2)"
    shown = panel.scores.text()
    assert "correctness  0.5  LLM" in shown and "cites the wrong year" in shown
    assert "helpful  yes (1)  HUMAN · whole trace" in shown
    panel.set_span(Span("t", "s", None, "plain", 0, 10))
    assert panel.tabs.tabText(SCORES_TAB) == "Scores"
    assert "No scores on this span." in panel.scores.text()
