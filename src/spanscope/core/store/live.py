"""Storing spans and log records as they arrive (from the OTLP receiver), in short transactions by one
writer; a log record joins its span whichever arrives first (store/logs.py).

A file import is one transaction for the whole file; live spans cannot wait for an end that never
comes, so the sink commits what it has every `FLUSH_S` seconds (or every BATCH_SPANS spans), each
commit finalizing the traces it touched. Views see new spans within a second. Spans wait in a
bounded buffer while the store is busy (another import holding the write lock); when it is full,
`submit` says so and the receiver asks the sender to retry, so nothing accepted is ever dropped.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from spanscope.core.model import LogRecord, Span
from spanscope.core.pricing.prices import SpanPricer, user_price_book
from spanscope.core.store import payload
from spanscope.core.store.batches import BATCH_SPANS, BatchBuilder, store_batch
from spanscope.core.store.db import connect
from spanscope.core.store.finalize import finalize_traces

FLUSH_S = 0.25
#: How long one attempt waits for the write lock; the sink then says "busy" and tries again.
BUSY_WAIT_MS = 200
#: Spans held while the store is busy before senders are asked to retry.
MAX_PENDING_SPANS = 500_000


@dataclass(frozen=True, slots=True)
class SinkStats:
    spans_received: int
    spans_stored: int
    #: Spans that could not be stored at all (a bug, not a busy store); last_error says why.
    spans_failed: int
    pending: int
    last_error: str | None


class SpanSink:
    """Accepts spans and log records from any thread; one writer thread stores them. `close()` stores
    what is left. Counts are of records of either kind."""

    def __init__(self, db_path: Path, label: str) -> None:
        self.db_path = Path(db_path)
        self.label = label
        self._lock = threading.Lock()
        self._pending: list[Span | LogRecord] = []
        self._wake = threading.Event()
        self._closing = False
        self._received = self._stored = self._failed = 0
        self._last_error: str | None = None
        # Opened here so a bad store fails the caller at once, not the writer thread later.
        self._db = connect(self.db_path)
        self._db.conn.execute(f"PRAGMA busy_timeout = {BUSY_WAIT_MS}")
        self._give_up = threading.Event()
        self._source_id = self._add_source()
        self._price = SpanPricer(user_price_book())
        self._thread = threading.Thread(target=self._run, name="spanscope-live-writer", daemon=True)
        self._thread.start()

    def submit(self, spans: Sequence[Span] | Sequence[LogRecord]) -> bool:
        """Queue spans (or log records) for storing; False (nothing queued) when the buffer is full."""
        with self._lock:
            if self._closing:
                raise RuntimeError("the span sink is closed")
            if len(self._pending) + len(spans) > MAX_PENDING_SPANS:
                return False
            self._pending.extend(spans)
            self._received += len(spans)
        if len(self._pending) >= BATCH_SPANS:
            self._wake.set()
        return True

    def stats(self) -> SinkStats:
        with self._lock:
            return SinkStats(self._received, self._stored, self._failed, len(self._pending), self._last_error)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything submitted so far is stored; False if that took too long."""
        deadline = time.monotonic() + timeout
        self._wake.set()
        while time.monotonic() < deadline:
            with self._lock:
                if self._stored + self._failed >= self._received:
                    return True
            time.sleep(0.01)
        return False

    def close(self, timeout: float = 30.0) -> None:
        """Store what is pending and stop; spans the store would not take in time count as failed."""
        with self._lock:
            self._closing = True
        self._wake.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._give_up.set()
            self._thread.join()
        self._db.conn.close()

    # --- the writer thread --------------------------------------------------------------------

    def _add_source(self) -> int:
        now = datetime.now(UTC)
        with self._db.conn:
            cur = self._db.conn.execute(
                "INSERT INTO sources (path, format, size, mtime_ns, imported_at, span_count, skipped) "
                "VALUES (?, 'otlp-http', 0, ?, ?, 0, 0)",
                (self.label, time.time_ns(), now.isoformat(timespec="seconds")),
            )
        return cur.lastrowid

    def _run(self) -> None:
        while True:
            self._wake.wait(FLUSH_S)
            self._wake.clear()
            with self._lock:
                spans, self._pending = self._pending, []
                closing = self._closing
            if spans:
                self._store(spans)
            if closing:
                with self._lock:
                    if self._give_up.is_set():
                        self._failed += len(self._pending)
                        self._last_error = f"{len(self._pending)} spans not stored: the store stayed busy"
                        self._pending = []
                    if not self._pending:
                        return

    def _store(self, spans: list[Span | LogRecord]) -> None:
        """Store spans in one transaction; if the store stays busy they go back to wait."""
        conn = self._db.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                next_chunk = (conn.execute("SELECT max(id) FROM chunks").fetchone()[0] or 0) + 1
                builder = BatchBuilder(self._source_id, next_chunk, self._price)
                for span in spans:
                    builder.add(span)
                batch = builder.take()
                store_batch(conn, batch, payload.compress_many(batch.chunks))
                finalize_traces(conn, {row[0] for row in batch.rows})
                conn.execute(
                    "UPDATE sources SET span_count = span_count + ? WHERE id = ?",
                    (len(batch.rows), self._source_id),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as exc:
            # Busy or locked: nothing was written; keep the spans, in order, for the next round.
            with self._lock:
                self._pending[:0] = spans
                self._last_error = f"store busy, will retry: {exc}"
            self._give_up.wait(FLUSH_S)
            return
        except Exception as exc:  # a span the store cannot take: report it, keep serving
            with self._lock:
                self._failed += len(spans)
                self._last_error = f"{len(spans)} spans could not be stored: {exc!r}"
            return
        with self._lock:
            self._stored += len(spans)
            self._last_error = None
