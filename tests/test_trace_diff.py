"""Trace diff: the tree alignment (inserted, deleted, reordered, wrapped steps), word diffs, totals."""

from __future__ import annotations

import orjson
import pytest

from otlp import llm, request, span, write_jsonl
from spanscope.cli import main
from spanscope.core.debugging.tree import TraceTree
from spanscope.core.diff.conversation_diff import word_diff
from spanscope.core.diff.text_report import marked
from spanscope.core.diff.trace_diff import align, align_siblings, collapse, diff_traces, readable
from spanscope.core.span_rows import SpanRows
from spanscope.core.store import Outcome, connect, import_file


def tree(*steps: tuple[str, str | None, str, str]) -> TraceTree:
    """Steps as (span id, parent id, kind, name), in start order."""
    return TraceTree.build(
        SpanRows.from_dicts(
            {
                "span_id": s,
                "parent_id": p,
                "kind": k,
                "name": n,
                "start_ns": i,
                "end_ns": i + 1,
                "status": "ok",
            }
            for i, (s, p, k, n) in enumerate(steps)
        )
    )


def names(t: TraceTree, row: int | None) -> str | None:
    return None if row is None else t.rows.columns["span_id"][row]


def pairs(a: TraceTree, b: TraceTree) -> list[tuple[str | None, str | None, int, bool]]:
    return [(names(a, r.a), names(b, r.b), r.depth, r.moved) for r in align(a, b)]


CHAIN = (
    ("r", None, "CHAIN", "rag"),
    ("ret", "r", "RETRIEVER", "retrieve"),
    ("emb", "ret", "EMBEDDING", "embed"),
    ("llm", "r", "LLM", "chat"),
)


def test_identical_traces_align_fully():
    a, b = tree(*CHAIN), tree(*CHAIN)
    assert pairs(a, b) == [
        ("r", "r", 0, False),
        ("ret", "ret", 1, False),
        ("emb", "emb", 2, False),
        ("llm", "llm", 1, False),
    ]


def test_inserted_step_is_added_in_place():
    b = tree(*CHAIN[:3], ("guard", "r", "GUARDRAIL", "check"), CHAIN[3])
    assert pairs(tree(*CHAIN), b) == [
        ("r", "r", 0, False),
        ("ret", "ret", 1, False),
        ("emb", "emb", 2, False),
        (None, "guard", 1, False),
        ("llm", "llm", 1, False),
    ]


def test_deleted_subtree_is_removed_in_place():
    b = tree(CHAIN[0], CHAIN[3])
    assert pairs(tree(*CHAIN), b) == [
        ("r", "r", 0, False),
        ("ret", None, 1, False),
        ("emb", None, 2, False),
        ("llm", "llm", 1, False),
    ]


def test_reordered_steps_are_paired_as_moved():
    a = tree(("r", None, "AGENT", "agent"), ("x", "r", "TOOL", "search"), ("y", "r", "TOOL", "fetch"))
    b = tree(("r", None, "AGENT", "agent"), ("y", "r", "TOOL", "fetch"), ("x", "r", "TOOL", "search"))
    rows = pairs(a, b)
    assert rows[0] == ("r", "r", 0, False)
    assert sorted(rows[1:]) == [("x", "x", 1, True), ("y", "y", 1, False)] or sorted(rows[1:]) == [
        ("x", "x", 1, False),
        ("y", "y", 1, True),
    ]


def test_step_wrapped_in_a_new_chain_is_found_below_it():
    a = tree(("r", None, "CHAIN", "main"), ("llm", "r", "LLM", "chat"))
    b = tree(("r", None, "CHAIN", "main"), ("w", "r", "CHAIN", "retry"), ("llm", "w", "LLM", "chat"))
    assert pairs(a, b) == [("r", "r", 0, False), (None, "w", 1, False), ("llm", "llm", 2, True)]


def test_same_kind_other_name_pairs_by_position_but_never_across_kinds():
    a = tree(
        ("r", None, "CHAIN", "turn"), ("t", "r", "TOOL", "lookup_order"), ("l", "r", "LLM", "ChatCompletion")
    )
    b = tree(
        ("r", None, "CHAIN", "turn"),
        ("t", "r", "TOOL", "update_address"),
        ("l", "r", "LLM", "GenerateContent"),
    )
    assert pairs(a, b) == [("r", "r", 0, False), ("t", "t", 1, False), ("l", "l", 1, False)]
    assert align_siblings([("TOOL", "x")], [("LLM", "y")]) == [(0, None), (None, 0)]


def test_exact_names_win_over_position():
    ops = align_siblings([("TOOL", "a"), ("TOOL", "b")], [("TOOL", "b"), ("TOOL", "a")])
    assert sum(1 for i, j in ops if i is not None and j is not None) == 1


def test_every_step_of_both_traces_is_listed_once():
    a = tree(*CHAIN, ("t", "r", "TOOL", "x"), ("t2", "t", "SPAN", "GET"))
    b = tree(("r2", None, "AGENT", "other"), ("q", "r2", "TOOL", "x"), ("emb", "q", "EMBEDDING", "embed"))
    rows = align(a, b)
    assert sorted(r.a for r in rows if r.a is not None) == list(range(len(a.rows)))
    assert sorted(r.b for r in rows if r.b is not None) == list(range(len(b.rows)))


