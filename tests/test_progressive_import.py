"""Imports that commit as they go: their traces show while they run, and one that is cancelled,
fails or whose process is killed leaves every table of the store as it was before it."""

from __future__ import annotations

import json
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import otlp
from generated_traces import generated_file
from spanscope.core.model import Span
from spanscope.core.search.index import build_index
from spanscope.core.store import ImportState, Outcome, connect, import_file, ingest
from spanscope.core.store.live import SpanSink
from spanscope.core.store.queries import get_span
from spanscope.core.store.undo import ImportLock, recover_imports

BIG_SPANS = 150_000
CLI = "import sys; from spanscope.cli import main; sys.exit(main(sys.argv[1:]))"


@pytest.fixture(scope="session")
def big_file(tmp_path_factory) -> Path:
    """A generated OTLP/JSON file big enough for its import to take several commits."""
    return generated_file(tmp_path_factory, BIG_SPANS)


def spans_in(path: Path) -> int:
    """The spans of an OTLP/JSON lines file, counted from the file itself."""
    with path.open() as lines:
        return sum(
            len(scope["spans"])
            for line in lines
            for resource in json.loads(line)["resourceSpans"]
            for scope in resource["scopeSpans"]
        )


def first_span(big_file: Path) -> dict:
    request = json.loads(big_file.open().readline())
    return request["resourceSpans"][0]["scopeSpans"][0]["spans"][0]


@pytest.fixture
def store(tmp_path, fixtures_dir, big_file) -> Path:
    """A store holding real captures, scores, log records, a search index, and one span of the big
    file still running (the big file holds it completed)."""
    path = tmp_path / "store.db"
    request = json.loads(big_file.open().readline())
    scope = request["resourceSpans"][0]["scopeSpans"][0]
    running = dict(scope["spans"][0])
    del running["endTimeUnixNano"]
    scope["spans"] = [running]
    request["resourceSpans"] = request["resourceSpans"][:1]
    running_file = tmp_path / "running.otlp.jsonl"
    running_file.write_text(json.dumps(request) + "\n")
    for file in (
        fixtures_dir / "openinference-openai" / "chain-and-session.otlp.jsonl",
        fixtures_dir / "langfuse-sdk" / "chain-and-session.otlp.json",
        running_file,
    ):
        assert import_file(path, file).outcome is Outcome.IMPORTED, file
    build_index(path)
    return path


def snapshot(path: Path) -> dict[str, list[str]]:
    """Every row of every table (the full-text index's own tables included), in a stable order."""
    conn = sqlite3.connect(path)
    try:
        tables = [
            name
            for name, sql in conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'")
            if not name.startswith("sqlite_") and not sql.startswith("CREATE VIRTUAL")
        ]
        return {t: sorted(repr(row) for row in conn.execute(f'SELECT * FROM "{t}"')) for t in tables}
    finally:
        conn.close()


def count(path: Path, sql: str) -> int:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


def cancel_after(commits: int, path: Path, seen: list[int]) -> ImportState:
    """An import state that cancels once the writer committed `commits` times, having checked each
    time that another connection sees the import's traces as they are committed."""
    state = ImportState()

    def progress(p) -> None:
        if p.stored and (not seen or seen[-1] != p.stored):
            seen.append(p.stored)
            assert count(path, "SELECT sum(span_count) FROM traces") >= p.stored
        if len(seen) >= commits:
            state.cancel()

    state.on_progress = progress
    return state


def test_a_cancelled_import_leaves_every_table_as_it_was_and_the_running_span_running(
    store, big_file, monkeypatch
):
    monkeypatch.setattr(ingest, "COMMIT_INTERVAL_S", 0.05)
    before = snapshot(store)
    span_id = first_span(big_file)["spanId"]
    assert count(store, f"SELECT count(*) FROM spans WHERE span_id = '{span_id}' AND end_ns IS NULL") == 1
    seen: list[int] = []
    result = import_file(store, big_file, cancel_after(4, store, seen))
    assert result.outcome is Outcome.CANCELLED
    assert len(seen) >= 4 and seen[-1] < BIG_SPANS
    assert snapshot(store) == before
    assert count(store, f"SELECT count(*) FROM spans WHERE span_id = '{span_id}' AND end_ns IS NULL") == 1
    assert not ImportLock(store, 4).path.exists()
    # The file imports afterwards as any other, completing the running span.
    monkeypatch.setattr(ingest, "COMMIT_INTERVAL_S", 1.5)
    done = import_file(store, big_file)
    total = spans_in(big_file)
    assert (done.outcome, done.spans_read, done.spans_added) == (Outcome.IMPORTED, total, total - 1)
    assert count(store, f"SELECT count(*) FROM spans WHERE span_id = '{span_id}' AND end_ns IS NULL") == 0
    assert import_file(store, big_file).outcome is Outcome.ALREADY


