"""TraceTree: shape (orphans, cycles), roll-ups over counted model calls, search with ancestors; the
rows it is built from, as the store gives them."""

from __future__ import annotations

from typing import Any

import pytest

from otlp import TRACE, request, span, write_jsonl
from otlp import llm as llm_span
from spanscope.core.debugging.tree import TraceTree
from spanscope.core.span_rows import SpanRows
from spanscope.core.store import connect, import_file, queries
from spanscope.core.store.queries import trace_rows


def row(span_id: str, parent_id: str | None, start: int, end: int | None, **fields: Any) -> dict[str, Any]:
    """A span with only what a test cares about set."""
    base = {"span_id": span_id, "parent_id": parent_id, "name": span_id, "kind": "SPAN", "status": "unset"}
    return base | {"start_ns": start, "end_ns": end} | fields


def build(rows: list[dict[str, Any]]) -> TraceTree:
    return TraceTree.build(SpanRows.from_dicts(rows))


def llm(
    span_id: str, parent_id: str, start: int, end: int | None, tokens: tuple[int, int], **fields: Any
) -> dict:
    usage = {"input_tokens": tokens[0], "output_tokens": tokens[1], "total_tokens": sum(tokens)}
    return row(
        span_id, parent_id, start, end, **({"kind": "LLM", "model": "gpt-4o", "counted": 1} | usage | fields)
    )


def agent_rows() -> list[dict[str, Any]]:
    """In start order. The agent's own span and an LLM wrapper repeat usage; only the innermost calls
    count."""
    return [
        row("root", None, 0, 100, name="answer", kind="CHAIN"),
        row("agent", "root", 1, 90, name="agent", kind="AGENT", input_tokens=999),
        llm("wrap", "agent", 2, 30, (100, 10), name="llm wrapper", counted=0),
        llm("call-a", "wrap", 3, 29, (100, 10), cost_usd=0.01, cache_read_tokens=40),
        row("tool", "agent", 31, 40, name="tool:search", kind="TOOL"),
        row("late", "tool", 35, 120, name="slow child", status="error"),
        llm(
            "call-b",
            "agent",
            41,
            None,
            (200, 20),
            model="claude-3-5-sonnet",
            status="error",
            status_message="RateLimitError: 429",
        ),
    ]


def by_id(tree: TraceTree) -> dict[str, int]:
    return dict(tree.index)


def test_roll_ups_sum_only_counted_model_calls():
    tree = build(agent_rows())
    at = by_id(tree)
    rolled = tree.rolled
    assert rolled["input_tokens"][at["root"]] == 300
    assert rolled["output_tokens"][at["agent"]] == 30
    assert rolled["total_tokens"][at["root"]] == 330
    assert rolled["input_tokens"][at["wrap"]] == 100
    assert rolled["cost_usd"][at["root"]] == 0.01
    assert rolled["cache_read_tokens"][at["agent"]] == 40
    assert rolled["reasoning_tokens"][at["root"]] is None
    assert rolled["input_tokens"][at["tool"]] is None


def test_error_counts_and_times_roll_up():
    tree = build(agent_rows())
    at = by_id(tree)
    assert tree.subtree_errors[at["root"]] == 2
    assert tree.errors_below(at["agent"]) == 2
    assert tree.errors_below(at["call-b"]) == 0
    assert tree.subtree_errors[at["call-b"]] == 1
    assert tree.errors_below(at["tool"]) == 1
    assert [tree.rows[i]["span_id"] for i in tree.error_rows] == ["late", "call-b"]
    assert (tree.start_ns, tree.end_ns) == (0, 120)
    assert tree.subtree_end[at["root"]] == 120
    assert tree.subtree_end[at["wrap"]] == 30
    assert tree.subtree_end[at["call-b"]] == 120, "a running span lasts until the trace's end"


def test_parents_positions_and_paths():
    tree = build(agent_rows())
    at = by_id(tree)
    assert tree.roots == [at["root"]]
    assert tree.parent[at["root"]] == -1
    assert tree.parent[at["call-a"]] == at["wrap"]
    assert [tree.rows[c]["span_id"] for c in tree.children[at["agent"]]] == ["wrap", "tool", "call-b"]
    assert tree.position(at["call-b"]) == 2
    assert tree.path(at["call-a"]) == (at["root"], at["agent"], at["wrap"], at["call-a"])
    assert [(tree.rows[i]["span_id"], d) for i, d in tree.walk()][:4] == [
        ("root", 0),
        ("agent", 1),
        ("wrap", 2),
        ("call-a", 3),
    ]


