"""Storing spans and log records as they arrive (from the OTLP receiver): `store()` returns once they
are committed, so a receiver answers 200 only for records that are in the store.

The callers take turns as the writer (group commit): the one whose turn it is commits, in one
transaction, the records of every caller waiting then, while the records of later ones gather for
the next turn. A lone sender's request is thus written on its own thread, with no hand-over to a
writer thread and back (a fifth of the time of a request, measured on a busy machine). Each commit
finalizes the traces it touched, so views see new spans at once. Committed means in the store's
write-ahead log, which survives the process being killed at any point (and, as for imports,
`synchronous = NORMAL`: not a power cut right after).

What the store cannot take is said, never dropped in silence:
- a record the store refuses (a value out of SQLite's range, say) is rejected alone, named by its ids,
  and the rest of its request and group are stored (the group is split in halves until it is found);
- when the store cannot be written at all (disk full, read-only, an I/O error) or stays locked by
  another writer past the caller's deadline, `store()` raises StoreUnavailable and none of the
  caller's records is stored, so a sender told to retry never finds half of them there.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from spanscope.core.model import LogRecord, Span
from spanscope.core.pricing.prices import SpanPricer, user_price_book
from spanscope.core.store import payload
from spanscope.core.store.batches import BatchBuilder, store_batch
from spanscope.core.store.db import StoreError, connect
from spanscope.core.store.finalize import finalize_traces

#: How long one attempt waits for another writer's lock before the group is tried again.
BUSY_WAIT_MS = 200
#: How long `store()` waits by default before answering that the store is unavailable.
STORE_DEADLINE_S = 5.0
#: Records committed in one transaction at most (whole requests up to this): in a burst of many
#: requests at once, the first are answered after one such commit, not after all of them.
GROUP_RECORDS = 4096

#: SQLite's primary result codes that mean another connection holds the store.
_BUSY_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})
#: Codes that mean the store cannot be written now, whatever the records are.
_UNWRITABLE_CODES = frozenset(
    {
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_CORRUPT,
        sqlite3.SQLITE_NOTADB,
        sqlite3.SQLITE_PERM,
        sqlite3.SQLITE_NOMEM,
    }
)

Record = Span | LogRecord
_STOPPED = "the receiver stopped before the store could take them"


class StoreUnavailable(Exception):
    """The store cannot take records now (the message says why); none of the caller's was stored."""


@dataclass(frozen=True, slots=True)
class Receipt:
    """What became of one caller's records: how many are stored, and why each other one is not."""

    stored: int
    rejected: list[str]


@dataclass(frozen=True, slots=True)
class SinkStats:
    spans_stored: int
    logs_stored: int
    #: Distinct traces that received spans.
    traces: int
    #: Why the last write failed, until a write succeeds again.
    last_error: str | None


@dataclass(eq=False, slots=True)
class _Ticket:
    """One caller's records on their way to the store."""

    records: Sequence[Record]
    done: threading.Event = field(default_factory=threading.Event)
    in_flight: bool = False
    rejected: list[str] = field(default_factory=list)
    error: str | None = None


