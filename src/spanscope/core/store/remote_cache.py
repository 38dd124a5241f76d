"""The SQL of a remote-server cache store (core/remote/cache.py): a fetched trace stored whole in one
transaction (replacing an older copy of it in that same transaction), which traces came from where and
when they were last opened, and deleting whole traces — least recently opened first when the cache is
over its size limit.

Deleting a trace leaves the search index as if the trace had never been stored. The index is
contentless (store/search_index.py): a row is forgotten only given the exact text it was indexed with,
which is re-derived here as the index builder derived it (the text it kept for a running or waiting
span, else `texts` of the span with its log records up to the log watermark and the status message it
was indexed with). The watermarks then come down to what the store still holds, so the ids SQLite
gives the spans and log records stored next, which may be the deleted ones', are indexed as new.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from spanscope.core.model import LogRecord, ScoreFor, Span
from spanscope.core.store import payload
from spanscope.core.store.db import Database, StoreError, connect
from spanscope.core.store.documents import ChunkReader
from spanscope.core.store.logs import span_logs
from spanscope.core.store.replays import write_records
from spanscope.core.store.schema import PENDING_PRICING_TABLE, REMOTE_TRACES_TABLE, REPLAYS_TABLE
from spanscope.core.store.search_index import Texts, has_index

T = TypeVar("T")

#: What a stored span costs beside its share of the compressed chunks: its row, its index entries and
#: its search index terms, about (measured on fetched LLM traces). A trace's `stored_bytes` is its
#: chunks, its log records and this per span: the cache's size is their sum, not the file's (SQLite
#: reuses a deleted trace's pages rather than shrinking the file).
SPAN_ROW_BYTES = 400
#: The source format of a fetched trace's spans.
SOURCE_FORMAT = "remote"

_SPANS_SQL = (
    "SELECT id, name, status_message, payload_chunk, payload_index, trace_id, span_id, parent_id "
    "FROM spans WHERE trace_id = ?"
)


@dataclass(frozen=True, slots=True)
class RemoteTraceRow:
    """A cached trace: its server (a ServerURL's text), when fetched and last opened, its size."""

    trace_id: str
    server: str
    fetched_ns: int
    opened_ns: int
    stored_bytes: int
    source_id: int


@dataclass(frozen=True, slots=True)
class StoredTrace:
    """A fetched trace as stored: its spans, size, whether a span of it is still running, and the
    records changed or left out (where, why)."""

    trace_id: str
    spans: int
    stored_bytes: int
    running: bool
    problems: list[tuple[str, str]]


def delete_traces(conn: sqlite3.Connection, trace_ids: Iterable[str], texts: Texts) -> int:
    """Delete whole traces in the caller's transaction — their spans, chunks, scores, log records,
    replay links and roll-ups, and their search index rows (`texts`: how the index derives a span's
    texts, core/search/texts.span_texts) — and return how many spans went. Annotations given in
    Spanscope stay: they are the user's, and come back with the trace if it is stored again."""
    ids = list(dict.fromkeys(trace_ids))
    spans = [row for trace_id in ids for row in conn.execute(_SPANS_SQL, (trace_id,)).fetchall()]
    indexed = has_index(conn)  # type: ignore[arg-type]  # any connection answers its queries
    if indexed:
        _forget_indexed(conn, spans, texts)
    pending_pricing = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE name = ?", (PENDING_PRICING_TABLE,)
    ).fetchone()
    tables = [
        "spans",
        "scores",
        "logs",
        REPLAYS_TABLE,
        "traces",
        *([PENDING_PRICING_TABLE] * bool(pending_pricing)),
    ]
    for table in tables:
        conn.executemany(f"DELETE FROM {table} WHERE trace_id = ?", [(t,) for t in ids])
    _delete_chunks(conn, {row[3] for row in spans if row[3] is not None})
    if indexed:
        conn.execute(
            "UPDATE search_state SET last_span = min(last_span, (SELECT coalesce(max(id), 0) FROM spans))"
        )
        conn.execute(
            "UPDATE search_logs SET last_log = min(last_log, (SELECT coalesce(max(id), 0) FROM logs))"
        )
    return len(spans)


