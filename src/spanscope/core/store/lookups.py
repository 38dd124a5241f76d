"""Small reads about one trace: its name, rowid and root span, its model calls, a trace to compare
it with. Each is one indexed lookup, for review walks, the trace diff and dialogs."""

from __future__ import annotations

import sqlite_utils

from spanscope.core.model import Kind


def root_name(db: sqlite_utils.Database, trace_id: str) -> str | None:
    """The name of the trace's earliest root span (None: no name, or no such trace)."""
    row = db.execute("SELECT root_name FROM traces WHERE trace_id = ?", (trace_id,)).fetchone()
    return None if row is None else row[0]


def trace_rowid(db: sqlite_utils.Database, trace_id: str) -> int | None:
    """The trace's rowid in the traces table, which an import updating it keeps."""
    row = db.execute("SELECT rowid FROM traces WHERE trace_id = ?", (trace_id,)).fetchone()
    return None if row is None else row[0]


def root_span_id(db: sqlite_utils.Database, trace_id: str) -> str | None:
    """The trace's earliest root span (a true root or an orphan)."""
    row = db.execute(
        "SELECT span_id FROM spans WHERE trace_id = ? AND (parent_id IS NULL OR orphan) "
        "ORDER BY start_ns, id LIMIT 1",
        (trace_id,),
    ).fetchone()
    return None if row is None else row[0]


def llm_span_ids(db: sqlite_utils.Database, trace_id: str, newest_first: bool, limit: int) -> list[str]:
    """Up to `limit` of the trace's LLM spans, by end (else start) time."""
    order = "DESC" if newest_first else "ASC"
    rows = db.execute(
        f"SELECT span_id FROM spans WHERE trace_id = ? AND kind = ? "
        f"ORDER BY coalesce(end_ns, start_ns) {order}, id {order} LIMIT ?",
        (trace_id, Kind.LLM.value, limit),
    )
    return [r[0] for r in rows]


def suggest_partner(db: sqlite_utils.Database, trace_id: str) -> str | None:
    """A trace to compare `trace_id` with: the next run of the same root step (else the previous
    one), else the next trace of the store; None when the store holds no other trace."""
    row = db.execute("SELECT root_name, start_ns FROM traces WHERE trace_id = ?", (trace_id,)).fetchone()
    if row is None:
        return None
    name, start = row
    for sql, args in (
        ("root_name = ? AND start_ns >= ? AND trace_id != ? ORDER BY start_ns", (name, start, trace_id)),
        ("root_name = ? AND start_ns <= ? AND trace_id != ? ORDER BY start_ns DESC", (name, start, trace_id)),
        ("start_ns >= ? AND trace_id != ? ORDER BY start_ns", (start, trace_id)),
        ("trace_id != ? ORDER BY start_ns DESC", (trace_id,)),
    ):
        found = db.execute(f"SELECT trace_id FROM traces WHERE {sql} LIMIT 1", args).fetchone()
        if found:
            return found[0]
    return None