def test_orphans_and_self_parents_are_roots():
    tree = build(
        [row("a", None, 0, 10), row("lost", "missing", 1, 5), row("self", "self", 2, 3), row("b", "a", 3, 4)]
    )
    assert [tree.rows[i]["span_id"] for i in tree.roots] == ["a", "lost", "self"]
    assert [tree.rows[i]["span_id"] for i in tree.children[0]] == ["b"]


def test_a_parent_cycle_is_cut_at_its_earliest_span():
    rows = [
        row("x", "z", 0, 10),
        row("y", "x", 1, 10),
        row("z", "y", 2, 10, kind="LLM", counted=1, input_tokens=5),
        row("w", "y", 3, 10),
    ]
    tree = build(rows)
    assert tree.roots == [0]
    assert sorted(i for i, _ in tree.walk()) == [0, 1, 2, 3]
    assert tree.path(2) == (0, 1, 2)
    assert tree.rolled["input_tokens"][0] == 5


def test_an_empty_trace():
    tree = build([])
    assert (tree.roots, list(tree.walk()), tree.start_ns, tree.end_ns) == ([], [], 0, 0)


def test_search_words_and_field_filters():
    tree = build(agent_rows())

    def ids(query: str) -> set[str]:
        return {tree.rows[i]["span_id"] for i in tree.matches(query)}

    assert ids("LLM") == {"wrap", "call-a", "call-b"}, "kind or name, any case"
    assert ids("kind:llm") == {"wrap", "call-a", "call-b"}
    assert ids("model:claude") == {"call-b"}
    assert ids("status:error") == {"call-b", "late"}
    assert ids("ratelimit") == {"call-b"}, "status message"
    assert ids("tool:search") == {"tool"}, "an unknown field is part of the word"
    assert ids("id:call") == {"call-a", "call-b"}
    assert ids("kind:llm status:error") == {"call-b"}
    assert ids("") == {r["span_id"] for r in tree.rows}
    assert ids("nothing-like-this") == set()


def test_filtered_view_keeps_ancestors_and_whole_trace_roll_ups():
    tree = build(agent_rows())
    at = by_id(tree)
    view = tree.filtered(tree.matches("call-a"))
    assert [view.rows[i]["span_id"] for i, _ in view.walk()] == ["root", "agent", "wrap", "call-a"]
    assert view.shown(at["wrap"]) and not view.shown(at["tool"])
    assert view.position(at["wrap"]) == 0
    assert view.rolled["input_tokens"][at["root"]] == 300
    assert view.error_rows == []
    errors = tree.filtered(tree.matches("status:error"))
    assert [errors.rows[i]["span_id"] for i in errors.children[at["agent"]]] == ["tool", "call-b"]
    assert errors.position(at["call-b"]) == 1
    assert tree.filtered([]).roots == []


@pytest.mark.parametrize("spread", [0, 10**9], ids=["looked-up", "range-scanned"])
def test_trace_rows_come_back_in_start_order_with_exact_costs(tmp_path, monkeypatch, spread):
    """The store is read by rowid lookups or one range scan, depending on how scattered the trace is;
    either way the rows are in start order (exporters write children first) and a REAL survives."""
    monkeypatch.setattr(queries, "RANGE_SCAN_SPREAD", spread)
    cost = 0.1 + 0.2
    child = llm_span("00000000000000c2", "00000000000000a1", "gpt-4o", 3, 4, start=300, end=400)
    child["attributes"].append({"key": "llm.cost.total", "value": {"doubleValue": cost}})
    others = [span(f"{i:016x}", trace="1" * 32, start=i) for i in range(1, 9)]
    parent = span("00000000000000a1", None, start=100, end=500)
    store = tmp_path / "store.db"
    import_file(store, write_jsonl(tmp_path / "trace.jsonl", request(child, *others, parent)))
    rows = trace_rows(connect(store, readonly=True), TRACE)
    assert [row["span_id"] for row in rows] == ["00000000000000a1", "00000000000000c2"]
    assert rows[1]["cost_usd"] == cost and rows[1]["input_tokens"] == 3
    tree = TraceTree.build(rows)
    assert tree.children[0] == [1] and tree.rolled["cost_usd"][0] == cost
