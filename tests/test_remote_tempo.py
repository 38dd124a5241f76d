"""The Tempo client against Tempo's documented response shapes, served over loopback HTTP.

Tempo cannot run on these machines, so these are documented shapes, not a live server: the HTTP API
of https://grafana.com/docs/tempo/latest/api_docs/ — GET /api/search (q, tags, minDuration,
maxDuration, limit, start, end; answer {traces: [{traceID, rootServiceName, rootTraceName,
startTimeUnixNano, durationMs, spanSets: [{spans, matched}]}], metrics}, its two examples' fields),
GET /api/search/tag/service.name/values ({tagValues}, and the V2 {type, value} objects), GET
/api/traces/<traceID> ("mostly compatible OpenTelemetry JSON": `batches` of resource spans with
base64 ids in older Tempo, `resourceSpans` with hex ids in newer), tenants by X-Scope-OrgID
(https://grafana.com/docs/tempo/latest/operations/multitenancy/), basic auth for Grafana Cloud
(https://grafana.com/docs/learning-paths/tempo-data-source/prepare-connection/). The trace bodies are
built at test time from a real OTLP JSON capture (../shared/fixtures/openinference-openai/), one
trace of it, in both of Tempo's encodings.
"""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from documented_servers import DocumentedServer
from spanscope.core.model import Span
from spanscope.core.remote.base import RemoteError, ServerURL, TraceQuery
from spanscope.core.remote.registry import client_for, server_specs
from spanscope.core.remote.tempo import TempoClient

CAPTURE = "openinference-openai/chain-and-session.otlp.json"
S = 10**9


def one_trace(fixtures_dir: Path) -> tuple[str, list[dict[str, Any]]]:
    """The capture's first trace: its id and its resource spans holding only that trace's spans."""
    request = json.loads((fixtures_dir / CAPTURE).read_text())
    trace_id = request["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"]
    resource_spans = []
    for rs in request["resourceSpans"]:
        scopes = [
            {**ss, "spans": [s for s in ss["spans"] if s["traceId"] == trace_id]} for ss in rs["scopeSpans"]
        ]
        resource_spans.append({**rs, "scopeSpans": [ss for ss in scopes if ss["spans"]]})
    return trace_id, resource_spans


def b64(hex_id: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_id)).decode()


def older_tempo(resource_spans: list[dict[str, Any]]) -> dict[str, Any]:
    """Older Tempo's answer: `batches`, ids as protobuf JSON writes bytes (base64)."""
    batches = []
    for rs in resource_spans:
        scopes = []
        for ss in rs["scopeSpans"]:
            spans = []
            for span in ss["spans"]:
                ids = {k: b64(span[k]) for k in ("traceId", "spanId", "parentSpanId") if span.get(k)}
                spans.append({**span, **ids})
            scopes.append({**ss, "spans": spans})
        batches.append({**rs, "scopeSpans": scopes})
    return {"batches": batches}


def value(any_value: dict[str, Any]) -> Any:
    """An OTLP AnyValue as a plain value (int64 strings as ints)."""
    if "intValue" in any_value:
        return int(any_value["intValue"])
    if "arrayValue" in any_value:
        return [value(v) for v in any_value["arrayValue"].get("values", [])]
    if "kvlistValue" in any_value:
        return {kv["key"]: value(kv["value"]) for kv in any_value["kvlistValue"].get("values", [])}
    (only,) = any_value.values()
    return only


def assert_same_spans(spans: list[Span], resource_spans: list[dict[str, Any]]) -> None:
    """What was fetched is what the body held: ids, parents, names, times, attributes, resource."""
    by_id = {s.span_id: s for s in spans}
    count = 0
    for rs in resource_spans:
        resource = {kv["key"]: value(kv["value"]) for kv in rs["resource"]["attributes"]}
        for ss in rs["scopeSpans"]:
            for raw in ss["spans"]:
                count += 1
                span = by_id[raw["spanId"]]
                assert span.trace_id == raw["traceId"]
                assert span.parent_id == (raw.get("parentSpanId") or None)
                assert span.name == raw["name"]
                assert (span.start_ns, span.end_ns) == (
                    int(raw["startTimeUnixNano"]),
                    int(raw["endTimeUnixNano"]),
                )
                for kv in raw.get("attributes", []):
                    assert span.attributes[kv["key"]] == value(kv["value"])
                assert span.resource == resource
                assert span.scope.get("name") == ss["scope"]["name"]
    assert len(spans) == count


def search_answer(traces: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "traces": traces,
        "metrics": {"inspectedTraces": 3100, "inspectedBytes": "3811736", "totalBlocks": 3},
    }


