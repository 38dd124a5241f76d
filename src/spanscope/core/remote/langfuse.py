"""A Langfuse server (`langfuse+http://host:3000`, or `langfuse+https://cloud.langfuse.com`) through its
public API, with a project's API keys: LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY as basic auth.

GET /api/public/projects → {data: [{id, name}]} (the keys' project); GET /api/public/traces?page=
&limit=&fromTimestamp=&toTimestamp=&orderBy=&name=&userId=&sessionId=&tags=&release=&version=
&environment= → {data: [trace], meta: {page, limit, totalItems, totalPages}}; GET
/api/public/traces/{id} → the trace with its `observations` and `scores`, 404 when missing; GET
/api/public/observations?traceId=&page=&limit= → {data, meta}; GET /api/public/v2/scores?traceId=
&page=&limit= → {data, meta}. All of it is read by the Langfuse export reader.

A trace's observations are read page by page from /observations even though its detail embeds them:
Langfuse Cloud cuts answers at 5 MB, and the pages show progress; the embedded ones fill in what a
page lacks. Langfuse Cloud rate-limits the public API (30 to 1,000 requests a minute) and answers
429 with Retry-After, which is waited out. `TraceQuery.filter` is logfmt of the trace list's own
filters (`name=chat userId=u1 tags=prod,beta`); a project, when given, must be the keys' project.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from spanscope.core.conventions.parse import epoch_ns
from spanscope.core.formats.langfuse_export import from_values
from spanscope.core.model import Span
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
from spanscope.core.remote.json_api import JsonAPI, Params, logfmt_pairs

PUBLIC_ENV, SECRET_ENV = "LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY"
#: Observations and scores per page when fetching a trace (the API's documented maximum is 100).
PAGE_SIZE = 100
#: The trace list's filters a `TraceQuery.filter` may name.
FILTERS = ("name", "userId", "sessionId", "tags", "release", "version", "environment")


class LangfuseClient:
    def __init__(
        self,
        url: ServerURL,
        public_key: str | None = None,
        secret_key: str | None = None,
        *,
        timeout_s: float = 30.0,
        max_wait_s: float = 60.0,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.url = url
        self._page_size = page_size
        self._api = JsonAPI(
            url,
            "Langfuse",
            auth=(public_key, secret_key) if public_key and secret_key else None,
            credential_hint=f"set {PUBLIC_ENV} and {SECRET_ENV} to the project's API keys "
            "(Project settings > API keys)",
            timeout_s=timeout_s,
            max_wait_s=max_wait_s,
        )
        self._projects: list[dict[str, Any]] | None = None

    def projects(self) -> list[str]:
        return sorted(str(p.get("name") or p.get("id")) for p in self._project_records())

    def list_traces(self, query: TraceQuery) -> TracePage:
        if query.errors_only:
            raise RemoteError(
                f"{self._api.name}: the public trace list cannot filter on errors; list all traces "
                "(errors are on observations, level ERROR)"
            )
        page = _page(query.cursor)
        if query.project:
            self._check_project(query.project)
        params: dict[str, Any] = {
            "page": page,
            "limit": query.page_size,
            "orderBy": "timestamp.desc",
            "fromTimestamp": _iso(query.since_ns),
            "toTimestamp": _iso(query.until_ns),
            **_filters(query.filter),
        }
        data, meta = self._page("/api/public/traces", params, f"page {page} of the trace list")
        rows = [row for item in data if (row := _row(item)) is not None]
        return TracePage(rows, str(page + 1) if _more(page, meta, len(data), query.page_size) else None)

    def fetch_trace(self, trace_id: str, progress: FetchProgress | None = None) -> FetchedTrace:
        what = f"trace {trace_id}"
        trace = self._api.get(
            f"/api/public/traces/{quote(trace_id, safe='')}", what=what, missing=f"no {what}"
        )
        if not isinstance(trace, dict):
            raise RemoteError(f"{self._api.name}: {what} is not a JSON object")
        values: list[tuple[str, Any]] = [(what, trace)]
        values += self._every_page("/api/public/observations", trace_id, "observations", progress)
        if any(isinstance(score, str) for score in trace.get("scores") or ()):  # ids only: read them apart
            values += self._every_page("/api/public/v2/scores", trace_id, "scores", progress)
        fetched = FetchedTrace(trace_id)
        fetched.records.extend(from_values(values, lambda where, why: fetched.problems.append((where, why))))
        if not any(isinstance(record, Span) for record in fetched.records):
            raise RemoteError(
                f"{self._api.name}: {what} holds no observations, so nothing of it can be shown"
            )
        return fetched

    def _every_page(
        self, path: str, trace_id: str, what: str, progress: FetchProgress | None
    ) -> list[tuple[str, Any]]:
        """Every page of the trace's observations or scores, as (where, page) for the reader."""
        pages: list[tuple[str, Any]] = []
        seen: set[str] = set()
        page, done = 1, 0
        while True:
            params = {"traceId": trace_id, "page": page, "limit": self._page_size}
            data, meta = self._page(path, params, f"page {page} of trace {trace_id}'s {what}")
            pages.append((f"{what} page {page}", {"data": data, "meta": meta}))
            ids = {str(item.get("id")) for item in data if isinstance(item, dict)}
            new = ids - seen
            seen |= ids
            done += len(data)
            if progress:
                total = meta.get("totalItems")
                progress(f"{what} of trace {trace_id}", done, total if isinstance(total, int) else None)
            # A page of nothing new: a server that ignores `page` would otherwise be read forever.
            if not new or not _more(page, meta, len(data), self._page_size):
                return pages
            page += 1

    def _page(self, path: str, params: Params, what: str) -> tuple[list[Any], dict[str, Any]]:
        body = self._api.get(path, params, what=what)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            raise RemoteError(f"{self._api.name}: {what} has no `data` list")
        meta = body.get("meta")
        return data, meta if isinstance(meta, dict) else {}

    def _project_records(self) -> list[dict[str, Any]]:
        if self._projects is None:
            data, _ = self._page("/api/public/projects", {}, "the project list")
            self._projects = [p for p in data if isinstance(p, dict)]
        return self._projects

    def _check_project(self, project: str) -> None:
        records = self._project_records()
        if not any(project in (p.get("name"), p.get("id")) for p in records):
            names = ", ".join(sorted(str(p.get("name") or p.get("id")) for p in records)) or "none"
            raise RemoteError(
                f"{self._api.name}: project {project!r} is not the API keys' project ({names}); "
                f"set {PUBLIC_ENV} and {SECRET_ENV} to that project's keys"
            )


