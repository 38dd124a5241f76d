"""The local cache of remote traces: a fetched trace stored whole or not at all, a refresh replacing
it in one transaction, least recently opened traces evicted under the size limit, and the search
index left exactly as if deleted traces had never been stored (its term statistics compared with an
index rebuilt from scratch)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from documented_servers import DocumentedServer
from spanscope.core.endpoints.chat import Cancelled
from spanscope.core.model import Kind, LogRecord, Score, Span
from spanscope.core.remote.base import RemoteError, ServerURL
from spanscope.core.remote.cache import (
    DEFAULT_LIMIT_BYTES,
    CacheConfigError,
    CacheStore,
    cache_path,
    open_cached_trace,
    parse_size,
    read_cache_limit,
    write_cache_limit,
)
from spanscope.core.remote.jaeger import JaegerClient
from spanscope.core.remote.langfuse import LangfuseClient
from spanscope.core.search.find import search
from spanscope.core.search.index import build_index, drop_index
from spanscope.core.store import connect
from spanscope.core.store.queries import count_traces, get_trace
from spanscope.core.store.remote_cache import remote_trace
from test_remote_langfuse import BASIC, KEYS, real, serve_trace
from test_remote_langfuse import FIXTURES as LANGFUSE_FIXTURES

SERVER = ServerURL("jaeger", "http://127.0.0.1:16686")


def trace_records(n: int, word: str, spans: int = 3, running: bool = False) -> list:
    """Trace number `n`: a root and `spans - 1` LLM calls saying `word`, a score, and a log record of
    the first call saying `word`-log; its last call still running when `running`."""
    trace_id = f"{n:032x}"
    start = 1_700_000_000_000_000_000 + n * 10**9
    root = Span(trace_id, f"{n:08x}00000000", None, f"agent {word}", start, start + 10**8, kind=Kind.AGENT)
    root.scores.append(Score("quality", value=0.5))
    records: list = [root]
    for i in range(1, spans):
        end = None if running and i == spans - 1 else start + 10**7 * (i + 1)
        records.append(
            Span(
                trace_id,
                f"{n:08x}{i:08x}",
                root.span_id,
                "chat",
                start + 10**7 * i,
                end,
                kind=Kind.LLM,
                model="gpt-4o",
                input=f"question {word} {i}",
                output=f"answer {word} {i}",
                input_tokens=10,
                output_tokens=5,
            )
        )
    records.append(
        LogRecord(trace_id, f"{n:08x}{1:08x}", start, event_name="gen_ai.choice", body=f"{word}log")
    )
    return records


@pytest.fixture
def cache(tmp_path) -> CacheStore:
    return CacheStore(tmp_path / "cache.db", SERVER, limit_bytes=None)


def hits(store, word: str) -> set[str]:
    build_index(store)
    db = connect(store, readonly=True)
    try:
        return {hit.trace_id for hit in search(db, word).hits}
    finally:
        db.conn.close()


def vocabulary(store) -> list[tuple]:
    """Every term of the index with the spans and times it occurs in: equal for two indexes of the same
    spans, whichever way they were built."""
    build_index(store)
    conn = sqlite3.connect(store)
    try:
        conn.execute("CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, search_fts, row)")
        return conn.execute("SELECT term, doc, cnt FROM temp.vocab ORDER BY term").fetchall()
    finally:
        conn.close()


def assert_index_as_rebuilt(store) -> None:
    incremental = vocabulary(store)
    db = connect(store, readonly=True)
    indexed = db.execute("SELECT indexed FROM search_state").fetchone()[0]
    total = db.execute("SELECT count(*) FROM spans").fetchone()[0]
    db.conn.close()
    drop_index(store)
    assert incremental == vocabulary(store)
    assert indexed == total


def test_a_fetched_trace_is_stored_whole_and_recorded_as_remote(cache):
    stored = cache.store(f"{1:032x}", trace_records(1, "alpha"))
    assert (stored.spans, stored.running, stored.problems) == (3, False, [])
    db = connect(cache.path, readonly=True)
    trace = get_trace(db, f"{1:032x}")
    row = remote_trace(db, f"{1:032x}")
    assert trace.span_count == 3 and trace.scores
    assert row.server == "jaeger+http://127.0.0.1:16686" and row.stored_bytes == stored.stored_bytes > 0
    assert cache.local([f"{1:032x}", f"{2:032x}"]) == {f"{1:032x}"}
    assert cache.size() == stored.stored_bytes


def test_a_refresh_replaces_the_trace_and_its_index_rows(cache):
    trace_id = f"{1:032x}"
    cache.store(trace_id, trace_records(1, "alpha", running=True))
    cache.store(f"{2:032x}", trace_records(2, "gamma"))
    assert cache.running(trace_id)
    assert hits(cache.path, "alpha") == {trace_id}
    assert hits(cache.path, "alphalog") == {trace_id}

    stored = cache.store(trace_id, trace_records(1, "beta", spans=5))
    assert (stored.spans, stored.running) == (5, False)
    assert hits(cache.path, "alpha") == set() and hits(cache.path, "alphalog") == set()
    assert hits(cache.path, "beta") == {trace_id} and hits(cache.path, "gamma") == {f"{2:032x}"}
    db = connect(cache.path, readonly=True)
    assert get_trace(db, trace_id).span_count == 5 and count_traces(db) == 2
    assert db.execute("SELECT count(*) FROM sources").fetchone()[0] == 2
    assert db.execute("SELECT count(*) FROM logs").fetchone()[0] == 2
    db.conn.close()
    assert_index_as_rebuilt(cache.path)


def test_eviction_takes_the_least_recently_opened_never_the_kept(cache):
    ids = [f"{n:032x}" for n in range(1, 6)]
    for n, trace_id in enumerate(ids, 1):
        cache.store(trace_id, trace_records(n, f"word{n}"))
    assert hits(cache.path, "word3") == {ids[2]}
    for trace_id in (ids[2], ids[0], ids[4], ids[1], ids[3]):  # opened in this order: 3 is the oldest
        cache.opened(trace_id)
    sizes = {row.trace_id: row.stored_bytes for row in cache.traces()}
    cache.limit_bytes = sum(sizes.values()) - sizes[ids[2]] - 1  # two must go
    assert cache.evict(keep={ids[2]}) == [ids[0], ids[4]]  # 3 is kept although least recently opened
    assert cache.local(ids) == {ids[1], ids[2], ids[3]}
    assert hits(cache.path, "word1") == set() and hits(cache.path, "word5") == set()
    assert hits(cache.path, "word4") == {ids[3]}
    assert cache.size() == sum(sizes[t] for t in (ids[1], ids[2], ids[3]))
    assert_index_as_rebuilt(cache.path)


def test_traces_stored_after_an_eviction_are_indexed_though_their_ids_are_reused(cache):
    """Deleting the newest trace frees the highest span ids, which SQLite gives the next spans: the
    index must take them as new, not as indexed already."""
    cache.store(f"{1:032x}", trace_records(1, "first"))
    cache.store(f"{2:032x}", trace_records(2, "second"))
    assert hits(cache.path, "second") == {f"{2:032x}"}
    cache.opened(f"{1:032x}")
    cache.limit_bytes = cache.size() // 2
    assert cache.evict() == [f"{2:032x}"]
    cache.store(f"{3:032x}", trace_records(3, "third"))
    assert hits(cache.path, "third") == {f"{3:032x}"} and hits(cache.path, "second") == set()
    assert_index_as_rebuilt(cache.path)


def test_nothing_is_evicted_without_a_limit(cache):
    cache.store(f"{1:032x}", trace_records(1, "alpha"))
    assert cache.evict() == [] and cache.has(f"{1:032x}")


def test_the_cache_of_a_server_is_named_after_it(tmp_path):
    path = cache_path(ServerURL("phoenix", "http://localhost:6006"), tmp_path)
    assert path == tmp_path / "phoenix+localhost_6006.db"


def test_the_size_limit_is_a_setting(user_config_dir):
    assert read_cache_limit() == DEFAULT_LIMIT_BYTES
    assert parse_size("500MB") == 500 * 10**6 and parse_size("1.5GiB") == 3 * 2**29
    write_cache_limit(parse_size("500MB"))
    assert read_cache_limit() == 500 * 10**6
    with pytest.raises(CacheConfigError, match="500 apples"):
        parse_size("500 apples")
    (user_config_dir / "remote.json").write_text('{"cache_limit_bytes": "big"}')
    with pytest.raises(CacheConfigError, match="cache_limit_bytes must be a positive number"):
        read_cache_limit()


# --- against a Jaeger query service's documented answers, over loopback HTTP --------------------


class JaegerTraces:
    """Traces served as a Jaeger query service answers (tests/documented_servers.py; the shapes are
    test_remote_jaeger.py's): /api/traces/{id} for each trace, and the service's search list a page of
    `page_size` at a time, each page after the first routed by the `end` cursor the client sends."""

    def __init__(self, server: DocumentedServer, folder: Path, service: str = "agent") -> None:
        self.server, self.folder, self.service = server, folder, service
        self.folder.mkdir(parents=True, exist_ok=True)
        self.traces: dict[str, dict] = {}

    def add(self, n: int, word: str, spans: int = 3) -> str:
        """Trace number `n` (newer for a higher n), its spans saying `word`; routed for fetching."""
        trace_id = f"{n:032x}"
        start = 1_700_000_000_000_000 + n * 1_000_000  # microseconds
        raw = []
        for i in range(spans):
            refs = (
                [] if i == 0 else [{"refType": "CHILD_OF", "traceID": trace_id, "spanID": f"{n:08x}{0:08x}"}]
            )
            tags = [{"key": "input.value", "type": "string", "value": f"question {word} {i}"}]
            if i:
                tags.append({"key": "gen_ai.request.model", "type": "string", "value": "gpt-4o"})
            raw.append(
                {
                    "traceID": trace_id,
                    "spanID": f"{n:08x}{i:08x}",
                    "operationName": "agent run" if i == 0 else f"chat {word}",
                    "references": refs,
                    "startTime": start + i * 10,
                    "duration": 5_000 - i,
                    "tags": tags,
                    "logs": [],
                    "processID": "p1",
                    "warnings": None,
                }
            )
        trace = {
            "traceID": trace_id,
            "spans": raw,
            "processes": {"p1": {"serviceName": self.service, "tags": []}},
        }
        self.traces[trace_id] = trace
        body = self.folder / f"trace-{trace_id}-{len(self.server.requests)}.json"
        body.write_text(json.dumps({"data": [trace], "total": 1, "limit": 0, "offset": 0, "errors": None}))
        self.server.route(f"/api/traces/{trace_id}", body)
        return trace_id

    def route_list(self, page_size: int) -> None:
        """The service's search answers, newest first, `page_size` traces a page."""
        newest = sorted(self.traces.values(), key=lambda t: t["spans"][0]["startTime"], reverse=True)
        end = None
        for k in range(0, max(len(newest), 1), page_size):
            page = newest[k : k + page_size]
            body = self.folder / f"page-{k}.json"
            body.write_text(
                json.dumps({"data": page, "total": len(page), "limit": 0, "offset": 0, "errors": None})
            )
            when = {"service": self.service} | ({} if end is None else {"end": end})
            self.server.route("/api/traces", body, when=when)
            if page:
                end = str(min(t["spans"][0]["startTime"] for t in page) - 1)

    def fetches(self) -> list[str]:
        """The trace ids fetched so far, in order."""
        return [path.rsplit("/", 1)[1] for path in self.server.paths() if path.startswith("/api/traces/")]


@pytest.fixture
def jaeger(tmp_path):
    with DocumentedServer() as server:
        yield JaegerTraces(server, tmp_path / "served")


def client_of(jaeger: JaegerTraces, timeout_s: float = 30.0) -> JaegerClient:
    return JaegerClient(ServerURL("jaeger", jaeger.server.base_url), timeout_s=timeout_s)


def test_opening_fetches_once_then_uses_the_cached_copy(jaeger, cache):
    trace_id = jaeger.add(1, "alpha")
    client = client_of(jaeger)
    seen: list[tuple] = []
    opened = open_cached_trace(client, trace_id, cache, lambda *p: seen.append(p))
    assert (opened.fetched, opened.running, opened.evicted) == (True, False, [])
    assert seen and jaeger.fetches() == [trace_id]
    db = connect(cache.path, readonly=True)
    assert get_trace(db, trace_id).span_count == 3
    db.conn.close()
    first_open = cache.traces()[0].opened_ns
    again = open_cached_trace(client, trace_id, cache)
    assert not again.fetched and jaeger.fetches() == [trace_id]
    assert cache.traces()[0].opened_ns > first_open
    assert hits(cache.path, "alpha") == {trace_id}


def test_a_trace_still_growing_is_polled_by_refreshing(jaeger, cache):
    """Jaeger keeps only ended spans: a running trace is one whose spans keep coming."""
    trace_id = jaeger.add(1, "alpha", spans=2)
    client = client_of(jaeger)
    open_cached_trace(client, trace_id, cache)
    jaeger.add(1, "alpha", spans=4)  # the server's copy grew
    assert not open_cached_trace(client, trace_id, cache).fetched  # opening again: the cached copy
    refreshed = open_cached_trace(client, trace_id, cache, refresh=True)
    assert refreshed.fetched and jaeger.fetches() == [trace_id, trace_id]
    db = connect(cache.path, readonly=True)
    assert get_trace(db, trace_id).span_count == 4
    assert db.execute("SELECT count(*) FROM remote_traces").fetchone()[0] == 1
    db.conn.close()


def test_a_failed_fetch_stores_nothing(jaeger, cache):
    trace_id = jaeger.add(1, "alpha")
    jaeger.server.fail(500, path=f"/api/traces/{trace_id}")
    with pytest.raises(RemoteError, match="500"):
        open_cached_trace(client_of(jaeger), trace_id, cache)
    assert not cache.has(trace_id) and cache.traces() == []
    jaeger.server.stall(3, path=f"/api/traces/{trace_id}")
    with pytest.raises(RemoteError):
        open_cached_trace(client_of(jaeger, timeout_s=0.3), trace_id, cache)
    assert not cache.has(trace_id)
    assert open_cached_trace(client_of(jaeger), trace_id, cache).fetched


def test_a_cancelled_fetch_stores_nothing(jaeger, cache):
    trace_id = jaeger.add(1, "alpha")
    with pytest.raises(Cancelled):
        open_cached_trace(client_of(jaeger), trace_id, cache, cancelled=lambda: True)
    assert not cache.has(trace_id)


def test_opening_evicts_the_least_recently_opened_and_search_forgets_them(jaeger, cache):
    client = client_of(jaeger)
    ids = [jaeger.add(n, f"topic{n}") for n in range(1, 6)]
    open_cached_trace(client, ids[0], cache)
    one = cache.size()
    cache.limit_bytes = one * 2 + one // 2  # room for two traces
    evicted = []
    for trace_id in ids[1:]:
        evicted += open_cached_trace(client, trace_id, cache).evicted
    assert evicted == ids[:3] and cache.local(ids) == set(ids[3:])
    open_cached_trace(client, ids[3], cache)  # opened again: now the newest
    assert open_cached_trace(client, ids[0], cache).evicted == [ids[4]]
    assert cache.local(ids) == {ids[0], ids[3]}
    assert hits(cache.path, "topic2") == set() and hits(cache.path, "topic5") == set()
    assert hits(cache.path, "topic1") == {ids[0]} and hits(cache.path, "topic4") == {ids[3]}
    assert_index_as_rebuilt(cache.path)


def test_the_trace_just_opened_is_never_evicted(jaeger, cache):
    trace_id = jaeger.add(1, "alpha", spans=20)
    cache.limit_bytes = 1
    opened = open_cached_trace(client_of(jaeger), trace_id, cache)
    assert opened.evicted == [] and cache.has(trace_id)


def test_a_trace_whose_second_page_fails_is_not_stored_at_all(fixtures_dir, tmp_path, cache):
    """A Langfuse trace read in pages of 3 observations: page 2 failing leaves nothing in the cache,
    whatever pages came before it; once it answers, the trace is stored whole."""
    trace, observations = real(fixtures_dir, LANGFUSE_FIXTURES[1])
    assert len(observations) > 3
    with DocumentedServer() as server:
        server.require_auth(BASIC)
        serve_trace(server, tmp_path, trace, observations, size=3)
        second = {"traceId": trace["id"], "page": "2", "limit": "3"}
        server.route("/api/public/observations", tmp_path / "observations-2.json", when=second, status=500)
        client = LangfuseClient(ServerURL("langfuse", server.base_url), *KEYS, timeout_s=5.0, page_size=3)
        cache.server = client.url
        with pytest.raises(RemoteError, match="page 2"):
            open_cached_trace(client, trace["id"], cache)
        assert server.paths().count("/api/public/observations") == 2  # page 1 was read, then page 2 failed
        assert not cache.has(trace["id"]) and cache.traces() == []

        server.route("/api/public/observations", tmp_path / "observations-2.json", when=second)
        assert open_cached_trace(client, trace["id"], cache).fetched
    db = connect(cache.path, readonly=True)
    assert get_trace(db, trace["id"]).span_count == len(observations)
    db.conn.close()