def _forget_indexed(conn: sqlite3.Connection, spans: list[tuple], texts: Texts) -> None:
    """Remove the index rows of `spans` (rows of _SPANS_SQL), given the text each was indexed with."""
    state = conn.execute("SELECT last_span FROM search_state").fetchone()
    if state is None:
        return
    spans = [row for row in spans if row[0] <= state[0]]
    if not spans:
        return
    (last_log,) = conn.execute("SELECT last_log FROM search_logs").fetchone()
    kept: dict[int, tuple] = {}
    for table in ("search_waiting", "search_running"):  # as search_index._reindex: running first
        kept.update((r[0], tuple(r[1:])) for r in conn.execute(f"SELECT * FROM {table}"))
    restatus = dict(conn.execute("SELECT id, status_message FROM search_restatus").fetchall())
    chunks = ChunkReader(conn)
    forgotten = []
    for id_, name, status, chunk, index, trace_id, span_id, parent_id in spans:
        old = kept.get(id_)
        if old is None:
            doc = chunks.document(chunk, index)
            logs = span_logs(conn, trace_id, span_id, last_log) if last_log else []
            old = texts(name, restatus.get(id_, status), doc, logs, chunks.parent(doc, trace_id, parent_id))
        forgotten.append((id_, *old))
    conn.executemany(
        "INSERT INTO search_fts (search_fts, rowid, name, input, output, attributes) "
        "VALUES ('delete', ?, ?, ?, ?, ?)",
        forgotten,
    )
    for table in ("search_running", "search_waiting", "search_restatus"):
        conn.executemany(f"DELETE FROM {table} WHERE id = ?", [(row[0],) for row in spans])
    conn.execute("UPDATE search_state SET indexed = max(indexed - ?, 0)", (len(spans),))


def _delete_chunks(conn: sqlite3.Connection, candidates: set[int]) -> None:
    """Delete the chunks among `candidates` no span refers to any more. The store's last chunk is
    emptied rather than deleted, so no chunk id is ever given again (an index build running beside
    keeps recently read chunks by id)."""
    if not candidates:
        return
    low, high = min(candidates), max(candidates)
    used = {
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT payload_chunk FROM spans WHERE payload_chunk BETWEEN ? AND ?", (low, high)
        )
    }
    gone = candidates - used
    (top,) = conn.execute("SELECT max(id) FROM chunks").fetchone()
    conn.executemany("DELETE FROM chunks WHERE id = ?", [(c,) for c in gone if c != top])
    if top in gone:
        empty = payload.compress_many([payload.pack([])])[0]
        conn.execute("UPDATE chunks SET data = ? WHERE id = ?", (empty, top))


def _forget_remote(conn: sqlite3.Connection, trace_ids: Sequence[str]) -> None:
    """Drop the remote_traces rows of deleted traces and their sources (each fetch is one source)."""
    args = [(t,) for t in trace_ids]
    conn.executemany(
        f"DELETE FROM sources WHERE id IN (SELECT source_id FROM {REMOTE_TRACES_TABLE} WHERE trace_id = ?)",
        args,
    )
    conn.executemany(f"DELETE FROM {REMOTE_TRACES_TABLE} WHERE trace_id = ?", args)


def _write(store: Path, what: str, work: Callable[[sqlite3.Connection], T]) -> T:
    """Run `work(conn)` in one write transaction on the store; StoreError naming `what` failed."""
    conn = connect(store).conn
    try:
        conn.execute("BEGIN IMMEDIATE")
        result = work(conn)
        conn.execute("COMMIT")
        return result
    except BaseException as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise StoreError(f"{store}: cannot {what}: {exc}") from exc
        raise
    finally:
        conn.close()


