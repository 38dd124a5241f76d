"""Undoing an import that commits as it goes: cancelled, failed, or its process gone.

An import commits every second or two so views show its traces while it runs (ingest.py). Until it
finishes, its source is marked in IMPORTING_TABLE with the first span, chunk and log record ids it
may have written, and every span stored before it that it changes (a running span it completes, a
flag, count or status finalizing sets) is first saved as it was in UNDO_TABLE, by a trigger of the
import's own connection, in the transaction that changes it. Undoing deletes what the import wrote,
puts the saved spans back, finalizes the traces it touched again and removes the source.

The importing process holds an exclusive `flock` on a file beside the store named after the source
id (`ImportLock`) for as long as the import runs; the OS drops it when the process dies, however.
A writable open that finds a marked source whose lock is free undoes that import (`recover_imports`).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from pathlib import Path

from spanscope.core.store.db import connect
from spanscope.core.store.finalize import finalize_traces
from spanscope.core.store.schema import IMPORTING_TABLE, REPLAYS_TABLE, UNDO_TABLE
from spanscope.core.store.search_index import forget_unchanged_statuses, note_status_changes

_TRIGGER = "spanscope_import_undo"


class ImportLock:
    """The exclusive lock that says an import of `source_id` into the store at `db_path` is alive."""

    def __init__(self, db_path: Path, source_id: int) -> None:
        path = Path(db_path)
        self.path = path.with_name(f"{path.name}-import-{source_id}.lock")
        self._fd: int | None = None

    def acquire(self, wait: bool) -> bool:
        """Take the lock (waiting for it, or not); False if another process holds it. The file is
        checked to be the one at the path once locked, since its owner removes it when done."""
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                os.close(fd)
                return False
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self._fd = fd
                return True
            os.close(fd)

    def release(self) -> None:
        """Remove the file and drop the lock; done inside the transaction that unmarks the source,
        before its commit, so a later import of the same id never locks a file about to vanish."""
        if self._fd is None:
            return
        self.path.unlink(missing_ok=True)
        os.close(self._fd)
        self._fd = None


def mark_importing(conn: sqlite3.Connection, source_id: int) -> tuple[int, int, int]:
    """In the import's first transaction: mark the source as importing and save, from now on, each
    span stored before it that this connection changes. Returns its first span, chunk and log ids."""
    firsts = tuple(
        (conn.execute(f"SELECT max(id) FROM {table}").fetchone()[0] or 0) + 1
        for table in ("spans", "chunks", "logs")
    )
    conn.execute(f"INSERT INTO {IMPORTING_TABLE} VALUES (?, ?, ?, ?)", (source_id, *firsts))
    columns = _span_columns(conn)
    conn.execute(
        f"CREATE TEMP TRIGGER IF NOT EXISTS {_TRIGGER} BEFORE UPDATE ON main.spans "
        f"WHEN OLD.source_id IS NOT {int(source_id)} BEGIN "
        f"INSERT OR IGNORE INTO {UNDO_TABLE} (undo_source, {', '.join(columns)}) "
        f"VALUES ({int(source_id)}, {', '.join(f'OLD.{c}' for c in columns)}); END"
    )
    return firsts  # type: ignore[return-value]


def finish_importing(conn: sqlite3.Connection, source_id: int) -> None:
    """In the import's last transaction: the import stays, so its marks and saved spans go."""
    conn.execute(f"DROP TRIGGER IF EXISTS temp.{_TRIGGER}")
    conn.execute(f"DELETE FROM {UNDO_TABLE} WHERE undo_source = ?", (source_id,))
    conn.execute(f"DELETE FROM {IMPORTING_TABLE} WHERE source_id = ?", (source_id,))


