"""Model calls Spanscope made itself (replays of recorded calls, judges' calls) and their links.

`store_spans` writes what a replay or judgement produced — its spans and the scores it gives — in
one transaction through the store's one write path (store/batches.py), as a source of its own: all
of it is stored or none. The links to the recorded calls live in the `replays` table, which the
write path fills from the spans' `spanscope.replay.*` attributes; the functions below read it.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

from spanscope.core.model import LogRecord, ScoreFor, Span
from spanscope.core.pricing.prices import SpanPricer, user_price_book
from spanscope.core.store import payload
from spanscope.core.store.batches import Batch, BatchBuilder, store_batch, where
from spanscope.core.store.db import StoreError, connect
from spanscope.core.store.finalize import finalize_traces
from spanscope.core.store.schema import REPLAYS_TABLE
from spanscope.core.store.storable import UnstorableSpan


@dataclass(frozen=True, slots=True)
class ReplayRow:
    """A span Spanscope stored for a call it made, and the recorded span it replays or judges."""

    trace_id: str
    span_id: str
    of_trace_id: str
    of_span_id: str
    purpose: str
    run: str | None
    model: str | None


_COLUMNS = "trace_id, span_id, of_trace_id, of_span_id, purpose, run, model"


def store_spans(
    store: Path, records: Sequence[Span | ScoreFor], label: str, source_format: str = "replay"
) -> None:
    """Commit `records` as one source (`label`, e.g. "replay: local-small at http://..."), all or
    none; StoreError when the store cannot take them."""
    db = connect(store)
    conn = db.conn
    try:
        conn.execute("BEGIN IMMEDIATE")
        written = write_records(conn, records, label, source_format)
        if written.skipped:
            raise StoreError(f"{store}: cannot store {written.skipped[0][0]}: {written.skipped[0][1]}")
        if written.missing:
            raise StoreError(
                f"{store}: the span a score is for is not in the store ({written.missing[0][1]})"
            )
        conn.execute("COMMIT")
    except BaseException as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise StoreError(f"{store}: cannot store the {source_format}: {exc}") from exc
        raise
    finally:
        conn.close()


@dataclass(frozen=True, slots=True)
class Written:
    """What `write_records` stored: its source, the batch written (rows, problems) with its compressed
    chunks' size; not written: the score rows whose span is not in the store, and the spans the store
    cannot hold at all (where, why)."""

    source_id: int
    batch: Batch
    chunk_bytes: int
    missing: list[tuple]
    skipped: list[tuple[str, str]]


def write_records(
    conn: sqlite3.Connection, records: Sequence[Span | ScoreFor | LogRecord], label: str, source_format: str
) -> Written:
    """Write `records` as one source in the caller's transaction (store_spans's, or a fetched remote
    trace's, store/remote_cache.py) through the one write path, and finalize their traces."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    source_id = conn.execute(
        "INSERT INTO sources (path, format, size, mtime_ns, imported_at, span_count, skipped) "
        "VALUES (?, ?, 0, ?, ?, ?, 0)",
        (label, source_format, time.time_ns(), now, sum(isinstance(r, Span) for r in records)),
    ).lastrowid
    next_chunk = (conn.execute("SELECT max(id) FROM chunks").fetchone()[0] or 0) + 1
    builder = BatchBuilder(source_id, next_chunk, SpanPricer(user_price_book()))
    skipped = []
    for record in records:
        try:
            builder.add(record)
        except UnstorableSpan as exc:
            skipped.append((where(record), str(exc)))  # type: ignore[arg-type]
    batch = builder.take()
    compressed = payload.compress_many(batch.chunks)
    missing = store_batch(conn, batch, compressed)
    touched = {row[0] for row in batch.rows} | {row[0] for row in batch.scores}
    finalize_traces(conn, touched)
    return Written(source_id, batch, sum(map(len, compressed)), missing, skipped)


def _rows(db: sqlite_utils.Database, where: str, args: tuple) -> list[ReplayRow]:
    sql = f"SELECT {_COLUMNS} FROM {REPLAYS_TABLE} WHERE {where} ORDER BY rowid"
    return [ReplayRow(*row) for row in db.execute(sql, args)]


def replay_origin(db: sqlite_utils.Database, trace_id: str) -> list[ReplayRow]:
    """The calls of a stored replay or judge trace and the recorded calls each replays (empty for a
    trace of the user's own)."""
    return _rows(db, "trace_id = ?", (trace_id,))


def replays_of(db: sqlite_utils.Database, trace_id: str, span_id: str | None = None) -> list[ReplayRow]:
    """The replays and judgements of one recorded call, or of every call of a trace, oldest first."""
    if span_id is None:
        return _rows(db, "of_trace_id = ?", (trace_id,))
    return _rows(db, "of_trace_id = ? AND of_span_id = ?", (trace_id, span_id))


def done_in_run(db: sqlite_utils.Database, run: str) -> set[tuple[str, str]]:
    """The recorded calls (trace id, span id) a run has stored a replay of: what a resumed run skips."""
    sql = f"SELECT of_trace_id, of_span_id FROM {REPLAYS_TABLE} WHERE run = ?"
    return {(trace_id, span_id) for trace_id, span_id in db.execute(sql, (run,))}
