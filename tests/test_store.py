"""The store: one transaction per file, dedupe, trace roll-ups, orphans, skew, cancel and failure."""

from __future__ import annotations

import gzip
import shutil
import sqlite3

import pytest

from old_stores import before_computed_costs
from otlp import TRACE, llm, request, span, write_jsonl
from spanscope.core import conventions
from spanscope.core.pricing.prices import user_price_book
from spanscope.core.store import ImportState, Outcome, connect, import_file, payload
from spanscope.core.store.finalize import prepare_store
from spanscope.core.store.queries import get_span, iter_spans, list_traces, resolve_trace_id, trace_rows
from spanscope.core.store.schema import VERSION, SchemaError

ROOT, AGENT, CALL_A, CALL_B, TOOL = (f"{i:016x}" for i in range(1, 6))


def agent_trace():
    """An agent whose span repeats its two model calls' usage, as agent frameworks do."""
    return request(
        span(ROOT, name="answer", start=0, end=10_000, attrs={"openinference.span.kind": "CHAIN"}),
        span(
            AGENT,
            ROOT,
            name="agent",
            start=100,
            end=9_000,
            attrs={"openinference.span.kind": "AGENT", "gen_ai.usage.input_tokens": 300},
        ),
        llm(CALL_A, AGENT, "gpt-4o", 100, 10, start=200, end=3_000, attrs={"llm.cost.total": 0.01}),
        span(TOOL, AGENT, name="search", start=3_100, end=4_000, attrs={"openinference.span.kind": "TOOL"}),
        llm(CALL_B, AGENT, "gpt-4o-mini", 200, 20, start=4_100, end=8_000, error="rate limited"),
    )


@pytest.fixture
def store(tmp_path):
    return tmp_path / "store.db"


def table_counts(path):
    conn = sqlite3.connect(path)
    try:
        return {
            t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("spans", "chunks", "traces")
        }
    finally:
        conn.close()


def test_import_rolls_up_only_leaf_model_calls(tmp_path, store):
    result = import_file(store, write_jsonl(tmp_path / "a.jsonl", agent_trace()))
    assert (result.outcome, result.spans_read, result.spans_added, result.traces) == (
        Outcome.IMPORTED,
        5,
        5,
        1,
    )
    [trace] = list_traces(connect(store, readonly=True))
    assert trace.root_name == "answer"
    assert trace.span_count == 5
    assert trace.error_count == 1
    assert (trace.input_tokens, trace.output_tokens, trace.total_tokens) == (300, 30, 330)
    # Call A reported $0.01; call B is priced: 200 input and 20 output tokens of gpt-4o-mini at
    # $0.15 and $0.60 per million.
    assert trace.cost_usd == pytest.approx(0.01 + 200 * 0.15e-6 + 20 * 0.6e-6)
    assert (trace.cost_reported, trace.cost_computed, trace.cost_unknown) == (1, 1, 0)
    assert trace.models == ("gpt-4o", "gpt-4o-mini")
    assert trace.duration_ns == 10_000
    assert trace.service == "test-service"


def test_same_file_twice_adds_nothing(tmp_path, store):
    path = write_jsonl(tmp_path / "a.jsonl", agent_trace())
    import_file(store, path)
    before = table_counts(store)
    assert import_file(store, path).outcome is Outcome.ALREADY
    copy = shutil.copy(path, tmp_path / "copy.jsonl")
    again = import_file(store, copy)
    assert (again.outcome, again.spans_read, again.spans_added) == (Outcome.IMPORTED, 5, 0)
    assert table_counts(store) == before


def test_duplicate_spans_across_lines_stored_once(tmp_path, store):
    path = write_jsonl(tmp_path / "dup.jsonl", agent_trace(), agent_trace())
    result = import_file(store, path)
    assert (result.spans_read, result.spans_added) == (10, 5)
    assert table_counts(store) == {"spans": 5, "chunks": 1, "traces": 1}


