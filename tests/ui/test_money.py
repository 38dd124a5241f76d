"""A cheap model call's cost reads as what it is in every view that shows it: never `$0.0000`, and
with the same `~` the CLI prints."""

from __future__ import annotations

import pytest

from otlp import llm, request, span, write_jsonl
from spanscope.cli import main
from spanscope.core.presentation import display
from spanscope.ui.context import QtTraceContext
from spanscope.ui.span_tree_model import COST, QtSpanTreeModel
from spanscope.ui.trace_list_model import COLUMNS, QtTraceListModel

TRACE = "f" * 32
#: gpt-4o-mini on the trace's day: $0.15 in, $0.60 out per million tokens; 12 in and 5 out.
CHEAP_USD = 12 * 0.15e-6 + 5 * 0.60e-6


@pytest.fixture
def cheap_context(qtbot, tmp_path):
    path = write_jsonl(
        tmp_path / "cheap.jsonl",
        request(
            span("f" * 15 + "1", trace=TRACE, name="agent", start=0, end=5_000_000),
            llm("f" * 15 + "2", "f" * 15 + "1", "gpt-4o-mini", 12, 5, trace=TRACE, start=1_000),
        ),
    )
    store = tmp_path / "store.db"
    assert main(["import", str(path), "--db", str(store)]) == 0
    context = QtTraceContext()
    context.open_store(store)
    yield context
    context.close_store()


def test_a_cheap_call_costs_the_same_non_zero_figure_everywhere(cheap_context, capsys):
    capsys.readouterr()
    expected = f"~{display.cost(CHEAP_USD)}"
    assert expected == "~$0.0000048"
    traces = QtTraceListModel()
    traces.set_db(cheap_context.db)
    cost_column = next(i for i, c in enumerate(COLUMNS) if c.key == "cost_usd")
    assert traces.index(0, cost_column).data() == expected
    tree = QtSpanTreeModel()
    tree.set_tree(cheap_context.trace_tree(TRACE), "")
    assert tree.data(tree.index(0, COST)) == f"Σ {expected}"
    assert tree.data(tree.index(1, COST)) == expected
    assert main(["traces", "--db", str(cheap_context.store_path)]) == 0
    assert f"  {expected}  " in capsys.readouterr().out
