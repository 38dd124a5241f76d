"""The Phoenix server client. Unit tests: the parameters it sends, the attributes it puts back in
Phoenix's stored form, and every failure as one RemoteError line, against a loopback HTTP server that
answers what each test scripts. Slow tests (`-m slow`): a real `phoenix serve` (tests/phoenix_server.py)
on SQLite and on PostgreSQL, fed through OpenTelemetry's exporter and annotated with Phoenix's own
client; what Spanscope fetches is compared with what Phoenix's own client returns and with what was
sent."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections import deque
from contextlib import ExitStack
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from phoenix_server import PhoenixServer
from postgres_server import PostgresServer
from spanscope.core.formats.nested import flatten
from spanscope.core.remote import phoenix
from spanscope.core.remote.base import RemoteError, ServerURL, TraceQuery
from spanscope.core.remote.phoenix import PhoenixClient, nested, span_values, trace_list_params
from spanscope.core.remote.registry import client_for, server_specs


@dataclass
class Reply:
    status: int = 200
    body: Any = field(default_factory=lambda: {"data": [], "next_cursor": None})
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


class ScriptedServer:
    """Loopback HTTP: each request takes the next scripted reply (the last one repeats) and is kept
    (method, path, query, headers) for the test to look at."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = deque(replies)
        self.requests: list[tuple[str, str, dict[str, list[str]], dict[str, str]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                self.rfile.read(length)
                parts = urlsplit(self.path)
                server.requests.append((self.command, parts.path, parse_qs(parts.query), dict(self.headers)))
                reply = server.replies.popleft() if len(server.replies) > 1 else server.replies[0]
                time.sleep(reply.delay_s)
                data = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = _answer

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True  # a stalled reply does not hold the test at shutdown
        self.url = ServerURL("phoenix", f"http://127.0.0.1:{self._http.server_address[1]}")

    def __enter__(self) -> ScriptedServer:
        threading.Thread(target=self._http.serve_forever, args=(0.02,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.shutdown()
        self._http.server_close()


def _error(call, message_part: str, **expected: Any) -> RemoteError:
    with pytest.raises(RemoteError) as caught:
        call()
    error = caught.value
    text = str(error)
    assert "\n" not in text and "Phoenix at 127.0.0.1:" in text and message_part in text, text
    for name, value in expected.items():
        assert getattr(error, name) == value, (name, getattr(error, name))
    return error


# --- what is sent --------------------------------------------------------------------------------


def test_trace_list_parameters_carry_the_servers_own_filters():
    query = TraceQuery(
        project="p",
        since_ns=1_700_000_000_123_456_789,
        until_ns=1_700_000_100_000_000_000,
        filter="latency_ms >= 10",
        errors_only=True,
        page_size=5000,
        cursor="abc",
    )
    assert trace_list_params(query) == {
        "limit": 1000,
        "cursor": "abc",
        "start_time": "2023-11-14T22:13:20.123456+00:00",
        "end_time": "2023-11-14T22:15:00+00:00",
        "filter": "(latency_ms >= 10) and error_count > 0",
        "sort": "start_time",
        "order": "desc",
    }
    plain = trace_list_params(TraceQuery(filter="  ", page_size=0))
    assert plain["filter"] is None and plain["limit"] == 1 and plain["start_time"] is None
    assert trace_list_params(TraceQuery(errors_only=True))["filter"] == "error_count > 0"


def test_rest_attributes_go_back_to_the_tree_phoenix_stores():
    stored = {
        "openinference": {"span": {"kind": "LLM"}},
        "llm": {
            "input_messages": [
                {"message": {"role": "user", "content": "hi"}},
                {"message": {"role": "assistant", "content": "yo"}},
            ],
            "token_count": {"prompt": 3},
        },
        "metadata": {"tier": "gold", "steps": [{"n": 1}]},
        "tag": {"tags": ["a", "b"]},
    }
    rest = {  # as the REST API flattens it, the kind apart
        "llm.input_messages.0.message.role": "user",
        "llm.input_messages.0.message.content": "hi",
        "llm.input_messages.1.message.role": "assistant",
        "llm.input_messages.1.message.content": "yo",
        "llm.token_count.prompt": 3,
        "metadata.tier": "gold",
        "metadata.steps.0.n": 1,
        "tag.tags": ["a", "b"],
    }
    row = {"context": {"span_id": "s1", "trace_id": "t"}, "span_kind": "LLM", "attributes": rest}
    assert span_values(row)[6] == stored
    assert flatten(span_values(row)[6]) == flatten(stored)
    assert nested({"a.0": 1, "a.1": 2}) == {"a": {"0": 1, "1": 2}}  # plain values: a dict, as Phoenix
    unknown = {"context": {"span_id": "s"}, "span_kind": "UNKNOWN", "attributes": {}}
    assert span_values(unknown)[6] == {}


def test_the_key_is_a_bearer_token_and_the_registry_makes_the_client(monkeypatch):
    assert server_specs()["phoenix"] is phoenix.SPEC
    with ScriptedServer(Reply(body={"data": [{"name": "a", "id": "1"}], "next_cursor": "n"}), Reply()) as srv:
        monkeypatch.setenv("PHOENIX_API_KEY", "sekrit-key")
        client = client_for(f"phoenix+{srv.url.base_url}")
        assert isinstance(client, PhoenixClient)
        assert client.projects() == ["a"]
    (_, path, first, headers), (_, _, second, _) = srv.requests
    assert path == "/v1/projects" and headers["Authorization"] == "Bearer sekrit-key"
    assert "cursor" not in first and second["cursor"] == ["n"]


# --- every failure, one line ---------------------------------------------------------------------


def test_a_stopped_server_is_unreachable():
    with ScriptedServer(Reply()) as srv:
        url = srv.url
    error = _error(PhoenixClient(url).projects, "is unreachable", retryable=True, status=None)
    assert error.retry_after_s is None


def test_401_names_the_variable_and_never_the_key():
    with ScriptedServer(Reply(401, {"detail": "Invalid token wrong-key-123"})) as srv:
        error = _error(PhoenixClient(srv.url).projects, "asks for credentials", status=401, retryable=False)
        assert "set PHOENIX_API_KEY" in str(error)
        assert f"user 'phoenix+{srv.url.host}:PHOENIX_API_KEY'" in str(error)  # the keyring entry
        error = _error(PhoenixClient(srv.url, "wrong-key-123").projects, "refused our credentials")
    assert "wrong-key-123" not in str(error) and "Invalid token ***" in str(error)


def test_429_is_waited_out_as_retry_after_asks():
    throttled = Reply(429, {"detail": "slow down"}, {"Retry-After": "0.2"})
    with ScriptedServer(throttled, throttled, Reply(body={"data": [], "next_cursor": None})) as srv:
        started = time.monotonic()
        assert PhoenixClient(srv.url).projects() == []
        assert time.monotonic() - started >= 0.4
        assert len(srv.requests) == 3


def test_429_that_never_ends_and_a_long_retry_after_are_errors():
    with ScriptedServer(Reply(429, {"detail": "slow down"}, {"Retry-After": "0.05"})) as srv:
        _error(PhoenixClient(srv.url).projects, "(HTTP 429: slow down)", status=429, retryable=True)
        assert len(srv.requests) == 5  # the first try and JsonAPI's four retries
    with ScriptedServer(Reply(429, {"detail": "later"}, {"Retry-After": "3600"})) as srv:
        error = _error(PhoenixClient(srv.url).projects, "asks to wait 3600 s", retry_after_s=3600.0)
        assert error.status == 429 and len(srv.requests) == 1


def test_500_is_retryable_and_quotes_the_server_and_a_proxys_502_is_asked_again():
    with ScriptedServer(Reply(500, b"Internal Server Error")) as srv:
        error = _error(
            PhoenixClient(srv.url).projects, "failed on the project list (HTTP 500: Internal Server Error)"
        )
        assert error.retryable and len(srv.requests) == 1  # a 500 is not repeated: it is the server's answer
    with ScriptedServer(Reply(502, b"Bad Gateway"), Reply(body={"data": [], "next_cursor": None})) as srv:
        assert PhoenixClient(srv.url).projects() == []
        assert len(srv.requests) == 2


def test_a_page_that_times_out():
    with ScriptedServer(Reply(delay_s=1.5)) as srv:
        client = PhoenixClient(srv.url, timeout_s=0.3)
        _error(client.projects, "the project list did not answer within 0.3 s", retryable=True)


def test_a_missing_project_and_a_refused_filter():
    with ScriptedServer(Reply(404, {"detail": "Project with name nope not found"})) as srv:
        query = TraceQuery(project="nope")
        _error(
            lambda: PhoenixClient(srv.url).list_traces(query),
            "no project 'nope' (HTTP 404: Project with name nope not found)",
            status=404,
        )
        assert srv.requests[0][1] == "/v1/projects/nope/traces"
    with ScriptedServer(Reply(400, b"'(' was never closed")) as srv:
        query = TraceQuery(project="a/b", filter="bad((")
        _error(lambda: PhoenixClient(srv.url).list_traces(query), "rejected the traces", status=400)
        assert srv.requests[0][2]["filter"] == ["bad(("]


def test_an_unknown_trace_is_404():
    with ScriptedServer(Reply(body={"data": {"getTraceByOtelId": None}})) as srv:
        _error(lambda: PhoenixClient(srv.url).fetch_trace("ab" * 16), f": no trace {'ab' * 16}", status=404)


def test_a_page_that_fails_fails_the_whole_fetch():
    found = {"data": {"getTraceByOtelId": {"projectId": "UHJvamVjdDox", "numSpans": 3}}}
    with ScriptedServer(Reply(body=found), Reply(500, {"detail": "database is gone"})) as srv:
        error = _error(lambda: PhoenixClient(srv.url).fetch_trace("ef" * 16), "(HTTP 500: database is gone)")
        assert error.status == 500 and error.retryable
        assert {path for _, path, _, _ in srv.requests[1:]} <= {
            "/v1/projects/UHJvamVjdDox/spans",
            "/v1/projects/UHJvamVjdDox/trace_annotations",
        }


def test_answers_that_are_not_json_or_a_graphql_error():
    with ScriptedServer(Reply(body=b"<html>proxy</html>")) as srv:
        _error(PhoenixClient(srv.url).projects, "not JSON")
    with ScriptedServer(Reply(body=[{"name": "a"}])) as srv:
        _error(PhoenixClient(srv.url).projects, "the project list is JSON of an unexpected shape")
    with ScriptedServer(Reply(body={"data": None, "errors": [{"message": "no such field"}]})) as srv:
        _error(lambda: PhoenixClient(srv.url).fetch_trace("cd" * 16), "refused the query for trace")


# --- a real Phoenix server (slow) ----------------------------------------------------------------

PROJECT = "spanscope-test"
BIG = 2_100  # spans of the trace fetched in three pages
_ORACLE = """
import json, sys, time
from phoenix.client import Client
args = json.load(sys.stdin)
client = Client(base_url=args["url"], api_key=args.get("key"))
for note in args.get("span_annotations", []):
    client.spans.add_span_annotation(sync=True, **note)
for note in args.get("trace_annotations", []):
    client.traces.add_trace_annotation(sync=True, **note)
found = {}
for trace_id in args.get("traces", []):
    started = time.perf_counter()
    spans = client.spans.get_spans(project_identifier=args["project"], trace_ids=[trace_id], limit=10**6)
    found[trace_id] = {"spans": spans, "seconds": time.perf_counter() - started}
json.dump(found, sys.stdout)
"""


def _phoenix_client(server, **args: Any) -> dict[str, Any]:
    """Runs Phoenix's own Python client (in the server's venv) on `args`; its JSON answer."""
    done = subprocess.run(
        [str(server.python), "-c", _ORACLE],
        input=json.dumps({"url": server.base_url, "project": PROJECT, **args}),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@dataclass
class Fed:
    """A server fed by the test, what was sent (each trace's finished spans, by name) and what
    Phoenix's own client read back ({trace id: {"spans": [...], "seconds": its time}})."""

    server: Any
    sent: dict[str, list[Any]]
    read_back: dict[str, Any] = field(default_factory=dict)

    def trace_id(self, name: str) -> str:
        return format(self.sent[name][0].context.trace_id, "032x")


def _feed(base_url: str) -> dict[str, list[Any]]:
    """Four traces through OpenTelemetry's OTLP/HTTP exporter: `small` (an LLM call with tokens and a
    failed tool), `big` (BIG spans), `ok` in PROJECT, and `elsewhere` in Phoenix's default project."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import Status, StatusCode

    sent: dict[str, list[Any]] = {}
    for project, names in ((PROJECT, ("small", "big", "ok")), (None, ("elsewhere",))):
        memory = InMemorySpanExporter()
        resource = {"service.name": "feeder"} | ({"openinference.project.name": project} if project else {})
        provider = TracerProvider(resource=Resource.create(resource))
        exporter = OTLPSpanExporter(endpoint=f"{base_url}/v1/traces")
        provider.add_span_processor(BatchSpanProcessor(exporter, max_export_batch_size=500))
        provider.add_span_processor(SimpleSpanProcessor(memory))
        tracer = provider.get_tracer("spanscope-test")
        for name in names:
            before = len(memory.get_finished_spans())
            with tracer.start_as_current_span(name, attributes={"openinference.span.kind": "CHAIN"}):
                if name == "small":
                    llm = {
                        "openinference.span.kind": "LLM",
                        "llm.model_name": "test-model",
                        "llm.token_count.prompt": 12,
                        "llm.token_count.completion": 7,
                        "llm.input_messages.0.message.role": "user",
                        "llm.input_messages.0.message.content": "hello",
                        "metadata": json.dumps({"tier": "gold"}),
                        "session.id": "session-1",
                    }
                    with tracer.start_as_current_span("llm call", attributes=llm) as span:
                        span.add_event("first token", {"index": 0})
                    with tracer.start_as_current_span(
                        "tool", attributes={"openinference.span.kind": "TOOL"}
                    ) as t:
                        t.set_status(Status(StatusCode.ERROR, "tool failed"))
                for i in range(BIG - 1 if name == "big" else 0):
                    kind = "LLM" if i % 7 == 0 else "TOOL"
                    attributes = {"openinference.span.kind": kind, "llm.token_count.prompt": i}
                    with tracer.start_as_current_span(f"step {i}", attributes=attributes):
                        pass
                if name == "ok":
                    with tracer.start_as_current_span(
                        "retrieve", attributes={"openinference.span.kind": "RETRIEVER"}
                    ):
                        pass
            sent[name] = list(memory.get_finished_spans())[before:][::-1]  # the root first
            time.sleep(0.01)
        provider.force_flush()
        provider.shutdown()
    return sent


def _wait_for(server, sent: dict[str, list[Any]]) -> None:
    """Until Phoenix has written every span it was sent (it inserts them in the background)."""
    import httpx

    query = "query($t: String!) { getTraceByOtelId(traceId: $t) { numSpans } }"
    deadline = time.monotonic() + 120
    for spans in sent.values():
        trace_id = format(spans[0].context.trace_id, "032x")
        while True:
            body = httpx.post(
                f"{server.base_url}/graphql", json={"query": query, "variables": {"t": trace_id}}, timeout=30
            ).json()
            if ((body["data"] or {}).get("getTraceByOtelId") or {}).get("numSpans") == len(spans):
                break
            assert time.monotonic() < deadline, f"Phoenix did not store trace {trace_id} in time"
            time.sleep(0.3)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fed(request):
    with ExitStack() as stack:
        database_url = None
        if request.param == "postgresql":
            database_url = stack.enter_context(PostgresServer()).url("phoenix")
        server = stack.enter_context(PhoenixServer(database_url=database_url))
        sent = _feed(server.base_url)
        _wait_for(server, sent)
        fed = Fed(server, sent)
        llm = next(s for s in sent["small"] if s.name == "llm call")
        fed.read_back = _phoenix_client(
            server,
            traces=[fed.trace_id("small"), fed.trace_id("big")],
            span_annotations=[
                {
                    "span_id": format(llm.context.span_id, "016x"),
                    "annotation_name": "correctness",
                    "label": "correct",
                    "score": 0.9,
                    "explanation": "matches",
                    "annotator_kind": "HUMAN",
                }
            ],
            trace_annotations=[
                {"trace_id": fed.trace_id("small"), "annotation_name": "resolved", "score": 1.0}
            ],
        )
        yield fed


def _sent_rows(spans: list[Any], kept: set[tuple]) -> set[tuple]:
    """What was sent, with the times Phoenix kept when they are within the microsecond it rounds to
    (it goes through float seconds), else as sent."""
    times = {row[0]: row[3:5] for row in kept}

    def near(span_id: str, index: int, ns: int) -> int:
        kept_ns = times.get(span_id, (None, None))[index]
        return kept_ns if kept_ns is not None and abs(kept_ns - ns) <= 1000 else ns

    return {
        (
            format(s.context.span_id, "016x"),
            s.name,
            format(s.parent.span_id, "016x") if s.parent else None,
            near(format(s.context.span_id, "016x"), 0, s.start_time),
            near(format(s.context.span_id, "016x"), 1, s.end_time),
            s.attributes.get("llm.token_count.prompt"),
            s.attributes.get("llm.token_count.completion"),
            s.status.status_code.name,
        )
        for s in spans
    }


def _oracle_rows(spans: list[dict[str, Any]]) -> set[tuple]:
    """What Phoenix's own client returned, in the same terms."""
    from datetime import UTC, datetime, timedelta

    def ns(text: str) -> int:
        return (
            (datetime.fromisoformat(text) - datetime(1970, 1, 1, tzinfo=UTC))
            // timedelta(microseconds=1)
            * 1000
        )

    return {
        (
            s["context"]["span_id"],
            s["name"],
            s["parent_id"],
            ns(s["start_time"]),
            ns(s["end_time"]),
            s["attributes"].get("llm.token_count.prompt"),
            s["attributes"].get("llm.token_count.completion"),
            s["status_code"],
        )
        for s in spans
    }


def _fetched_rows(records: list[Any]) -> set[tuple]:
    from spanscope.core.model import Span

    return {
        (
            s.span_id,
            s.name,
            s.parent_id,
            s.start_ns,
            s.end_ns,
            s.input_tokens,
            s.output_tokens,
            s.status.value.upper(),
        )
        for s in records
        if isinstance(s, Span)
    }


def _client(fed: Fed) -> PhoenixClient:
    return PhoenixClient(ServerURL("phoenix", fed.server.base_url))


@pytest.mark.slow
def test_projects_and_the_trace_list_paged_and_filtered_on_the_server(fed):
    client = _client(fed)
    assert set(client.projects()) == {PROJECT, "default"}
    pages, cursor = [], None
    while True:
        page = client.list_traces(TraceQuery(project=PROJECT, page_size=2, cursor=cursor))
        pages.append(page.traces)
        if (cursor := page.next_cursor) is None:
            break
    assert [len(p) for p in pages] == [2, 1]
    listed = {t.trace_id: t for p in pages for t in p}
    assert [t.trace_id for p in pages for t in p] == [fed.trace_id(n) for n in ("ok", "big", "small")]
    small, big = listed[fed.trace_id("small")], listed[fed.trace_id("big")]
    assert (small.name, small.span_count, small.error, small.total_tokens, small.project) == (
        "small",
        3,
        True,
        19,
        PROJECT,
    )
    root = fed.sent["small"][0]
    assert abs(small.start_ns - root.start_time) <= 1000
    assert abs(small.duration_ns - (root.end_time - root.start_time)) <= 2000
    assert (big.name, big.span_count, big.error) == ("big", BIG, False)
    errors = client.list_traces(TraceQuery(project=PROJECT, errors_only=True)).traces
    assert [t.trace_id for t in errors] == [fed.trace_id("small")]
    clean = client.list_traces(TraceQuery(project=PROJECT, filter="error_count == 0")).traces
    assert [t.trace_id for t in clean] == [fed.trace_id("ok"), fed.trace_id("big")]
    since = big.start_ns
    later = client.list_traces(TraceQuery(project=PROJECT, since_ns=since)).traces
    assert [t.trace_id for t in later] == [fed.trace_id("ok"), fed.trace_id("big")]
    until = client.list_traces(TraceQuery(project=PROJECT, until_ns=since)).traces
    assert [t.trace_id for t in until] == [fed.trace_id("small")]
    assert [t.trace_id for t in client.list_traces(TraceQuery()).traces] == [fed.trace_id("elsewhere")]


@pytest.mark.slow
def test_a_fetched_trace_is_what_phoenix_returns_and_what_was_sent(fed, tmp_path):
    from spanscope.core.model import Kind, ScoreFor, Span
    from spanscope.core.store import connect
    from spanscope.core.store.queries import get_span, get_trace
    from spanscope.core.store.replays import store_spans

    client = _client(fed)
    ids = [fed.trace_id(name) for name in ("small", "big")]
    oracle = fed.read_back
    for name, trace_id in zip(("small", "big"), ids, strict=True):
        fetched = client.fetch_trace(trace_id)
        assert fetched.problems == []
        rows = _fetched_rows(fetched.records)
        assert len(rows) == len(fed.sent[name])
        assert rows == _oracle_rows(oracle[trace_id]["spans"]) == _sent_rows(fed.sent[name], rows)
    small = client.fetch_trace(ids[0])
    spans = {r.name: r for r in small.records if isinstance(r, Span)}
    llm = spans["llm call"]
    assert (llm.kind, llm.model, llm.session_id, llm.service) == (
        Kind.LLM,
        "test-model",
        "session-1",
        PROJECT,
    )
    assert llm.attributes["metadata"] == '{"tier":"gold"}' and llm.events[0].name == "first token"
    assert spans["tool"].status_message == "tool failed" and spans["small"].session_id == "session-1"
    scores = [r for r in small.records if isinstance(r, ScoreFor)]
    assert {(s.span_id, s.score.name, s.score.label, s.score.value, s.score.trace_level) for s in scores} == {
        (llm.span_id, "correctness", "correct", 0.9, False),
        (None, "resolved", None, 1.0, True),
    }
    store = tmp_path / "cache.db"
    store_spans(store, small.records, f"phoenix: {fed.server.base_url}", "phoenix")
    db = connect(store, readonly=True)
    assert get_trace(db, ids[0]).span_count == 3
    assert [s.name for s in get_span(db, ids[0], llm.span_id).scores] == ["correctness"]
    assert [s.name for s in get_span(db, ids[0], spans["small"].span_id).scores] == ["resolved"]


@pytest.mark.slow
def test_a_fetched_trace_equals_the_same_trace_read_from_the_servers_phoenix_db(fed):
    from spanscope.core.formats.base import Source
    from spanscope.core.formats.phoenix_sqlite import read
    from spanscope.core.model import Span

    if fed.server.database_url:
        pytest.skip("the server keeps its spans in PostgreSQL")
    trace_id = fed.trace_id("small")
    fetched = [r for r in _client(fed).fetch_trace(trace_id).records if isinstance(r, Span)]
    from_file = [s for s in read(Source(fed.server.db_path), lambda _: None) if s.trace_id == trace_id]
    for span in from_file:  # the reader attaches annotations; the client gives them apart
        span.scores.clear()
        for key in [k for k in span.attributes if k.startswith("phoenix.span_cost.")]:
            del span.attributes[key]  # Phoenix's computed costs: not in its REST API
    assert sorted(fetched, key=lambda s: s.span_id) == sorted(from_file, key=lambda s: s.span_id)


@pytest.mark.slow
def test_an_unknown_trace_and_the_fetch_time_against_phoenixs_own_api(fed, capsys, tmp_path):
    """Three rounds, each the REST pages alone then Spanscope's fetch, after one untimed read (the
    server's caches warm for both); the machine is shared, so every round is printed."""
    from statistics import median

    from spanscope.core.model import Span
    from spanscope.core.store.replays import store_spans

    client = _client(fed)
    _error(lambda: client.fetch_trace("0123456789abcdef" * 2), ": no trace 0123", status=404)
    trace_id = fed.trace_id("big")
    assert _rest_pages(fed.server.base_url, trace_id) == 3
    rounds = []
    for _ in range(3):
        started = time.perf_counter()
        _rest_pages(fed.server.base_url, trace_id)
        api_s = time.perf_counter() - started
        seen: list[tuple[str, int, int | None]] = []
        started = time.perf_counter()
        fetched = client.fetch_trace(trace_id, lambda *call, seen=seen: seen.append(call))
        rounds.append((api_s, time.perf_counter() - started))
        assert seen == [("spans", 1000, BIG), ("spans", 2000, BIG), ("spans", BIG, BIG)]
    assert sum(isinstance(r, Span) for r in fetched.records) == BIG
    started = time.perf_counter()
    store_spans(tmp_path / "cache.db", fetched.records, "phoenix", "phoenix")
    store_s = time.perf_counter() - started
    backend = "postgresql" if fed.server.database_url else "sqlite"
    each = ", ".join(f"{a:.2f}/{f:.2f}" for a, f in rounds)
    api_s, fetch_s = median(a for a, _ in rounds), median(f for _, f in rounds)
    with capsys.disabled():
        print(
            f"\nphoenix on {backend}, {BIG} spans: REST pages alone / Spanscope fetch (pages, annotations, "
            f"parse) {each} s; medians {api_s:.2f} / {fetch_s:.2f} s = {fetch_s / api_s:.2f}x; store "
            f"{store_s:.2f} s; Phoenix's own client (100 a page) {fed.read_back[trace_id]['seconds']:.2f} s"
        )


def _rest_pages(base_url: str, trace_id: str) -> int:
    """Every page of a trace's spans straight from the REST API, as Spanscope asks for them; how many."""
    import httpx

    params: dict[str, Any] = {"trace_id": trace_id, "limit": 1000, "sort": "start_time", "order": "asc"}
    pages = 0
    with httpx.Client(base_url=base_url, timeout=60) as http:
        while True:
            body = http.get(f"/v1/projects/{PROJECT}/spans", params=params).json()
            pages += 1
            if not body["next_cursor"]:
                return pages
            params["cursor"] = body["next_cursor"]


@pytest.mark.slow
def test_keys_on_a_server_with_auth_then_the_server_stopped():
    import httpx

    admin = "admin-secret-of-the-test-9876543210abcdef"
    with PhoenixServer(admin_secret=admin) as server:
        url = ServerURL("phoenix", server.base_url)
        made = httpx.post(
            f"{server.base_url}/v1/system/api_keys",
            json={"data": {"name": "spanscope test"}},
            headers={"Authorization": f"Bearer {admin}"},
            timeout=30,
        )
        key = made.json()["data"]["key"]
        assert PhoenixClient(url, key).projects() == ["default"]
        _error(PhoenixClient(url).projects, "asks for credentials for the project list", status=401)
        wrong = PhoenixClient(url, key[:-4] + "abcd")
        error = _error(wrong.projects, "refused our credentials", status=401)
        assert key[:-4] not in str(error)
        _error(lambda: wrong.fetch_trace("ab" * 16), "refused our credentials for trace", status=401)
        server.stop()
        _error(PhoenixClient(url, key).projects, "is unreachable", retryable=True)


def test_plain_rest_attributes_are_read_as_they_come_and_equal_the_round_trip():
    """A span with no JSON-text attribute skips the tree: what it gives equals flattening the tree."""
    from spanscope.core.formats.nested import flatten

    plain = {"llm.token_count.prompt": 3, "llm.input_messages.0.message.role": "user", "tag.tags": ["a", "b"]}
    row = {"context": {"span_id": "s1", "trace_id": "t"}, "span_kind": "LLM", "attributes": plain}
    values = span_values(row)
    assert values[6] == {**plain, "openinference.span.kind": "LLM"}
    assert flatten(values[6]) == flatten(nested(values[6]))
    kept_whole = {**plain, "metadata.tier": "gold"}
    assert span_values({**row, "attributes": kept_whole})[6]["metadata"] == {"tier": "gold"}
