"""The Usage tab's what-if: the selected span and below repriced as another model, next to the actual."""

from __future__ import annotations

import pytest

from spanscope.core.presentation import display
from spanscope.ui.costs import prices
from spanscope.ui.detail import QtDetailPanel

AGENT = "214119cf6d84cc7956364be9b85993a7"


@pytest.fixture
def panel(panel):
    """The detail panel on its Usage tab."""
    panel.tabs.setCurrentWidget(panel.usage)
    return panel


def test_the_trace_repriced_as_another_model_next_to_its_cost(qtbot, context, panel):
    context.select_trace(AGENT)
    tree = context.trace_tree(AGENT)
    [root] = tree.roots
    context.select_span(tree.rows[root]["span_id"])
    what_if = panel.usage.what_if
    qtbot.waitUntil(lambda: what_if.isVisible() and "Actual cost" in what_if.result.text())
    actual = prices().tree_costs(tree).subtree(root)
    assert what_if.result.text() == f"Actual cost of this span and below: ~{display.cost(actual.usd)}"
    what_if.model_choice.setCurrentText("gpt-4o-mini")
    # Independently: the counted calls' token sums at gpt-4o-mini's $0.15 / $0.60 per million.
    counted = [r for r in tree.rows if r["counted"]]
    tokens_in = sum(r["input_tokens"] for r in counted)
    tokens_out = sum(r["output_tokens"] for r in counted)
    cached = sum(r["cache_read_tokens"] or 0 for r in counted)
    expected = (tokens_in - cached) * 0.15e-6 + cached * 0.075e-6 + tokens_out * 0.6e-6
    line = what_if.result.text().splitlines()[1]
    assert line.startswith(f"As gpt-4o-mini ({len(counted)} calls): ~{display.cost(expected)}, ")
    assert f"{expected / actual.usd:.2f}× the actual cost" in line


def test_a_span_without_model_calls_has_nothing_to_reprice(qtbot, context, panel):
    context.select_trace(AGENT)
    tree = context.trace_tree(AGENT)
    tool = next(i for i, k in enumerate(tree.rows.columns["kind"]) if k == "TOOL")
    context.select_span(tree.rows[tool]["span_id"])
    what_if = panel.usage.what_if
    qtbot.waitUntil(lambda: "Actual cost" in what_if.result.text())
    what_if.model_choice.setCurrentText("gpt-4o")
    assert what_if.result.text().splitlines() == [
        "Actual cost of this span and below: none",
        "No model calls here or below to reprice.",
    ]


def test_no_what_if_without_a_trace(qtbot):
    panel = QtDetailPanel()
    qtbot.addWidget(panel)
    panel.show()
    assert not panel.usage.what_if.isVisible()