def undo_import(conn: sqlite3.Connection, source_id: int) -> None:
    """Undo the marked import of `source_id` in the caller's transaction: its spans, chunks, scores
    and log records go, the spans it changed come back as they were, the traces it touched are
    finalized again (those left without spans go) and its source row goes."""
    conn.execute(f"DROP TRIGGER IF EXISTS temp.{_TRIGGER}")
    row = conn.execute(
        f"SELECT first_span, first_chunk FROM {IMPORTING_TABLE} WHERE source_id = ?", (source_id,)
    ).fetchone()
    if row is None:
        return
    first_span, first_chunk = row
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS undone (trace_id TEXT PRIMARY KEY)")
    conn.execute(
        "INSERT OR IGNORE INTO undone SELECT trace_id FROM spans WHERE id >= ? AND source_id = ? "
        f"UNION SELECT trace_id FROM {UNDO_TABLE} WHERE undo_source = ? "
        "UNION SELECT trace_id FROM scores WHERE source_id = ?",
        (first_span, source_id, source_id, source_id),
    )
    # A status message the import changed may have been indexed since: index the span again.
    changed = conn.execute(
        f"SELECT s.id, s.status_message FROM {UNDO_TABLE} u JOIN spans s ON s.id = u.id "
        "WHERE u.undo_source = ? AND s.status_message IS NOT u.status_message",
        (source_id,),
    ).fetchall()
    note_status_changes(conn, changed)
    conn.execute("DELETE FROM spans WHERE id >= ? AND source_id = ?", (first_span, source_id))
    columns = ", ".join(_span_columns(conn))
    conn.execute(
        f"INSERT OR REPLACE INTO spans ({columns}) SELECT {columns} FROM {UNDO_TABLE} WHERE undo_source = ?",
        (source_id,),
    )
    forget_unchanged_statuses(conn, [span_id for span_id, _ in changed])
    conn.execute(
        "DELETE FROM chunks WHERE id >= ?1 AND id NOT IN "
        "(SELECT payload_chunk FROM spans WHERE payload_chunk >= ?1)",
        (first_chunk,),
    )
    conn.execute("DELETE FROM scores WHERE source_id = ?", (source_id,))
    conn.execute("DELETE FROM logs WHERE source_id = ?", (source_id,))
    conn.execute(f"DELETE FROM {REPLAYS_TABLE} WHERE source_id = ?", (source_id,))
    finalize_traces(conn, [t for (t,) in conn.execute("SELECT trace_id FROM undone")])
    # Finalizing writes a score summary only where scores remain, and rolls up only traces with spans.
    conn.execute(
        "UPDATE traces SET scores = NULL WHERE scores IS NOT NULL "
        "AND trace_id IN (SELECT trace_id FROM undone) "
        "AND NOT EXISTS (SELECT 1 FROM all_scores a WHERE a.trace_id = traces.trace_id)"
    )
    conn.execute(
        "DELETE FROM traces WHERE trace_id IN (SELECT trace_id FROM undone) "
        "AND NOT EXISTS (SELECT 1 FROM spans s WHERE s.trace_id = traces.trace_id)"
    )
    conn.execute("DELETE FROM undone")
    finish_importing(conn, source_id)
    conn.execute("DELETE FROM sources WHERE id = ?", (source_id,))


def recover_imports(db_path: Path) -> int:
    """Undo every import into the store at `db_path` whose process is gone (its lock is free); how
    many. Only read when none is marked, so a store on read-only media still opens."""
    db = connect(db_path, readonly=True)
    try:
        marked = db.execute(f"SELECT count(*) FROM {IMPORTING_TABLE}").fetchone()[0]
    finally:
        db.conn.close()
    if not marked:
        return 0
    db = connect(db_path)
    try:
        return undo_abandoned(db.conn, Path(db_path))
    finally:
        db.conn.close()


def undo_abandoned(conn: sqlite3.Connection, db_path: Path) -> int:
    """`recover_imports` on a writable connection, each import undone in a transaction of its own
    (holding the write lock, so no import can start or finish while its lock is tried)."""
    undone = 0
    for (source_id,) in conn.execute(f"SELECT source_id FROM {IMPORTING_TABLE}").fetchall():
        conn.execute("BEGIN IMMEDIATE")
        try:
            lock = ImportLock(db_path, source_id)
            marked = conn.execute(f"SELECT 1 FROM {IMPORTING_TABLE} WHERE source_id = ?", (source_id,))
            if marked.fetchone() and lock.acquire(wait=False):
                try:
                    undo_import(conn, source_id)
                    undone += 1
                finally:
                    lock.release()
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return undone


def _span_columns(conn: sqlite3.Connection) -> list[str]:
    """The span columns UNDO_TABLE saves: all of them, by name."""
    return [r[1] for r in conn.execute(f"PRAGMA table_info({UNDO_TABLE})") if r[1] != "undo_source"]
