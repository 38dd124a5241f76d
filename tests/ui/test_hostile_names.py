"""Trace data that looks like markup shows as written in the trace list and the span tree: a
tooltip Qt took for rich text would render `<b>` in bold, and `<img src="/dev/zero">` would make Qt
read /dev/zero until it aborts."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from tooltips import shown_text

from otlp import llm, request, span, write_jsonl
from spanscope.core.store import Outcome, import_file
from spanscope.ui.context import QtTraceContext
from spanscope.ui.span_tree import QtSpanTreePanel
from spanscope.ui.trace_list import QtTraceListPanel

IMAGE = '<img src="/dev/zero">'
BOLD = "<b>bold</b> & <i>more</i>"
TRACE = "0af7651916cd43dd8448eb211c80319c"


@pytest.fixture
def hostile_context(qtbot, tmp_path):
    trace = request(
        span("a" * 16, name=IMAGE, end=9_000, attrs={"session.id": BOLD, "user.id": IMAGE}),
        llm("b" * 16, "a" * 16, IMAGE, 10, 5, name=BOLD, error=IMAGE),
        service=BOLD,
    )
    store = tmp_path / "store.db"
    assert import_file(store, write_jsonl(tmp_path / "t.jsonl", trace)).outcome is Outcome.IMPORTED
    context = QtTraceContext()
    context.open_store(store)
    yield context
    context.close_store()


def tooltips(model) -> list[str]:
    tips = []
    for row in range(model.rowCount()):
        for column in range(model.columnCount()):
            tip = model.index(row, column).data(Qt.ItemDataRole.ToolTipRole)
            if tip:
                tips.append(tip)
    return tips


def assert_literal(tips: list[str], *wanted: str) -> None:
    """No tooltip carries markup from the trace, and the hostile texts show as written."""
    for tip in tips:
        assert "<img" not in tip and "<b>" not in tip, tip
    shown = "\n".join(shown_text(tip) for tip in tips)
    for text in wanted:
        assert text in shown


def test_the_trace_lists_tooltips_show_markup_as_text(qtbot, hostile_context):
    panel = QtTraceListPanel(hostile_context)
    qtbot.addWidget(panel)
    assert panel.model.rowCount() == 1
    assert_literal(tooltips(panel.model), IMAGE, IMAGE)


def test_the_span_trees_tooltips_show_markup_as_text(qtbot, hostile_context):
    panel = QtSpanTreePanel(hostile_context)
    qtbot.addWidget(panel)
    hostile_context.select_trace(TRACE)
    panel.expand_all()
    assert panel.model.rowCount() == 2
    assert_literal(tooltips(panel.model), IMAGE, BOLD)
    model_tip = shown_text(panel.model.index(1, 4).data(Qt.ItemDataRole.ToolTipRole))
    status_tip = shown_text(panel.model.index(1, 5).data(Qt.ItemDataRole.ToolTipRole))
    assert model_tip.startswith(IMAGE) and status_tip == IMAGE


def test_the_trace_header_shows_markup_as_text(qtbot, hostile_context):
    from spanscope.core.model import Score
    from spanscope.core.store.queries import get_trace

    panel = QtSpanTreePanel(hostile_context)
    qtbot.addWidget(panel)
    hostile_context.select_trace(TRACE)
    header = panel.header
    trace = get_trace(hostile_context.db, TRACE)
    header.set_trace(trace, [("b" * 16, Score(IMAGE, label=BOLD)), ("", Score(BOLD, 1.0))], {"b" * 16: IMAGE})
    for label in (header.title, header.scores):
        assert "<img" not in label.text() and "<b>bold" not in label.text()
    assert IMAGE in shown_text(header.title.text()) and BOLD in shown_text(header.title.text())
    scores = shown_text(header.scores.text())
    assert f"{IMAGE} {BOLD} on {IMAGE}" in scores and f"{BOLD} 1" in scores
    assert_literal([header.title.toolTip(), header.scores.toolTip()], IMAGE, BOLD)