def found(trace_id: str, start_ns: int, duration_ms: int | None, name: str = "/cart") -> dict[str, Any]:
    """A search result with the documented fields (durationMs left out below a millisecond)."""
    item: dict[str, Any] = {
        "traceID": trace_id,
        "rootServiceName": "frontend",
        "rootTraceName": name,
        "startTimeUnixNano": str(start_ns),
        "spanSets": [
            {
                "spans": [
                    {
                        "spanID": "563d623c76514f8e",
                        "startTimeUnixNano": str(start_ns),
                        "durationNanos": "446979497",
                        "attributes": [{"key": "status", "value": {"stringValue": "error"}}],
                    }
                ],
                "matched": 1,
            }
        ],
    }
    if duration_ms is not None:
        item["durationMs"] = duration_ms
    return item


def write(tmp_path: Path, name: str, body: Any) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(body))
    return path


@pytest.fixture
def server():
    with DocumentedServer() as served:
        yield served


def client(server: DocumentedServer, **credentials: str) -> TempoClient:
    return TempoClient(ServerURL("tempo", server.base_url), timeout_s=5.0, **credentials)


def test_the_registry_knows_tempo_and_sends_its_credentials(server, monkeypatch, tmp_path):
    spec = server_specs()["tempo"]
    assert (spec.default_port, spec.credential_env) == (3200, ("TEMPO_USER", "TEMPO_TOKEN", "TEMPO_TENANT"))
    server.route("/api/search/tag/service.name/values", write(tmp_path, "values.json", {"tagValues": ["a"]}))
    basic = "Basic " + base64.b64encode(b"123456:glc_token").decode()
    server.require_auth(basic)
    monkeypatch.setenv("TEMPO_USER", "123456")
    monkeypatch.setenv("TEMPO_TOKEN", "glc_token")
    monkeypatch.setenv("TEMPO_TENANT", "team-a")
    assert client_for(f"tempo+{server.base_url}").projects() == ["a"]
    assert server.requests[-1].headers["x-scope-orgid"] == "team-a"

    server.require_auth("Bearer glc_token")
    monkeypatch.delenv("TEMPO_USER")
    assert client_for(f"tempo+{server.base_url}").projects() == ["a"]


def test_service_names_are_the_projects_in_both_documented_forms(server, tmp_path):
    names = ["shop-backend", "article-service", "auth-service"]
    path = "/api/search/tag/service.name/values"
    server.route(
        path, write(tmp_path, "v1.json", {"tagValues": names, "metrics": {"inspectedBytes": "431380"}})
    )
    assert client(server).projects() == sorted(names)
    typed = {"tagValues": [{"type": "string", "value": n} for n in names]}
    server.route(path, write(tmp_path, "v2.json", typed))
    assert client(server).projects() == sorted(names)


