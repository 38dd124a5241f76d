"""The Phoenix server client. Unit tests: the parameters it sends, the attributes it puts back in
Phoenix's stored form, and every failure as one RemoteError line, against a loopback HTTP server that
answers what each test scripts. Slow tests (`-m slow`): a real `phoenix serve` (tests/phoenix_server.py)
on SQLite and on PostgreSQL, fed through OpenTelemetry's exporter and annotated with Phoenix's own
client; what Spanscope fetches is compared with what Phoenix's own client returns and with what was
sent."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

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
    assert "\n" not in text and "Phoenix server http://127.0.0.1:" in text and message_part in text, text
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
    with ScriptedServer(Reply(401, {"detail": "Invalid token"})) as srv:
        _error(PhoenixClient(srv.url).projects, "set PHOENIX_API_KEY", status=401, retryable=False)
        error = _error(PhoenixClient(srv.url, "wrong-key-123").projects, "PHOENIX_API_KEY is not accepted")
    assert "wrong-key-123" not in str(error)


def test_429_is_waited_out_as_retry_after_asks():
    throttled = Reply(429, {"detail": "slow down"}, {"Retry-After": "0.2"})
    with ScriptedServer(throttled, throttled, Reply(body={"data": [], "next_cursor": None})) as srv:
        started = time.monotonic()
        assert PhoenixClient(srv.url).projects() == []
        assert time.monotonic() - started >= 0.4
        assert len(srv.requests) == 3


def test_429_that_never_ends_and_a_long_retry_after_are_errors(monkeypatch):
    monkeypatch.setattr(phoenix, "TRIES", 2)
    with ScriptedServer(Reply(429, {"detail": "slow down"}, {"Retry-After": "0.05"})) as srv:
        _error(PhoenixClient(srv.url).projects, "(429: slow down)", status=429, retryable=True)
        assert len(srv.requests) == 2
    with ScriptedServer(Reply(429, {"detail": "later"}, {"Retry-After": "3600"})) as srv:
        error = _error(PhoenixClient(srv.url).projects, "asks to wait 3600 s", retry_after_s=3600.0)
        assert error.status == 429 and len(srv.requests) == 1


def test_500_is_retryable_and_quotes_the_server():
    with ScriptedServer(Reply(500, b"Internal Server Error")) as srv:
        _error(PhoenixClient(srv.url).projects, "failed on the project list (500: Internal Server Error)")
        assert len(srv.requests) == 1  # a 500 is not repeated: it is the server's answer


def test_a_page_that_times_out():
    with ScriptedServer(Reply(delay_s=1.5)) as srv:
        client = PhoenixClient(srv.url, timeout_s=0.3)
        _error(client.projects, "did not answer the project list within 0.3 s", retryable=True)


def test_a_missing_project_and_a_refused_filter():
    with ScriptedServer(Reply(404, {"detail": "Project with name nope not found"})) as srv:
        query = TraceQuery(project="nope")
        _error(
            lambda: PhoenixClient(srv.url).list_traces(query), "has no traces of project 'nope'", status=404
        )
        assert srv.requests[0][1] == "/v1/projects/nope/traces"
    with ScriptedServer(Reply(400, b"'(' was never closed")) as srv:
        query = TraceQuery(project="a/b", filter="bad((")
        _error(lambda: PhoenixClient(srv.url).list_traces(query), "rejected the request", status=400)
        assert srv.requests[0][2]["filter"] == ["bad(("]


def test_an_unknown_trace_is_404():
    with ScriptedServer(Reply(body={"data": {"getTraceByOtelId": None}})) as srv:
        _error(lambda: PhoenixClient(srv.url).fetch_trace("ab" * 16), f"has no trace {'ab' * 16}", status=404)


def test_answers_that_are_not_json_or_a_graphql_error():
    with ScriptedServer(Reply(body=b"<html>proxy</html>")) as srv:
        _error(PhoenixClient(srv.url).projects, "not JSON")
    with ScriptedServer(Reply(body={"data": None, "errors": [{"message": "no such field"}]})) as srv:
        _error(lambda: PhoenixClient(srv.url).fetch_trace("cd" * 16), "refused the query for trace")
