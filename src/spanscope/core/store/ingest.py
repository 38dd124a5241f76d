"""Importing trace files into the store: one transaction per file, cancellable, with progress.

The calling thread parses (format reader + semantic conventions) and packs payload chunks; a
compressor thread compresses them and a writer thread with its own connection inserts rows and
finalizes traces, so all three overlap. Compression and SQLite run without Python's lock, so the
two helpers use whatever CPU the parser leaves. Every call that releases the lock must wait for the
parser to hand it back, so both make few, large calls: one compression call and a few multi-row
statements per batch.
The writer commits its first batch at once and then every COMMIT_INTERVAL_S, so views (reading
through connections of their own) show the file's traces while it is read. Until the end the source
is marked as importing; an import that is cancelled, fails or whose process dies is undone
(store/undo.py), which leaves the store exactly as it was.
"""

from __future__ import annotations

import contextlib
import queue
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from spanscope.core.formats import FormatError, Problem, Source
from spanscope.core.formats.registry import detect
from spanscope.core.interpreter import paused_gc
from spanscope.core.model import LogRecord, ScoreFor
from spanscope.core.pricing.prices import SpanPricer, user_price_book
from spanscope.core.store import payload
from spanscope.core.store.batches import Batch, BatchBuilder, Record, store_batch, where
from spanscope.core.store.db import connect, store_errors
from spanscope.core.store.finalize import finalize_traces
from spanscope.core.store.logs import log_counts
from spanscope.core.store.schema import WRITTEN_SPAN_COLUMNS
from spanscope.core.store.storable import UnstorableSpan
from spanscope.core.store.undo import (
    ImportLock,
    finish_importing,
    mark_importing,
    undo_abandoned,
    undo_import,
)

QUEUE_BATCHES = 4
#: Seconds between the writer's commits after the first batch's, which it commits at once.
COMMIT_INTERVAL_S = 1.5
_CHUNK_COLUMN = WRITTEN_SPAN_COLUMNS.index("payload_chunk")


class Outcome(StrEnum):
    IMPORTED = "imported"
    ALREADY = "already imported"
    FAILED = "failed"
    CANCELLED = "cancelled"
    #: Not read: a file in a folder that no format claims (formats/folders.py).
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class ImportProgress:
    path: Path
    bytes_done: int
    bytes_total: int
    spans: int
    #: Spans committed so far (views show them); 0 until the first commit.
    stored: int = 0


@dataclass
class ImportState:
    """Progress reporting and cancellation for a running import, free of any UI toolkit."""

    on_progress: Callable[[ImportProgress], None] | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event)

    #: Spans read so far by the running import.
    spans_read: int = 0
    #: Spans of the running import committed so far: what views of the store can show of it.
    spans_stored: int = 0
    _last: tuple[Path, int, int] | None = None

    def cancel(self) -> None:
        self.cancel_event.set()

    def report(self, path: Path, bytes_done: int, bytes_total: int) -> None:
        self._last = (path, bytes_done, bytes_total)
        if self.on_progress is not None:
            self.on_progress(
                ImportProgress(path, bytes_done, bytes_total, self.spans_read, self.spans_stored)
            )

    def stored(self, spans: int) -> None:
        """The writer committed: `spans` of the import's spans are in the store, visible to views."""
        self.spans_stored = spans
        if self._last is not None:
            self.report(*self._last)

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()


@dataclass
class FileResult:
    path: Path
    outcome: Outcome
    format: str | None = None
    spans_read: int = 0
    spans_added: int = 0
    #: Scores read apart from their spans (ScoreFor records), and scores this import stored.
    scores_read: int = 0
    scores_added: int = 0
    #: OTLP log records read, kept (new to the store), and kept but of no stored span yet.
    logs_read: int = 0
    logs_added: int = 0
    logs_waiting: int = 0
    traces: int = 0
    problems: list[Problem] = field(default_factory=list)
    error: str | None = None

    @property
    def scores_only(self) -> bool:
        """A file of scores or feedback only, whose figures are scores rather than spans."""
        return self.spans_read == 0 and self.scores_read > 0

    @property
    def logs_only(self) -> bool:
        """A file of log records only (OTLP logs), whose figures are records rather than spans."""
        return self.spans_read == 0 and self.logs_read > 0


class _Cancelled(Exception):
    pass


class _WriterFailed(Exception):
    """The writer thread stopped; its own error is reported instead of this one."""


class _NothingPlaced(Exception):
    """A file of scores none of which rates a stored span: nothing is kept, not even the record
    that the file was imported, so it can be imported again once its spans are."""


