"""Reviews given in Spanscope and the label sets they are given from, as the store keeps them.

Reviews reach a store one way only: a short transaction on a connection of its own, to a Spanscope
store only. The app's views read through read-only connections, so a review opens a writable one
just for itself. Another tool's store (Phoenix, MLflow, ...) is refused before anything is opened
for writing: those are only ever read. An import holding the store is waited for briefly, never
long enough to freeze the app.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Mapping
from pathlib import Path

import orjson
import sqlite_utils

from spanscope.core.store.db import StoreError, connect, is_store
from spanscope.core.store.finalize import summarize_scores
from spanscope.core.store.trace_query import TraceFilter, where_clause

#: How long a review waits for an import that holds the store before it gives up.
BUSY_TIMEOUT_MS = 2000
#: The span id of a review of the whole trace.
WHOLE_TRACE = ""

#: What a reviewer gives under one name: (value, label, comment).
GivenRow = tuple[float | None, str | None, str | None]


class ReviewError(Exception):
    """A review could not be stored; the message says why, and nothing was changed."""


@contextlib.contextmanager
def writing(store: Path) -> Iterator[sqlite3.Connection]:
    """A connection inside an immediate transaction, committed when the block ends cleanly."""
    store = Path(store)
    if not is_store(store):
        raise ReviewError(f"{store}: not a Spanscope store; reviews are written only to Spanscope's own")
    try:
        conn = connect(store).conn
    except StoreError as exc:
        raise ReviewError(str(exc)) from exc
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise ReviewError(
                f"{store}: busy ({exc}): an import is writing to it; nothing was saved, try again after it"
            ) from exc
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise ReviewError(f"{store}: could not store the review: {exc}") from exc
            raise
    finally:
        conn.close()


# --- annotations ------------------------------------------------------------------------------------


def _check_target(conn: sqlite3.Connection, trace_id: str, span_id: str) -> None:
    if conn.execute("SELECT 1 FROM traces WHERE trace_id = ?", (trace_id,)).fetchone() is None:
        raise ReviewError(f"no trace {trace_id!r} in the store")
    if span_id != WHOLE_TRACE:
        found = conn.execute("SELECT 1 FROM spans WHERE trace_id = ? AND span_id = ?", (trace_id, span_id))
        if found.fetchone() is None:
            raise ReviewError(f"no span {span_id!r} in trace {trace_id!r}")


_UPSERT = """
INSERT INTO annotations (trace_id, span_id, name, value, label, comment, author, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (trace_id, span_id, name, author) DO UPDATE SET
    value = excluded.value, label = excluded.label, comment = excluded.comment,
    updated_at = excluded.updated_at
"""
_DELETE = "DELETE FROM annotations WHERE trace_id = ? AND span_id = ? AND name = ? AND author = ?"


def write_annotations(
    store: Path,
    trace_id: str,
    span_id: str,
    author: str,
    changes: Mapping[str, GivenRow | None],
    updated_at: str,
) -> None:
    """Give or replace (a GivenRow) or take back (None) `author`'s scores of a span or of the whole
    trace, by name, in one transaction; the trace's score summary follows."""
    with writing(store) as conn:
        _check_target(conn, trace_id, span_id)
        for name, given in changes.items():
            if given is None:
                conn.execute(_DELETE, (trace_id, span_id, name, author))
            else:
                conn.execute(_UPSERT, (trace_id, span_id, name, *given, author, updated_at))
        summarize_scores(conn, trace_id)


_COLUMNS = "trace_id, span_id, name, value, label, comment, author, updated_at"


def annotation_rows(
    db: sqlite_utils.Database, trace_id: str, span_id: str | None = None, author: str | None = None
) -> list[tuple]:
    """A trace's reviews (only those of one span, or one author, when given), by span and name:
    (trace id, span id, name, value, label, comment, author, updated at)."""
    where, args = "trace_id = ?", [trace_id]
    if span_id is not None:
        where, args = f"{where} AND span_id = ?", [*args, span_id]
    if author is not None:
        where, args = f"{where} AND author = ?", [*args, author]
    sql = f"SELECT {_COLUMNS} FROM annotations WHERE {where} ORDER BY span_id, name, author"
    return db.execute(sql, args).fetchall()


def reviewed_rowids(
    db: sqlite_utils.Database, trace_filter: TraceFilter, last_rowid: int, author: str
) -> set[int]:
    """Rowids (up to `last_rowid`) of the traces `trace_filter` selects that `author` reviewed as a
    whole."""
    where, params = where_clause(trace_filter)
    joined = f"{where} AND" if where else "WHERE"
    rows = db.execute(
        f"SELECT rowid FROM traces {joined} rowid <= ? AND trace_id IN "
        "(SELECT trace_id FROM annotations WHERE author = ? AND span_id = ?)",
        [*params, last_rowid, author, WHOLE_TRACE],
    )
    return {r[0] for r in rows}


_RECORDS_SQL = """
SELECT a.trace_id, a.span_id, t.root_name, s.name, a.name, a.value, a.label, a.comment, a.author, a.updated_at
FROM annotations a
LEFT JOIN traces t ON t.trace_id = a.trace_id
LEFT JOIN spans s ON s.trace_id = a.trace_id AND s.span_id = a.span_id
ORDER BY t.start_ns, a.trace_id, a.span_id, a.name, a.author
"""


def review_records(db: sqlite_utils.Database) -> Iterator[tuple]:
    """Every review, trace by trace in trace start order, as it is read: (trace id, span id, trace
    name, span name, name, value, label, comment, author, updated at)."""
    yield from db.execute(_RECORDS_SQL)


# --- label sets -------------------------------------------------------------------------------------


def label_set_rows(db: sqlite_utils.Database) -> list[tuple[str, tuple[str, ...]]]:
    """Every label set in the store, by name: (name, labels)."""
    rows = db.execute("SELECT name, labels FROM label_sets ORDER BY name")
    return [(name, tuple(orjson.loads(labels))) for name, labels in rows]


def write_label_set(store: Path, name: str, labels: tuple[str, ...], replacing: str | None = None) -> None:
    """Store a set, in place of the set named `replacing` when given (a rename). A new name may not
    be one another set already has."""
    with writing(store) as conn:
        if name != replacing:
            taken = conn.execute("SELECT 1 FROM label_sets WHERE name = ?", (name,)).fetchone()
            if taken:
                raise ReviewError(f"there is already a label set named {name!r}")
        if replacing is not None:
            conn.execute("DELETE FROM label_sets WHERE name = ?", (replacing,))
        conn.execute(
            "INSERT INTO label_sets (name, labels) VALUES (?, ?)",
            (name, orjson.dumps(list(labels)).decode()),
        )


def remove_label_set(store: Path, name: str) -> None:
    """Remove a set; reviews given from it stay."""
    with writing(store) as conn:
        conn.execute("DELETE FROM label_sets WHERE name = ?", (name,))
