"""Replaying traces' model calls with another model (core/replay/batch.py) against a real
OpenAI-compatible server on loopback, on a real OpenAI Agents capture: one mirrored trace per
original, linked call by call; concurrency held to its word; a failed call leaves its trace unstored
for the next run of the same run; a refused key stops the run; a cancel stores no half trace."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from openai_server import Fault, OpenAICompatibleServer
from spanscope.core.analysis.model_comparison import compare_models
from spanscope.core.diff.trace_diff import diff_traces
from spanscope.core.endpoints.config import Endpoint
from spanscope.core.endpoints.wire import chat_messages
from spanscope.core.model import Kind
from spanscope.core.replay.batch import Failure, Progress, ReplayArgs, ReplayError, ReplayState, run
from spanscope.core.replay.recorded import recorded_request
from spanscope.core.search.find import search
from spanscope.core.search.index import build_index
from spanscope.core.store import connect, import_files
from spanscope.core.store.queries import count_traces, iter_spans
from spanscope.core.store.replays import replay_origin, replays_of

AGENTS = "openai-agents/travel-desk-openinference.otlp.json"
#: The capture's traces with model calls: travel_desk (4 calls: gpt-4o-mini then 3 gpt-4o), its
#: support_chat (2 calls), another of 1 call, and one whose only call recorded no input.
TRAVEL, SUPPORT = "6644f435383191517b5da4846b6f71d4", "6461179094c7bb691a7bacd3e71e8f45"
ONE_CALL, NO_INPUT = "ccd4ff7ad23a8991370e499be02d26c3", "c5185e5641b503f46c95ac26e18c43c8"
MODEL = "local-small"


@pytest.fixture
def store(tmp_path, fixtures_dir) -> Path:
    path = tmp_path / "store.db"
    import_files(path, [fixtures_dir / AGENTS])
    return path


@pytest.fixture
def server():
    with OpenAICompatibleServer() as server:
        yield server


def _args(store: Path, server: OpenAICompatibleServer, *traces: str, **options) -> ReplayArgs:
    endpoint = Endpoint("test", server.base_url, max_retries=options.pop("max_retries", 0), timeout_s=5.0)
    return ReplayArgs(store, endpoint, MODEL, traces=traces, **options)


def _tree(spans) -> list[tuple[str, str, str | None]]:
    """(name, kind, parent's name) of each span, in start order: a trace's shape without its ids."""
    names = {s.span_id: s.name for s in spans}
    return sorted((s.name, s.kind.value, names.get(s.parent_id)) for s in spans)


def test_a_trace_is_replayed_as_one_trace_of_the_same_shape_linked_call_by_call(store, server):
    outcome = run(_args(store, server, TRAVEL[:8]), ReplayState())
    assert (outcome.calls, outcome.failures, len(outcome.replayed)) == (4, [], 1)
    replay = outcome.replayed[0].replay
    db = connect(store, readonly=True)
    assert count_traces(db) == 6
    original, mirrored = list(iter_spans(db, TRAVEL)), list(iter_spans(db, replay))
    assert _tree(mirrored) == _tree(original)
    assert not {s.span_id for s in mirrored} & {s.span_id for s in original}
    calls = [s for s in mirrored if s.kind is Kind.LLM]
    assert {s.model for s in calls} == {MODEL}
    assert not any(s.clock_skew for s in mirrored)
    # Each call sent the recorded call's own messages, to the new model.
    recorded = {s.span_id: recorded_request(s) for s in original if s.kind is Kind.LLM}
    sent = sorted(json.dumps(r["messages"], sort_keys=True) for r in server.requests)
    wanted = [json.loads(json.dumps(chat_messages(r.messages))) for r in recorded.values()]
    assert sent == sorted(json.dumps(m, sort_keys=True) for m in wanted)
    assert {r["model"] for r in server.requests} == {MODEL}
    links = replays_of(db, TRAVEL)
    assert {(r.of_span_id, r.trace_id, r.purpose, r.run) for r in links} == {
        (span_id, replay, "replay", outcome.run) for span_id in recorded
    }
    assert {r.of_trace_id for r in replay_origin(db, replay)} == {TRAVEL}
    # The diff aligns the pair step by step: only the model calls changed.
    diff = diff_traces(db, TRAVEL, replay)
    changed = [row for row in diff.rows if row.change != "same"]
    assert len(diff.rows) == 18 and len(changed) == 4
    assert {row.a.kind for row in changed} == {"LLM"}
    # Search finds the replayed calls, and Compare models has both models over the same inputs.
    build_index(store)
    assert search(db, f"kind:llm model:{MODEL}").count == 4
    rows = {r.model: r.values["calls"] for r in compare_models(db, ["gpt-4o-2024-08-06", MODEL])}
    assert rows == {"gpt-4o-2024-08-06": 3, MODEL: 4}


def test_concurrency_is_held_to_its_word_and_shortens_the_run(store, server):
    delay = server.delay_s = 0.5
    started = time.monotonic()
    outcome = run(_args(store, server, TRAVEL, SUPPORT, ONE_CALL, concurrency=2), ReplayState())
    elapsed = time.monotonic() - started
    assert (outcome.calls, len(outcome.replayed)) == (7, 3)
    assert server.max_concurrent == 2
    # Seven calls of 0.5 s two at a time: four rounds, not seven (one round's margin for a busy machine).
    assert 4 * delay <= elapsed < 6 * delay


def test_a_failed_call_leaves_its_trace_unstored_and_the_same_run_replays_only_it(store, server):
    server.faults.append(Fault.SERVER_ERROR)  # one at a time: the first call, travel_desk's first
    args = _args(store, server, TRAVEL, SUPPORT, concurrency=1)
    first = run(args, ReplayState())
    assert [r.original for r in first.replayed] == [SUPPORT]
    [failure] = first.failures
    assert failure.trace_id == TRAVEL and failure.span_id == "83a8a64eafa5493f"
    assert "500 server error" in failure.message
    db = connect(store, readonly=True)
    assert replays_of(db, TRAVEL) == [] and count_traces(db) == 6
    asked = len(server.requests)
    again = run(args, ReplayState())
    assert again.run == first.run
    assert (again.already, [r.original for r in again.replayed], again.failures) == ([SUPPORT], [TRAVEL], [])
    assert len(server.requests) - asked == 4
    assert count_traces(db) == 7


def test_a_refused_key_stops_the_run_with_one_message_and_stores_nothing(store):
    with OpenAICompatibleServer(api_key="sk-right") as server:
        outcome = run(_args(store, server, TRAVEL, SUPPORT, key="sk-wrong"), ReplayState())
    assert outcome.stopped is not None and outcome.stopped.startswith("401 from http://127.0.0.1:")
    assert "the API key was refused" in outcome.stopped and "sk-wrong" not in outcome.stopped
    assert (outcome.replayed, outcome.failures, outcome.left) == ([], [], 2)
    assert count_traces(connect(store, readonly=True)) == 5


def test_an_endpoint_that_is_not_there_stops_the_run(store):
    endpoint = Endpoint("gone", "http://127.0.0.1:9/v1", max_retries=0, timeout_s=2.0)
    outcome = run(ReplayArgs(store, endpoint, MODEL, traces=(TRAVEL,)), ReplayState())
    assert outcome.stopped is not None and "cannot reach http://127.0.0.1:9/v1" in outcome.stopped
    assert outcome.replayed == []


def test_cancel_mid_run_stores_no_part_of_a_trace(store, server):
    server.delay_s = 0.5
    state = ReplayState()

    def cancel_after_first_answer(progress: Progress) -> None:
        if progress.calls_done == 1:
            state.cancel()

    state.on_progress = cancel_after_first_answer
    started = time.monotonic()
    outcome = run(_args(store, server, TRAVEL, SUPPORT, concurrency=1), state)
    assert time.monotonic() - started < 1.5  # one call answered, the one in flight cut short
    assert outcome.cancelled and outcome.replayed == [] and outcome.left == 2
    db = connect(store, readonly=True)
    assert count_traces(db) == 5 and replays_of(db, TRAVEL) == []


def test_a_filter_replays_the_calls_it_matches_and_copies_the_rest(store, server):
    outcome = run(_args(store, server, search="model:gpt-4o-2024*"), ReplayState())
    assert [(r.original, r.calls) for r in outcome.replayed] == [(TRAVEL, 3)]
    db = connect(store, readonly=True)
    models = sorted(s.model for s in iter_spans(db, outcome.replayed[0].replay) if s.kind is Kind.LLM)
    assert models == ["gpt-4o-mini", MODEL, MODEL, MODEL]
    within = run(_args(store, server, SUPPORT, TRAVEL, search="model:gpt-4o-mini"), ReplayState())
    assert sorted((r.original, r.calls) for r in within.replayed) == [(SUPPORT, 2), (TRAVEL, 1)]
    assert within.run != outcome.run
    with pytest.raises(ReplayError, match="only LLM calls are replayed"):
        run(_args(store, server, search="kind:tool"), ReplayState())
    with pytest.raises(ReplayError, match="bad filter"):
        run(_args(store, server, search='"unclosed'), ReplayState())


def test_a_replay_is_not_replayed_again_and_an_unknown_trace_is_named(store, server):
    replay = run(_args(store, server, SUPPORT), ReplayState()).replayed[0].replay
    outcome = run(_args(store, server, replay), ReplayState())
    assert outcome.skipped == [(replay, f"it is a replay of trace {SUPPORT}")]
    with pytest.raises(ReplayError, match="ffff"):
        run(_args(store, server, "ffff"), ReplayState())


def test_a_call_that_recorded_no_input_fails_its_trace_without_being_sent(store, server):
    outcome = run(_args(store, server, NO_INPUT), ReplayState())
    assert outcome.failures == [
        Failure(NO_INPUT, "cb11cdcb8d987344", "no input was recorded for this call: nothing to send")
    ]
    assert server.requests == [] and outcome.replayed == []


def test_the_key_is_nowhere_in_the_store(store, tmp_path):
    key = "sk-replay-5e9d01"
    with OpenAICompatibleServer(api_key=key) as server:
        outcome = run(_args(store, server, TRAVEL, key=key), ReplayState())
    assert len(outcome.replayed) == 1
    db = connect(store, readonly=True)
    for span in iter_spans(db, outcome.replayed[0].replay):  # documents are stored compressed
        shown = json.dumps([span.attributes, span.resource, span.input, span.output, span.links])
        assert key not in shown
    db.conn.close()
    for path in tmp_path.glob("store.db*"):  # and every column that is not
        assert key.encode() not in path.read_bytes(), path


def test_a_limit_replays_that_many_traces_at_a_time_of_one_run(store, server):
    args = _args(store, server, TRAVEL, SUPPORT, limit=1)
    first = run(args, ReplayState())
    assert ([r.original for r in first.replayed], first.left) == ([TRAVEL], 1)
    second = run(args, ReplayState())
    assert (second.run, second.already, [r.original for r in second.replayed]) == (
        first.run,
        [TRAVEL],
        [SUPPORT],
    )
    assert second.left == 0