@dataclass(frozen=True, slots=True)
class _Done:
    """The last message to the writer: commit, recording these counts on the source row."""

    spans_read: int
    skipped: int
    logs_read: int = 0


class _Writer(threading.Thread):
    """Owns the write connection for one import; batches arrive on a bounded queue. Commits as it
    goes (COMMIT_INTERVAL_S), saving what it changes of the spans stored before it, and undoes the
    import unless it ends with the parser's last message."""

    CANCEL = object()

    def __init__(self, db_path: Path, source: dict, state: ImportState) -> None:
        super().__init__(name="spanscope-import-writer", daemon=True)
        self.db_path = db_path
        self.source = source
        self.state = state
        self.batches: queue.Queue = queue.Queue(maxsize=QUEUE_BATCHES)
        self.source_id: int | None = None
        #: The first span and chunk ids this import may write (undo.mark_importing).
        self.first_span = self.first_chunk = 0
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.spans_added = 0
        self.scores_added = 0
        self.logs_added = self.logs_waiting = 0
        self.traces = 0
        #: Score rows whose span is in neither the file nor the store.
        self.unplaced: list[tuple] = []
        #: Records stored changed or skipped for a value the store cannot hold: (where, reason).
        self.problems: list[tuple[str, str]] = []
        self._got_last_message = False
        #: Added to the chunk ids the parser gave, once another writer took some of them.
        self._chunk_shift = 0
        self._stored = 0

    def run(self) -> None:
        db = lock = None
        try:
            db = connect(self.db_path)
            conn = db.conn
            lock = self._begin(conn)
            try:
                self._write_all(conn)
                finish_importing(conn, self.source_id)
                lock.release()
                conn.execute("COMMIT")
            except BaseException:
                self._undo(conn, lock)
                raise
        except BaseException as exc:  # reported to the parsing thread, never lost
            self.error = exc
            self.ready.set()
            self._drain()
        finally:
            if lock is not None:
                lock.release()
            if db is not None:
                db.conn.close()

    def _begin(self, conn: sqlite3.Connection) -> ImportLock:
        """Add the source, marked as importing and locked by this process, in a commit of its own."""
        conn.execute("BEGIN IMMEDIATE")
        lock = None
        try:
            cur = conn.execute(
                "INSERT INTO sources (path, format, size, mtime_ns, imported_at, span_count, skipped) "
                "VALUES (:path, :format, :size, :mtime_ns, :imported_at, 0, 0)",
                self.source,
            )
            self.source_id = cur.lastrowid
            lock = ImportLock(self.db_path, self.source_id)
            lock.acquire(wait=True)
            self.first_span, self.first_chunk, _ = mark_importing(conn, self.source_id)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            if lock is not None:
                lock.release()
            raise
        self.ready.set()
        return lock

    def _undo(self, conn: sqlite3.Connection, lock: ImportLock) -> None:
        """Roll back what is not committed, then undo what is, in one transaction."""
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        conn.execute("BEGIN IMMEDIATE")
        try:
            undo_import(conn, self.source_id)
            lock.release()
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _write_all(self, conn: sqlite3.Connection) -> None:
        # A trace is finalized once a batch arrives without it, so the work overlaps with parsing;
        # one seen again later is simply finalized again.
        pending: set[str] = set()
        touched: set[str] = set()
        committed_at = None
        while True:
            try:
                # Never hold the write lock idle: a parser that pauses lets others write meanwhile.
                message = self.batches.get(timeout=COMMIT_INTERVAL_S if conn.in_transaction else None)
            except queue.Empty:
                committed_at = self._commit(conn, pending)
                continue
            if isinstance(message, _Done):
                break
            if message is self.CANCEL:
                self._got_last_message = True
                raise _Cancelled
            if not conn.in_transaction:
                conn.execute("BEGIN IMMEDIATE")
            batch, compressed = message
            self._claim_chunks(conn, batch)
            self.unplaced += store_batch(conn, batch, compressed.result())
            self.problems += batch.problems
            self._stored += len(batch.rows)
            in_batch = {r[0] for r in batch.rows} | {r[0] for r in batch.scores}
            if settled := pending - in_batch:
                finalize_traces(conn, settled)
            pending = in_batch
            touched |= in_batch
            if committed_at is None or time.monotonic() - committed_at >= COMMIT_INTERVAL_S:
                committed_at = self._commit(conn, pending)
        self._got_last_message = True
        if not conn.in_transaction:
            conn.execute("BEGIN IMMEDIATE")
        if self.unplaced and not touched:
            raise _NothingPlaced
        added = conn.execute(
            "SELECT count(*) FROM spans WHERE id >= ? AND source_id = ?", (self.first_span, self.source_id)
        )
        self.spans_added = added.fetchone()[0]
        scored = conn.execute("SELECT count(*) FROM scores WHERE source_id = ?", (self.source_id,))
        self.scores_added = scored.fetchone()[0]
        self.logs_added, self.logs_waiting = log_counts(conn, self.source_id)
        if self.spans_added < message.spans_read:
            # Spans already stored were ignored; drop chunks that only they would have used.
            conn.execute(
                "DELETE FROM chunks WHERE id >= ?1 AND id NOT IN "
                "(SELECT payload_chunk FROM spans WHERE payload_chunk >= ?1)",
                (self.first_chunk,),
            )
        finalize_traces(conn, pending)
        self.traces = len(touched)
        conn.execute(
            "UPDATE sources SET span_count = ?, skipped = ? WHERE id = ?",
            (message.spans_read or message.logs_read, message.skipped, self.source_id),
        )

    def _commit(self, conn: sqlite3.Connection, pending: set[str]) -> float:
        """Finalize the `pending` traces (emptied) and commit, so views show what is stored so far
        and another writer, such as the receiver, may write until the next batch; returns when."""
        finalize_traces(conn, pending)
        pending.clear()
        conn.execute("COMMIT")
        self.state.stored(self._stored)
        return time.monotonic()

    def _claim_chunks(self, conn: sqlite3.Connection, batch: Batch) -> None:
        """Number the batch's chunks past any another writer stored between this import's commits
        (the parser numbered them from the first free id when the import began)."""
        first_free = (conn.execute("SELECT max(id) FROM chunks").fetchone()[0] or 0) + 1
        self._chunk_shift = max(self._chunk_shift, first_free - batch.first_chunk)
        if self._chunk_shift:
            shift, at = self._chunk_shift, _CHUNK_COLUMN
            batch.first_chunk += shift
            batch.rows = [(*r[:at], r[at] + shift, *r[at + 1 :]) for r in batch.rows]

    def _drain(self) -> None:
        """Keep taking batches until the parser's last message, so it never blocks on a full queue."""
        while not self._got_last_message:
            item = self.batches.get()
            self._got_last_message = item is self.CANCEL or isinstance(item, _Done)