@pytest.fixture
def files_up_to(store):
    """Files this process writes may grow only so far past the store's size (a full disk)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead
    yield lambda extra: resource.setrlimit(resource.RLIMIT_FSIZE, (store.stat().st_size + extra, hard))
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    signal.signal(signal.SIGXFSZ, handler)


def test_an_import_that_fails_midway_is_undone(store, big_file, files_up_to, monkeypatch):
    monkeypatch.setattr(ingest, "COMMIT_INTERVAL_S", 0.05)
    before = snapshot(store)
    seen: list[int] = []
    files_up_to(12 << 20)
    result = import_file(store, big_file, cancel_after(10**6, store, seen))
    files_up_to(1 << 40)
    assert result.outcome is Outcome.FAILED, result
    assert "could not store" in result.error
    assert len(seen) >= 2
    # Undone by the import itself, or, when the full disk refused that too, by the next open.
    recover_imports(store)
    assert snapshot(store) == before


def test_the_search_index_never_holds_spans_of_a_running_import(store, big_file, monkeypatch):
    monkeypatch.setattr(ingest, "COMMIT_INTERVAL_S", 0.05)
    spans_before = count(store, "SELECT count(*) FROM spans")
    built = []
    building = threading.Lock()
    state = ImportState()

    def progress(p) -> None:
        with building:  # progress comes from the parser, and from the writer once it committed
            if p.stored and len(built) < 2:
                built.append(build_index(store))
            if len(built) == 2:
                state.cancel()

    state.on_progress = progress
    assert import_file(store, big_file, state).outcome is Outcome.CANCELLED
    assert [status.indexed for status in built] == [spans_before, spans_before]
    assert all(not status.complete for status in built)
    assert count(store, "SELECT count(*) FROM search_running") == 1  # the running span, still so
    assert count(store, "SELECT max(last_span) FROM search_state") <= spans_before


def test_a_live_import_is_not_undone_by_another_open(store, big_file, monkeypatch):
    monkeypatch.setattr(ingest, "COMMIT_INTERVAL_S", 0.05)
    recovered = []
    state = ImportState()
    state.on_progress = lambda p: p.stored and not recovered and recovered.append(recover_imports(store))
    result = import_file(store, big_file, state)
    assert recovered and not any(recovered)  # (progress comes from two threads)
    assert (result.outcome, result.spans_added) == (Outcome.IMPORTED, spans_in(big_file) - 1)
    assert count(store, "SELECT count(*) FROM imports_running") == 0


def test_a_killed_import_is_undone_when_the_store_is_opened_again(store, big_file):
    before = snapshot(store)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    child = subprocess.Popen(
        [sys.executable, "-c", CLI, "import", "--db", str(store), str(big_file)],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        commits = [len(before["spans"])]
        while len(commits) < 3:  # killed once it committed twice
            assert child.poll() is None, "the import ended before it could be killed"
            assert time.monotonic() < deadline
            if (spans := count(store, "SELECT count(*) FROM spans")) > commits[-1]:
                commits.append(spans)
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait()
    assert count(store, "SELECT count(*) FROM imports_running") == 1
    assert recover_imports(store) == 1
    assert snapshot(store) == before


def test_an_mcp_client_call_failed_by_a_cancelled_import_is_unset_again(tmp_path, big_file, monkeypatch):
    """The client's call, stored first, is marked failed when its server's failed span arrives (from
    the import's first commit on); undoing the import unmarks it."""
    monkeypatch.setattr(ingest, "COMMIT_INTERVAL_S", 0.05)
    mcp = {"mcp.method.name": "tools/call", "jsonrpc.request.id": "7"}
    client_call = otlp.span("00000000000000c7", "00000000000000a1", name="MCP send tools/call", attrs=mcp)
    server_call = otlp.span("00000000000000d7", "00000000000000c7", name="tools/call", attrs=mcp, error="no")
    client_call["kind"], server_call["kind"] = 3, 2  # CLIENT, SERVER
    store = tmp_path / "store.db"
    client = otlp.write_jsonl(
        tmp_path / "client.otlp.jsonl", otlp.request(otlp.span("00000000000000a1", name="agent"), client_call)
    )
    assert import_file(store, client).outcome is Outcome.IMPORTED
    build_index(store)
    server = tmp_path / "server-then-more.otlp.jsonl"
    server.write_bytes(json.dumps(otlp.request(server_call)).encode() + b"\n" + big_file.read_bytes())
    before = snapshot(store)
    failed = "SELECT count(*) FROM spans WHERE span_id = '00000000000000c7' AND status = 'error'"
    seen: list[int] = []

    def client_failed_then_cancel(p) -> None:
        if p.stored and not seen:
            seen.append(count(store, failed))
            state.cancel()

    state = ImportState(on_progress=client_failed_then_cancel)
    assert import_file(store, server, state).outcome is Outcome.CANCELLED
    assert seen and set(seen) == {1}  # progress may be reported again before the cancel is seen
    assert count(store, failed) == 0
    assert snapshot(store) == before


def test_spans_received_between_an_imports_commits_keep_their_own_payloads(store, big_file, monkeypatch):
    """The receiver writes between the import's commits: its chunks take ids the import had numbered
    its own from, which then move past them."""
    monkeypatch.setattr(ingest, "COMMIT_INTERVAL_S", 0.05)
    sink = SpanSink(store, "otlp-http://127.0.0.1:4318")
    received = []
    state = ImportState()

    def receive_after_each_commit(p) -> None:
        with receiving:
            if p.stored and len(received) < 3 and (not received or received[-1][0] != p.stored):
                live = Span(
                    f"{len(received) + 1:032x}",
                    "00000000000000f1",
                    None,
                    "live",
                    1,
                    2,
                    attributes={"n": p.stored},
                )
                received.append((p.stored, live))
                sink.store([live])

    receiving = threading.Lock()
    state.on_progress = receive_after_each_commit
    try:
        result = import_file(store, big_file, state)
    finally:
        sink.close()
    assert (result.outcome, result.spans_added) == (Outcome.IMPORTED, spans_in(big_file) - 1)
    db = connect(store, readonly=True)
    try:
        for stored, live in received:
            assert get_span(db, live.trace_id, live.span_id).attributes["n"] == stored
        first = first_span(big_file)
        attributes = get_span(db, first["traceId"], first["spanId"]).attributes
        assert {a["key"] for a in first["attributes"]} <= set(attributes)
    finally:
        db.conn.close()
    assert len(received) == 3
