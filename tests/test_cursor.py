"""StepCursor: execution order (skew, ties, orphans), every move and jump at and away from the edges,
continuing to breakpoints both ways, observers, and the running totals at a step."""

from __future__ import annotations

from typing import Any

import pytest

from spanscope.core.debugging.breakpoints import FIELDS, Breakpoint
from spanscope.core.debugging.cursor import StepCursor, payload_text
from spanscope.core.debugging.tree import TraceTree
from spanscope.core.model import message
from spanscope.core.span_rows import SpanRows

MS = 1_000_000


def row(span_id: str, parent_id: str | None, start: int, end: int | None, **fields: Any) -> dict[str, Any]:
    base = {"span_id": span_id, "parent_id": parent_id, "name": span_id, "kind": "SPAN", "status": "unset"}
    return base | {"start_ns": start * MS, "end_ns": None if end is None else end * MS} | fields


def tree() -> TraceTree:
    """In start order, as the store gives rows. `tie` starts with its parent but comes first among the
    rows; `early` starts before its parent (clock skew); `orphan`'s parent is missing."""
    return TraceTree.build(
        SpanRows.from_dicts(
            [
                row("root", None, 0, 100, kind="CHAIN"),
                row(
                    "plan",
                    "root",
                    10,
                    20,
                    kind="LLM",
                    counted=1,
                    input_tokens=100,
                    output_tokens=10,
                    cost_usd=0.01,
                ),
                row("tie", "search", 20, 21),
                row("search", "root", 20, 30, kind="TOOL"),
                row("fetch", "search", 22, 28, status="error", status_message="timeout"),
                row("early", "answer", 29, 35, clock_skew=1),
                row("answer", "root", 30, 50, kind="LLM", counted=1, input_tokens=200, output_tokens=20),
                row("orphan", "missing", 60, None, kind="TOOL", orphan=1),
            ]
        )
    )


ORDER = ["root", "plan", "search", "tie", "fetch", "early", "answer", "orphan"]


@pytest.fixture
def cursor() -> StepCursor:
    c = StepCursor()
    c.load(tree())
    return c


def at(cursor: StepCursor, span_id: str) -> StepCursor:
    assert cursor.go_to(span_id) == span_id
    return cursor


def test_steps_are_in_start_order_with_ties_in_tree_order(cursor):
    names = cursor.tree.rows.columns["span_id"]
    assert [names[i] for i in cursor.order] == ORDER
    assert (cursor.current, cursor.step, len(cursor)) == (0, "root", 8)


def test_next_and_previous_walk_every_step_and_stop_at_the_edges(cursor):
    assert cursor.previous() is None
    assert [cursor.next() for _ in ORDER[1:]] == ORDER[1:]
    assert cursor.next() is None
    assert cursor.step == "orphan"
    assert [cursor.previous() for _ in ORDER[1:]] == ORDER[-2::-1]


def test_start_end_and_go_to(cursor):
    assert cursor.to_end() == "orphan"
    assert cursor.to_start() == "root"
    assert cursor.go_to("fetch") == "fetch"
    assert cursor.go_to("nope") is None
    assert cursor.step == "fetch"


def test_step_into_goes_to_the_first_child(cursor):
    assert cursor.step_into() == "plan"
    assert cursor.step_into() is None
    assert at(cursor, "search").step_into() == "tie"
    assert at(cursor, "answer").step_into() == "early"


def test_step_over_skips_the_subtree(cursor):
    assert cursor.step_over() == "orphan"
    assert at(cursor, "plan").step_over() == "search"
    assert cursor.step_over() == "answer"
    assert cursor.step_over() is None
    assert cursor.step == "answer"


def test_step_out_goes_past_the_parent(cursor):
    assert at(cursor, "fetch").step_out() == "answer"
    assert at(cursor, "early").step_out() == "orphan"
    assert at(cursor, "root").step_out() is None
    assert at(cursor, "orphan").step_out() is None


@pytest.mark.parametrize(
    ("start", "move", "expected"),
    [
        ("root", "next_error", "fetch"),
        ("fetch", "next_error", None),
        ("orphan", "previous_error", "fetch"),
        ("fetch", "previous_error", None),
        ("root", "next_llm", "plan"),
        ("plan", "next_llm", "answer"),
        ("answer", "next_llm", None),
        ("orphan", "previous_llm", "answer"),
        ("plan", "previous_llm", None),
        ("root", "next_tool", "search"),
        ("search", "next_tool", "orphan"),
        ("orphan", "next_tool", None),
        ("answer", "previous_tool", "search"),
        ("search", "previous_tool", None),
    ],
)
def test_jumps(cursor, start, move, expected):
    at(cursor, start)
    assert getattr(cursor, move)() == expected
    assert cursor.step == (expected or start)