def store_fetched(
    store: Path, server: str, trace_id: str, records: Sequence[Span | ScoreFor | LogRecord], texts: Texts
) -> StoredTrace:
    """Store a fetched trace whole in one transaction, as the cache's copy of `trace_id` from `server`:
    an older copy (a refresh) is deleted in that same transaction, so readers see the old trace or the
    new one, never neither nor a mix. StoreError (nothing changed) when the store cannot take it."""

    def work(conn: sqlite3.Connection) -> StoredTrace:
        delete_traces(conn, [trace_id], texts)
        _forget_remote(conn, [trace_id])
        written = write_records(conn, records, f"{server} trace {trace_id}", SOURCE_FORMAT)
        logs, running = conn.execute(
            "SELECT (SELECT coalesce(sum(length(data)), 0) FROM logs WHERE trace_id = ?1), "
            "(SELECT count(*) FROM spans WHERE trace_id = ?1 AND end_ns IS NULL)",
            (trace_id,),
        ).fetchone()
        size = written.chunk_bytes + logs + SPAN_ROW_BYTES * len(written.batch.rows)
        now = time.time_ns()
        conn.execute(
            f"INSERT INTO {REMOTE_TRACES_TABLE} VALUES (?, ?, ?, ?, ?, ?)",
            (trace_id, server, now, now, size, written.source_id),
        )
        problems = [*written.skipped, *written.batch.problems]
        problems += [
            (f"score {row[2]!r} of span {row[1]}", "its span is not in the trace") for row in written.missing
        ]
        return StoredTrace(trace_id, len(written.batch.rows), size, bool(running), problems)

    return _write(store, f"store trace {trace_id}", work)


def mark_opened(store: Path, trace_id: str) -> bool:
    """Note that the cached trace was opened now (it is evicted last); False if it is not cached."""

    def work(conn: sqlite3.Connection) -> bool:
        sql = f"UPDATE {REMOTE_TRACES_TABLE} SET opened_ns = ? WHERE trace_id = ?"
        return conn.execute(sql, (time.time_ns(), trace_id)).rowcount > 0

    return _write(store, f"note trace {trace_id} as opened", work)


def evict(store: Path, limit_bytes: int, keep: Collection[str], texts: Texts) -> list[str]:
    """Delete the least recently opened cached traces, never those in `keep`, until the cache takes at
    most `limit_bytes` (or only kept traces are left); the traces deleted, in one transaction."""

    def work(conn: sqlite3.Connection) -> list[str]:
        (total,) = conn.execute(
            f"SELECT coalesce(sum(stored_bytes), 0) FROM {REMOTE_TRACES_TABLE}"
        ).fetchone()
        victims: list[str] = []
        if total <= limit_bytes:
            return victims
        rows = conn.execute(
            f"SELECT trace_id, stored_bytes FROM {REMOTE_TRACES_TABLE} ORDER BY opened_ns, trace_id"
        )
        for trace_id, size in rows.fetchall():
            if total <= limit_bytes:
                break
            if trace_id not in keep:
                victims.append(trace_id)
                total -= size
        delete_traces(conn, victims, texts)
        _forget_remote(conn, victims)
        return victims

    return _write(store, "evict traces from the cache", work)


def remote_traces(db: Database) -> list[RemoteTraceRow]:
    """The cached traces, most recently opened first."""
    sql = f"SELECT * FROM {REMOTE_TRACES_TABLE} ORDER BY opened_ns DESC, trace_id"
    return [RemoteTraceRow(*row) for row in db.execute(sql)]


def remote_trace(db: Database, trace_id: str) -> RemoteTraceRow | None:
    row = db.execute(f"SELECT * FROM {REMOTE_TRACES_TABLE} WHERE trace_id = ?", (trace_id,)).fetchone()
    return RemoteTraceRow(*row) if row else None


def cache_size(db: Database) -> int:
    """The bytes the cached traces take (their `stored_bytes`)."""
    return db.execute(f"SELECT coalesce(sum(stored_bytes), 0) FROM {REMOTE_TRACES_TABLE}").fetchone()[0]


#: Trace ids looked up per statement (below SQLite's variable limit).
_PER_STATEMENT = 500


def stored_ids(db: Database, trace_ids: Iterable[str]) -> set[str]:
    """Which of `trace_ids` the store holds (a page of a server's list, marked local)."""
    ids = list(dict.fromkeys(trace_ids))
    found: set[str] = set()
    for start in range(0, len(ids), _PER_STATEMENT):
        part = ids[start : start + _PER_STATEMENT]
        sql = f"SELECT trace_id FROM traces WHERE trace_id IN ({', '.join('?' * len(part))})"
        found.update(r[0] for r in db.execute(sql, part))
    return found


def running_spans(db: Database, trace_id: str) -> int:
    """How many spans of the trace have not ended (a running trace, worth polling)."""
    sql = "SELECT count(*) FROM spans WHERE trace_id = ? AND end_ns IS NULL"
    return db.execute(sql, (trace_id,)).fetchone()[0]