def _already_imported(db_path: Path, key: dict) -> bool:
    """Whether the file is in the store (imports whose process died undone first); StoreError naming
    the store when it cannot be read (a damaged file), which no file imported into it could change."""
    db = connect(db_path)
    try:
        with store_errors(db_path):
            undo_abandoned(db.conn, db_path)
            row = db.execute(
                "SELECT 1 FROM sources WHERE path = ? AND size = ? AND mtime_ns = ?",
                (key["path"], key["size"], key["mtime_ns"]),
            ).fetchone()
    finally:
        db.conn.close()
    return row is not None


def import_file(db_path: Path, path: Path, state: ImportState | None = None) -> FileResult:
    """Import one file into the store at `db_path`; never raises for bad input. StoreError when the
    store itself cannot be opened or read (not a store, damaged)."""
    state = state or ImportState()
    state.spans_read = state.spans_stored = 0
    path = Path(path)
    source = Source(path)
    try:
        fmt = detect(source)
        stat = path.stat()
    except (FormatError, OSError) as exc:
        message = str(exc) if isinstance(exc, FormatError) else f"{path}: cannot read: {exc.strerror or exc}"
        return FileResult(path, Outcome.FAILED, error=message)
    key = {
        "path": str(path.resolve()),
        "format": fmt.name,
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "imported_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    result = FileResult(path, Outcome.IMPORTED, format=fmt.name, problems=source.problems)
    if _already_imported(db_path, key):
        result.outcome = Outcome.ALREADY
        return result
    writer = _Writer(db_path, key, state)
    writer.start()
    writer.ready.wait()
    read_all = False
    compressor = ThreadPoolExecutor(1, thread_name_prefix="spanscope-import-compressor")
    try:
        spans = fmt.read(source, lambda done: state.report(path, done, stat.st_size))
        with _parsing_mode():
            counts = _feed(writer, compressor, spans, state, source.skip)
            result.spans_read, result.scores_read, result.logs_read = counts
        read_all = True
    except FormatError as exc:
        result.outcome, result.error = Outcome.FAILED, str(exc)
    except _Cancelled:
        result.outcome = Outcome.CANCELLED
    except _WriterFailed:
        result.outcome = Outcome.FAILED
    except Exception as exc:  # a reader bug must not take the app down; the store stays as it was
        result.outcome, result.error = Outcome.FAILED, f"{path}: internal error while reading: {exc!r}"
    finally:
        # Only a file read to its end stays; anything else, Ctrl+C included, is undone.
        ok = read_all and result.outcome is Outcome.IMPORTED
        done = _Done(result.spans_read, len(source.problems), result.logs_read)
        writer.batches.put(done if ok else writer.CANCEL)
        writer.join()
        compressor.shutdown(cancel_futures=True)
    result.problems += [Problem(str(path), where, reason) for where, reason in writer.problems]
    result.problems += [_unplaced_problem(source, row) for row in writer.unplaced]
    if isinstance(writer.error, _NothingPlaced):
        result.outcome, result.error = Outcome.FAILED, _nothing_placed(path, writer.unplaced)
    elif writer.error is not None and not isinstance(writer.error, _Cancelled):
        result.outcome, result.error = Outcome.FAILED, f"{path}: could not store: {writer.error}"
    if result.outcome is Outcome.IMPORTED:
        result.spans_added, result.traces = writer.spans_added, writer.traces
        result.scores_added = writer.scores_added
        result.logs_added, result.logs_waiting = writer.logs_added, writer.logs_waiting
        state.spans_read = result.spans_read
        state.report(path, stat.st_size, stat.st_size)
    return result


def _unplaced_problem(source: Source, row: tuple) -> Problem:
    """A score (row in SCORE_COLUMNS order) whose span is in neither the file nor the store."""
    name, key, span_id = row[2], row[7], row[1]
    where = f"score {name!r}" + (f" ({key})" if key else "")
    return Problem(
        str(source.path),
        where,
        f"rates span (run) {span_id}, which is not in the store; import the file holding it first",
    )


def _nothing_placed(path: Path, unplaced: list[tuple]) -> str:
    return (
        f"{path}: none of its {len(unplaced):,} scores rates a span in the store (e.g. span (run) "
        f"{unplaced[0][1]}); import the file holding their spans first, then this file"
    )


#: While importing, a thread waiting for Python's lock gets it within this many seconds.
SWITCH_INTERVAL_S = 0.0002


@contextlib.contextmanager
def _parsing_mode() -> Iterator[None]:
    """Tune the interpreter for the parse-and-write pipeline, and restore it afterwards.

    The cycle collector is paused (see paused_gc). Thread switches are made eager: the writer
    releases Python's lock for each compression and statement, and by default waits up to 5 ms to
    get it back from the parser each time (measured: 2.38 s -> 1.91 s).
    """
    interval = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    try:
        with paused_gc():
            yield
    finally:
        sys.setswitchinterval(interval)


def _feed(
    writer: _Writer,
    compressor: ThreadPoolExecutor,
    records: Iterable[Record],
    state: ImportState,
    skip: Callable[[str, str], None],
) -> tuple[int, int, int]:
    """Turn spans, scores and log records into batches for the writer, each compressed on the way;
    returns the spans, the ScoreFor records and the log records read (a span the store cannot hold
    is passed to `skip` instead)."""
    builder = BatchBuilder(writer.source_id, writer.first_chunk, SpanPricer(user_price_book()))
    count = scores = logs = 0

    def send() -> None:
        if state.cancelled:
            raise _Cancelled
        if writer.error is not None:
            raise _WriterFailed
        batch = builder.take()
        compressed: Future[list[bytes]] = compressor.submit(payload.compress_many, batch.chunks)
        writer.batches.put((batch, compressed))
        state.spans_read = count

    for record in records:
        try:
            builder.add(record)
        except UnstorableSpan as exc:
            skip(where(record), str(exc))  # type: ignore[arg-type]
            continue
        if isinstance(record, ScoreFor):
            scores += 1
        elif isinstance(record, LogRecord):
            logs += 1
        else:
            count += 1
        if builder.full():
            send()
    if not builder.empty():
        send()
    return count, scores, logs


def import_files(db_path: Path, paths: Iterable[Path], state: ImportState | None = None) -> list[FileResult]:
    """Import each file in turn, each in its own transaction; stops early only when cancelled."""
    state = state or ImportState()
    results = []
    for path in paths:
        if state.cancelled:
            results.append(FileResult(Path(path), Outcome.CANCELLED))
            continue
        results.append(import_file(db_path, Path(path), state))
    return results
