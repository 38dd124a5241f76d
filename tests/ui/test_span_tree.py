"""The span tree: a flat model Qt accepts, expansion as row blocks, search, keys, mouse, selection sync."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

import genai_prices
import pytest
from PySide6.QtCore import QModelIndex, QPoint, Qt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QStyleOptionViewItem
from tooltips import shown_text

from otlp import request, span, write_jsonl
from spanscope.core.debugging.tree import TraceTree
from spanscope.core.presentation import display
from spanscope.core.span_rows import SpanRows
from spanscope.core.store import Outcome, import_file
from spanscope.ui.context import QtTraceContext
from spanscope.ui.span_tree import INDENT, QtSpanTreePanel, QtStatusDelegate
from spanscope.ui.span_tree_model import COST, LATENCY, NAME, SCORES_ROLE, STATUS, TOKENS, QtSpanTreeModel

BIG = "85786481e3f06890be8c04d490a4078a"
AGENT = "214119cf6d84cc7956364be9b85993a7"


@pytest.fixture
def panel(qtbot, context):
    widget = QtSpanTreePanel(context)
    qtbot.addWidget(widget)
    widget.resize(1000, 500)
    return widget


def shown(model: QtSpanTreeModel) -> list[QModelIndex]:
    """Every row the model offers, top to bottom: the spans under expanded parents."""
    return [model.index(row, NAME) for row in range(model.rowCount())]


def span_ids(model: QtSpanTreeModel) -> list[str | None]:
    return [model.span_id(i) for i in shown(model)]


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
    model.set_tree(context.trace_tree(BIG), query)
    qtmodeltester.check(model, force_py=True)


def test_a_wide_parent_expands_and_collapses_as_one_block_of_rows(qtmodeltester):
    model = QtSpanTreeModel()
    model.set_tree(TraceTree.build(wide_rows(2500)))
    assert model.rowCount() == 2501, "a large trace opens with the roots expanded"
    blocks = []
    model.rowsAboutToBeRemoved.connect(lambda _parent, first, last: blocks.append(("-", first, last)))
    model.rowsAboutToBeInserted.connect(lambda _parent, first, last: blocks.append(("+", first, last)))
    model.collapse(0)
    assert model.rowCount() == 1 and not model.is_expanded(0)
    model.expand(0)
    assert blocks == [("-", 1, 2500), ("+", 1, 2500)]
    index = model.index_of("c2400")
    assert (index.row(), model.span_id(index), model.row_of(index)) == (2401, "c2400", 2401)
    qtmodeltester.check(model, force_py=True)


def test_expansion_is_remembered_below_a_collapsed_parent(qtmodeltester, context):
    model = QtSpanTreeModel()
    model.set_tree(context.trace_tree(AGENT))
    tree = model.tree
    [root] = tree.roots
    tool = next(c for c in tree.children[root] if tree.children[c])
    model.collapse(tool)
    model.collapse(root)
    assert span_ids(model) == [tree.rows[root]["span_id"]]
    assert model.index_for(tool) == QModelIndex(), "a hidden row has no index"
    model.expand(root)
    assert model.index_for(tool).isValid() and not model.is_expanded(tool)
    model.expand(tool)
    below = model.index_for(tool).row() + 1
    assert model.span_id(model.index(below, NAME)) == tree.rows[tree.children[tool][0]]["span_id"]
    qtmodeltester.check(model, force_py=True)


def package_cost(tree) -> float:
    """The counted calls of `tree` priced one by one by genai-prices itself."""
    total = 0.0
    for row in tree.rows:
        if row["counted"]:
            usage = genai_prices.Usage(
                input_tokens=row["input_tokens"],
                cache_read_tokens=row["cache_read_tokens"] or 0,
                cache_write_tokens=row["cache_write_tokens"] or 0,
                output_tokens=row["output_tokens"],
            )
            when = datetime.fromtimestamp(row["start_ns"] / 1e9, UTC)
            price = genai_prices.calc_price(
                usage, row["model"], provider_id=row["provider"], genai_request_timestamp=when
            )
            total += float(price.total_price)
    return total


def test_the_panel_shows_the_trace_with_roll_ups(panel, context):
    context.select_trace(AGENT)
    model = panel.model
    assert len(model.tree.roots) == 1
    root = model.index(0, 0)
    assert model.data(root) == "invoke_agent travel_planner"
    assert model.data(root.siblingAtColumn(TOKENS)) == "Σ 8,701 / 827"
    first_call = model.index(1, TOKENS)
    assert model.data(first_call) == "1,349 / 328"
    assert "in 1,349" in model.data(first_call, 3)
    assert model.data(root.siblingAtColumn(LATENCY)) == "18.71 s"
    # No cost is reported: each counted call is priced, independently here through the package.
    assert model.data(root.siblingAtColumn(COST)) == f"Σ ~{display.cost(package_cost(model.tree))}"
    assert model.data(first_call.siblingAtColumn(COST)).startswith("~$")
    tip = model.data(first_call.siblingAtColumn(COST), Qt.ItemDataRole.ToolTipRole)
    assert "computed with anthropic/claude-sonnet-4-5 prices of" in tip
    assert model.is_expanded(model.row_of(root)), "a small trace opens expanded"
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
    panel.model.collapse_all()
    assert text() == "2 errors below"


def test_expand_to_errors_opens_exactly_the_error_ancestors(panel, context):
    context.select_trace(BIG)
    panel.expand_all()
    panel.expand_to_errors()
    model, tree = panel.model, panel.model.tree
    expanded = {model.span_id(i) for i in shown(model) if model.is_expanded(model.row_of(i))}
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
    assert all(model.is_expanded(model.row_of(i)) for i in shown(model)[:2])
    panel.set_filter("")
    assert len(shown(model)) == 16 and panel.matches_label.text() == ""


def test_selecting_a_row_makes_its_span_current(qtbot, panel, context):
    context.select_trace(AGENT)
    index = panel.model.index(2, NAME)
    panel.view.setCurrentIndex(index)
    qtbot.waitUntil(lambda: context.span_id == panel.model.span_id(index))


def test_a_span_chosen_elsewhere_is_selected_and_revealed(qtbot, panel, context):
    context.select_trace(AGENT)
    panel.model.collapse_all()
    tree = panel.model.tree
    error = tree.error_rows[-1]
    span_id = tree.rows[error]["span_id"]
    changes = []
    context.span_changed.connect(lambda _trace, span: changes.append(span))
    context.select_span(span_id)
    qtbot.waitUntil(lambda: panel.model.span_id(panel.view.currentIndex()) == span_id)
    assert all(panel.model.is_expanded(a) for a in tree.path(error)[:-1])
    assert panel.view.selectionModel().isSelected(panel.view.currentIndex())
    qtbot.wait(20)
    assert changes == [span_id], "selecting the row did not echo back to the context"


def test_expand_and_collapse_all_keep_the_selected_span_while_it_shows(panel, context):
    context.select_trace(AGENT)
    model, view = panel.model, panel.view
    tree = model.tree
    deep = next(i for i in range(len(tree.rows)) if len(tree.path(i)) == 3)
    span_id = tree.rows[deep]["span_id"]
    panel.select_span(span_id)
    panel.expand_all()
    assert panel.current_span_id() == span_id and view.currentIndex() == model.index_for(deep)
    assert view.verticalHeader().count() == model.rowCount() == len(tree.rows)
    model.collapse_all()
    assert panel.current_span_id() is None and model.rowCount() == view.verticalHeader().count() == 1
    panel.select_span(span_id)
    panel.expand_to_errors()
    assert view.verticalHeader().count() == model.rowCount()


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
    tree = model.tree
    [root] = tree.roots
    first_child, second_child = tree.children[root][:2]
    view.setCurrentIndex(model.index_for(root))
    qtbot.keyClick(view, Qt.Key.Key_Left)
    assert not model.is_expanded(root) and model.rowCount() == 1
    qtbot.keyClick(view, Qt.Key.Key_Right)
    assert model.is_expanded(root)
    qtbot.keyClick(view, Qt.Key.Key_Right)
    assert model.row_of(view.currentIndex()) == first_child, "Right on an open parent steps into it"
    qtbot.keyClick(view, Qt.Key.Key_Down)
    assert model.row_of(view.currentIndex()) == second_child
    qtbot.waitUntil(lambda: context.span_id == tree.rows[second_child]["span_id"])
    qtbot.keyClick(view, Qt.Key.Key_Left)
    assert not model.is_expanded(second_child), "Left on an open parent collapses it"
    qtbot.keyClick(view, Qt.Key.Key_Left)
    assert model.row_of(view.currentIndex()) == root, "Left on a collapsed span steps to its parent"


def test_clicking_the_arrow_or_double_clicking_toggles(qtbot, panel, context):
    context.select_trace(AGENT)
    view, model = panel.view, panel.model
    [root] = model.tree.roots
    panel.show()
    rect = view.visualRect(model.index_for(root))
    viewport = view.viewport()
    qtbot.mouseClick(
        viewport, Qt.MouseButton.LeftButton, pos=QPoint(rect.left() + INDENT // 2, rect.center().y())
    )
    assert not model.is_expanded(root) and model.rowCount() == 1
    assert not view.selectionModel().hasSelection(), "the arrow toggles without selecting"
    qtbot.mouseDClick(
        viewport, Qt.MouseButton.LeftButton, pos=QPoint(rect.left() + 5 * INDENT, rect.center().y())
    )
    assert model.is_expanded(root) and model.rowCount() == 16


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
    tree = panel.model.tree
    orphan = tree.index["00000000000000ff"]
    assert len(tree.roots) == 2 and orphan in tree.roots, "the new span's parent is missing: an orphan root"
    assert panel.model.index_for(orphan).isValid()


def raw_phoenix_annotations(path) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Per trace id: the names of its span and document annotations by span id, and of its trace
    annotations, read from Phoenix's own tables."""
    raw = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    on_spans: dict[str, set[str]] = {}
    for table in ("span_annotations", "document_annotations"):
        for trace_id, span_id, name in raw.execute(
            f"SELECT t.trace_id, s.span_id, a.name FROM {table} a JOIN spans s ON s.id = a.span_rowid "
            "JOIN traces t ON t.id = s.trace_rowid"
        ):
            on_spans.setdefault(f"{trace_id} {span_id}", set()).add(name)
    on_traces: dict[str, set[str]] = {}
    for trace_id, name in raw.execute(
        "SELECT t.trace_id, a.name FROM trace_annotations a JOIN traces t ON t.id = a.trace_rowid"
    ):
        on_traces.setdefault(trace_id, set()).add(name)
    raw.close()
    return on_spans, on_traces


