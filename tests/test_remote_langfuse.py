"""The Langfuse client against the public API's documented response shapes, served over loopback HTTP.

Langfuse cannot run on these machines, so these are documented shapes, not a live server: the public
API (https://api.reference.langfuse.com/, OpenAPI at https://cloud.langfuse.com/generated/api/openapi.yml;
basic auth with the project's public and secret keys) — GET /api/public/projects {data: [{id, name}]},
GET /api/public/traces (page, limit, orderBy, fromTimestamp, toTimestamp, name, userId, sessionId, tags,
...; {data: [TraceWithDetails: observations and scores as ids, latency in seconds, totalCost], meta:
{page, limit, totalItems, totalPages}}, https://js.reference.langfuse.com/interfaces/langfuse.ApiTraceListParams.html),
GET /api/public/traces/{id} (TraceWithFullDetails: the trace with `observations` and `scores`, htmlPath),
GET /api/public/observations?traceId= and GET /api/public/v2/scores?traceId= ({data, meta}), and 429 with
Retry-After in seconds (https://langfuse.com/faq/all/api-limits). The trace, observation and score
records are the real ones of ../shared/fixtures/langfuse-export/ (Langfuse Cloud's own records, read at
test time), arranged in those answers' envelopes.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from documented_servers import DocumentedServer
from spanscope.core.model import Span
from spanscope.core.remote.base import RemoteError, ServerURL, TraceQuery
from spanscope.core.remote.langfuse import LangfuseClient
from spanscope.core.remote.registry import client_for, server_specs

FIXTURES = ("openai-agents-2025-09-30.trace.json", "langgraph-python-2025-08-22.trace.json")
PROJECT = {"id": "cloramnkj0002jz088vzn1ja4", "name": "framework-demos", "metadata": {}}
KEYS = ("pk-lf-1234", "sk-lf-5678")
BASIC = "Basic " + base64.b64encode(":".join(KEYS).encode()).decode()


def real(fixtures_dir: Path, name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A real trace record (without its embedded lists) and its full observations."""
    download = json.loads((fixtures_dir / "langfuse-export" / name).read_text())
    return download["trace"], download["observations"]


def detail(trace: dict[str, Any], observations: list[dict[str, Any]]) -> dict[str, Any]:
    """GET /api/public/traces/{id}: the trace with its observations and scores, as documented."""
    return {
        **trace,
        "htmlPath": f"/project/{trace['projectId']}/traces/{trace['id']}",
        "totalCost": sum(o.get("totalCost") or 0 for o in observations),
        "observations": observations,
        "scores": trace.get("scores") or [],
    }


def listed(trace: dict[str, Any], observations: list[dict[str, Any]]) -> dict[str, Any]:
    """A trace of GET /api/public/traces: observations and scores by id only."""
    return {
        **detail(trace, observations),
        "observations": [o["id"] for o in observations],
        "scores": [s["id"] for s in trace.get("scores") or []],
    }


def pages(items: list[Any], size: int) -> list[dict[str, Any]]:
    count = max(1, -(-len(items) // size))
    return [
        {
            "data": items[n * size : (n + 1) * size],
            "meta": {"page": n + 1, "limit": size, "totalItems": len(items), "totalPages": count},
        }
        for n in range(count)
    ]


def ns(text: str) -> int:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1) * 1000


def write(tmp_path: Path, name: str, body: Any) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(body))
    return path


def serve_trace(
    server: DocumentedServer,
    tmp_path: Path,
    trace: dict[str, Any],
    observations: list[dict[str, Any]],
    size: int,
) -> None:
    server.route(
        f"/api/public/traces/{trace['id']}", write(tmp_path, "detail.json", detail(trace, observations))
    )
    for page in pages(observations, size):
        number = str(page["meta"]["page"])
        server.route(
            "/api/public/observations",
            write(tmp_path, f"observations-{number}.json", page),
            when={"traceId": trace["id"], "page": number, "limit": str(size)},
        )