def test_running_span_is_completed_by_a_later_file(tmp_path, store):
    running = request(llm(CALL_A, None, "gpt-4o", 1, 1, end=None))
    import_file(store, write_jsonl(tmp_path / "running.jsonl", running))
    db = connect(store, readonly=True)
    assert get_span(db, TRACE, CALL_A).end_ns is None
    assert list_traces(db)[0].duration_ns is None
    done = request(llm(CALL_A, None, "gpt-4o", 5, 7, end=5_000, attrs={"output.value": "finished"}))
    import_file(store, write_jsonl(tmp_path / "done.jsonl", done))
    finished = get_span(db, TRACE, CALL_A)
    assert finished.end_ns is not None
    assert finished.output == "finished"
    assert finished.input_tokens == 5
    assert list_traces(db)[0].duration_ns == 4_000


def test_orphan_flag_cleared_when_the_parent_arrives(tmp_path, store):
    import_file(store, write_jsonl(tmp_path / "child.jsonl", request(span(TOOL, AGENT, start=500))))
    db = connect(store, readonly=True)
    [row] = trace_rows(db, TRACE)
    assert row["orphan"] == 1
    assert list_traces(db)[0].root_name == "span-05"
    import_file(
        store, write_jsonl(tmp_path / "parent.jsonl", request(span(AGENT, None, name="agent", start=0)))
    )
    rows = {r["span_id"]: r for r in trace_rows(db, TRACE)}
    assert rows[TOOL]["orphan"] == 0
    assert list_traces(db)[0].root_name == "agent"


def test_child_starting_before_parent_is_kept_and_flagged(tmp_path, store):
    skewed = request(span(ROOT, None, start=1_000, end=5_000), span(TOOL, ROOT, start=400, end=900))
    import_file(store, write_jsonl(tmp_path / "skew.jsonl", skewed))
    rows = {r["span_id"]: r for r in trace_rows(connect(store, readonly=True), TRACE)}
    assert rows[TOOL]["clock_skew"] == 1
    assert rows[TOOL]["start_ns"] == 1_700_000_000_000_000_400
    assert rows[ROOT]["clock_skew"] == 0


def test_malformed_line_is_skipped_with_its_line_number(tmp_path, store):
    path = write_jsonl(
        tmp_path / "bad.jsonl", request(span(ROOT)), b'{"resourceSpans": [', request(span(TOOL))
    )
    result = import_file(store, path)
    assert result.outcome is Outcome.IMPORTED
    assert result.spans_added == 2
    [problem] = result.problems
    assert problem.where == "line 2"
    assert str(path) in str(problem)


def test_unknown_format_fails_saying_what_the_file_begins_with(tmp_path, store):
    path = tmp_path / "notes.txt"
    path.write_text("just some notes\n")
    result = import_file(store, path)
    assert result.outcome is Outcome.FAILED
    assert "notes.txt" in result.error and result.error.endswith("it begins with 'just some notes'")


def test_cancelled_import_leaves_the_store_as_it_was(tmp_path, store):
    import_file(store, write_jsonl(tmp_path / "first.jsonl", agent_trace()))
    before = table_counts(store)
    many = [request(span(f"{i:016x}", trace=f"{i:032x}")) for i in range(1, 6001)]
    state = ImportState()
    state.on_progress = lambda p: state.cancel()
    result = import_file(store, write_jsonl(tmp_path / "big.jsonl", *many), state)
    assert result.outcome is Outcome.CANCELLED
    assert table_counts(store) == before
    assert len(connect(store, readonly=True).execute("SELECT * FROM sources").fetchall()) == 1


def test_failure_midway_rolls_back(tmp_path, store, monkeypatch):
    import_file(store, write_jsonl(tmp_path / "first.jsonl", agent_trace()))
    before = table_counts(store)
    real_apply, calls = conventions.apply_fields, []

    def failing_apply(s):
        calls.append(s)
        if len(calls) > 4500:
            raise RuntimeError("boom")
        real_apply(s)

    monkeypatch.setattr(conventions, "apply_fields", failing_apply)
    many = [request(span(f"{i:016x}", trace=f"{i:032x}")) for i in range(1, 5001)]
    result = import_file(store, write_jsonl(tmp_path / "big.jsonl", *many))
    assert result.outcome is Outcome.FAILED
    assert "boom" in result.error
    assert table_counts(store) == before


def test_store_from_a_newer_version_is_refused(store):
    connect(store).conn.close()
    conn = sqlite3.connect(store)
    conn.execute(f"PRAGMA user_version = {VERSION + 1}")
    conn.close()
    with pytest.raises(SchemaError, match="newer Spanscope"):
        connect(store)


