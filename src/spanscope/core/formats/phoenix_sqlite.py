"""Arize Phoenix's SQLite store (phoenix.db), read in place and never modified.

Phoenix keeps `projects` <- `traces` <- `spans`; a span's OpenInference attributes are nested JSON,
flattened back to dotted keys (see `nested`) so `semconv` reads them as it reads any OpenInference
span. Each span's own tokens come from those attributes: the cumulative_* columns include every
descendant and are never used. Column timestamps are naive UTC text, event timestamps ISO with an
offset.

- The project name becomes the span's service and the resource attribute
  `openinference.project.name` (where Phoenix takes it from); the trace's project session gives the
  session of spans that carry none themselves.
- Span, trace and document annotations become scores (source = annotator kind, key = table/row id);
  trace annotations are trace-level scores on the trace's root span, document annotations name the
  document's position in their comment.
- Costs in `span_costs` were computed by Phoenix from its own price table after the fact, not
  reported by the instrumentation, so they are kept as `phoenix.span_cost.*` attributes for
  comparison and never become the span's cost_usd.

Tables and columns are checked first (schemas from 2024 on differ): a store lacking what is read is
refused with a message naming what is missing; optional tables (sessions, annotations, costs) are
read when present. A span whose attributes or events are not valid JSON is kept without them and
reported, one whose times cannot be read is reported and skipped, and so is a trace whose rows cannot
be read.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import orjson

from spanscope.core import conventions
from spanscope.core.formats.base import (
    RECORD_ERRORS,
    FormatError,
    FormatSpec,
    Progress,
    Source,
    nothing_read,
    record_error,
)
from spanscope.core.formats.nested import flatten
from spanscope.core.formats.sqlite_store import (
    damaged,
    is_sqlite,
    opened,
    source_schema,
)
from spanscope.core.model import Event, Kind, Score, Span, Status

_REQUIRED = {
    "projects": ("id", "name"),
    "traces": ("id", "project_rowid", "trace_id"),
    "spans": (
        "id",
        "trace_rowid",
        "span_id",
        "parent_id",
        "name",
        "span_kind",
        "start_time",
        "end_time",
        "attributes",
        "events",
        "status_code",
        "status_message",
    ),
}
_ANNOTATION_COLUMNS = ("id", "name", "label", "score", "explanation", "annotator_kind")
_OPTIONAL = {
    "project_sessions": ("id", "session_id"),
    "span_annotations": ("span_rowid", *_ANNOTATION_COLUMNS),
    "trace_annotations": ("trace_rowid", *_ANNOTATION_COLUMNS),
    "document_annotations": ("span_rowid", "document_position", *_ANNOTATION_COLUMNS),
    "span_costs": ("span_rowid", "trace_rowid", "total_cost", "prompt_cost", "completion_cost"),
}
_STATUS = {"OK": Status.OK, "ERROR": Status.ERROR, "UNSET": Status.UNSET}
_KINDS = {kind.value: kind for kind in Kind}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_SPANS = (
    "SELECT id, span_id, parent_id, name, span_kind, start_time, end_time, attributes, events, "
    "status_code, status_message FROM spans WHERE trace_rowid = ? ORDER BY start_time, id"
)


def sniff(head: bytes) -> bool:
    return is_sqlite(head)


def sniff_source(source: Source) -> bool:
    """Phoenix's tables: spans and traces beside projects (Spanscope's own store has no projects)."""
    tables = source_schema(source)
    return {"spans", "traces", "projects"} <= tables.keys()


def read(source: Source, progress: Progress) -> Iterator[Span]:
    with opened(source, _REQUIRED, _OPTIONAL, "a Phoenix store") as (conn, tables, optional):
        yield from _read(conn, tables, optional, source, progress)


def _read(
    conn: sqlite3.Connection,
    tables: dict[str, set[str]],
    optional: set[str],
    source: Source,
    progress: Progress,
) -> Iterator[Span]:
    path = source.path
    has_session = "project_session_rowid" in tables["traces"] and "project_sessions" in optional
    try:
        projects = dict(conn.execute("SELECT id, name FROM projects"))
        sessions = dict(conn.execute("SELECT id, session_id FROM project_sessions")) if has_session else {}
        session_column = "project_session_rowid" if has_session else "NULL"
        order = "start_time, id" if "start_time" in tables["traces"] else "id"
        traces = conn.execute(
            f"SELECT id, project_rowid, trace_id, {session_column} FROM traces ORDER BY {order}"
        ).fetchall()
    except (sqlite3.Error, UnicodeDecodeError) as exc:  # SQLite's message may quote damaged text
        raise damaged(path, exc) from exc
    size, count = source.size, 0
    for number, (rowid, project_id, trace_id, session_rowid) in enumerate(traces, 1):
        context = TraceContext(trace_id, projects.get(project_id), sessions.get(session_rowid))
        try:
            spans = _trace_spans(conn, rowid, context, optional, source)
        except sqlite3.Error as exc:
            source.skip(f"trace {trace_id}", f"cannot be read: {exc}")
            continue
        except RECORD_ERRORS as exc:  # a value of its scores or costs of an unexpected type
            source.skip(f"trace {trace_id}", f"cannot be read: {record_error(exc)}")
            continue
        count += len(spans)
        yield from spans
        progress(size * number // len(traces))
    if not count:
        raise FormatError(nothing_read(source))


class TraceContext(NamedTuple):
    """What every span of one trace shares (also for spans Phoenix's REST API returns)."""

    trace_id: str
    project: str | None
    session: str | None


def _trace_spans(
    conn: sqlite3.Connection, rowid: int, context: TraceContext, optional: set[str], source: Source
) -> list[Span]:
    """The spans of one trace, with their scores and Phoenix's computed costs."""
    rows = conn.execute(_SPANS, (rowid,)).fetchall()
    costs = _costs(conn, rowid) if "span_costs" in optional else {}
    scores = _span_scores(conn, rowid, optional)
    spans = []
    for row in rows:
        try:
            span = phoenix_span(row[1:], context, source.skip)
        except (TypeError, ValueError) as exc:
            source.skip(f"span {row[1]}", f"bad start or end time: {exc}")
            continue
        span.attributes.update(costs.get(row[0], ()))
        span.scores.extend(scores.get(row[0], ()))
        try:
            conventions.apply_fields(span)
        except RECORD_ERRORS as exc:
            source.skip(f"span {row[1]}", record_error(exc))
            continue
        spans.append(span)
    if spans and "trace_annotations" in optional:
        _root(spans).scores.extend(_trace_scores(conn, rowid))
    return spans


def phoenix_span(values: tuple, context: TraceContext, skip: Callable[[str, str], None]) -> Span:
    """One Phoenix span from its columns' values (span_id, parent_id, name, span_kind, start_time,
    end_time, attributes, events, status_code, status_message), as the spans table or the REST API
    gives them: attributes a nested tree and events a list, each as JSON text or already parsed.
    Attributes or events that cannot be read are reported through `skip` and left out; unreadable
    times raise TypeError or ValueError."""
    span_id, parent_id, name, kind, start, end, attributes, events, status, message = values
    span = Span(
        trace_id=context.trace_id,
        span_id=span_id,
        parent_id=parent_id or None,
        name=name,
        start_ns=iso_ns(start),
        end_ns=iso_ns(end) if end else None,
        kind=_KINDS.get(kind, Kind.SPAN),
        status=_STATUS.get(status, Status.UNSET),
        status_message=message or None,
        session_id=context.session,
        service=context.project,
    )
    if context.project is not None:
        span.resource = {"openinference.project.name": context.project}
    where = f"span {span_id}"
    try:
        tree = orjson.loads(attributes) if isinstance(attributes, str | bytes) else attributes or {}
        span.attributes = flatten(tree) if isinstance(tree, dict) else {}
    except (orjson.JSONDecodeError, TypeError) as exc:
        skip(where, f"attributes are not valid JSON ({exc}); the span is kept without them")
    try:
        listed = orjson.loads(events) if isinstance(events, str | bytes) else events or []
        span.events = [_event(e) for e in listed]
    except (orjson.JSONDecodeError, TypeError, ValueError, AttributeError) as exc:
        skip(where, f"events are not readable ({exc}); the span is kept without them")
    return span


def _event(data: dict[str, Any]) -> Event:
    stamp = data.get("timestamp")
    attributes = data.get("attributes") or {}
    return Event(str(data.get("name") or ""), iso_ns(stamp) if stamp else None, flatten(attributes))


def _costs(conn: sqlite3.Connection, trace_rowid: int) -> dict[int, dict[str, float]]:
    """Phoenix's computed costs by span row id, as attributes (never the span's reported cost)."""
    costs = {}
    for span_rowid, total, prompt, completion in conn.execute(
        "SELECT span_rowid, total_cost, prompt_cost, completion_cost FROM span_costs WHERE trace_rowid = ?",
        (trace_rowid,),
    ):
        parts = {"total": total, "prompt": prompt, "completion": completion}
        costs[span_rowid] = {f"phoenix.span_cost.{k}": v for k, v in parts.items() if v is not None}
    return costs


def annotation_score(
    row: tuple, table: str, *, trace_level: bool = False, comment: str | None = None
) -> Score:
    """An annotation (its row id, name, label, score, explanation, annotator kind) as a score keyed by
    its table and row id, so the same annotation read from the file or the server is one score."""
    rowid, name, label, value, explanation, annotator = row
    return Score(
        name=name,
        value=value,
        label=label,
        comment=comment if comment is not None else explanation,
        source=annotator,
        key=f"{table}/{rowid}",
        trace_level=trace_level,
    )


def _span_scores(conn: sqlite3.Connection, trace_rowid: int, optional: set[str]) -> dict[int, list[Score]]:
    """Span and document annotations of one trace's spans, by span row id."""
    scores: dict[int, list[Score]] = defaultdict(list)
    in_trace = "span_rowid IN (SELECT id FROM spans WHERE trace_rowid = ?)"
    columns = ", ".join(_ANNOTATION_COLUMNS)
    if "span_annotations" in optional:
        for span_rowid, *row in conn.execute(
            f"SELECT span_rowid, {columns} FROM span_annotations WHERE {in_trace} ORDER BY id", (trace_rowid,)
        ):
            scores[span_rowid].append(annotation_score(tuple(row), "span_annotations"))
    if "document_annotations" in optional:
        for span_rowid, position, *row in conn.execute(
            f"SELECT span_rowid, document_position, {columns} FROM document_annotations WHERE {in_trace} "
            "ORDER BY id",
            (trace_rowid,),
        ):
            explanation = row[4]
            comment = f"document {position}" + (f": {explanation}" if explanation else "")
            scores[span_rowid].append(annotation_score(tuple(row), "document_annotations", comment=comment))
    return scores


def _trace_scores(conn: sqlite3.Connection, trace_rowid: int) -> list[Score]:
    rows = conn.execute(
        f"SELECT {', '.join(_ANNOTATION_COLUMNS)} FROM trace_annotations WHERE trace_rowid = ? ORDER BY id",
        (trace_rowid,),
    )
    return [annotation_score(row, "trace_annotations", trace_level=True) for row in rows]


def _root(spans: list[Span]) -> Span:
    """The span a trace-level score goes on: the first root, else the earliest span."""
    return next((s for s in spans if s.parent_id is None), spans[0])


def iso_ns(text: str) -> int:
    """Nanoseconds since the epoch of an ISO timestamp; one without an offset (as Phoenix writes its
    columns) is UTC."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MICROSECOND * 1000


SPEC = FormatSpec(
    name="phoenix-sqlite",
    description="Arize Phoenix SQLite store (phoenix.db)",
    written_by="Arize Phoenix's SQLite store (projects, sessions, span/trace/document annotations as "
    "scores), opened read-only and never modified: `spanscope import ~/.phoenix/phoenix.db`",
    extensions=(".db", ".sqlite", ".sqlite3"),
    sniff=sniff,
    sniff_source=sniff_source,
    read=read,
)
