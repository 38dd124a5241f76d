"""The Jaeger client against Jaeger's documented response shapes, served over loopback HTTP.

Jaeger cannot run on these machines, so these are documented shapes, not a live server: the query
service's HTTP JSON API on port 16686 (https://www.jaegertracing.io/docs/next-release-v2/apis/ —
`/api/*`, what the Jaeger UI calls), its endpoints /api/services, /api/traces?service=&operation=
&tags=&minDuration=&maxDuration=&start=&end=&limit= and /api/traces/{id}
(https://docs.victoriametrics.com/victoriatraces/querying/ "Jaeger HTTP API", the same API
reimplemented; https://grafana.com/docs/grafana/latest/datasources/jaeger/query-editor/ for the
search's tags, durations and limit). The trace bodies are the real query-API answers of jaeger-ui's
fixtures (../shared/fixtures/jaeger/, read at test time): the `{data, total, limit, offset, errors}`
envelope and a bare trace object wrapped in it; one more trace and the service list are built from
the same field lists (traceID, spans[spanID, operationName, references, startTime, duration, tags,
logs, processID], processes{serviceName, tags}).
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from documented_servers import DocumentedServer
from spanscope.core.model import Span, Status
from spanscope.core.remote.base import RemoteError, ServerURL, TraceQuery
from spanscope.core.remote.jaeger import JaegerClient
from spanscope.core.remote.registry import client_for, server_specs

SERVICE = "coding-agent"


def fixture_traces(fixtures_dir: Path) -> list[dict[str, Any]]:
    """The two real traces: the multi-span envelope's and the GenAI trace (a bare trace object)."""
    envelope = json.loads((fixtures_dir / "jaeger" / "oltp2jaeger-multi-out.json").read_text())
    genai = json.loads((fixtures_dir / "jaeger" / "genaiTestTrace.json").read_text())
    return [genai, *envelope["data"]]


def small_trace(start_us: int) -> dict[str, Any]:
    """A trace written from the documented fields: a root, a child with an error tag and a log."""
    trace_id = "00000000000000000000000000abcdef"
    return {
        "traceID": trace_id,
        "spans": [
            {
                "traceID": trace_id,
                "spanID": "00000000000000a1",
                "operationName": "invoke_agent planner",
                "references": [],
                "startTime": start_us,
                "duration": 2_000,
                "tags": [{"key": "span.kind", "type": "string", "value": "internal"}],
                "logs": [],
                "processID": "p1",
                "warnings": None,
            },
            {
                "traceID": trace_id,
                "spanID": "00000000000000a2",
                "operationName": "execute_tool search",
                "references": [{"refType": "CHILD_OF", "traceID": trace_id, "spanID": "00000000000000a1"}],
                "startTime": start_us + 100,
                "duration": 500,
                "tags": [
                    {"key": "error", "type": "bool", "value": True},
                    {"key": "gen_ai.tool.name", "type": "string", "value": "search"},
                ],
                "logs": [
                    {
                        "timestamp": start_us + 200,
                        "fields": [
                            {"key": "event", "type": "string", "value": "exception"},
                            {"key": "message", "type": "string", "value": "boom"},
                        ],
                    }
                ],
                "processID": "p1",
                "warnings": None,
            },
        ],
        "processes": {
            "p1": {"serviceName": SERVICE, "tags": [{"key": "host", "type": "string", "value": "a"}]}
        },
        "warnings": None,
    }


def envelope(traces: list[dict[str, Any]]) -> dict[str, Any]:
    return {"data": traces, "total": len(traces), "limit": 0, "offset": 0, "errors": None}


def write(tmp_path: Path, name: str, body: Any) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(body))
    return path


def padded(span_id: str, size: int = 16) -> str:
    return span_id.lower().rjust(size, "0")


