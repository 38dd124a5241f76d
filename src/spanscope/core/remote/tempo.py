"""A Grafana Tempo query frontend (`tempo+http://host:3200`): services as projects, trace search, traces.

Its HTTP API: GET /api/search/tag/service.name/values → {tagValues: [names]}; GET /api/search with
`q` (TraceQL) or `tags` (logfmt) plus minDuration/maxDuration, `limit`, `start`/`end` (Unix
seconds) → {traces: [{traceID, rootServiceName, rootTraceName, startTimeUnixNano, durationMs,
spanSets}]}; GET /api/traces/{id} → the trace as OTLP JSON (`batches` in older Tempo,
`resourceSpans` in newer), 404 when Tempo does not have it, read by the OTLP JSON format reader.

The filter is TraceQL when it starts with `{` (joined with the project's service and errors-only as
more spansets: `{ resource.service.name = "P" } && { status = error } && FILTER`), else Tempo's
logfmt tag search (`service.name=P`, `status=error` added), whose `minDuration`/`maxDuration` keys
are parameters of their own. Tempo searches a time range and has no cursor: a page is the `limit`
newest traces in [start, end], and the cursor is the oldest listed trace's start (nanoseconds): the
next page asks for what ends at its second and leaves out what started at or after it (so more than
a page of traces starting within one second is listed in part). Without `since`, the range is the
day before `until` (or now).

Credentials, for a Tempo behind a gateway: TEMPO_USER with TEMPO_TOKEN as basic auth (Grafana Cloud:
the instance id and an access token), TEMPO_TOKEN alone as a bearer token, TEMPO_TENANT as the
X-Scope-OrgID header of a multi-tenant Tempo.
"""

from __future__ import annotations

import re
import time
from typing import Any

from spanscope.core.formats.otlp_json import spans_from_body
from spanscope.core.remote.base import (
    FetchedTrace,
    FetchProgress,
    RemoteError,
    RemoteTrace,
    ServerSpec,
    ServerURL,
    TracePage,
    TraceQuery,
)
from spanscope.core.remote.json_api import JsonAPI, logfmt_pairs

USER_ENV, TOKEN_ENV, TENANT_ENV = "TEMPO_USER", "TEMPO_TOKEN", "TEMPO_TENANT"
DEFAULT_RANGE_NS = 24 * 3600 * 10**9
_SECOND = 10**9
_HEX = re.compile(r"[0-9a-fA-F]{1,32}")