def test_continue_stops_where_an_enabled_breakpoint_matches(cursor):
    slow_llm = Breakpoint.from_text('kind == "llm" and latency_ms >= 20')
    tools = Breakpoint.from_text('kind == "TOOL"', enabled=False)
    errors = Breakpoint.from_text('error ~ "time"')
    assert cursor.continue_forward([slow_llm, tools, errors]) == "fetch"
    assert cursor.continue_forward([slow_llm, tools, errors]) == "answer"
    assert cursor.continue_forward([slow_llm, tools, errors]) is None
    assert cursor.step == "answer"
    assert cursor.continue_backward([slow_llm, errors]) == "fetch"
    assert cursor.continue_backward([slow_llm, errors]) is None
    assert cursor.continue_forward([]) is None


def test_derived_fields(cursor):
    fields = cursor.fields(ORDER.index("answer"))
    assert (fields["latency_ms"], fields["start_ms"], fields["parent_id"]) == (20, 30, "root")
    assert fields["input"] is None  # no payloads to fetch
    orphan = cursor.fields(ORDER.index("orphan"))
    assert (orphan["latency_ms"], orphan["orphan"], orphan["clock_skew"]) == (None, True, False)
    assert cursor.fields(ORDER.index("early"))["clock_skew"] is True
    assert list(fields) == list(FIELDS) and len(fields) == len(FIELDS)


def test_payloads_are_fetched_only_for_conditions_that_read_them():
    fetched = []

    def fetch(span_id: str) -> tuple[Any, Any]:
        fetched.append(span_id)
        return [message("user", "Capital of France?")], [
            message("assistant", [{"type": "text", "text": "Paris"}])
        ]

    cursor = StepCursor()
    cursor.load(tree(), fetch)
    assert cursor.continue_forward([Breakpoint.from_text('name == "answer"')]) == "answer"
    assert fetched == []
    cursor.to_start()
    assert (
        cursor.continue_forward([Breakpoint.from_text('kind == "LLM" and output contains "paris"')]) == "plan"
    )
    assert fetched == ["plan"]


def test_payload_text_joins_message_contents():
    assert payload_text(None) is None
    assert payload_text("plain") == "plain"
    assert payload_text({"q": 1}) == '{"q":1}'
    messages = [message("system", None), message("user", ["a", {"type": "image"}]), message("tool", "ok")]
    assert payload_text(messages) == "\na\n\nok"


def test_state_at_accumulates_counted_calls_started_so_far(cursor):
    start = cursor.state_at(0)
    assert (start.elapsed_ns, start.input_tokens, start.output_tokens, start.cost_usd) == (0, 0, 0, None)
    after_answer = cursor.state_at(ORDER.index("answer"))
    assert after_answer.elapsed_ns == 30 * MS
    assert (after_answer.input_tokens, after_answer.output_tokens, after_answer.cost_usd) == (300, 30, 0.01)
    assert after_answer.label == "step 7 of 8"


class Recorder:
    def __init__(self) -> None:
        self.events: list[str] = []

    def on_trace_loaded(self, cursor: StepCursor) -> None:
        self.events.append(f"loaded {len(cursor)}")

    def on_trace_closed(self) -> None:
        self.events.append("closed")

    def on_step_changed(self, cursor: StepCursor) -> None:
        self.events.append(f"step {cursor.step}")


def test_observers_hear_loads_moves_and_closes():
    cursor = StepCursor()
    early = Recorder()
    cursor.subscribe(early)
    cursor.load(tree())
    cursor.next()
    cursor.previous()
    cursor.previous()  # at the edge: nothing changes, nothing told
    cursor.go_to("root")  # already there
    late = Recorder()
    cursor.subscribe(late)
    cursor.close()
    assert early.events == ["closed", "loaded 8", "step root", "step plan", "step root", "closed"]
    assert late.events == ["loaded 8", "step root", "closed"]
    cursor.unsubscribe(early)
    cursor.load(tree())
    assert early.events[-1] == "closed"


def test_an_empty_or_closed_cursor_goes_nowhere():
    cursor = StepCursor()
    moves = ("next", "previous", "to_start", "to_end", "step_into", "step_over", "step_out", "next_error")
    assert [getattr(cursor, m)() for m in moves] == [None] * len(moves)
    assert (cursor.step, cursor.row, cursor.go_to("root")) == (None, None, None)
    cursor.load(TraceTree.build(SpanRows.from_dicts([])))
    assert [getattr(cursor, m)() for m in moves] == [None] * len(moves)
    assert cursor.continue_forward([Breakpoint.from_text("latency_ms > 0")]) is None