def test_word_diff_rendering_and_collapse():
    runs = [("same", "x" * 300), ("removed", "cat"), ("added", "dog"), ("same", " sat")]
    assert marked(runs[1:]) == "[-cat-]{+dog+} sat"
    short = collapse(runs, context=10)
    assert short[0] == ("same", "…" + "x" * 10)
    assert short[1:] == runs[1:]


def test_rewritten_phrases_read_as_one_removal_and_one_addition():
    runs = readable(word_diff("Address change: foo bar baz end", "Policy passages: foo qux quux end"))
    assert runs == [
        ("removed", "Address change:"),
        ("added", "Policy passages:"),
        ("same", " foo "),
        ("removed", "bar baz"),
        ("added", "qux quux"),
        ("same", " end"),
    ]
    assert readable(word_diff("a\nb", "c\nd")) == [
        ("removed", "a"),
        ("added", "c"),
        ("same", "\n"),
        ("removed", "b"),
        ("added", "d"),
    ]


# --- from a store --------------------------------------------------------------------------------

TA, TB = "a" * 32, "b" * 32


def run_trace(trace: str, model: str, answer: str, extra_tool: bool, tokens: tuple[int, int], error: bool):
    spans = [
        span(
            "0000000000000001",
            trace=trace,
            name="support_turn",
            start=0,
            end=3_000_000,
            attrs={"openinference.span.kind": "CHAIN", "input.value": "Where is my order?"},
        ),
        span(
            "0000000000000002",
            "0000000000000001",
            trace=trace,
            name="lookup_order",
            start=10,
            end=1_000_000,
            attrs={"openinference.span.kind": "TOOL", "output.value": "shipped"},
        ),
    ]
    if extra_tool:
        spans.append(
            span(
                "0000000000000004",
                "0000000000000001",
                trace=trace,
                name="notify",
                start=1_000_001,
                end=1_100_000,
                attrs={"openinference.span.kind": "TOOL"},
            )
        )
    spans.append(
        llm(
            "0000000000000003",
            "0000000000000001",
            model,
            *tokens,
            trace=trace,
            name="chat",
            start=1_200_000,
            end=2_900_000 if error else 2_000_000,
            error="boom" if error else None,
            attrs={"input.value": "Where is my order?", "output.value": answer},
        )
    )
    return request(*spans)


@pytest.fixture
def two_runs(tmp_path):
    path = write_jsonl(
        tmp_path / "runs.jsonl",
        run_trace(TA, "gpt-4o", "Your order shipped on Monday.", False, (100, 10), False),
        run_trace(TB, "gpt-4o-mini", "Your order shipped on Tuesday.", True, (120, 12), True),
    )
    store = tmp_path / "store.db"
    assert import_file(store, path).outcome is Outcome.IMPORTED
    return store


def test_diff_of_two_stored_runs(two_runs):
    diff = diff_traces(connect(two_runs, readonly=True), TA, TB)
    assert [(r.change, r.a and r.a.name, r.b and r.b.name) for r in diff.rows] == [
        ("same", "support_turn", "support_turn"),
        ("same", "lookup_order", "lookup_order"),
        ("added", None, "notify"),
        ("changed", "chat", "chat"),
    ]
    chat = diff.rows[3]
    assert chat.differs == ("model", "status", "output")
    assert chat.output_diff() == [
        ("same", "Your order shipped on "),
        ("removed", "Monday."),
        ("added", "Tuesday."),
    ]
    assert (chat.a.latency_ns, chat.b.latency_ns) == (800_000, 1_700_000)
    assert diff.counts() == {"same": 2, "changed": 1, "moved": 0, "added": 1, "removed": 0}
    assert (diff.a.spans, diff.b.spans, diff.a.errors, diff.b.errors) == (3, 4, 0, 1)
    assert (diff.a.input_tokens, diff.a.output_tokens, diff.b.input_tokens, diff.b.output_tokens) == (
        100,
        10,
        120,
        12,
    )
    assert diff.a.cost_usd is not None and diff.b.cost_usd is not None and diff.a.cost_usd > diff.b.cost_usd
    assert chat.a.cost_computed and diff.a.computed == 1 and diff.a.unpriced == 0


def test_cli_diff_text_and_json(two_runs, capsys):
    assert main(["diff", str(two_runs), TA[:6], TB[:6]]) == 0
    out = capsys.readouterr().out
    assert "steps: 2 same, 1 changed, 0 moved, 1 added, 0 removed" in out
    assert "[-Monday.-]{+Tuesday.+}" in out
    assert "model: gpt-4o -> gpt-4o-mini" in out
    assert out.splitlines()[0].split("  ")[-2].startswith("~$")  # a computed cost, marked as in the tree
    notify = next(line for line in out.splitlines() if line.startswith("+"))
    assert notify.split() == ["+", "notify", "100", "µs"]
    assert main(["diff", str(two_runs), TA, TB, "--json"]) == 0
    data = orjson.loads(capsys.readouterr().out)
    assert data["counts"]["added"] == 1
    assert data["a"]["trace_id"] == TA and data["b"]["output_tokens"] == 12
    chat = data["rows"][3]
    assert chat["b"]["status"] == "error" and ["removed", "Monday."] in chat["output_diff"]


def test_cli_diff_unknown_trace_is_one_line(two_runs, capsys):
    assert main(["diff", str(two_runs), TA, "ffff"]) == 2
    assert capsys.readouterr().err.strip() == "spanscope: no trace 'ffff' in the store"


def test_cli_diff_needs_two_trace_ids(two_runs, capsys):
    assert main(["diff", str(two_runs), TA]) == 2
    assert "give two trace ids" in capsys.readouterr().err
