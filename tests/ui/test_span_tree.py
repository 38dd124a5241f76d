"""The span tree: a lazy model Qt accepts, batches for wide parents, search, expansion, selection sync."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QStyleOptionViewItem

from otlp import request, span, write_jsonl
from spanscope.core.store import Outcome, import_file
from spanscope.core.store.queries import SpanRows
from spanscope.core.tree import TraceTree
from spanscope.ui.span_tree import (
    BATCH,
    COST,
    LATENCY,
    NAME,
    STATUS,
    TOKENS,
    QtSpanTreeModel,
    QtSpanTreePanel,
    QtStatusDelegate,
    load_tree,
)

BIG = "85786481e3f06890be8c04d490a4078a"
AGENT = "214119cf6d84cc7956364be9b85993a7"


@pytest.fixture
def panel(qtbot, context):
    widget = QtSpanTreePanel(context)
    qtbot.addWidget(widget)
    widget.resize(1000, 500)
    return widget


def shown(model: QtSpanTreeModel, parent: QModelIndex = QModelIndex()) -> list[QModelIndex]:  # noqa: B008
    """Every index the model offers, depth first, fetching all batches."""
    while model.canFetchMore(parent):
        model.fetchMore(parent)
    found = []
    for row in range(model.rowCount(parent)):
        index = model.index(row, NAME, parent)
        found += [index, *shown(model, index)]
    return found


def names(model: QtSpanTreeModel, indexes: list[QModelIndex]) -> list[str]:
    return [model.data(i) for i in indexes]


def wide_rows(children: int) -> SpanRows:
    """A root with `children` children, as trace_rows would give them."""

    def row(span_id: str, parent_id: str | None, start: int) -> dict[str, Any]:
        fields = {"span_id": span_id, "parent_id": parent_id, "name": span_id, "kind": "TOOL"}
        return fields | {"start_ns": start, "end_ns": start + 1, "status": "unset"}

    return SpanRows.from_dicts([row("root", None, 0)] + [row(f"c{i}", "root", i) for i in range(children)])


@pytest.mark.parametrize("query", ["", "chat", "status:error", "no such span"])
def test_the_model_passes_qts_model_tester(qtmodeltester, context, query):
    model = QtSpanTreeModel()
    model.set_tree(load_tree(context, BIG), query)
    qtmodeltester.check(model, force_py=True)


def test_a_wide_parent_loads_in_batches(qtmodeltester):
    model = QtSpanTreeModel()
    model.set_tree(TraceTree.build(wide_rows(2 * BATCH + 500)))
    root = model.index(0, 0)
    assert model.rowCount(root) == BATCH and model.canFetchMore(root)
    model.fetchMore(root)
    assert model.rowCount(root) == 2 * BATCH
    index = model.index_of("c2400")
    assert (index.row(), model.rowCount(root), model.canFetchMore(root)) == (2400, 2 * BATCH + 500, False)
    assert model.span_id(index) == "c2400" and index.parent() == root
    qtmodeltester.check(model, force_py=True)


def test_the_panel_shows_the_trace_with_roll_ups(panel, context):
    context.select_trace(AGENT)
    model = panel.model
    assert model.rowCount() == 1
    root = model.index(0, 0)
    assert model.data(root) == "invoke_agent travel_planner"
    assert model.data(root.siblingAtColumn(TOKENS)) == "Σ 8,701 / 827"
    first_call = model.index(0, TOKENS, root)
    assert model.data(first_call) == "1,349 / 328"
    assert "in 1,349" in model.data(first_call, 3)
    assert model.data(root.siblingAtColumn(LATENCY)) == "18.71 s"
    assert model.data(root.siblingAtColumn(COST)) == ""
    assert panel.view.isExpanded(root), "a small trace opens expanded"
    assert len(shown(model)) == 16


def test_a_collapsed_parent_shows_the_errors_below_it(panel, context):
    context.select_trace(AGENT)
    status = panel.model.index(0, STATUS)
    delegate = panel.view.itemDelegateForColumn(STATUS)
    assert isinstance(delegate, QtStatusDelegate)

    def text() -> str:
        option = QStyleOptionViewItem()
        delegate.initStyleOption(option, status)
        return option.text

    assert text() == ""
    panel.view.collapseAll()
    assert text() == "2 errors below"


def test_expand_to_errors_opens_exactly_the_error_ancestors(panel, context):
    context.select_trace(BIG)
    panel.expand_all()
    panel.expand_to_errors()
    model, tree = panel.model, panel.model.tree
    expanded = {model.span_id(i) for i in shown(model) if panel.view.isExpanded(i)}
    wanted = {tree.rows[a]["span_id"] for e in tree.error_rows for a in tree.path(e)[:-1]}
    assert tree.error_rows and expanded == wanted


def test_search_shows_matches_and_their_ancestors(panel, context):
    context.select_trace(AGENT)
    panel.set_filter("status:error")
    model = panel.model
    assert names(model, shown(model)) == [
        "invoke_agent travel_planner",
        "execute_tool book_hotel",
        "POST",
    ]
    assert panel.matches_label.text() == "2 matches"
    bold = [model.data(i, 6) is not None and model.data(i, 6).bold() for i in shown(model)]
    assert bold == [False, True, True], "matches stand out from the ancestors shown for context"
    assert all(panel.view.isExpanded(i) for i in shown(model)[:2])
    panel.set_filter("")
    assert len(shown(model)) == 16 and panel.matches_label.text() == ""


def test_selecting_a_row_makes_its_span_current(qtbot, panel, context):
    context.select_trace(AGENT)
    index = panel.model.index(2, NAME, panel.model.index(0, 0))
    panel.view.setCurrentIndex(index)
    qtbot.waitUntil(lambda: context.span_id == panel.model.span_id(index))


def test_a_span_chosen_elsewhere_is_selected_and_revealed(qtbot, panel, context):
    context.select_trace(AGENT)
    panel.view.collapseAll()
    tree = panel.model.tree
    error = tree.error_rows[-1]
    span_id = tree.rows[error]["span_id"]
    changes = []
    context.span_changed.connect(lambda _trace, span: changes.append(span))
    context.select_span(span_id)
    qtbot.waitUntil(lambda: panel.model.span_id(panel.view.currentIndex()) == span_id)
    assert all(panel.view.isExpanded(panel.model.index_for(a)) for a in tree.path(error)[:-1])
    assert panel.view.selectionModel().isSelected(panel.view.currentIndex())
    qtbot.wait(20)
    assert changes == [span_id], "selecting the row did not echo back to the context"


def test_no_trace_and_closed_store_empty_the_tree(panel, context):
    context.select_trace(AGENT)
    context.select_trace(None)
    assert panel.model.rowCount() == 0
    context.select_trace(AGENT)
    context.close_store()
    assert panel.model.rowCount() == 0


def test_keyboard_collapses_expands_and_moves_the_selection(qtbot, panel, context):
    context.select_trace(AGENT)
    view, model = panel.view, panel.model
    root = model.index(0, 0)
    view.setCurrentIndex(root)
    qtbot.keyClick(view, Qt.Key.Key_Left)
    assert not view.isExpanded(root)
    qtbot.keyClick(view, Qt.Key.Key_Right)
    assert view.isExpanded(root)
    qtbot.keyClick(view, Qt.Key.Key_Down)
    first_child = model.span_id(model.index(0, 0, root))
    qtbot.waitUntil(lambda: context.span_id == first_child)


def test_typing_in_the_search_box_filters_after_a_pause(qtbot, panel, context):
    context.select_trace(AGENT)
    qtbot.keyClicks(panel.search, "kind:llm")
    qtbot.waitUntil(lambda: panel.model.matched is not None)
    assert len(panel.model.matched) == 5 and panel.matches_label.text() == "5 matches"


def test_spans_arriving_for_the_shown_trace_reload_it(panel, context, demo_store, tmp_path):
    context.select_trace(AGENT)
    late = write_jsonl(
        tmp_path / "late.jsonl", request(span("00000000000000ff", "00000000000000fe", trace=AGENT))
    )
    assert import_file(demo_store, late).outcome is Outcome.IMPORTED
    context.refresh()
    assert len(panel.model.tree.rows) == 17
    assert panel.model.rowCount() == 2, "the new span's parent is missing: an orphan root"