def test_spans_round_trip_with_payload(tmp_path, store):
    import_file(store, write_jsonl(tmp_path / "a.jsonl", agent_trace()))
    db = connect(store, readonly=True)
    spans = {s.span_id: s for s in iter_spans(db)}
    assert set(spans) == {ROOT, AGENT, CALL_A, TOOL, CALL_B}
    call = spans[CALL_B]
    assert call.attributes["llm.model_name"] == "gpt-4o-mini"
    assert (call.status, call.status_message) == ("error", "rate limited")
    assert call.resource["service.name"] == "test-service"
    assert spans[AGENT].input_tokens == 300  # a span's own tokens are kept as reported


def test_trace_id_prefix_resolves(tmp_path, store):
    import_file(store, write_jsonl(tmp_path / "a.jsonl", agent_trace()))
    db = connect(store, readonly=True)
    assert resolve_trace_id(db, TRACE[:8].upper()) == TRACE


def test_a_trace_keeps_its_rowid_when_more_of_it_arrives(tmp_path, store):
    """Views page the trace list by rowid; a later import must not renumber a trace."""
    import_file(store, write_jsonl(tmp_path / "child.jsonl", request(span(TOOL, AGENT, start=500))))
    rowid = sqlite3.connect(store).execute("SELECT rowid FROM traces WHERE trace_id = ?", (TRACE,)).fetchone()
    import_file(
        store, write_jsonl(tmp_path / "parent.jsonl", request(span(AGENT, None, name="agent", start=0)))
    )
    conn = sqlite3.connect(store)
    assert conn.execute("SELECT rowid, span_count FROM traces WHERE trace_id = ?", (TRACE,)).fetchone() == (
        rowid[0],
        2,
    )


def test_a_truncated_gzip_file_keeps_what_came_before_the_cut(tmp_path, store):
    lines = [
        request(span(f"{i:016x}", trace=f"{i:032x}", attrs={"filler": f"{i:x}" * 2000}))
        for i in range(1, 301)
    ]
    whole = gzip.compress(write_jsonl(tmp_path / "all.jsonl", *lines).read_bytes())
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    result = import_file(store, cut)
    assert result.outcome is Outcome.IMPORTED
    assert 50 < result.spans_added < 300
    [problem] = result.problems
    assert (problem.where, problem.reason) == (
        "end of file",
        "the compressed file is cut short; what came before was read",
    )


def test_an_interrupted_import_rolls_back(tmp_path, store):
    """Ctrl+C (or any exit) in the middle of a file must never commit the part read so far."""
    import_file(store, write_jsonl(tmp_path / "first.jsonl", agent_trace()))
    before = table_counts(store)
    many = [request(span(f"{i:016x}", trace=f"{i:032x}")) for i in range(1, 6001)]

    def interrupt(progress):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        import_file(store, write_jsonl(tmp_path / "big.jsonl", *many), ImportState(on_progress=interrupt))
    assert table_counts(store) == before


def test_imports_work_with_a_low_sqlite_parameter_limit(tmp_path, store, monkeypatch):
    """Some SQLite builds allow 999 parameters per statement; multi-row inserts must fit."""
    from spanscope.core.store import ingest

    real_connect = ingest.connect

    def low_limit_connect(path, **kw):
        db = real_connect(path, **kw)
        db.conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
        return db

    monkeypatch.setattr(ingest, "connect", low_limit_connect)
    many = [request(span(f"{i:016x}", trace=f"{i:032x}")) for i in range(1, 3001)]
    result = import_file(store, write_jsonl(tmp_path / "many.jsonl", *many))
    assert (result.outcome, result.spans_added) == (Outcome.IMPORTED, 3000)


def test_input_and_output_held_by_attributes_are_derived_when_read_not_stored_twice(tmp_path, store):
    chat = llm(
        CALL_A,
        None,
        "gpt-4o",
        10,
        2,
        attrs={
            "llm.input_messages.0.message.role": "user",
            "llm.input_messages.0.message.content": "Where is Lisbon?",
            "output.value": "In Portugal.",
        },
    )
    import_file(store, write_jsonl(tmp_path / "a.jsonl", request(chat)))
    db = connect(store, readonly=True)
    span = get_span(db, TRACE, CALL_A)
    assert span.input[0]["role"] == "user" and span.input[0]["content"] == "Where is Lisbon?"
    assert span.output == "In Portugal."
    (blob,) = db.execute("SELECT data FROM chunks").fetchone()
    (doc,) = payload.unpack(blob)
    assert "input" not in doc and "output" not in doc


