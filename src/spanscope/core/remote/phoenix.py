"""An Arize Phoenix server (`phoenix serve`, on SQLite or PostgreSQL) through its REST API (/v1), with
GraphQL only where REST lacks something: the project a trace id belongs to, and a listed trace's span
count, errors, root span name and cost.

- Traces are listed per project (`TraceQuery.project`, Phoenix's "default" project when None), newest
  first, with the server's own time range (on trace start), trace filter expression
  (`TraceQuery.filter`, e.g. `latency_ms >= 1000`) and cursors; `errors_only` adds `error_count > 0` to
  the filter. A listed trace's cost is Phoenix's own, computed from its price table.
- A trace is fetched as every page of its spans (the REST span filter by trace id, 1,000 a page, the
  API's maximum), read by the Phoenix file reader's own `phoenix_span`, so a span fetched from the
  server equals the span read from the server's phoenix.db. The REST API gives attributes flattened to
  dotted keys and the span kind apart; both are put back as Phoenix stores them first.
- Span and trace annotations become `ScoreFor` records keyed as the file reader keys them (table/row
  id), so the same annotation read from both places is one score. Document annotations and Phoenix's
  computed span costs are not in the REST API and are not fetched.
- `PHOENIX_API_KEY` (or the keyring entry registry.credentials reads), when set, is sent as a bearer
  token (Phoenix with auth enabled needs one).
- Every call goes through the shared JsonAPI (one-line errors, 429 waits, the key scrubbed), which
  also retries 502-504 for Phoenix, often deployed behind a proxy that restarts with it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from spanscope.core import conventions
from spanscope.core.endpoints.secrets import KEYRING_SERVICE
from spanscope.core.formats.base import RECORD_ERRORS, record_error
from spanscope.core.formats.nested import JSON_TEXT_KEYS
from spanscope.core.formats.phoenix_sqlite import TraceContext, annotation_score, iso_ns, phoenix_span
from spanscope.core.model import Score, ScoreFor, Span
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
from spanscope.core.remote.json_api import JsonAPI
from spanscope.core.remote.registry import keyring_user

KEY_ENV = "PHOENIX_API_KEY"
DEFAULT_PROJECT = "default"
#: Spans per page: the REST API's maximum.
SPAN_PAGE = 1000
#: Span ids per annotation request: keeps the request line far below what servers accept (~16 KB).
IDS_PER_REQUEST = 300
#: Requests in flight during a fetch: the next page of spans and annotations of the pages read.
WORKERS = 3
#: Answers of a proxy before a Phoenix that is restarting or slow: asked again after a pause.
GATEWAY_STATUSES = (502, 503, 504)

_TRACE_OF = """query($traceId: String!) {
  getTraceByOtelId(traceId: $traceId) { projectId numSpans project { name } session { sessionId } }
}"""
_DETAILS = "{ numSpans errorCount rootSpan { name } costSummary { total { cost } } }"


class PhoenixClient:
    """One Phoenix server; every failure is a RemoteError naming it."""

    def __init__(self, url: ServerURL, api_key: str | None = None, *, timeout_s: float = 60.0) -> None:
        self.url = url
        self._api = JsonAPI(
            url,
            "Phoenix",
            headers={"Authorization": f"Bearer {api_key}"} if api_key else None,
            credential_hint=f"set {KEY_ENV} to an API key of the server (or keep it in the keyring: "
            f"service {KEYRING_SERVICE!r}, user {keyring_user(url) + ':' + KEY_ENV!r})",
            timeout_s=timeout_s,
            retry_statuses=GATEWAY_STATUSES,
        )

    def projects(self) -> list[str]:
        """Every project's name, page by page."""
        return [p["name"] for p in self._pages("/v1/projects", {"limit": 100}, "the project list")]

    def list_traces(self, query: TraceQuery) -> TracePage:
        project = query.project or DEFAULT_PROJECT
        params = trace_list_params(query)
        body = self._get(
            f"/v1/projects/{_path(project)}/traces",
            params,
            f"the traces of project {project!r}",
            missing=f"no project {project!r}",
        )
        rows = body.get("data") or []
        details = self._details(rows)
        traces = [_remote_trace(row, details.get(row["trace_id"]) or {}, project) for row in rows]
        return TracePage(traces, body.get("next_cursor") or None)

    def fetch_trace(self, trace_id: str, progress: FetchProgress | None = None) -> FetchedTrace:
        """Pipelined: the next page of spans is asked for and the annotations of a page's spans
        fetched while the page is read, on a few threads (network waits only); any failure is the
        fetch's failure."""
        found = self._graphql(_TRACE_OF, {"traceId": trace_id}, f"trace {trace_id}").get("getTraceByOtelId")
        if not found:
            raise RemoteError(f"{self._api.name}: no trace {trace_id}", status=404)
        project_id, total = found["projectId"], found.get("numSpans")
        context = TraceContext(
            trace_id, (found.get("project") or {}).get("name"), (found.get("session") or {}).get("sessionId")
        )
        path = f"/v1/projects/{project_id}"
        params = {"trace_id": trace_id, "limit": SPAN_PAGE, "sort": "start_time", "order": "asc"}
        fetched, done = FetchedTrace(trace_id), 0
        pool = ThreadPoolExecutor(max_workers=WORKERS)
        try:
            notes = [pool.submit(self._trace_notes, path, trace_id)]
            page: Future[dict[str, Any]] | None = pool.submit(self._spans_page, path, params, trace_id)
            while page is not None:
                body = page.result()
                cursor = body.get("next_cursor")
                page = (
                    pool.submit(self._spans_page, path, {**params, "cursor": cursor}, trace_id)
                    if cursor
                    else None
                )
                rows = body.get("data") or []
                span_ids = [str((row.get("context") or {}).get("span_id")) for row in rows]
                for start in range(0, len(span_ids), IDS_PER_REQUEST):
                    chunk = span_ids[start : start + IDS_PER_REQUEST]
                    notes.append(pool.submit(self._span_notes, path, trace_id, chunk))
                fetched.records.extend(self._spans(rows, context, fetched.problems))
                done += len(rows)
                if progress is not None:
                    progress("spans", done, total)
            for future in notes:
                fetched.records.extend(future.result())
        finally:  # after a failure, what was not started yet is not asked for
            pool.shutdown(cancel_futures=True)
        return fetched

    def _spans_page(self, path: str, params: dict[str, Any], trace_id: str) -> dict[str, Any]:
        what = f"the spans of trace {trace_id}"
        return self._get(f"{path}/spans", params, what, missing=f"no trace {trace_id} (deleted meanwhile?)")

    def _spans(
        self, rows: list[dict[str, Any]], context: TraceContext, problems: list[tuple[str, str]]
    ) -> Iterator[Span]:
        def skip(where: str, why: str) -> None:
            problems.append((where, why))

        for row in rows:
            span_id = str((row.get("context") or {}).get("span_id"))
            try:
                span = phoenix_span(span_values(row), context, skip)
                conventions.apply_fields(span)
            except RECORD_ERRORS as exc:
                skip(f"span {span_id}", record_error(exc))
                continue
            yield span

    def _span_notes(self, path: str, trace_id: str, span_ids: list[str]) -> list[ScoreFor]:
        params = {"span_ids": span_ids, "limit": 10000}
        notes = self._pages(f"{path}/span_annotations", params, f"the annotations of trace {trace_id}")
        return [ScoreFor(trace_id, note["span_id"], _score(note, "span_annotations")) for note in notes]

    def _trace_notes(self, path: str, trace_id: str) -> list[ScoreFor]:
        params = {"trace_ids": [trace_id], "limit": 10000}
        notes = self._pages(f"{path}/trace_annotations", params, f"the annotations of trace {trace_id}")
        return [ScoreFor(trace_id, None, _score(n, "trace_annotations", trace_level=True)) for n in notes]

    def _details(self, rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Span count, errors, root name and cost of a page's traces: one GraphQL request."""
        if not rows:
            return {}
        names = [f"t{i}" for i in range(len(rows))]
        declared = ", ".join(f"${n}: ID!" for n in names)
        fields = " ".join(f"{n}: trace(traceId: ${n}) {_DETAILS}" for n in names)
        query = (
            f"query($project: ID!, {declared}) {{ node(id: $project) {{ ... on Project {{ {fields} }} }} }}"
        )
        variables = {
            "project": rows[0]["project_id"],
            **{n: row["trace_id"] for n, row in zip(names, rows, strict=True)},
        }
        node = self._graphql(query, variables, "the trace list's span counts").get("node") or {}
        return {row["trace_id"]: node.get(n) or {} for n, row in zip(names, rows, strict=True)}

    def _pages(self, path: str, params: dict[str, Any], what: str) -> Iterator[dict[str, Any]]:
        """Every item of every page, following the server's cursors."""
        cursor = None
        while True:
            body = self._get(path, {**params, "cursor": cursor}, what)
            yield from body.get("data") or []
            cursor = body.get("next_cursor")
            if not cursor:
                return

    def _graphql(self, query: str, variables: dict[str, Any], what: str) -> dict[str, Any]:
        """The `data` of a GraphQL query; the query's own `errors` are a failure too."""
        body = self._object(
            self._api.post("/graphql", {"query": query, "variables": variables}, what=what), what
        )
        if body.get("errors"):
            message = "; ".join(str(e.get("message")) for e in body["errors"] if isinstance(e, dict))
            message = " ".join(message.split())
            raise RemoteError(self._api.scrubbed(f"{self._api.name} refused the query for {what}: {message}"))
        return body.get("data") or {}

    def _get(
        self, path: str, params: dict[str, Any], what: str, missing: str | None = None
    ) -> dict[str, Any]:
        return self._object(self._api.get(path, params, what=what, missing=missing), what)

    def _object(self, body: Any, what: str) -> dict[str, Any]:
        """Every Phoenix answer is a JSON object; anything else is not Phoenix speaking."""
        if not isinstance(body, dict):
            raise RemoteError(f"{self._api.name}: {what} is JSON of an unexpected shape; is it Phoenix?")
        return body


def trace_list_params(query: TraceQuery) -> dict[str, Any]:
    """The REST trace list's query parameters for `query` (None values are left out)."""
    condition = query.filter.strip() if query.filter and query.filter.strip() else None
    if query.errors_only:
        condition = f"({condition}) and error_count > 0" if condition else "error_count > 0"
    return {
        "limit": max(1, min(query.page_size, 1000)),
        "cursor": query.cursor,
        "start_time": _iso(query.since_ns),
        "end_time": _iso(query.until_ns),
        "filter": condition,
        "sort": "start_time",
        "order": "desc",
    }


def span_values(row: dict[str, Any]) -> tuple:
    """A REST span as the columns `phoenix_span` reads: attributes back in the nested form Phoenix
    stores (the span kind among them, as the instrumentation sent it)."""
    attributes = dict(row.get("attributes") or {})
    kind = row.get("span_kind") or "UNKNOWN"
    if kind != "UNKNOWN":
        attributes["openinference.span.kind"] = kind
    context = row.get("context") or {}
    return (
        context.get("span_id"),
        row.get("parent_id"),
        row.get("name"),
        kind,
        row.get("start_time"),
        row.get("end_time"),
        attributes if _stored_flat(attributes) else nested(attributes),
        row.get("events") or [],
        row.get("status_code"),
        row.get("status_message"),
    )


def _stored_flat(flat: dict[str, Any]) -> bool:
    """True when the REST attributes are already what flattening Phoenix's stored tree gives: no
    attribute kept whole as JSON text (metadata, tool parameters) and no value that flattening would
    take apart. Most spans are so, and skip the round trip through the tree (two thirds of reading
    a page)."""
    for key, value in flat.items():
        if value is None or isinstance(value, dict) or any(text in key for text in JSON_TEXT_KEYS):
            return False
        if isinstance(value, list) and any(isinstance(item, dict) for item in value):
            return False
    return True


def nested(flat: dict[str, Any]) -> dict[str, Any]:
    """Dotted keys back into the tree Phoenix stores: a level whose keys are all indexes of objects
    (`llm.input_messages.0.message.role`) is an array, as Phoenix's own unflattening makes it."""
    tree: dict[str, Any] = {}
    levels: list[tuple[dict[str, Any], str, dict[str, Any]]] = []  # (parent, key, level) as made
    for key, value in flat.items():
        *path, last = key.split(".")
        node = tree
        for part in path:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
                levels.append((node, part, child))
            node = child
        node[last] = value
    for parent, key, level in reversed(levels):  # deepest first: children are arrays before parents
        if level and all(k.isdigit() for k in level) and all(isinstance(v, dict) for v in level.values()):
            indexes = sorted(level, key=int)
            if indexes == [str(i) for i in range(len(indexes))]:
                parent[key] = [level[i] for i in indexes]
    return tree


def _score(note: dict[str, Any], table: str, *, trace_level: bool = False) -> Score:
    result = note.get("result") or {}
    values = (
        _row_id(str(note.get("id") or "")),
        note.get("name"),
        result.get("label"),
        result.get("score"),
        result.get("explanation"),
        note.get("annotator_kind"),
    )
    return annotation_score(values, table, trace_level=trace_level)


def _row_id(global_id: str) -> str:
    """The table row id inside a GraphQL global id ("SpanAnnotation:7" in base64), else the id."""
    try:
        decoded = base64.b64decode(global_id, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return global_id
    return decoded.rpartition(":")[2] or global_id


def _remote_trace(row: dict[str, Any], details: dict[str, Any], project: str) -> RemoteTrace:
    start, end = _ns(row.get("start_time")), _ns(row.get("end_time"))
    errors = details.get("errorCount")
    cost = ((details.get("costSummary") or {}).get("total") or {}).get("cost")
    return RemoteTrace(
        trace_id=row["trace_id"],
        name=(details.get("rootSpan") or {}).get("name"),
        start_ns=start,
        duration_ns=end - start if start is not None and end is not None else None,
        span_count=details.get("numSpans"),
        error=None if errors is None else errors > 0,
        project=project,
        total_tokens=row.get("token_count_total"),
        cost_usd=cost,
    )


def _ns(text: str | None) -> int | None:
    return iso_ns(text) if text else None


def _iso(ns: int | None) -> str | None:
    if ns is None:
        return None
    seconds, rest = divmod(ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=rest // 1000).isoformat()


def _path(project: str) -> str:
    return quote(project, safe="")


def _make(url: ServerURL, credentials: dict[str, str | None]) -> PhoenixClient:
    return PhoenixClient(url, credentials.get(KEY_ENV))


SPEC = ServerSpec(
    kind="phoenix",
    title="Arize Phoenix server (projects, traces, spans and annotations through its REST API)",
    default_port=6006,
    credential_env=(KEY_ENV,),
    make=_make,
)