def assert_same_spans(spans: list[Span], trace: dict[str, Any]) -> None:
    """What was fetched is what the body held: ids, parents, names, times, tags, processes, logs."""
    by_id = {s.span_id: s for s in spans}
    assert len(spans) == len(trace["spans"])
    for raw in trace["spans"]:
        span = by_id[padded(raw["spanID"])]
        assert span.trace_id == padded(raw["traceID"], 32)
        child_of = [r for r in raw.get("references") or () if r["refType"] == "CHILD_OF"]
        assert span.parent_id == (padded(child_of[0]["spanID"]) if child_of else None)
        assert span.name == raw["operationName"]
        assert span.start_ns == raw["startTime"] * 1000
        assert span.end_ns == (raw["startTime"] + raw["duration"]) * 1000
        for tag in raw["tags"]:
            assert span.attributes[tag["key"]] == tag["value"]
        process = trace["processes"][raw["processID"]]
        assert span.resource["service.name"] == process["serviceName"]
        assert [e.name for e in span.events] == [
            next(f["value"] for f in log["fields"] if f["key"] == "event") for log in raw["logs"]
        ]


@pytest.fixture
def server():
    with DocumentedServer() as served:
        yield served


def client(server: DocumentedServer, token: str | None = None, timeout_s: float = 5.0) -> JaegerClient:
    return JaegerClient(ServerURL("jaeger", server.base_url), token, timeout_s=timeout_s)


def test_the_registry_knows_jaeger_and_its_token_variable(server, monkeypatch, tmp_path):
    spec = server_specs()["jaeger"]
    assert (spec.default_port, spec.credential_env) == (16686, ("JAEGER_TOKEN",))
    server.route("/api/services", write(tmp_path, "services.json", {"data": [SERVICE], "total": 1}))
    server.require_auth("Bearer s3cret")
    monkeypatch.setenv("JAEGER_TOKEN", "s3cret")
    assert client_for(f"jaeger+{server.base_url}").projects() == [SERVICE]
    assert server.requests[-1].headers["authorization"] == "Bearer s3cret"


def test_services_are_the_projects(server, fixtures_dir, tmp_path):
    names = sorted(
        {p["serviceName"] for t in fixture_traces(fixtures_dir) for p in t["processes"].values()},
        reverse=True,
    )
    body = {"data": names, "total": len(names), "limit": 0, "offset": 0, "errors": None}
    server.route("/api/services", write(tmp_path, "services.json", body))
    assert client(server).projects() == sorted(names)
    assert server.paths() == ["/api/services"]


def test_search_pages_by_end_time_with_the_filters_as_jaeger_takes_them(server, fixtures_dir, tmp_path):
    genai, multi = fixture_traces(fixtures_dir)
    older = small_trace(start_us=1_600_000_000_000_000)
    server.route("/api/traces", write(tmp_path, "page1.json", envelope([multi, genai])))
    # Listed newest first; the next page ends a microsecond before the oldest listed trace began.
    oldest_us = min(min(s["startTime"] for s in t["spans"]) for t in (genai, multi))
    server.route(
        "/api/traces", write(tmp_path, "page2.json", envelope([older])), when={"end": str(oldest_us - 1)}
    )
    jaeger = client(server)
    query = TraceQuery(
        project=SERVICE,
        since_ns=1_500_000_000_000_000_000,
        filter='operation="invoke_agent planner" minDuration=1ms gen_ai.tool.name=search',
        errors_only=True,
        page_size=2,
    )

    first = jaeger.list_traces(query)
    rows = {row.trace_id: row for row in first.traces}
    assert [row.trace_id for row in first.traces] == sorted(
        rows, key=lambda trace_id: -(rows[trace_id].start_ns or 0)
    )
    for raw in (genai, multi):
        row = rows[padded(raw["traceID"], 32)]
        starts = [s["startTime"] for s in raw["spans"]]
        ends = [s["startTime"] + s["duration"] for s in raw["spans"]]
        roots = [s for s in raw["spans"] if not s.get("references")]
        assert row.span_count == len(raw["spans"])
        assert row.start_ns == min(starts) * 1000
        assert row.duration_ns == (max(ends) - min(starts)) * 1000
        assert row.name == roots[0]["operationName"]
        assert row.project == raw["processes"][roots[0]["processID"]]["serviceName"]
    assert first.next_cursor == str(oldest_us - 1)

    second = jaeger.list_traces(replace(query, cursor=first.next_cursor))
    assert [(r.trace_id, r.name, r.span_count, r.error) for r in second.traces] == [
        (older["traceID"], "invoke_agent planner", 2, True)
    ]
    assert second.next_cursor is None  # fewer than a page: the last one

    sent = [r for r in server.requests if r.path == "/api/traces"]
    assert [r.param("end") for r in sent] == [None, str(oldest_us - 1)]
    for request in sent:
        assert request.param("service") == SERVICE
        assert request.param("limit") == "2"
        assert request.param("start") == str(1_500_000_000_000_000)
        assert request.param("operation") == "invoke_agent planner"
        assert request.param("minDuration") == "1ms"
        assert json.loads(request.param("tags") or "") == {"gen_ai.tool.name": "search", "error": "true"}