def _page(cursor: str | None) -> int:
    if cursor is None:
        return 1
    if not cursor.isdigit() or int(cursor) < 1:
        raise RemoteError(f"not a Langfuse page cursor: {cursor!r}")
    return int(cursor)


def _more(page: int, meta: dict[str, Any], count: int, limit: int) -> bool:
    """Whether a page follows: as meta.totalPages says, else when this one was full."""
    total = meta.get("totalPages")
    return page < total if isinstance(total, int) else count >= limit


def _iso(ns: int | None) -> str | None:
    if ns is None:
        return None
    return datetime.fromtimestamp(ns // 1000 / 10**6, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _filters(text: str | None) -> dict[str, str | list[str]]:
    """The logfmt filter as the trace list's parameters (tags comma-separated, sent repeated)."""
    if not text or not text.strip():
        return {}
    found: dict[str, str | list[str]] = {}
    for key, value in logfmt_pairs(text, "Langfuse filter").items():
        if key not in FILTERS:
            raise RemoteError(f"Langfuse filter: {key!r} is not one of {', '.join(FILTERS)}")
        found[key] = [tag for tag in value.split(",") if tag] if key == "tags" else value
    return found


def _row(item: Any) -> RemoteTrace | None:
    """A trace of the list as a row: `latency` is seconds, a `totalCost` of -1 means not computed."""
    if not isinstance(item, dict) or not isinstance(item.get("id"), str | int):
        return None
    latency, cost = item.get("latency"), item.get("totalCost")
    observations = item.get("observations")
    return RemoteTrace(
        trace_id=str(item["id"]),
        name=item.get("name") if isinstance(item.get("name"), str) else None,
        start_ns=epoch_ns(item.get("timestamp")),
        duration_ns=round(latency * 10**9) if _number(latency) and latency >= 0 else None,
        span_count=len(observations) if isinstance(observations, list) else None,
        project=item.get("projectId") if isinstance(item.get("projectId"), str) else None,
        cost_usd=float(cost) if _number(cost) and cost >= 0 else None,
    )


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _make(url: ServerURL, credentials: dict[str, str | None]) -> LangfuseClient:
    return LangfuseClient(url, credentials.get(PUBLIC_ENV), credentials.get(SECRET_ENV))


SPEC = ServerSpec(
    kind="langfuse",
    title="Langfuse public API (traces, observations, scores; API keys of one project)",
    default_port=3000,
    credential_env=(PUBLIC_ENV, SECRET_ENV),
    make=_make,
)