def test_the_header_lists_a_traces_scores_and_the_tree_marks_the_spans_that_carry_them(
    qtbot, tmp_path, fixtures_dir
):
    phoenix = fixtures_dir / "phoenix-sqlite" / "phoenix.db"
    on_spans, on_traces = raw_phoenix_annotations(phoenix)
    trace_id = next(key.split()[0] for key in on_spans)
    store = tmp_path / "store.db"
    assert import_file(store, phoenix).outcome is Outcome.IMPORTED
    context = QtTraceContext()
    context.open_store(store)
    panel = QtSpanTreePanel(context)
    qtbot.addWidget(panel)
    panel.resize(900, 500)
    panel.show()
    context.select_trace(trace_id)
    panel.expand_all()
    model = panel.model
    scored = {
        model.span_id(model.index(r, NAME)): model.index(r, NAME).data(SCORES_ROLE)
        for r in range(model.rowCount())
    }
    marked = {span_id: scores for span_id, scores in scored.items() if scores}
    wanted = {key.split()[1]: names for key, names in on_spans.items() if key.startswith(trace_id)}
    assert set(marked) == set(wanted)
    for span_id, (count, line) in marked.items():
        assert (
            count == len(wanted[span_id])
            and {part.split()[0] for part in line.split(", ")} == wanted[span_id]
        )
        assert line in shown_text(model.index_of(span_id).data(Qt.ItemDataRole.ToolTipRole))
    header = panel.header
    assert header.isVisible()
    shown = QTextDocument()
    shown.setHtml(header.scores.text())
    for name in set().union(*wanted.values(), on_traces.get(trace_id, set())):
        assert name in shown.toPlainText()
    span_id = next(iter(wanted))
    with qtbot.waitSignal(context.span_changed):
        header.scores.linkActivated.emit("#0")
    assert context.span_id == span_id == panel.current_span_id()
    context.unregister(panel)
    context.close_store()