def assert_same(records: list[Any], trace: dict[str, Any], observations: list[dict[str, Any]]) -> None:
    """The fetched spans are the observations (ids, parents, names, times, type, model, usage), the
    trace's fields are on each, and its scores on the root span."""
    spans = {r.span_id: r for r in records if isinstance(r, Span)}
    assert sorted(spans) == sorted(o["id"] for o in observations)
    for o in observations:
        span = spans[o["id"]]
        assert (span.trace_id, span.parent_id, span.name) == (
            trace["id"],
            o["parentObservationId"],
            o["name"],
        )
        assert span.start_ns == ns(o["startTime"])
        assert span.end_ns == (ns(o["endTime"]) if o.get("endTime") else None)
        assert span.attributes["langfuse.observation.type"] == o["type"]
        assert span.attributes["langfuse.trace.name"] == trace["name"]
        if o.get("model"):
            assert span.attributes["langfuse.observation.model.name"] == o["model"]
        if o.get("usageDetails"):
            assert span.attributes["langfuse.observation.usage_details"] == o["usageDetails"]
    (root,) = [s for s in spans.values() if s.parent_id is None]
    expected = sorted((s["name"], s["value"], s["comment"], s["source"]) for s in trace.get("scores") or [])
    assert sorted((s.name, s.value, s.comment, s.source) for s in root.scores) == expected
    assert all(s.trace_level for s in root.scores)


@pytest.fixture
def server():
    with DocumentedServer() as served:
        served.require_auth(BASIC)
        yield served


def client(server: DocumentedServer, **options: Any) -> LangfuseClient:
    return LangfuseClient(ServerURL("langfuse", server.base_url), *KEYS, timeout_s=5.0, **options)


def test_the_registry_knows_langfuse_and_sends_the_keys_as_basic_auth(server, monkeypatch, tmp_path):
    spec = server_specs()["langfuse"]
    assert (spec.default_port, spec.credential_env) == (3000, ("LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY"))
    server.route("/api/public/projects", write(tmp_path, "projects.json", {"data": [PROJECT]}))
    monkeypatch.setenv("LANGFUSE_PUBLIC_KEY", KEYS[0])
    monkeypatch.setenv("LANGFUSE_SECRET_KEY", KEYS[1])
    assert client_for(f"langfuse+{server.base_url}").projects() == [PROJECT["name"]]
    assert server.requests[0].headers["authorization"] == BASIC


def test_the_trace_list_pages_by_page_number_with_its_filters(server, fixtures_dir, tmp_path):
    traces = [listed(*real(fixtures_dir, name)) for name in FIXTURES]
    first, second = pages(traces, 1)
    server.route("/api/public/projects", write(tmp_path, "projects.json", {"data": [PROJECT]}))
    server.route("/api/public/traces", write(tmp_path, "p1.json", first), when={"page": "1"})
    server.route("/api/public/traces", write(tmp_path, "p2.json", second), when={"page": "2"})
    since = ns("2025-08-01T00:00:00.000Z")
    query = TraceQuery(
        project=PROJECT["name"], since_ns=since, filter='name="Agent workflow" tags=prod,beta', page_size=1
    )
    langfuse = client(server)

    page1 = langfuse.list_traces(query)
    page2 = langfuse.list_traces(replace(query, cursor=page1.next_cursor))
    assert (page1.next_cursor, page2.next_cursor) == ("2", None)
    for page, raw in ((page1, traces[0]), (page2, traces[1])):
        (row,) = page.traces
        assert (row.trace_id, row.name, row.start_ns) == (raw["id"], raw["name"], ns(raw["timestamp"]))
        assert row.duration_ns == round(raw["latency"] * 10**9)
        assert row.span_count == len(raw["observations"])
        assert row.cost_usd == pytest.approx(raw["totalCost"])
        assert row.project == PROJECT["id"]

    sent = [r for r in server.requests if r.path == "/api/public/traces"]
    assert [r.param("page") for r in sent] == ["1", "2"]
    for request in sent:
        assert request.query["tags"] == ["prod", "beta"]
        assert (request.param("name"), request.param("limit"), request.param("orderBy")) == (
            "Agent workflow",
            "1",
            "timestamp.desc",
        )
        assert request.param("fromTimestamp") == "2025-08-01T00:00:00.000000Z"
        assert request.param("toTimestamp") is None
    assert [r.path for r in server.requests].count("/api/public/projects") == 1  # the keys' project, once


def test_what_the_list_cannot_do_is_said(server, tmp_path):
    server.route("/api/public/projects", write(tmp_path, "projects.json", {"data": [PROJECT]}))
    langfuse = client(server)
    with pytest.raises(RemoteError, match="not the API keys' project \\(framework-demos\\)"):
        langfuse.list_traces(TraceQuery(project="other"))
    with pytest.raises(RemoteError, match="cannot filter on errors"):
        langfuse.list_traces(TraceQuery(errors_only=True))
    with pytest.raises(RemoteError, match="'level' is not one of name, userId"):
        langfuse.list_traces(TraceQuery(filter="level=ERROR"))
    with pytest.raises(RemoteError, match="not a Langfuse page cursor"):
        langfuse.list_traces(TraceQuery(cursor="0"))


