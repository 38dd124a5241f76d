"""Review walks: the traces of a filter in the list's order, progress, and each trace's final output."""

from __future__ import annotations

from pathlib import Path

import pytest

from otlp import llm, request, span, write_jsonl
from spanscope.core.resources import demo_traces
from spanscope.core.review.annotations import COMMENT, RATING, WHOLE_TRACE, Given, annotate
from spanscope.core.review.session import ReviewWalk, trace_io
from spanscope.core.store import Outcome, connect, import_file
from spanscope.core.store.trace_query import TraceFilter, fetch_rows, sorted_trace_ids

NO_ROOT_OUTPUT = "0000000000000000000000000000000b"


@pytest.fixture
def demo_store(tmp_path) -> Path:
    path = tmp_path / "demo.db"
    assert import_file(path, demo_traces()).outcome is Outcome.IMPORTED
    return path


def listed(db, trace_filter: TraceFilter, order_by: str, descending: bool) -> list[str]:
    rowids = sorted_trace_ids(db, trace_filter, order_by, descending)
    return [t.trace_id for t in fetch_rows(db, rowids)]


def walked(walk: ReviewWalk) -> list[str]:
    return [walk.trace(i).trace_id for i in range(len(walk))]


def test_a_walk_holds_the_filtered_traces_in_the_lists_order(demo_store):
    db = connect(demo_store, readonly=True)
    errors = TraceFilter(errors_only=True)
    walk = ReviewWalk(db, errors, "cost_usd", descending=True, author="alice")
    assert walked(walk) == listed(db, errors, "cost_usd", True)
    assert 0 < len(walk) < db.execute("SELECT count(*) FROM traces").fetchone()[0]
    every = ReviewWalk(db, TraceFilter(), "start_ns", author="alice")
    assert len(every) == 7


def test_moving_stops_at_either_end(demo_store):
    walk = ReviewWalk(connect(demo_store, readonly=True), TraceFilter(), author="alice")
    assert not walk.move(-1) and walk.position == 0
    assert walk.move(3) and walk.position == 3
    assert walk.move(100) and walk.position == len(walk) - 1
    assert not walk.move(1)
    assert walk.trace(len(walk)) is None


def test_progress_counts_traces_the_reviewer_rated_as_a_whole(demo_store):
    db = connect(demo_store, readonly=True)
    walk = ReviewWalk(db, TraceFilter(), author="alice")
    first, second, third = (walk.trace(i).trace_id for i in range(3))
    annotate(demo_store, first, WHOLE_TRACE, "alice", {RATING: Given(5)})
    annotate(demo_store, second, WHOLE_TRACE, "alice", {COMMENT: Given(comment="too long")})
    annotate(demo_store, third, WHOLE_TRACE, "bob", {RATING: Given(1)})  # another reviewer's
    some_span = db.execute("SELECT span_id FROM spans WHERE trace_id = ? LIMIT 1", (third,)).fetchone()[0]
    annotate(demo_store, third, some_span, "alice", {RATING: Given(1)})  # one span only
    walk.recount()
    assert walk.reviewed_count == 2
    assert [walk.is_reviewed(i) for i in range(3)] == [True, True, False]
    assert walk.next_unreviewed() and walk.position == 2
    # A fresh walk (the app restarted) knows the same.
    assert ReviewWalk(db, TraceFilter(), author="alice").reviewed_count == 2


def test_a_trace_arriving_during_a_walk_does_not_join_it(demo_store, tmp_path):
    db = connect(demo_store, readonly=True)
    walk = ReviewWalk(db, TraceFilter(), author="alice")
    late = write_jsonl(tmp_path / "late.jsonl", request(span("00000000000000c1", trace=NO_ROOT_OUTPUT)))
    assert import_file(demo_store, late).outcome is Outcome.IMPORTED
    annotate(demo_store, NO_ROOT_OUTPUT, WHOLE_TRACE, "alice", {RATING: Given(2)})
    walk.recount()
    assert (len(walk), walk.reviewed_count) == (7, 0)
    assert not walk.go_to(NO_ROOT_OUTPUT)


def test_next_unreviewed_reports_when_all_are_done(demo_store):
    db = connect(demo_store, readonly=True)
    walk = ReviewWalk(db, TraceFilter(), author="alice")
    for i in range(len(walk)):
        annotate(demo_store, walk.trace(i).trace_id, WHOLE_TRACE, "alice", {RATING: Given(3)})
    walk.recount()
    assert walk.reviewed_count == len(walk)
    assert not walk.next_unreviewed()


def test_final_output_is_the_roots_else_the_last_model_calls(tmp_path):
    root, first, last = "00000000000000d1", "00000000000000d2", "00000000000000d3"
    path = write_jsonl(
        tmp_path / "run.jsonl",
        request(
            span(root, trace=NO_ROOT_OUTPUT, name="agent", start=0, end=9_000),
            llm(
                first,
                root,
                "m",
                1,
                1,
                trace=NO_ROOT_OUTPUT,
                start=1_000,
                end=2_000,
                attrs={"input.value": "plan a trip", "output.value": "step one"},
            ),
            llm(
                last,
                root,
                "m",
                1,
                1,
                trace=NO_ROOT_OUTPUT,
                start=3_000,
                end=8_000,
                attrs={"input.value": "step one done", "output.value": "here is your trip"},
            ),
        ),
    )
    store = tmp_path / "s.db"
    import_file(store, path)
    io = trace_io(connect(store, readonly=True), NO_ROOT_OUTPUT)
    assert (io.input, io.input_span.span_id) == ("plan a trip", first)
    assert (io.output, io.output_span.span_id) == ("here is your trip", last)


def test_the_demo_traces_answer_from_their_root(demo_store):
    db = connect(demo_store, readonly=True)
    for (trace_id,) in db.execute("SELECT trace_id FROM traces").fetchall():
        io = trace_io(db, trace_id)
        assert io.output is not None and io.output_span.parent_id is None
