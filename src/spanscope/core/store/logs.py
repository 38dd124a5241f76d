"""OTLP log records in the store: their rows, and reading them back by span, by trace, or those of no
stored span.

A record is joined to its span on read, by (trace_id, span_id), never at import: a logs file imported
before its spans, in another file or arriving later live, joins them as soon as they are stored, and
`documents.shown_io` derives a span's input and output from its records as from its attributes.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from typing import Any, NamedTuple

import orjson
import sqlite_utils

from spanscope.core.model import LogRecord
from spanscope.core.store import payload

__all__ = ["LogCounts", "has_logs", "log_counts", "log_row", "span_logs", "trace_logs", "unattached_logs"]

_SELECT = "SELECT l.trace_id, l.span_id, l.time_ns, l.data FROM logs l"
_ORDER = " ORDER BY l.time_ns, l.id"
#: A record of no stored span: no span id, or one the store has no span of.
_UNATTACHED = (
    "(l.span_id IS NULL OR l.trace_id IS NULL OR NOT EXISTS "
    "(SELECT 1 FROM spans s WHERE s.trace_id = l.trace_id AND s.span_id = l.span_id))"
)


def log_row(record: LogRecord, source_id: int) -> tuple:
    """The record in LOG_COLUMNS order (its document not yet compressed: ingest compresses it with
    the batch); the key digests everything in it, so the same record read again is the same row."""
    doc = payload.pack([record.to_json()])
    digest = hashlib.blake2b(digest_size=16)
    digest.update(orjson.dumps([record.trace_id, record.span_id, record.time_ns]))
    digest.update(doc)
    return (
        record.trace_id,
        record.span_id,
        record.time_ns,
        record.event_name,
        record.severity_number,
        digest.hexdigest(),
        doc,
        source_id,
    )


#: A document longer than this is stored compressed (zstd), a shorter one as its JSON.
COMPRESS_OVER = 512


def stored_rows(rows: list[tuple]) -> list[tuple]:
    """Log rows as stored: large documents compressed, in one call for all of them."""
    large = [i for i, row in enumerate(rows) if len(row[6]) > COMPRESS_OVER]
    packed = payload.compress_many([rows[i][6] for i in large])
    stored = list(rows)
    for i, data in zip(large, packed, strict=True):
        stored[i] = (*rows[i][:6], data, *rows[i][7:])
    return stored


def _record(row: tuple) -> LogRecord:
    trace_id, span_id, time_ns, data = row
    docs = orjson.loads(data) if data[:1] == b"[" else payload.unpack(data)
    return LogRecord.from_json(trace_id, span_id, time_ns, docs[0])


def has_logs(db: Any) -> bool:
    """Whether the store holds any log record: readers of many spans skip the lookups when not."""
    return db.execute("SELECT 1 FROM logs LIMIT 1").fetchone() is not None


def span_logs(db: Any, trace_id: str, span_id: str, up_to: int | None = None) -> list[LogRecord]:
    """A span's log records, in time order (only those stored up to row id `up_to`, if given)."""
    bound, args = (" AND l.id <= ?", (up_to,)) if up_to is not None else ("", ())
    rows = db.execute(
        f"{_SELECT} WHERE l.trace_id = ? AND l.span_id = ?{bound}{_ORDER}", (trace_id, span_id, *args)
    )
    return [_record(row) for row in rows]


def trace_logs(db: Any, trace_id: str) -> dict[str, list[LogRecord]]:
    """{span id: its log records in time order} for the spans of a trace that have any."""
    found: dict[str, list[LogRecord]] = defaultdict(list)
    for row in db.execute(f"{_SELECT} WHERE l.trace_id = ? AND l.span_id IS NOT NULL{_ORDER}", (trace_id,)):
        found[row[1]].append(_record(row))
    return dict(found)


def unattached_logs(
    db: sqlite_utils.Database, trace_id: str | None = None, limit: int = 1000
) -> list[LogRecord]:
    """Log records of no stored span (none named, or not stored yet), of one trace or of the store."""
    where, args = (f"l.trace_id = ? AND {_UNATTACHED}", (trace_id,)) if trace_id else (_UNATTACHED, ())
    rows = db.execute(f"{_SELECT} WHERE {where}{_ORDER} LIMIT ?", (*args, limit))
    return [_record(row) for row in rows]


class LogCounts(NamedTuple):
    """Log records kept, and how many of them no stored span has (yet)."""

    kept: int
    waiting: int


def log_counts(db: Any, source_id: int | None = None) -> LogCounts:
    """Log records in the store (or those first read from one source), and those of no stored span."""
    where, args = ("WHERE l.source_id = ?", (source_id,)) if source_id is not None else ("", ())
    and_ = " AND " if where else " WHERE "
    kept = db.execute(f"SELECT count(*) FROM logs l {where}", args).fetchone()[0]
    waiting = db.execute(f"SELECT count(*) FROM logs l {where}{and_}{_UNATTACHED}", args).fetchone()[0]
    return LogCounts(kept, waiting)
