"""Reading only what a span shows as input and output, for views that need nothing else of it
(stepping, assertions, the trace diff): no scores, no Span, only the documents (and log records)
asked for."""

from __future__ import annotations

from typing import Any

import sqlite_utils

from spanscope.core.store.documents import ChunkReader, needs_parent, shown_io
from spanscope.core.store.logs import span_logs, trace_logs
from spanscope.core.store.queries import NotFound

__all__ = ["span_io", "trace_io"]


def span_io(db: sqlite_utils.Database, trace_id: str, span_id: str) -> tuple[Any, Any]:
    """One span's (input, output) as every view shows it; NotFound if the store has no such span."""
    row = db.execute(
        "SELECT parent_id, payload_chunk, payload_index FROM spans WHERE trace_id = ? AND span_id = ?",
        (trace_id, span_id),
    ).fetchone()
    if row is None:
        raise NotFound(f"no span {span_id!r} in trace {trace_id!r}")
    chunks = ChunkReader(db)
    doc = chunks.document(row[1], row[2]) or {}
    return shown_io(doc, logs=span_logs(db, trace_id, span_id), parent=chunks.parent(doc, trace_id, row[0]))


def trace_io(db: sqlite_utils.Database, trace_id: str) -> dict[str, tuple[Any, Any]]:
    """{span id: (input, output)} for every span of a trace, each chunk decompressed once (a parent's
    document, for a span whose input may be its parent's, found among the trace's rows)."""
    chunks = ChunkReader(db)
    rows = db.execute(
        "SELECT span_id, parent_id, payload_chunk, payload_index FROM spans WHERE trace_id = ? "
        "ORDER BY payload_chunk, payload_index",
        (trace_id,),
    ).fetchall()
    at = {span_id: (chunk, index) for span_id, _, chunk, index in rows}
    logs = trace_logs(db, trace_id)
    shown = {}
    for span_id, parent_id, chunk, index in rows:
        doc = chunks.document(chunk, index) or {}
        parent = chunks.document(*at[parent_id]) if parent_id in at and needs_parent(doc) else None
        shown[span_id] = shown_io(doc, logs=logs.get(span_id, ()), parent=parent)
    return shown
