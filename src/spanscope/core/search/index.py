"""Keeping the full-text index up with the store, lazily and outside the import.

Imports never touch the index (they are the tracked hot path). Instead `build_index` catches up:
spans with an id above a stored watermark are read in id order, their payload chunks decompressed
one chunk at a time, and their text added in short transactions of their own, so an import waiting
for the write lock waits a fraction of a second at most, and the indexer simply retries while an
import holds it. The index is derived: `drop_index` forgets it and the next build starts over.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

from spanscope.core.search.texts import span_texts
from spanscope.core.store import connect, payload
from spanscope.core.store.schema import SEARCH_TABLES_SQL

#: Spans per transaction: about a tenth of a second of indexing, so imports never wait long.
BATCH_SPANS = 1000
#: How long one attempt waits for the write lock before the indexer backs off and tries again.
LOCK_WAIT_MS = 250
#: name, input and output count this much more than attribute values when ranking matches.
RANK_SQL = "bm25(8.0, 4.0, 4.0, 1.0)"

_SPAN_SQL = (
    "SELECT id, name, status_message, end_ns, payload_chunk, payload_index "
    "FROM spans WHERE id > ? ORDER BY id LIMIT ?"
)
_INSERT_FTS = "INSERT INTO search_fts (rowid, name, input, output, attributes) VALUES (?, ?, ?, ?, ?)"


@dataclass(frozen=True, slots=True)
class IndexStatus:
    """How much of the store the index covers."""

    indexed: int
    total: int

    @property
    def complete(self) -> bool:
        return self.indexed >= self.total


@dataclass
class IndexState:
    """Progress reporting and cancellation for a running build, free of any UI toolkit."""

    on_progress: Callable[[IndexStatus], None] | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event)

    def cancel(self) -> None:
        self.cancel_event.set()

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()


def has_index(db: sqlite_utils.Database) -> bool:
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE name LIKE 'search_%'")}
    return {"search_fts", "search_state", "search_running"} <= tables


def _ensure_index(db: sqlite_utils.Database, state: IndexState) -> None:
    """Create the index tables if they are missing (a part of them alone is not trusted) and give
    them their settings and watermark if they have none yet."""

    def work() -> bool:
        if not has_index(db):
            _drop(db)
            for sql in SEARCH_TABLES_SQL:
                db.execute(sql)
        if db.execute("SELECT count(*) FROM search_state").fetchone()[0] == 0:
            db.execute(f"INSERT INTO search_fts (search_fts, rank) VALUES ('rank', '{RANK_SQL}')")
            db.execute("INSERT INTO search_state (id, last_span, indexed) VALUES (1, 0, 0)")
        return True

    _write(db.conn, state, work)


def _drop(db: sqlite_utils.Database) -> None:
    for table in ("search_fts", "search_state", "search_running"):
        db.execute(f"DROP TABLE IF EXISTS {table}")


def drop_index(db_path: Path) -> None:
    """Forget the index (it is rebuilt from the spans by the next build)."""
    db = connect(db_path)
    try:
        with db.conn:
            db.execute("BEGIN IMMEDIATE")
            _drop(db)
    finally:
        db.conn.close()


def index_started(db: sqlite_utils.Database) -> bool:
    """Whether search was ever used on this store (its index holds something): then it is kept up
    to date after imports; otherwise nothing is indexed until the first search."""
    if not has_index(db):
        return False
    row = db.execute("SELECT last_span FROM search_state").fetchone()
    return bool(row and row[0])


def index_status(db: sqlite_utils.Database) -> IndexStatus:
    """Indexed spans and spans in the store; cheap: it counts only the spans not yet indexed."""
    row = db.execute("SELECT last_span, indexed FROM search_state").fetchone() if has_index(db) else None
    last, indexed = row if row else (0, 0)
    pending = db.execute("SELECT count(*) FROM spans WHERE id > ?", (last,)).fetchone()[0]
    return IndexStatus(indexed, indexed + pending)


class _Chunks:
    """The documents of the chunk read last: consecutive spans share a chunk, so each is
    decompressed once."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.chunk_id: int | None = None
        self.docs: list[dict] = []

    def document(self, chunk_id: int | None, index: int | None) -> dict | None:
        if chunk_id is None or index is None:
            return None
        if chunk_id != self.chunk_id:
            row = self.conn.execute("SELECT data FROM chunks WHERE id = ?", (chunk_id,)).fetchone()
            self.chunk_id, self.docs = chunk_id, payload.unpack(row[0]) if row else []
        return self.docs[index] if index < len(self.docs) else None