def test_a_json_tag_filter_is_passed_as_tags(server, tmp_path):
    server.route("/api/traces", write(tmp_path, "empty.json", envelope([])))
    page = client(server).list_traces(TraceQuery(project=SERVICE, filter='{"http.status_code": 500}'))
    assert page.traces == [] and page.next_cursor is None
    assert json.loads(server.requests[0].param("tags") or "") == {"http.status_code": "500"}


def test_listing_needs_a_service_and_a_readable_filter(server):
    jaeger = client(server)
    with pytest.raises(RemoteError, match="one service"):
        jaeger.list_traces(TraceQuery())
    with pytest.raises(RemoteError, match="not key=value"):
        jaeger.list_traces(TraceQuery(project=SERVICE, filter="error"))
    with pytest.raises(RemoteError, match="not a Jaeger page cursor"):
        jaeger.list_traces(TraceQuery(project=SERVICE, cursor="page-2"))
    assert server.requests == []


@pytest.mark.parametrize("which", [0, 1])
def test_a_fetched_trace_holds_what_the_answer_held(server, fixtures_dir, tmp_path, which):
    raw = fixture_traces(fixtures_dir)[which]
    trace_id = raw["traceID"]
    server.route(f"/api/traces/{trace_id}", write(tmp_path, "trace.json", envelope([raw])))
    progress: list[tuple[str, int, int | None]] = []
    fetched = client(server).fetch_trace(trace_id, lambda *step: progress.append(step))
    assert fetched.trace_id == trace_id and fetched.problems == []
    assert_same_spans(fetched.records, raw)  # type: ignore[arg-type]
    assert progress[-1] == (f"trace {trace_id}", len(raw["spans"]), len(raw["spans"]))


def test_a_fetched_span_keeps_status_and_logs(server, tmp_path):
    raw = small_trace(start_us=1_700_000_000_000_000)
    server.route(f"/api/traces/{raw['traceID']}", write(tmp_path, "trace.json", envelope([raw])))
    fetched = client(server).fetch_trace(raw["traceID"])
    assert_same_spans(fetched.records, raw)  # type: ignore[arg-type]
    child = next(s for s in fetched.records if isinstance(s, Span) and s.name == "execute_tool search")
    assert child.status is Status.ERROR
    assert child.events[0].attributes == {"message": "boom"}


def test_a_bad_span_is_a_problem_not_a_failure(server, tmp_path):
    raw = small_trace(start_us=1_700_000_000_000_000)
    del raw["spans"][1]["startTime"]
    server.route(f"/api/traces/{raw['traceID']}", write(tmp_path, "trace.json", envelope([raw])))
    fetched = client(server).fetch_trace(raw["traceID"])
    assert [s.name for s in fetched.records] == ["invoke_agent planner"]  # type: ignore[union-attr]
    assert fetched.problems == [("trace 1, span 2", "startTime missing")]


