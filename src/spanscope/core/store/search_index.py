"""The full-text index's SQL (tables in schema.SEARCH_TABLES_SQL): keeping it up with the store and
finding spans in it. What is indexed (texts), how queries are parsed and how hits are shown is
core/search's; this module only reads and writes the tables.

The index is derived from `documents.shown_io` through the running conventions, so it records the
`conventions.DERIVATION` it was built with (table search_version): an index of another derivation
counts as absent (`has_index`), and the next build drops it and starts over, so its text never
disagrees with what the spans show.

A span's text depends on its log records too, which may be stored after the span was indexed. The
index keeps a second watermark, the last log record it reflects (table search_logs): every indexed
span's text is the one derived with its records up to there, and `refresh` moves it on, indexing
again each indexed span that has records past it.

A span whose input may be its parent's (`documents.needs_parent`: Mastra's model call) may be stored,
and indexed, before its parent (live, a call ends and is exported before its step). Such a span is
kept with the text it was indexed with (table search_waiting) and indexed again by the first build
after its parent is stored (`found_parents`).

A span's status message is indexed too, and finalizing a trace may change it after the span was
indexed (an MCP client call marked failed once its server's span arrives). The store records the
message such a span was indexed with (table search_restatus, `note_status_changes`) and `restatus`
indexes it again; a batch whose statuses changed while its text was read is read again (`add`).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import sqlite_utils

from spanscope.core import conventions
from spanscope.core.model import LogRecord
from spanscope.core.store.db import connect
from spanscope.core.store.documents import ChunkReader, needs_parent
from spanscope.core.store.logs import span_logs
from spanscope.core.store.queries import resolve_trace_id
from spanscope.core.store.schema import IMPORTING_TABLE, SEARCH_TABLES_SQL

__all__ = [
    "HitRow",
    "IndexStatus",
    "IndexWriter",
    "PendingSpan",
    "StaleSpan",
    "drop_index",
    "has_index",
    "hit_rows",
    "index_started",
    "index_status",
    "matching_ids",
]

#: How long one attempt waits for the write lock before the indexer backs off and tries again.
LOCK_WAIT_MS = 250
_VERSION_SQL = (
    "CREATE TABLE IF NOT EXISTS search_version "
    "(id INTEGER PRIMARY KEY CHECK (id = 1), derivation INTEGER NOT NULL)"
)
_LOGS_SQL = (
    "CREATE TABLE IF NOT EXISTS search_logs "
    "(id INTEGER PRIMARY KEY CHECK (id = 1), last_log INTEGER NOT NULL)"
)
#: Spans indexed before the parent their input may come from was stored, with the text indexed.
_WAITING_SQL = (
    "CREATE TABLE IF NOT EXISTS search_waiting "
    "(id INTEGER PRIMARY KEY, name TEXT, input TEXT, output TEXT, attributes TEXT)"
)
#: Indexed spans whose status message changed since, with the message they were indexed with.
_RESTATUS_SQL = "CREATE TABLE IF NOT EXISTS search_restatus (id INTEGER PRIMARY KEY, status_message TEXT)"
_TABLES = (
    "search_fts",
    "search_state",
    "search_running",
    "search_version",
    "search_logs",
    "search_waiting",
    "search_restatus",
)
#: Indexed spans whose text may have changed, from a table of texts indexed (`{table}`) and a
#: `{condition}` on the span `s`.
_STALE_SQL = (
    "SELECT r.id, r.name, r.input, r.output, r.attributes, s.name, s.status_message, "
    "s.payload_chunk, s.payload_index, s.trace_id, s.span_id, s.parent_id FROM {table} r "
    "JOIN spans s ON s.id = r.id WHERE {condition}"
)
#: Spans of imports still running are not indexed (an undo would leave their rows behind), nor does
#: the text of a span indexed already change for them (undoing would not change it back).
_NOT_IMPORTING = f"NOT IN (SELECT source_id FROM {IMPORTING_TABLE})"
_PARENT_STORED = (
    "EXISTS (SELECT 1 FROM spans p WHERE p.trace_id = s.trace_id AND p.span_id = s.parent_id "
    f"AND p.source_id {_NOT_IMPORTING})"
)
#: The first span id of the imports still running: the watermark stays below it.
_FIRST_IMPORTING_SPAN = f"(SELECT coalesce(min(first_span), 1 << 62) FROM {IMPORTING_TABLE})"
#: The newest log record the index may reflect: below the first of the imports still running.
_NEWEST_LOG = (
    "SELECT min(coalesce(max(id), 0), "
    f"(SELECT coalesce(min(first_log), 1 << 62) - 1 FROM {IMPORTING_TABLE})) FROM logs"
)
_INSERT_FTS = "INSERT INTO search_fts (rowid, name, input, output, attributes) VALUES (?, ?, ?, ?, ?)"
_PENDING_SQL = (
    "SELECT id, name, status_message, end_ns, payload_chunk, payload_index, trace_id, span_id, parent_id "
    f"FROM spans WHERE id > ? AND id < {_FIRST_IMPORTING_SPAN} ORDER BY id LIMIT ?"
)
_REINDEXED_COLUMNS = (
    "s.id, s.name, s.status_message, s.payload_chunk, s.payload_index, s.trace_id, s.span_id, s.parent_id"
)
#: Indexed spans with log records stored after the index's log watermark (up to a new one).
_LOGGED_SQL = (
    f"SELECT DISTINCT {_REINDEXED_COLUMNS}, s.status_message FROM logs l "
    "JOIN spans s ON s.trace_id = l.trace_id AND s.span_id = l.span_id "
    "WHERE l.id > ? AND l.id <= ? AND s.id <= ?"
)
#: The status messages of a batch read by `pending` (ids in order), as they are now.
_STATUS_SQL = "SELECT id, status_message FROM spans WHERE id BETWEEN ? AND ?"
#: Indexed spans whose status message changed, with the message they were indexed with.
_RESTATUSED_SQL = (
    f"SELECT {_REINDEXED_COLUMNS}, r.status_message FROM search_restatus r JOIN spans s ON s.id = r.id"
)
#: (name, status_message, document, log records, parent's document) -> the texts indexed for a span
#: (core/search/texts).
Texts = Callable[
    [str | None, str | None, dict[str, Any] | None, list[LogRecord], dict[str, Any] | None], tuple[str, ...]
]


@dataclass(frozen=True, slots=True)
class IndexStatus:
    """How much of the store the index covers."""

    indexed: int
    total: int

    @property
    def complete(self) -> bool:
        return self.indexed >= self.total


def _tables(db: sqlite_utils.Database | sqlite3.Connection) -> set[str]:
    return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE name LIKE 'search_%'")}


def _current(db: sqlite_utils.Database | sqlite3.Connection) -> bool:
    """The index has all its tables and was built with the running derivation of input and output."""
    if not set(_TABLES) <= _tables(db):
        return False
    row = db.execute("SELECT derivation FROM search_version").fetchone()
    return bool(row) and row[0] == conventions.DERIVATION


def has_index(db: sqlite_utils.Database) -> bool:
    """Whether the index can answer: present, and of the running derivation."""
    return _current(db)


def index_started(db: sqlite_utils.Database) -> bool:
    """Whether search was ever used on this store (its index holds something, current or not): then
    it is kept up to date after imports; otherwise nothing is indexed until the first search."""
    if not {"search_state"} <= _tables(db):
        return False
    row = db.execute("SELECT last_span FROM search_state").fetchone()
    return bool(row and row[0])


def index_status(db: sqlite_utils.Database) -> IndexStatus:
    """Indexed spans and spans in the store; cheap: it counts only the spans not yet indexed."""
    row = db.execute("SELECT last_span, indexed FROM search_state").fetchone() if has_index(db) else None
    last, indexed = row if row else (0, 0)
    pending = db.execute("SELECT count(*) FROM spans WHERE id > ?", (last,)).fetchone()[0]
    return IndexStatus(indexed, indexed + pending)


def note_status_changes(conn: sqlite3.Connection, changes: list[tuple[int, str | None]]) -> None:
    """Record that spans (id, the status message they had) are about to get another status message,
    so an index that holds them indexes them again; call it in the transaction that changes them."""
    if not changes or "search_restatus" not in _tables(conn):
        return
    last = conn.execute("SELECT last_span FROM search_state").fetchone()
    conn.executemany(
        "INSERT OR IGNORE INTO search_restatus (id, status_message) VALUES (?, ?)",
        [change for change in changes if last and change[0] <= last[0]],
    )


def forget_unchanged_statuses(conn: sqlite3.Connection, span_ids: list[int]) -> None:
    """Forget the noted status changes of spans whose status message is again the one indexed (an
    undone import restored it): indexing them again would change nothing."""
    if not span_ids or "search_restatus" not in _tables(conn):
        return
    conn.executemany(
        "DELETE FROM search_restatus WHERE id = ?1 AND status_message IS "
        "(SELECT status_message FROM spans WHERE id = ?1)",
        [(span_id,) for span_id in span_ids],
    )


def _drop(db: sqlite_utils.Database | sqlite3.Connection) -> None:
    for table in _TABLES:
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


class PendingSpan(NamedTuple):
    """A span not indexed yet, with its document, its log records up to the log watermark and its
    parent's document if its input may be the parent's (`ChunkReader.parent`); `waiting`: it may be
    and the parent is not stored yet."""

    id: int
    name: str | None
    status_message: str | None
    running: bool
    doc: dict[str, Any] | None
    logs: list[LogRecord]
    parent: dict[str, Any] | None
    waiting: bool


class StaleSpan(NamedTuple):
    """An indexed span to index again (running then and completed since, or indexed before its
    parent, stored since): the text it was indexed with (a contentless index forgets a row only given
    that text), its document, log records and parent's document as `PendingSpan`'s."""

    id: int
    indexed: tuple[str, str, str, str]
    name: str | None
    status_message: str | None
    doc: dict[str, Any] | None
    logs: list[LogRecord]
    parent: dict[str, Any] | None
    waiting: bool


class IndexWriter:
    """One build's connection to the index: short write transactions that wait while an import
    holds the lock (and give up when `cancelled` says so), documents read through one ChunkReader."""

    def __init__(self, db_path: Path, cancelled: Callable[[], bool]) -> None:
        self.db = connect(db_path)
        self.conn = self.db.conn
        self.conn.execute(f"PRAGMA busy_timeout = {LOCK_WAIT_MS}")
        self.cancelled = cancelled
        self.chunks = ChunkReader(self.conn)
        #: The log watermark the spans last given by `pending` were read with.
        self._pending_log = 0

    def close(self) -> None:
        self.conn.close()

    def _write(self, work: Callable[[], bool]) -> bool:
        """Run `work` in one short write transaction, waiting while an import holds the lock; returns
        what `work` returned, or False if cancelled first."""
        conn = self.conn
        while not self.cancelled():
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

    def ensure(self, rank: str) -> None:
        """Create the index tables if they are missing or of another derivation (a part of them alone
        is not trusted), ranking by `rank`, with a zero watermark."""
        conn = self.conn

        def work() -> bool:
            if not _current(conn):
                _drop(conn)
                for sql in (*SEARCH_TABLES_SQL, _VERSION_SQL, _LOGS_SQL, _WAITING_SQL, _RESTATUS_SQL):
                    conn.execute(sql)
                conn.execute(
                    "INSERT INTO search_version (id, derivation) VALUES (1, ?)", (conventions.DERIVATION,)
                )
            if conn.execute("SELECT count(*) FROM search_state").fetchone()[0] == 0:
                conn.execute(f"INSERT INTO search_fts (search_fts, rank) VALUES ('rank', '{rank}')")
                conn.execute("INSERT INTO search_state (id, last_span, indexed) VALUES (1, 0, 0)")
                conn.execute("DELETE FROM search_logs")
                conn.execute(
                    "INSERT INTO search_logs (id, last_log) SELECT 1, coalesce(max(id), 0) FROM logs"
                )
            return True

        self._write(work)

    def status(self) -> IndexStatus:
        return index_status(self.db)

    def completed(self) -> list[StaleSpan]:
        """Spans indexed while running that have completed since (their new payload replaced the old
        one in the store)."""
        return self._stale("search_running", f"s.end_ns IS NOT NULL AND s.source_id {_NOT_IMPORTING}")

    def found_parents(self) -> list[StaleSpan]:
        """Spans indexed before the parent their input may come from, whose parent is stored now."""
        return self._stale("search_waiting", _PARENT_STORED)

    def _stale(self, table: str, condition: str) -> list[StaleSpan]:
        rows = self.conn.execute(_STALE_SQL.format(table=table, condition=condition)).fetchall()
        last_log = self._last_log()
        stale = []
        for r in rows:
            doc = self.chunks.document(r[7], r[8])
            parent, waiting = self._parent(doc, r[9], r[11])
            stale.append(
                StaleSpan(r[0], r[1:5], r[5], r[6], doc, self._logs(r[9], r[10], last_log), parent, waiting)
            )
        return stale

    def _parent(
        self, doc: dict[str, Any] | None, trace_id: str, parent_id: str | None
    ) -> tuple[dict[str, Any] | None, bool]:
        """The parent's document as `ChunkReader.parent` gives it, and whether the span waits for it
        (its input may be the parent's, which is not stored yet)."""
        parent = self.chunks.parent(doc, trace_id, parent_id)
        return parent, parent is None and parent_id is not None and needs_parent(doc or {})

    def _last_log(self) -> int:
        return self.conn.execute("SELECT last_log FROM search_logs").fetchone()[0]

    def _logs(self, trace_id: str, span_id: str, last_log: int) -> list[LogRecord]:
        """A span's log records up to the log watermark `last_log` (0: the store had none then)."""
        return span_logs(self.conn, trace_id, span_id, last_log) if last_log else []

    def refresh(self, texts: Texts) -> None:
        """Index again the indexed spans that have log records stored after the log watermark, with
        all their records, and move the watermark to the last record stored."""
        conn = self.conn

        def work() -> bool:
            last_log = self._last_log()
            newest = conn.execute(_NEWEST_LOG).fetchone()[0]
            if newest <= last_log:
                return True
            last_span = conn.execute("SELECT last_span FROM search_state").fetchone()[0]
            rows = conn.execute(_LOGGED_SQL, (last_log, newest, last_span)).fetchall()
            self._reindex(texts, rows, last_log, newest)
            conn.execute("UPDATE search_logs SET last_log = ?", (newest,))
            return True

        self._write(work)

    def restatus(self, texts: Texts) -> None:
        """Index again the indexed spans whose status message changed since (`note_status_changes`)."""
        conn = self.conn

        def work() -> bool:
            last_log = self._last_log()
            self._reindex(texts, conn.execute(_RESTATUSED_SQL).fetchall(), last_log, last_log)
            conn.execute("DELETE FROM search_restatus")
            return True

        self._write(work)

    def _reindex(self, texts: Texts, rows: list[tuple], last_log: int, newest: int) -> None:
        """Replace the indexed text of spans (`_REINDEXED_COLUMNS` and the status message they were
        indexed with) read with log records up to `last_log` by their text with records up to `newest`;
        spans kept with their text (running, waiting for a parent) keep the new one."""
        conn = self.conn
        kept = {
            table: {r[0]: tuple(r[1:]) for r in conn.execute(f"SELECT * FROM {table}")}
            for table in ("search_running", "search_waiting")
        }
        for id_, name, status, chunk, index, trace_id, span_id, parent_id, indexed_status in rows:
            doc = self.chunks.document(chunk, index)
            parent = self.chunks.parent(doc, trace_id, parent_id)
            old = (
                kept["search_running"].get(id_)
                or kept["search_waiting"].get(id_)
                or texts(name, indexed_status, doc, self._logs(trace_id, span_id, last_log), parent)
            )
            new = texts(name, status, doc, self._logs(trace_id, span_id, newest), parent)
            conn.execute(
                "INSERT INTO search_fts (search_fts, rowid, name, input, output, attributes) "
                "VALUES ('delete', ?, ?, ?, ?, ?)",
                (id_, *old),
            )
            conn.execute(_INSERT_FTS, (id_, *new))
            for table, indexed in kept.items():
                if id_ in indexed:
                    conn.execute(f"INSERT OR REPLACE INTO {table} VALUES (?, ?, ?, ?, ?)", (id_, *new))

    def replace(self, stale: list[StaleSpan], texts: list[tuple[str, ...]], table: str) -> None:
        """Index stale spans (from `completed`: table search_running, or `found_parents`:
        search_waiting) with their new `texts` in place of what they were indexed with, keeping the
        text of those that now wait for their parent."""
        conn = self.conn
        fresh = [(span.id, *text) for span, text in zip(stale, texts, strict=True)]

        def work() -> bool:
            # Another build may have replaced some already: forgetting a row twice would corrupt the index.
            still = {r[0] for r in conn.execute(f"SELECT id FROM {table}")}
            conn.executemany(
                "INSERT INTO search_fts (search_fts, rowid, name, input, output, attributes) "
                "VALUES ('delete', ?, ?, ?, ?, ?)",
                [(span.id, *span.indexed) for span in stale if span.id in still],
            )
            conn.executemany(_INSERT_FTS, [row for row in fresh if row[0] in still])
            conn.executemany(
                f"DELETE FROM {table} WHERE id = ?", [(span.id,) for span in stale if span.id in still]
            )
            waiting = [
                row for row, span in zip(fresh, stale, strict=True) if span.waiting and span.id in still
            ]
            conn.executemany("INSERT OR REPLACE INTO search_waiting VALUES (?, ?, ?, ?, ?)", waiting)
            return True

        self._write(work)

    def pending(self, limit: int) -> tuple[int, int, list[PendingSpan]]:
        """The watermark (last indexed span id, spans indexed) and up to `limit` spans after it."""
        last, indexed = self.conn.execute("SELECT last_span, indexed FROM search_state").fetchone()
        last_log = self._last_log()
        spans = []
        for s in self.conn.execute(_PENDING_SQL, (last, limit)).fetchall():
            doc = self.chunks.document(s[4], s[5])
            parent, waiting = self._parent(doc, s[6], s[8])
            logs = self._logs(s[6], s[7], last_log)
            spans.append(PendingSpan(s[0], s[1], s[2], s[3] is None, doc, logs, parent, waiting))
        self._pending_log = last_log
        return last, indexed, spans

    def add(
        self,
        last: int,
        spans: list[PendingSpan],
        rows: list[tuple],
        running: list[tuple],
        waiting: list[tuple],
    ) -> bool:
        """Index `rows` (id, name, input, output, attributes) of `spans` read after watermark `last`,
        keeping the text of the `running` ones and of those `waiting` for their parent; False if another
        build moved the watermark first, a status message changed since it was read, or cancelled."""
        conn = self.conn

        def work() -> bool:
            if conn.execute("SELECT last_span FROM search_state").fetchone()[0] != last:
                return False  # another build got there first; read again from its watermark
            if self._last_log() != self._pending_log:
                return False  # the log watermark moved: the texts read may lack records
            now = dict(conn.execute(_STATUS_SQL, (spans[0].id, spans[-1].id)).fetchall())
            if any(now.get(span.id) != span.status_message for span in spans):
                return False  # finalizing changed a status message: read the batch again
            conn.executemany(_INSERT_FTS, rows)
            conn.executemany("INSERT OR REPLACE INTO search_running VALUES (?, ?, ?, ?, ?)", running)
            conn.executemany("INSERT OR REPLACE INTO search_waiting VALUES (?, ?, ?, ?, ?)", waiting)
            conn.execute(
                "UPDATE search_state SET last_span = ?, indexed = indexed + ?", (rows[-1][0], len(rows))
            )
            return True

        return self._write(work)


# --- searching ---------------------------------------------------------------------------------


class SearchError(Exception):
    """SQLite could not run a search (an FTS expression it rejects, a store it cannot read)."""


def _filter_sql(
    db: sqlite_utils.Database, filters: dict[str, list[str]]
) -> tuple[str, list, tuple[int, int] | None]:
    """SQL conditions on `s` (spans) for the query's filters, their arguments, and the rowid range
    a trace filter (one value, a trace id or prefix: NotFound if none) confines the search to."""
    conditions, args, id_range = [], [], None
    for name, values in filters.items():
        if name == "trace":
            trace_id = resolve_trace_id(db, values[0].rstrip("*"))
            low, high = db.execute(
                "SELECT min(id), max(id) FROM spans WHERE trace_id = ?", (trace_id,)
            ).fetchone()
            id_range = (low, high)
            conditions.append("s.trace_id = ?")
            args.append(trace_id)
            continue
        parts = []
        for value in values:
            if value.endswith("*") and name in ("model", "service"):
                escaped = value[:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                parts.append(f"s.{name} LIKE ? ESCAPE '\\'")
                args.append(escaped + "%")
            else:
                parts.append(f"s.{name} = ? COLLATE NOCASE")
                args.append(value.rstrip("*"))
        conditions.append("(" + " OR ".join(parts) + ")")
    return " AND ".join(conditions), args, id_range


def matching_ids(
    db: sqlite_utils.Database, expression: str | None, filters: dict[str, list[str]], limit: int, cap: int
) -> tuple[list[int], int, bool]:
    """Ids of the best `limit` spans matching the FTS `expression` (None: every span) and the
    filters, best first (newest first without an expression), how many match (capped), and whether
    more than `cap` do.

    Ranking costs a few microseconds a match, so a word in every span of a million would take
    seconds: past `cap` matches only the newest `cap` are ranked.
    """
    try:
        return _matching_ids(db, expression, filters, limit, cap)
    except sqlite3.OperationalError as exc:
        raise SearchError(f"the search could not run: {exc}") from None


def _matching_ids(
    db: sqlite_utils.Database, expression: str | None, filters: dict[str, list[str]], limit: int, cap: int
) -> tuple[list[int], int, bool]:
    where, args, id_range = _filter_sql(db, filters)
    if expression is None:
        base = f"FROM spans s WHERE {where}"
        if id_range is not None:
            base += " AND s.id BETWEEN ? AND ?"
            args = [*args, *id_range]
        column, order = "s.id", "s.id DESC"
    else:
        base = "FROM search_fts f"
        conditions = ["search_fts MATCH ?"]
        if id_range is not None:
            conditions.append("f.rowid BETWEEN ? AND ?")
        if where:
            base += " CROSS JOIN spans s ON s.id = f.rowid"
            conditions.append(where)
        base += " WHERE " + " AND ".join(conditions)
        args = [expression, *(id_range or ()), *args]
        column, order = "f.rowid", "f.rank"
    capped = f"SELECT count(*) FROM (SELECT 1 {base} LIMIT ?)"
    (count,) = db.execute(capped, (*args, cap + 1)).fetchone()
    more = count > cap
    if more and expression is not None:
        sql = (
            f"SELECT id FROM (SELECT f.rowid AS id, f.rank AS score {base} ORDER BY f.rowid DESC LIMIT ?) "
            "ORDER BY score LIMIT ?"
        )
        ids = [r[0] for r in db.execute(sql, (*args, cap, limit))]
    else:
        ids = [r[0] for r in db.execute(f"SELECT {column} {base} ORDER BY {order} LIMIT ?", (*args, limit))]
    return ids, min(count, cap), more


class HitRow(NamedTuple):
    trace_id: str
    span_id: str
    trace_name: str | None
    name: str | None
    kind: str
    status: str
    model: str | None
    status_message: str | None
    doc: dict[str, Any] | None
    logs: list[LogRecord]
    parent: dict[str, Any] | None


_HIT_SQL = (
    "SELECT s.id, s.trace_id, s.span_id, t.root_name, s.name, s.kind, s.status, s.model, "
    "s.status_message, s.payload_chunk, s.payload_index, s.parent_id "
    "FROM spans s LEFT JOIN traces t ON t.trace_id = s.trace_id "
    "WHERE s.id IN ({}) ORDER BY s.payload_chunk, s.payload_index"
)


def hit_rows(db: sqlite_utils.Database, ids: list[int]) -> list[HitRow]:
    """The spans `ids` that exist, in that order, with their documents (each chunk read once), log
    records and parents' documents where their input may be the parent's."""
    chunks = ChunkReader(db)
    rows = {}
    for r in db.execute(_HIT_SQL.format(",".join("?" * len(ids))), ids).fetchall():
        doc = chunks.document(r[9], r[10])
        rows[r[0]] = HitRow(*r[1:9], doc, span_logs(db, r[1], r[2]), chunks.parent(doc, r[1], r[11]))
    return [rows[i] for i in ids if i in rows]