def _write(conn: sqlite3.Connection, state: IndexState, work: Callable[[], bool]) -> bool:
    """Run `work` in one short write transaction, waiting while an import holds the lock; returns
    what `work` returned, or False if cancelled first."""
    while not state.cancelled:
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            time.sleep(LOCK_WAIT_MS / 1000)
            continue
        try:
            done = work()
            conn.execute("COMMIT")
            return done
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return False


def _refresh_completed(conn: sqlite3.Connection, chunks: _Chunks, state: IndexState) -> None:
    """Re-index spans that were indexed while running and have completed since (their new payload
    replaced the old one in the store)."""
    completed = conn.execute(
        "SELECT r.id, r.name, r.input, r.output, r.attributes, s.name, s.status_message, "
        "s.payload_chunk, s.payload_index FROM search_running r JOIN spans s ON s.id = r.id "
        "WHERE s.end_ns IS NOT NULL"
    ).fetchall()
    if not completed:
        return
    fresh = [(r[0], *span_texts(r[5], r[6], chunks.document(r[7], r[8]))) for r in completed]

    def work() -> bool:
        # Another build may have replaced some already: forgetting a row twice would corrupt the index.
        still = {r[0] for r in conn.execute("SELECT id FROM search_running")}
        conn.executemany(
            "INSERT INTO search_fts (search_fts, rowid, name, input, output, attributes) "
            "VALUES ('delete', ?, ?, ?, ?, ?)",
            [r[:5] for r in completed if r[0] in still],
        )
        conn.executemany(_INSERT_FTS, [row for row in fresh if row[0] in still])
        conn.executemany(
            "DELETE FROM search_running WHERE id = ?", [(r[0],) for r in completed if r[0] in still]
        )
        return True

    _write(conn, state, work)


def build_index(db_path: Path, state: IndexState | None = None) -> IndexStatus:
    """Index every span not indexed yet; returns the coverage reached (less than all if cancelled).

    Safe beside imports and beside another build: each batch is checked against the watermark
    inside its transaction, so no span is indexed twice.
    """
    state = state or IndexState()
    db = connect(db_path)
    conn = db.conn
    conn.execute(f"PRAGMA busy_timeout = {LOCK_WAIT_MS}")
    try:
        _ensure_index(db, state)
        chunks = _Chunks(conn)
        _refresh_completed(conn, chunks, state)
        status = index_status(db)
        if state.on_progress is not None:
            state.on_progress(status)
        while not state.cancelled:
            last, indexed = conn.execute("SELECT last_span, indexed FROM search_state").fetchone()
            spans = conn.execute(_SPAN_SQL, (last, BATCH_SPANS)).fetchall()
            if not spans:
                break
            rows = [(s[0], *span_texts(s[1], s[2], chunks.document(s[4], s[5]))) for s in spans]
            running = [row for row, span in zip(rows, spans, strict=True) if span[3] is None]

            def work(last: int = last, rows: list = rows, running: list = running) -> bool:
                if conn.execute("SELECT last_span FROM search_state").fetchone()[0] != last:
                    return False  # another build got there first; read again from its watermark
                conn.executemany(_INSERT_FTS, rows)
                conn.executemany("INSERT OR REPLACE INTO search_running VALUES (?, ?, ?, ?, ?)", running)
                conn.execute(
                    "UPDATE search_state SET last_span = ?, indexed = indexed + ?", (rows[-1][0], len(rows))
                )
                return True

            if _write(conn, state, work) and state.on_progress is not None:
                done = indexed + len(rows)
                state.on_progress(IndexStatus(done, max(done, status.total)))
        return index_status(db)
    finally:
        conn.close()