def test_a_trace_the_server_lacks_is_a_404(server, tmp_path):
    body = {
        "data": None,
        "total": 0,
        "limit": 0,
        "offset": 0,
        "errors": [{"code": 404, "msg": "trace not found"}],
    }
    server.route("/api/traces/0123", write(tmp_path, "missing.json", body), status=404)
    with pytest.raises(RemoteError) as caught:
        client(server).fetch_trace("0123")
    assert caught.value.status == 404
    assert str(caught.value) == f"Jaeger at {server.host_port}: no trace 0123 (HTTP 404: trace not found)"


def test_refused_credentials_name_the_variable(server):
    server.fail(401)
    with pytest.raises(RemoteError) as caught:
        client(server, token="wrong").projects()
    assert caught.value.status == 401 and not caught.value.retryable
    assert "JAEGER_TOKEN" in str(caught.value) and "wrong" not in str(caught.value)
    assert server.requests[0].headers["authorization"] == "Bearer wrong"


def test_429_is_waited_out_as_retry_after_asks(server, tmp_path):
    server.route("/api/services", write(tmp_path, "services.json", {"data": [SERVICE]}))
    server.fail(429, retry_after="1")
    began = time.monotonic()
    assert client(server).projects() == [SERVICE]
    assert time.monotonic() - began >= 0.95
    assert server.paths() == ["/api/services", "/api/services"]


def test_429_that_does_not_end_is_a_retryable_error(server):
    server.fail(429, retry_after="0", times=10)
    with pytest.raises(RemoteError) as caught:
        client(server).projects()
    assert (caught.value.status, caught.value.retryable, caught.value.retry_after_s) == (429, True, 0.0)
    assert "rate-limiting" in str(caught.value)
    assert len(server.requests) == 5  # the first try and four more


def test_a_server_error_is_retryable_and_says_so(server):
    server.fail(500)
    with pytest.raises(RemoteError) as caught:
        client(server).fetch_trace("abc")
    assert (caught.value.status, caught.value.retryable) == (500, True)
    assert str(caught.value).startswith(f"Jaeger at {server.host_port} failed on trace abc (HTTP 500")
    assert len(server.requests) == 1  # a 500 is not retried blindly


def test_a_stalled_page_times_out(server, tmp_path):
    server.route("/api/services", write(tmp_path, "services.json", {"data": [SERVICE]}))
    server.stall(5)
    began = time.monotonic()
    with pytest.raises(RemoteError, match=r"did not answer within 0\.3 s") as caught:
        client(server, timeout_s=0.3).projects()
    assert caught.value.retryable and time.monotonic() - began < 3


def test_an_unreachable_server_says_so():
    with DocumentedServer() as gone:
        url = gone.base_url
    with pytest.raises(RemoteError, match="is unreachable") as caught:
        JaegerClient(ServerURL("jaeger", url), timeout_s=2).projects()
    assert caught.value.retryable and url in str(caught.value)


def test_an_answer_that_is_not_jaeger_json_is_named(server, tmp_path):
    page = tmp_path / "login.html"
    page.write_text("<html>sign in</html>")
    server.route("/api/traces/abc", page, content_type="text/html")
    with pytest.raises(RemoteError, match="trace abc is not Jaeger trace JSON"):
        client(server).fetch_trace("abc")


def test_a_trace_id_without_its_leading_zeros_is_fetched_under_the_stored_id(server, tmp_path):
    raw = small_trace(start_us=1_700_000_000_000_000)
    for span in raw["spans"]:
        span["traceID"] = "abcdef"  # as Jaeger prints a 64-bit id
    server.route("/api/traces/abcdef", write(tmp_path, "trace.json", envelope([raw])))
    fetched = client(server).fetch_trace("abcdef")
    assert fetched.trace_id == "0000000000abcdef"
    assert {s.trace_id for s in fetched.records} == {"0000000000abcdef"}  # type: ignore[union-attr]
