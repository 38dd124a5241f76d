"""Small reads about one trace: its name, rowid and root span, its model calls, a trace to compare
it with. Each is one indexed lookup, for review walks, the trace diff and dialogs."""

from __future__ import annotations

from typing import Any

import sqlite_utils

from spanscope.core.model import Kind
from spanscope.core.store.documents import ChunkReader, shown_io
from spanscope.core.store.logs import span_logs


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


#: Other runs read to find one whose root had the same input, nearest in time first.
PARTNER_CANDIDATES = 50


def suggest_partner(db: sqlite_utils.Database, trace_id: str) -> str | None:
    """A trace to compare `trace_id` with: another run of the same sample or input when there is one.

    Runs of the same step are traces whose root has the same name, or the same name but for a
    trailing number (Inspect's "task sample epoch 2", "run 3"): among them one whose root had the same
    input, else the nearest; without any, a nearby trace whose root had the same input; else the next
    trace of the store (the previous for the last). Later traces come before earlier ones. None when
    the store holds no other trace.
    """
    row = db.execute("SELECT root_name, start_ns FROM traces WHERE trace_id = ?", (trace_id,)).fetchone()
    if row is None:
        return None
    name, start = row
    wanted = _root_inputs(db, [trace_id]).get(trace_id)
    for candidates in (
        _runs_of_step(db, trace_id, name, start),
        _nearest(db, "trace_id != ?", (trace_id,), start),
    ):
        if candidates:
            return (_same_input(db, candidates, wanted) or candidates)[0]
    return None


def _nearest(db: sqlite_utils.Database, where: str, args: tuple, start: int) -> list[str]:
    """Up to PARTNER_CANDIDATES traces matching `where` that start at or after `start`, nearest first,
    then as many that start before it, nearest first."""
    found = []
    for bound, order in ((">=", "ASC"), ("<", "DESC")):
        found += [
            r[0]
            for r in db.execute(
                f"SELECT trace_id FROM traces WHERE {where} AND start_ns {bound} ? "
                f"ORDER BY start_ns {order}, trace_id {order} LIMIT ?",
                (*args, start, PARTNER_CANDIDATES),
            )
        ]
    return found


def _same_input(db: sqlite_utils.Database, candidates: list[str], wanted: Any) -> list[str]:
    """The candidates whose root showed the input `wanted` (none when that is None), in order."""
    if wanted is None:
        return []
    return [t for t, shown in _root_inputs(db, candidates).items() if shown == wanted]


def _runs_of_step(db: sqlite_utils.Database, trace_id: str, name: str | None, start: int) -> list[str]:
    """Other traces whose root is named `name`, or `name` with another trailing number."""
    if name is None:
        return []
    stem = name.rstrip("0123456789")
    if stem == name:
        return _nearest(db, "root_name = ? AND trace_id != ?", (name, trace_id), start)
    # A range on the root_name index, then: the rest of the name is a number.
    where = (
        "root_name >= ? AND root_name < ? AND length(root_name) > ? "
        "AND substr(root_name, ?) NOT GLOB '*[^0-9]*' AND trace_id != ?"
    )
    return _nearest(db, where, (stem, stem + "\uffff", len(stem), len(stem) + 1, trace_id), start)


def _root_inputs(db: sqlite_utils.Database, trace_ids: list[str]) -> dict[str, Any]:
    """The input each trace's earliest root shows, in the order of `trace_ids` (one chunk reader)."""
    chunks = ChunkReader(db)
    shown = {}
    for trace_id in trace_ids:
        root = db.execute(
            "SELECT span_id, payload_chunk, payload_index FROM spans WHERE trace_id = ? "
            "AND (parent_id IS NULL OR orphan) ORDER BY start_ns, id LIMIT 1",
            (trace_id,),
        ).fetchone()
        if root is not None:
            doc = chunks.document(root[1], root[2]) or {}
            shown[trace_id] = shown_io(doc, logs=span_logs(db, trace_id, root[0]))[0]
    return shown