def test_input_a_reader_sets_itself_is_stored_as_given(tmp_path, store, monkeypatch):
    from types import SimpleNamespace

    from spanscope.core.model import Span
    from spanscope.core.store import ingest

    given = Span(TRACE, ROOT, None, "run", 1, 2, input={"question": "q"}, attributes={"input.value": "other"})
    fmt = SimpleNamespace(name="own", read=lambda source, progress: iter([given]))
    monkeypatch.setattr(ingest, "detect", lambda source: fmt)
    path = tmp_path / "own.dat"
    path.write_text("x")
    import_file(store, path)
    assert get_span(connect(store, readonly=True), TRACE, ROOT).input == {"question": "q"}


def test_calls_without_a_reported_cost_are_priced_unknown_ones_counted(tmp_path, store):
    trace = request(
        span(ROOT, name="answer", start=0, end=10_000, attrs={"openinference.span.kind": "CHAIN"}),
        llm(CALL_A, ROOT, "gpt-4o-mini", 1_000, 100, start=100, end=200),
        llm(CALL_B, ROOT, "my-finetune", 10, 10, start=300, end=400),
    )
    import_file(store, write_jsonl(tmp_path / "a.jsonl", trace))
    [row] = list_traces(connect(store, readonly=True))
    assert row.cost_usd == pytest.approx(1_000 * 0.15e-6 + 100 * 0.6e-6)
    assert (row.cost_reported, row.cost_computed, row.cost_unknown) == (0, 1, 1)


def test_a_tier_is_applied_per_call_not_to_the_sum_of_calls(tmp_path, store):
    claude = {"llm.provider": "anthropic"}
    trace = request(
        span(ROOT, name="answer", start=0, end=10_000, attrs={"openinference.span.kind": "CHAIN"}),
        llm(CALL_A, ROOT, "claude-sonnet-4-5", 250_000, 1_000, start=100, end=200, attrs=claude),
        llm(CALL_B, ROOT, "claude-sonnet-4-5", 1_000, 100, start=300, end=400, attrs=claude),
    )
    import_file(store, write_jsonl(tmp_path / "a.jsonl", trace))
    [row] = list_traces(connect(store, readonly=True))
    # Past 200k input tokens every token of that call costs $6 / $22.50 per million, not $3 / $15.
    expected = 250_000 * 6e-6 + 1_000 * 22.5e-6 + 1_000 * 3e-6 + 100 * 15e-6
    assert row.cost_usd == pytest.approx(expected)
    assert row.cost_computed == 2


def test_price_overrides_in_the_config_dir_price_the_import(tmp_path, store, user_config_dir):
    user_config_dir.mkdir(parents=True)
    (user_config_dir / "prices.json").write_text('{"models": {"my-*": {"input": 1, "output": 2}}}')
    trace = request(llm(CALL_A, None, "my-finetune", 1_000, 500, start=100, end=200))
    import_file(store, write_jsonl(tmp_path / "a.jsonl", trace))
    [row] = list_traces(connect(store, readonly=True))
    assert row.cost_usd == pytest.approx(1_000 * 1e-6 + 500 * 2e-6)
    assert (row.cost_computed, row.cost_unknown) == (1, 0)


def test_a_store_from_before_computed_costs_is_upgraded_with_them(tmp_path, store):
    import_file(store, write_jsonl(tmp_path / "a.jsonl", agent_trace()))
    before_computed_costs(store, trace_cost=0.01)  # reported costs only
    # The upgrade itself only adds the columns; opening the store for use prices its calls, once.
    [upgraded] = list_traces(connect(store, readonly=True))
    assert (upgraded.cost_usd, upgraded.cost_computed) == (pytest.approx(0.01), 0)
    assert prepare_store(store, user_price_book()) == 1
    assert prepare_store(store, user_price_book()) == 0
    [trace] = list_traces(connect(store))
    assert trace.cost_usd == pytest.approx(0.01 + 200 * 0.15e-6 + 20 * 0.6e-6)
    assert (trace.cost_reported, trace.cost_computed, trace.cost_unknown) == (1, 1, 0)
    assert connect(store).execute("PRAGMA user_version").fetchone()[0] == VERSION
