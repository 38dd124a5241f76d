"""A Jaeger query service (`jaeger+http://host:16686`): services as projects, trace search, whole traces.

Its HTTP JSON API (what the Jaeger UI calls): GET /api/services → {data: [service names]};
GET /api/traces?service=&operation=&tags=&minDuration=&maxDuration=&start=&end=&limit= →
{data: [trace]} with whole traces (times in microseconds); GET /api/traces/{id} → {data: [trace]},
404 for a trace it does not have. Both answers are read by the Jaeger JSON format reader.

Jaeger searches one service at a time and has no cursor: a page is the `limit` newest traces ending
at `end`, so the next page's cursor is the oldest listed trace's start (microseconds), listed before
it. `TraceQuery.filter` is logfmt (`error=true http.status_code=500`, as in Jaeger's and Grafana's
search forms) or a JSON object of tags; its keys `operation`, `minDuration` and `maxDuration` are the
search's own parameters. Without `since` the server's own default range applies (Jaeger's
`lookback`). A bearer token, when the query service sits behind a proxy that wants one,
comes from JAEGER_TOKEN.
"""

from __future__ import annotations

import orjson

from spanscope.core.formats.jaeger import spans_from_body
from spanscope.core.model import Span, Status
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

TOKEN_ENV = "JAEGER_TOKEN"
#: Keys of the filter that are search parameters of their own rather than tags.
_SEARCH_KEYS = ("operation", "minDuration", "maxDuration")


class JaegerClient:
    def __init__(self, url: ServerURL, token: str | None = None, *, timeout_s: float = 30.0) -> None:
        self.url = url
        self._api = JsonAPI(
            url,
            "Jaeger",
            headers={"Authorization": f"Bearer {token}"} if token else None,
            credential_hint=f"set {TOKEN_ENV} to a token the server (or the proxy before it) accepts",
            timeout_s=timeout_s,
        )

    def projects(self) -> list[str]:
        body = self._api.get("/api/services", what="the service list")
        names = body.get("data") if isinstance(body, dict) else None
        if not isinstance(names, list):
            raise RemoteError(f"{self._api.name}: the service list has no `data` list")
        return sorted(str(name) for name in names)

    def list_traces(self, query: TraceQuery) -> TracePage:
        if not query.project:
            raise RemoteError(f"{self._api.name} lists the traces of one service: choose a service first")
        params: dict[str, str | int | None] = {
            "service": query.project,
            "limit": query.page_size,
            "start": None if query.since_ns is None else str(query.since_ns // 1000),
            "end": _end_us(query),
        }
        params.update(_search_filter(query.filter, query.errors_only))
        body = self._api.get_bytes("/api/traces", params, what="the trace search")
        spans = self._spans(body, "the trace search", [])
        traces = sorted(_summaries(spans), key=lambda t: t.start_ns or 0, reverse=True)
        oldest = traces[-1].start_ns if traces else None
        more = len(traces) >= query.page_size and oldest is not None
        return TracePage(traces, str(oldest // 1000 - 1) if more and oldest is not None else None)

    def fetch_trace(self, trace_id: str, progress: FetchProgress | None = None) -> FetchedTrace:
        if progress:
            progress(f"trace {trace_id}", 0, None)
        body = self._api.get_bytes(
            f"/api/traces/{trace_id}", what=f"trace {trace_id}", missing=f"no trace {trace_id}"
        )
        problems: list[tuple[str, str]] = []
        spans = self._spans(body, f"trace {trace_id}", problems)
        if not spans:
            raise RemoteError(
                f"{self._api.name}: no trace {trace_id} (its answer holds no spans)", status=404
            )
        # The id as stored (Jaeger drops leading zeros; the reader puts them back).
        fetched = FetchedTrace(spans[0].trace_id, list(spans), problems)
        if progress:
            progress(f"trace {trace_id}", len(fetched.records), len(fetched.records))
        return fetched

    def _spans(self, body: bytes, what: str, problems: list[tuple[str, str]]) -> list[Span]:
        try:
            return spans_from_body(body, lambda where, why: problems.append((where, why)))
        except ValueError as exc:
            raise RemoteError(f"{self._api.name}: {what} is not Jaeger trace JSON ({exc})") from exc


def _end_us(query: TraceQuery) -> str | None:
    if query.cursor is not None:
        if not query.cursor.isdigit():
            raise RemoteError(f"not a Jaeger page cursor: {query.cursor!r}")
        return query.cursor
    return None if query.until_ns is None else str(query.until_ns // 1000)


def _search_filter(text: str | None, errors_only: bool) -> dict[str, str | int | None]:
    """The filter's search parameters and its tags as the JSON object Jaeger's `tags` takes."""
    tags: dict[str, str] = {}
    if text and text.strip().startswith("{"):
        try:
            given = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise RemoteError(f"Jaeger filter {text!r} is not a JSON object of tags: {exc}") from exc
        if not isinstance(given, dict):
            raise RemoteError(f"Jaeger filter {text!r} is not a JSON object of tags")
        tags = {str(k): v if isinstance(v, str) else orjson.dumps(v).decode() for k, v in given.items()}
    elif text:
        tags = logfmt_pairs(text, "Jaeger filter")
    if errors_only:
        tags["error"] = "true"
    params: dict[str, str | int | None] = {key: tags.pop(key, None) for key in _SEARCH_KEYS}
    params["tags"] = orjson.dumps(tags).decode() if tags else None
    return params


def _summaries(spans: list[Span]) -> list[RemoteTrace]:
    """One row per trace of a search answer: its root's name and service, span count, time, error."""
    by_trace: dict[str, list[Span]] = {}
    for span in spans:
        by_trace.setdefault(span.trace_id, []).append(span)
    rows = []
    for trace_id, members in by_trace.items():
        ids = {s.span_id for s in members}
        root = min(members, key=lambda s: (s.parent_id in ids, s.start_ns))
        start = min(s.start_ns for s in members)
        end = max(s.end_ns or s.start_ns for s in members)
        rows.append(
            RemoteTrace(
                trace_id=trace_id,
                name=root.name,
                start_ns=start,
                duration_ns=end - start,
                span_count=len(members),
                error=any(s.status is Status.ERROR for s in members),
                project=root.resource.get("service.name"),
            )
        )
    return rows


def _make(url: ServerURL, credentials: dict[str, str | None]) -> JaegerClient:
    return JaegerClient(url, credentials.get(TOKEN_ENV))


SPEC = ServerSpec(
    kind="jaeger",
    title="Jaeger query service (services, trace search by tags and duration, whole traces)",
    default_port=16686,
    credential_env=(TOKEN_ENV,),
    make=_make,
)