def test_traceql_search_pages_by_start_time(server, tmp_path):
    t0 = 1_684_778_327 * S
    page1 = [
        found("2f3e0cee77ae5dc9c17ade3689eb2e54", t0 + 699_392_724, 557, "update-billing"),
        found("d6e9329d67b6146a", t0 - 5 * S, 611),  # a 64-bit id, leading zeros dropped
        found("7a1d2dd4deaf177e0acf55b3c49032", t0 - 9 * S + 250, None),  # under a millisecond
    ]
    oldest = t0 - 9 * S + 250
    page2 = [page1[2], found("1b1ba462b409200d", t0 - 20 * S, 611)]  # the boundary's second again
    server.route("/api/search", write(tmp_path, "page1.json", search_answer(page1)))
    server.route(
        "/api/search", write(tmp_path, "page2.json", search_answer(page2)), when={"end": str(t0 // S - 8)}
    )
    tempo = client(server)
    query = TraceQuery(
        project="shop-backend",
        since_ns=t0 - 3600 * S,
        until_ns=t0 + S // 2,
        filter="{ span.http.status_code = 500 }",
        errors_only=True,
        page_size=3,
    )

    first = tempo.list_traces(query)
    assert [(r.trace_id, r.name, r.start_ns, r.duration_ns, r.project, r.error) for r in first.traces] == [
        (
            "2f3e0cee77ae5dc9c17ade3689eb2e54",
            "update-billing",
            t0 + 699_392_724,
            557_000_000,
            "frontend",
            True,
        ),
        ("0000000000000000d6e9329d67b6146a", "/cart", t0 - 5 * S, 611_000_000, "frontend", True),
        ("007a1d2dd4deaf177e0acf55b3c49032", "/cart", oldest, 0, "frontend", True),
    ]
    assert first.next_cursor == str(oldest)

    second = tempo.list_traces(replace(query, cursor=first.next_cursor))
    assert [r.trace_id for r in second.traces] == ["00000000000000001b1ba462b409200d"]
    assert second.next_cursor is None

    sent = server.requests
    assert [(r.param("start"), r.param("end")) for r in sent] == [
        (str(t0 // S - 3600), str(t0 // S + 1)),
        (str(t0 // S - 3600), str(t0 // S - 8)),
    ]
    for request in sent:
        assert request.param("limit") == "3" and request.param("tags") is None
        assert request.param("q") == (
            '{ resource.service.name = "shop-backend" } && { status = error } '
            "&& ({ span.http.status_code = 500 })"
        )


def test_tag_search_takes_logfmt_and_durations(server, tmp_path):
    server.route("/api/search", write(tmp_path, "empty.json", search_answer([])))
    page = client(server).list_traces(
        TraceQuery(project="cart", filter='http.url="api/my api" minDuration=600ms', page_size=20)
    )
    assert page.traces == [] and page.next_cursor is None
    (request,) = server.requests
    assert request.param("tags") == 'http.url="api/my api" service.name="cart"'
    assert (request.param("minDuration"), request.param("maxDuration"), request.param("q")) == (
        "600ms",
        None,
        None,
    )
    seconds = int(request.param("end") or 0) - int(request.param("start") or 0)
    assert seconds in (24 * 3600, 24 * 3600 + 1)  # no since: the day before now (whole seconds)


@pytest.mark.parametrize("encoding", ["resourceSpans (newer Tempo)", "batches, base64 ids (older Tempo)"])
def test_a_fetched_trace_holds_what_the_answer_held(server, fixtures_dir, tmp_path, encoding):
    trace_id, resource_spans = one_trace(fixtures_dir)
    body = (
        {"resourceSpans": resource_spans}
        if encoding.startswith("resourceSpans")
        else older_tempo(resource_spans)
    )
    server.route(f"/api/traces/{trace_id}", write(tmp_path, "trace.json", body))
    progress: list[tuple[str, int, int | None]] = []
    fetched = client(server).fetch_trace(trace_id, lambda *step: progress.append(step))
    assert fetched.trace_id == trace_id and fetched.problems == []
    assert_same_spans(fetched.records, resource_spans)  # type: ignore[arg-type]
    assert progress[-1][1] == progress[-1][2] == len(fetched.records)


def test_a_span_that_cannot_be_read_is_a_problem(server, fixtures_dir, tmp_path):
    trace_id, resource_spans = one_trace(fixtures_dir)
    resource_spans[0]["scopeSpans"][0]["spans"][0]["spanId"] = "not an id"
    server.route(f"/api/traces/{trace_id}", write(tmp_path, "trace.json", {"resourceSpans": resource_spans}))
    fetched = client(server).fetch_trace(trace_id)
    assert len(fetched.problems) == 1 and "not an id" in fetched.problems[0][1]
    assert fetched.problems[0][0] == f"trace {trace_id}"


def test_a_trace_tempo_lacks_is_a_404(server):
    server.fail(404, path="/api/traces/abc")
    with pytest.raises(RemoteError) as caught:
        client(server).fetch_trace("abc")
    assert caught.value.status == 404 and str(caught.value).startswith(
        f"Tempo at {server.host_port}: no trace abc"
    )


def test_refused_credentials_name_the_variables(server):
    server.fail(401)
    with pytest.raises(RemoteError) as caught:
        client(server, token="t0ken").projects()
    assert (
        caught.value.status == 401 and "TEMPO_TOKEN" in str(caught.value) and "t0ken" not in str(caught.value)
    )


def test_429_is_waited_out_and_a_bad_cursor_refused(server, tmp_path):
    server.route("/api/search/tag/service.name/values", write(tmp_path, "v.json", {"tagValues": ["a"]}))
    server.fail(429, retry_after="0", times=2)
    assert client(server).projects() == ["a"] and len(server.requests) == 3
    with pytest.raises(RemoteError, match="not a Tempo page cursor"):
        client(server).list_traces(TraceQuery(cursor="next"))


def test_an_answer_that_is_not_otlp_is_named(server, tmp_path):
    page = tmp_path / "login.html"
    page.write_text("<html>sign in</html>")
    server.route("/api/traces/abc", page, content_type="text/html")
    with pytest.raises(RemoteError, match="trace abc is not OTLP trace JSON"):
        client(server).fetch_trace("abc")
    server.route("/api/traces/abc", write(tmp_path, "empty.json", {}))
    with pytest.raises(RemoteError, match="no trace abc") as caught:
        client(server).fetch_trace("abc")
    assert caught.value.status == 404