class SpanSink:
    """Stores spans and log records for callers on any thread, one writing at a time."""

    def __init__(self, db_path: Path, label: str) -> None:
        self.db_path = Path(db_path)
        self.label = label
        self._lock = threading.Lock()
        #: Tickets waiting for a writer, insertion-ordered: requests in arrival order.
        self._pending: dict[_Ticket, None] = {}
        #: Notified whenever a turn ends: waiting callers check their ticket, or take the next turn.
        self._turn_over = threading.Condition(self._lock)
        self._writing = self._closing = self._stopping = False
        self._spans = self._logs = 0
        self._traces: set[str] = set()
        self._last_error: str | None = None
        # Opened here so a bad store fails the caller at once, not a request later.
        self._db = connect(self.db_path)
        self._db.conn.execute(f"PRAGMA busy_timeout = {BUSY_WAIT_MS}")
        try:
            self._source_id = self._add_source()
        except sqlite3.Error as exc:  # a read-only store, a full disk
            self._db.conn.close()
            raise StoreError(f"{self.db_path}: cannot write to the store: {exc}") from exc
        self._price = SpanPricer(user_price_book())

    def store(self, records: Sequence[Record], deadline_s: float | None = None) -> Receipt:
        """Commit `records` and say which the store refused; raises StoreUnavailable (none stored)
        when it cannot be written, stays locked for `deadline_s` (STORE_DEADLINE_S), or the sink is
        closing."""
        if not records:
            return Receipt(0, [])
        deadline_s = STORE_DEADLINE_S if deadline_s is None else deadline_s
        deadline = time.monotonic() + deadline_s
        ticket = _Ticket(records)
        with self._lock:
            if self._closing:
                raise StoreUnavailable("the receiver is stopping")
            self._pending[ticket] = None
        while not ticket.done.is_set():
            group = self._wait_for_turn(ticket, deadline, deadline_s)
            if group:
                self._take_turn(group)
        if ticket.error is not None:
            raise StoreUnavailable(ticket.error)
        return Receipt(len(records) - len(ticket.rejected), ticket.rejected)

    def _wait_for_turn(self, ticket: _Ticket, deadline: float, deadline_s: float) -> list[_Ticket]:
        """Wait until the ticket is done (then []) or no one writes (then the group to write, which
        starts with the oldest waiting ticket). Past the deadline a ticket not being written is
        withdrawn: StoreUnavailable."""
        with self._lock:
            while not ticket.done.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0 and not ticket.in_flight:
                    del self._pending[ticket]
                    raise StoreUnavailable(f"the store stayed locked by another writer for {deadline_s:g} s")
                if not self._writing:
                    self._writing = True
                    return self._take_group()
                # Being written when past the deadline: that attempt ends within BUSY_WAIT_MS.
                self._turn_over.wait(remaining if remaining > 0 else BUSY_WAIT_MS / 1000)
            return []

    def _take_turn(self, group: list[_Ticket]) -> None:
        """Write `group` and end the turn; every ticket of it is then done or back in the queue."""
        try:
            self._write(group)
        except sqlite3.Error as exc:
            with self._lock:
                self._last_error = str(exc)
                if not _is_busy(exc):
                    self._fail(group, f"the store cannot be written: {exc}")
                elif self._stopping:
                    self._fail(group, _STOPPED)
                else:  # back in front, in order, for the next turn (which waits BUSY_WAIT_MS for the lock)
                    for ticket in group:
                        ticket.in_flight = False
                    self._pending = dict.fromkeys([*group, *self._pending])
                    self._last_error = f"the store is locked by another writer: {exc}"
        except BaseException as exc:  # a bug: answered (500-like), never a caller left waiting
            with self._lock:
                self._last_error = f"{type(exc).__name__}: {exc}"
                self._fail(group, f"the receiver failed to store them: {self._last_error}")
            if not isinstance(exc, Exception):
                raise
        finally:
            with self._lock:
                self._writing = False
                self._turn_over.notify_all()

    def stats(self) -> SinkStats:
        with self._lock:
            return SinkStats(self._spans, self._logs, len(self._traces), self._last_error)

    def close(self, timeout: float = STORE_DEADLINE_S) -> None:
        """Refuse new records, let the callers waiting store theirs for up to `timeout` seconds, then
        tell those still waiting that the store is unavailable, and close the store."""
        deadline = time.monotonic() + timeout
        with self._lock:
            self._closing = True
            while (self._pending or self._writing) and (remaining := deadline - time.monotonic()) > 0:
                self._turn_over.wait(remaining)
            self._stopping = True
            self._fail(list(self._pending), _STOPPED)
            self._pending.clear()
            self._turn_over.notify_all()
            while self._writing:  # one attempt, bounded by BUSY_WAIT_MS
                self._turn_over.wait()
        self._db.conn.close()

    # --- writing --------------------------------------------------------------------------------

    def _add_source(self) -> int:
        now = datetime.now(UTC)
        with self._db.conn:
            cur = self._db.conn.execute(
                "INSERT INTO sources (path, format, size, mtime_ns, imported_at, span_count, skipped) "
                "VALUES (?, 'otlp-http', 0, ?, ?, 0, 0)",
                (self.label, time.time_ns(), now.isoformat(timespec="seconds")),
            )
        return cur.lastrowid

    def _take_group(self) -> list[_Ticket]:
        """Whole requests in arrival order, up to GROUP_RECORDS records (at least one request); the
        lock held."""
        group: list[_Ticket] = []
        size = 0
        for ticket in self._pending:
            if group and size + len(ticket.records) > GROUP_RECORDS:
                break
            group.append(ticket)
            size += len(ticket.records)
        for ticket in group:
            del self._pending[ticket]
            ticket.in_flight = True
        return group

    def _fail(self, tickets: list[_Ticket], reason: str) -> None:
        """Answer `tickets` with `reason`; the lock held."""
        for ticket in tickets:
            ticket.error = reason
            ticket.done.set()

    def _write(self, group: list[_Ticket]) -> None:
        """Commit the group's records in one transaction, leaving out (and naming) any the store refuses."""
        records = [record for ticket in group for record in ticket.records]
        owners = [ticket for ticket in group for _ in ticket.records]
        conn = self._db.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            refused = self._insert_splitting(conn, records, 0)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # SQLite itself rolls back on some errors (a full disk)
                conn.execute("ROLLBACK")
            raise
        refused_at = {index for index, _ in refused}
        for index, reason in refused:
            owners[index].rejected.append(reason)
        spans = [r for i, r in enumerate(records) if i not in refused_at and isinstance(r, Span)]
        with self._lock:
            self._spans += len(spans)
            self._logs += len(records) - len(refused) - len(spans)
            self._traces.update(span.trace_id for span in spans)
            self._last_error = None
            for ticket in group:
                ticket.done.set()

    def _insert_splitting(
        self, conn: sqlite3.Connection, records: list[Record], first: int
    ) -> list[tuple[int, str]]:
        """Insert `records` (numbered from `first` in the group) within a savepoint; if the store refuses
        them, insert each half the same way, down to the single records it refuses. Returns those, by
        index, with the reason."""
        conn.execute("SAVEPOINT records")
        try:
            self._insert(conn, records)
        except Exception as exc:
            if isinstance(exc, sqlite3.Error) and (_is_busy(exc) or _code(exc) in _UNWRITABLE_CODES):
                raise  # not the records' fault: the whole group fails
            refused_by = exc
        else:
            conn.execute("RELEASE records")
            return []
        conn.execute("ROLLBACK TO records")
        conn.execute("RELEASE records")
        if len(records) == 1:
            return [(first, f"{_described(records[0])}: the store refused it: {refused_by}")]
        half = len(records) // 2
        return self._insert_splitting(conn, records[:half], first) + self._insert_splitting(
            conn, records[half:], first + half
        )

    def _insert(self, conn: sqlite3.Connection, records: list[Record]) -> None:
        next_chunk = (conn.execute("SELECT max(id) FROM chunks").fetchone()[0] or 0) + 1
        builder = BatchBuilder(self._source_id, next_chunk, self._price)
        for record in records:
            builder.add(record)
        batch = builder.take()
        store_batch(conn, batch, payload.compress_many(batch.chunks))
        finalize_traces(conn, {row[0] for row in batch.rows})
        conn.execute(
            "UPDATE sources SET span_count = span_count + ? WHERE id = ?", (len(batch.rows), self._source_id)
        )


def _code(exc: sqlite3.Error) -> int | None:
    """SQLite's primary result code of an error (None for errors raised by Python's module)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


def _is_busy(exc: sqlite3.Error) -> bool:
    return _code(exc) in _BUSY_CODES


def _described(record: Record) -> str:
    """A record as its sender can find it: its ids (and a span's name)."""
    if isinstance(record, Span):
        return f"span {record.span_id} of trace {record.trace_id} ({record.name!r})"
    return f"log record of trace {record.trace_id} span {record.span_id}"