class TempoClient:
    def __init__(
        self,
        url: ServerURL,
        *,
        user: str | None = None,
        token: str | None = None,
        tenant: str | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self.url = url
        headers = {"X-Scope-OrgID": tenant} if tenant else {}
        if token and not user:
            headers["Authorization"] = f"Bearer {token}"
        self._api = JsonAPI(
            url,
            "Tempo",
            auth=(user, token or "") if user else None,
            headers=headers,
            credential_hint=f"set {TOKEN_ENV} (and {USER_ENV} for basic auth, {TENANT_ENV} for a tenant)",
            timeout_s=timeout_s,
        )

    def projects(self) -> list[str]:
        body = self._api.get("/api/search/tag/service.name/values", what="the service list")
        values = body.get("tagValues") if isinstance(body, dict) else None
        if not isinstance(values, list):
            raise RemoteError(f"{self._api.name}: the service list has no `tagValues` list")
        # /api/v2 answers {type, value} objects; /api/search/tag answers names.
        return sorted(str(v.get("value") if isinstance(v, dict) else v) for v in values)

    def list_traces(self, query: TraceQuery) -> TracePage:
        after_ns = _cursor(query.cursor)
        until_ns = after_ns if after_ns is not None else query.until_ns or time.time_ns()
        since_ns = query.since_ns if query.since_ns is not None else until_ns - DEFAULT_RANGE_NS
        params: dict[str, str | int | None] = {
            "limit": query.page_size,
            "start": str(since_ns // _SECOND),
            "end": str(-(-until_ns // _SECOND)),  # rounded up: the cursor's own second is asked for again
        }
        params.update(_search(query))
        body = self._api.get("/api/search", params, what="the trace search")
        listed = body.get("traces") if isinstance(body, dict) else None
        if not isinstance(listed, list):
            raise RemoteError(f"{self._api.name}: the trace search answer has no `traces` list")
        rows = [row for item in listed if (row := _row(item, query.errors_only)) is not None]
        traces = sorted(
            (r for r in rows if after_ns is None or (r.start_ns is not None and r.start_ns < after_ns)),
            key=lambda r: r.start_ns or 0,
            reverse=True,
        )
        if len(listed) < query.page_size:
            return TracePage(traces, None)
        if traces and traces[-1].start_ns is not None:
            return TracePage(traces, str(traces[-1].start_ns))
        # A whole page within the cursor's second, all listed before: go on from the second before.
        return TracePage(traces, str(until_ns // _SECOND * _SECOND - 1) if until_ns > _SECOND else None)

    def fetch_trace(self, trace_id: str, progress: FetchProgress | None = None) -> FetchedTrace:
        if progress:
            progress(f"trace {trace_id}", 0, None)
        body = self._api.get_bytes(
            f"/api/traces/{trace_id}", what=f"trace {trace_id}", missing=f"no trace {trace_id}"
        )
        try:
            spans, rejected = spans_from_body(body)
        except ValueError as exc:
            raise RemoteError(f"{self._api.name}: trace {trace_id} is not OTLP trace JSON ({exc})") from exc
        if not spans:
            raise RemoteError(
                f"{self._api.name}: no trace {trace_id} (its answer holds no spans)", status=404
            )
        fetched = FetchedTrace(
            spans[0].trace_id, list(spans), [(f"trace {trace_id}", why) for why in rejected]
        )
        if progress:
            progress(f"trace {trace_id}", len(spans), len(spans))
        return fetched


def _cursor(text: str | None) -> int | None:
    if text is None:
        return None
    if not text.isdigit():
        raise RemoteError(f"not a Tempo page cursor: {text!r}")
    return int(text)


def _search(query: TraceQuery) -> dict[str, str | int | None]:
    """The search's `q` (TraceQL) or `tags` (logfmt) with its duration parameters."""
    text = (query.filter or "").strip()
    if not text or text.startswith("{"):
        spansets = []
        if query.project:
            spansets.append(f"{{ resource.service.name = {_quoted(query.project)} }}")
        if query.errors_only:
            spansets.append("{ status = error }")
        if text:
            spansets.append(text if not spansets else f"({text})")
        return {"q": " && ".join(spansets) if spansets else None}
    tags = logfmt_pairs(text, "Tempo tag filter")
    params: dict[str, str | int | None] = {key: tags.pop(key, None) for key in ("minDuration", "maxDuration")}
    if query.project:
        tags["service.name"] = query.project
    if query.errors_only:
        tags["status"] = "error"
    params["tags"] = " ".join(f"{key}={_quoted(value)}" for key, value in tags.items())
    return params


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _row(item: Any, errors_only: bool) -> RemoteTrace | None:
    """A search result as a list row; None for one without a usable traceID."""
    if not isinstance(item, dict):
        return None
    raw = item.get("traceID")
    if not isinstance(raw, str) or not _HEX.fullmatch(raw):
        return None
    start = _int(item.get("startTimeUnixNano"))
    duration_ms = item.get("durationMs")
    return RemoteTrace(
        trace_id=raw.lower().rjust(32, "0"),  # Tempo drops leading zeros
        name=item.get("rootTraceName") if isinstance(item.get("rootTraceName"), str) else None,
        start_ns=start,
        # Protobuf JSON leaves a zero out: no durationMs is under a millisecond.
        duration_ns=int(duration_ms * 10**6) if isinstance(duration_ms, int | float) else 0,
        error=True if errors_only else None,  # the search matched only traces with an error
        project=item.get("rootServiceName") if isinstance(item.get("rootServiceName"), str) else None,
    )


def _int(value: Any) -> int | None:
    """An int64 as Tempo writes it (a string in protobuf JSON)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _make(url: ServerURL, credentials: dict[str, str | None]) -> TempoClient:
    return TempoClient(
        url,
        user=credentials.get(USER_ENV),
        token=credentials.get(TOKEN_ENV),
        tenant=credentials.get(TENANT_ENV),
    )


SPEC = ServerSpec(
    kind="tempo",
    title="Grafana Tempo (services, TraceQL or tag search, whole traces as OTLP JSON)",
    default_port=3200,
    credential_env=(USER_ENV, TOKEN_ENV, TENANT_ENV),
    make=_make,
)
