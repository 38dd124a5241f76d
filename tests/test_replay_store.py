"""Calls Spanscope made, stored as traces of their own: linked to the recorded call they replay or
judge, all of a call's records stored or none, and the link kept by the store's one write path."""

from __future__ import annotations

import pytest

from spanscope.core.endpoints.chat import ChatRequest, Completion
from spanscope.core.endpoints.config import Endpoint
from spanscope.core.model import Kind, Score, ScoreFor, Span, message
from spanscope.core.replay.spans import call_span
from spanscope.core.store import StoreError, connect
from spanscope.core.store.queries import count_traces, get_span, get_trace, span_scores
from spanscope.core.store.replays import done_in_run, replay_origin, replays_of, store_spans

ENDPOINT = Endpoint("local", "http://127.0.0.1:8080/v1")
REQUEST = ChatRequest("local-small", [message("user", "hi")], params={"temperature": 0.5})
RECORDED = Span("a" * 32, "b" * 16, None, "chat gpt-4o", 1_000, 2_000, kind=Kind.LLM, model="gpt-4o")


def _completion(text: str = "hello") -> Completion:
    return Completion("local-small", text, [], "stop", 10_000, 60_000, 5_000, 12, 3, 0, None, "id-1")


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "store.db"
    store_spans(path, [RECORDED], "recorded", "test")
    return path


def test_a_replay_is_a_trace_linked_to_the_call_it_replays(store):
    span = call_span(
        REQUEST,
        _completion(),
        endpoint=ENDPOINT,
        of_trace_id=RECORDED.trace_id,
        of_span_id=RECORDED.span_id,
        run="run-1",
    )
    store_spans(store, [span], "replay: local-small")
    db = connect(store, readonly=True)
    (row,) = replays_of(db, RECORDED.trace_id, RECORDED.span_id)
    assert (row.trace_id, row.span_id, row.purpose, row.run, row.model) == (
        span.trace_id,
        span.span_id,
        "replay",
        "run-1",
        "local-small",
    )
    assert replay_origin(db, span.trace_id) == [row]
    assert replay_origin(db, RECORDED.trace_id) == []
    assert done_in_run(db, "run-1") == {(RECORDED.trace_id, RECORDED.span_id)}
    stored = get_span(db, span.trace_id, span.span_id)
    assert stored.kind is Kind.LLM and stored.model == "local-small" and stored.ttft_ns == 5_000
    assert stored.output == [message("assistant", "hello")] and stored.input == REQUEST.messages
    assert stored.attributes["gen_ai.request.temperature"] == 0.5
    assert stored.links[0]["span_id"] == RECORDED.span_id
    trace = get_trace(db, span.trace_id)
    assert (
        trace.service == "spanscope replay" and trace.input_tokens == 12 and trace.models == ("local-small",)
    )


def test_a_judgement_and_its_score_are_stored_together_or_not_at_all(store):
    judged = call_span(
        REQUEST,
        _completion('{"score": 4}'),
        endpoint=ENDPOINT,
        purpose="judge",
        of_trace_id=RECORDED.trace_id,
        of_span_id=RECORDED.span_id,
    )
    score = Score("helpfulness", 4.0, None, "clear", "LLM judge local-small", judged.trace_id)
    store_spans(store, [judged, ScoreFor(RECORDED.trace_id, RECORDED.span_id, score)], "judge", "judge")
    db = connect(store, readonly=True)
    assert [s.value for s in span_scores(db, RECORDED.trace_id, RECORDED.span_id, True)] == [4.0]
    assert get_trace(db, RECORDED.trace_id).scores
    assert replays_of(db, RECORDED.trace_id)[0].purpose == "judge"
    before = count_traces(db)
    lost = call_span(
        REQUEST, _completion(), endpoint=ENDPOINT, purpose="judge", of_trace_id="c" * 32, of_span_id="d" * 16
    )
    with pytest.raises(StoreError, match="not in the store"):
        store_spans(store, [lost, ScoreFor(None, "d" * 16, score)], "judge", "judge")
    db = connect(store, readonly=True)
    assert count_traces(db) == before and replays_of(db, "c" * 32) == []