@pytest.mark.parametrize("name", FIXTURES)
def test_a_fetched_trace_is_every_page_of_its_observations(server, fixtures_dir, tmp_path, name):
    trace, observations = real(fixtures_dir, name)
    serve_trace(server, tmp_path, trace, observations, size=2)
    progress: list[tuple[str, int, int | None]] = []
    fetched = client(server, page_size=2).fetch_trace(trace["id"], lambda *step: progress.append(step))
    assert fetched.trace_id == trace["id"] and fetched.problems == []
    assert_same(fetched.records, trace, observations)
    count = len(observations)
    assert [done for _, done, _ in progress] == [min(2 * n, count) for n in range(1, -(-count // 2) + 1)]
    assert {total for _, _, total in progress} == {count}
    pages_read = [r.param("page") for r in server.requests if r.path == "/api/public/observations"]
    assert pages_read == [str(n) for n in range(1, -(-count // 2) + 1)]


def test_scores_given_by_id_are_read_from_the_scores_api(server, fixtures_dir, tmp_path):
    trace, observations = real(fixtures_dir, FIXTURES[0])
    serve_trace(server, tmp_path, trace, observations, size=100)
    # The detail naming its scores by id only: they come from GET /api/public/v2/scores.
    body = {**detail(trace, observations), "scores": [s["id"] for s in trace["scores"]]}
    server.route(f"/api/public/traces/{trace['id']}", write(tmp_path, "ids.json", body))
    for page in pages(trace["scores"], 100):
        server.route(
            "/api/public/v2/scores", write(tmp_path, "scores.json", page), when={"traceId": trace["id"]}
        )
    fetched = client(server).fetch_trace(trace["id"])
    assert_same(fetched.records, trace, observations)
    assert "/api/public/v2/scores" in server.paths()


def test_429_is_waited_out_as_retry_after_asks(server, fixtures_dir, tmp_path):
    trace, observations = real(fixtures_dir, FIXTURES[1])
    serve_trace(server, tmp_path, trace, observations, size=5)
    server.fail(429, retry_after="1", path="/api/public/observations")
    began = time.monotonic()
    fetched = client(server, page_size=5).fetch_trace(trace["id"])
    assert time.monotonic() - began >= 0.95
    assert_same(fetched.records, trace, observations)
    assert [r.path for r in server.requests].count("/api/public/observations") == 3  # 429, page 1, page 2


def test_a_rate_limit_longer_than_we_wait_is_an_error_at_once(server, fixtures_dir, tmp_path):
    trace, observations = real(fixtures_dir, FIXTURES[0])
    serve_trace(server, tmp_path, trace, observations, size=100)
    server.fail(429, retry_after="120", path="/api/public/observations")
    began = time.monotonic()
    with pytest.raises(RemoteError) as caught:
        client(server).fetch_trace(trace["id"])
    assert time.monotonic() - began < 2
    assert (caught.value.status, caught.value.retryable, caught.value.retry_after_s) == (429, True, 120.0)
    assert "wait 120 s" in str(caught.value)


def test_refused_keys_name_both_variables_and_never_the_keys(server):
    with pytest.raises(RemoteError) as caught:
        LangfuseClient(ServerURL("langfuse", server.base_url), "pk-lf-wrong", "sk-lf-wrong").projects()
    message = str(caught.value)
    assert caught.value.status == 401 and "Invalid credentials" in message
    assert "LANGFUSE_PUBLIC_KEY" in message and "LANGFUSE_SECRET_KEY" in message and "wrong" not in message


def test_a_missing_trace_is_a_404_and_a_failed_page_fails_the_fetch(server, fixtures_dir, tmp_path):
    with pytest.raises(RemoteError) as caught:
        client(server).fetch_trace("no-such-trace")
    assert caught.value.status == 404 and "no trace no-such-trace" in str(caught.value)

    trace, observations = real(fixtures_dir, FIXTURES[1])
    serve_trace(server, tmp_path, trace, observations, size=3)
    server.fail(503, path="/api/public/observations")  # no Retry-After: not waited for
    with pytest.raises(RemoteError) as caught:
        client(server, page_size=3).fetch_trace(trace["id"])
    assert (caught.value.status, caught.value.retryable) == (503, True)
    assert f"page 1 of trace {trace['id']}'s observations" in str(caught.value)
