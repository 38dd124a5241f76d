"""Span costs of a whole tree: priced in bulk, summed over subtrees and steps, and repriced."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from spanscope.core.debugging.tree import TraceTree
from spanscope.core.debugging.tree_costs import CostSum, TreeCosts
from spanscope.core.pricing.prices import PriceBook, SpanPricer
from spanscope.core.span_rows import SpanRows

START = int(datetime(2026, 11, 20, 12, tzinfo=UTC).timestamp() * 1e9)
#: $ per token on 2026-11-20: gpt-4o $2.50 / $10, gpt-4o-mini $0.15 / $0.60 per million.
GPT4O = (2.5e-6, 10e-6)
MINI = (0.15e-6, 0.6e-6)


def row(span_id, parent, kind="CHAIN", model=None, tokens=(None, None), cost=None, counted=None, at=0):
    return {
        "span_id": span_id,
        "parent_id": parent,
        "name": span_id,
        "kind": kind,
        "start_ns": START + at,
        "end_ns": START + at + 1,
        "status": "ok",
        "model": model,
        "provider": "openai" if model and model.startswith("gpt") else None,
        "input_tokens": tokens[0],
        "output_tokens": tokens[1],
        "cost_usd": cost,
        "counted": int(kind == "LLM") if counted is None else counted,
        "orphan": 0,
        "clock_skew": 0,
    }


@pytest.fixture
def costs() -> TreeCosts:
    rows = [
        row("root", None),
        row("agent", "root", at=1),
        row("wrapper", "agent", "LLM", "gpt-4o", (1_000, 100), counted=0, at=2),
        row("reported", "wrapper", "LLM", "gpt-4o", (1_000, 100), cost=0.5, at=3),
        row("mini", "agent", "LLM", "gpt-4o-mini", (2_000, 300), at=4),
        row("tool", "agent", "TOOL", at=5),
        row("mystery", "root", "LLM", "my-finetune", (10, 10), at=6),
    ]
    book = PriceBook()
    price = SpanPricer(book).usd
    for r in rows:  # what an import stores for model calls without a reported cost
        if r["kind"] == "LLM" and r["cost_usd"] is None:
            tokens_in, tokens_out = r["input_tokens"], r["output_tokens"]
            r["price_usd"] = price(
                r["provider"], r["model"], r["start_ns"], tokens_in, None, None, tokens_out, None
            )
    return TreeCosts.build(TraceTree.build(SpanRows.from_dicts(rows)), book)


def at(costs: TreeCosts, span_id: str) -> int:
    return costs.tree.index[span_id]


def test_each_span_has_its_own_cost_and_source(costs):
    assert [
        costs.source(at(costs, s)) for s in ("root", "wrapper", "reported", "mini", "tool", "mystery")
    ] == [
        None,
        "computed",
        "reported",
        "computed",
        None,
        "unknown",
    ]
    assert costs.usd[at(costs, "reported")] == 0.5
    assert costs.usd[at(costs, "mini")] == pytest.approx(2_000 * MINI[0] + 300 * MINI[1])
    assert costs.usd[at(costs, "wrapper")] == pytest.approx(1_000 * GPT4O[0] + 100 * GPT4O[1])
    assert costs.cost(at(costs, "mystery")).detail == "unknown: no price for model my-finetune"
    assert costs.cost(at(costs, "tool")) is None


def test_subtrees_sum_counted_calls_only(costs):
    mini = 2_000 * MINI[0] + 300 * MINI[1]
    agent = costs.subtree(at(costs, "agent"))
    assert (agent.usd, agent.computed, agent.unknown) == (pytest.approx(0.5 + mini), 1, 0)
    root = costs.subtree(at(costs, "root"))
    assert (root.usd, root.computed, root.unknown) == (pytest.approx(0.5 + mini), 1, 1)
    assert root.text == f"~${0.5 + mini:.4f} +?"
    assert CostSum(None, 0, 2).text == "?" and CostSum(None, 0, 0).text == ""


def test_running_sums_follow_the_given_order(costs):
    order = sorted(range(len(costs.tree.rows)), key=lambda i: costs.tree.rows.columns["start_ns"][i])
    steps = costs.steps(order)
    assert [s.usd is None for s in steps[:3]] == [True, True, True]
    assert steps[3].usd == 0.5 and steps[3].computed == 0
    assert steps[-1].unknown == 1 and steps[-1].computed == 1


def test_what_if_prices_every_counted_call_as_another_model(costs):
    repriced = costs.what_if(at(costs, "root"), "gpt-4o-mini")
    # The reported call, the mini call and the unpriced call, all at gpt-4o-mini's rates; the
    # wrapper repeats the reported call's usage and is not counted.
    tokens_in, tokens_out = 1_000 + 2_000 + 10, 100 + 300 + 10
    assert repriced.usd == pytest.approx(tokens_in * MINI[0] + tokens_out * MINI[1])
    assert (repriced.computed, repriced.unknown) == (3, 0)
    agent_only = costs.what_if(at(costs, "agent"), "gpt-4o")
    assert agent_only.usd == pytest.approx(3_000 * GPT4O[0] + 400 * GPT4O[1])
    assert costs.what_if(at(costs, "root"), "no-such-model").unknown == 3
