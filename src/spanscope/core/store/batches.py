"""Spans, scores and log records as rows, gathered in batches and written with few statements: the
write path that file imports (ingest.py) and the live receiver's sink (live.py) share.

A batch's payload chunks are packed here and compressed by the caller (off Python's lock), then
`store_batch` inserts chunks, spans, scores and log records in the caller's transaction.

A value the store cannot hold never fails a batch (storable.py): the span is stored without it or
skipped alone, and the batch's `problems` say which and why.
"""

from __future__ import annotations

import functools
import sqlite3
from dataclasses import dataclass, field
from itertools import chain

from spanscope.core.model import Kind, LogRecord, Score, ScoreFor, Span, Status
from spanscope.core.pricing.prices import SpanPricer
from spanscope.core.store import payload
from spanscope.core.store.documents import document
from spanscope.core.store.logs import log_row, stored_rows
from spanscope.core.store.schema import (
    LOG_COLUMNS,
    REPLAY_COLUMNS,
    REPLAYS_TABLE,
    SCORE_COLUMNS,
    WRITTEN_SPAN_COLUMNS,
)
from spanscope.core.store.storable import (
    fit_log,
    fit_span,
    note_problems,
    packable,
    storable_row,
    summarized,
)

#: Rows (spans, scores, log records) gathered before a batch is handed on.
BATCH_SPANS = 2000
#: What readers yield (formats/base.py).
Record = Span | ScoreFor | LogRecord
#: A record stored changed or not stored: (where, reason), e.g. ("span 5fe1…", "kept: …").
Problem = tuple[str, str]
#: The bind errors of a value SQLite cannot hold (an integer beyond int64, a lone surrogate, a type).
_UNBINDABLE = (OverflowError, UnicodeEncodeError, sqlite3.ProgrammingError)

_INSERT_SPANS = f"INSERT INTO spans ({', '.join(WRITTEN_SPAN_COLUMNS)}) VALUES"
_ON_CONFLICT_SPANS = (
    "ON CONFLICT(trace_id, span_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in WRITTEN_SPAN_COLUMNS[2:])
    # A span seen again replaces the stored one only when it completes a running span.
    + " WHERE spans.end_ns IS NULL AND excluded.end_ns IS NOT NULL"
)
_INSERT_CHUNKS = "INSERT INTO chunks (id, data) VALUES"
_INSERT_SCORES = f"INSERT INTO scores ({', '.join(SCORE_COLUMNS)}) VALUES"
_SCORE_SEEN = "ON CONFLICT DO NOTHING"
_INSERT_LOGS = f"INSERT INTO logs ({', '.join(LOG_COLUMNS)}) VALUES"
_INSERT_REPLAYS = f"INSERT OR REPLACE INTO {REPLAYS_TABLE} ({', '.join(REPLAY_COLUMNS)}) VALUES"
#: The attributes of a replayed or judged call that name the recorded call (core/replay/spans.py).
REPLAY_OF = "spanscope.replay.of_trace_id", "spanscope.replay.of_span_id"

#: Enum members as plain text: sqlite3 binds a str subclass only after looking for an adapter for
#: its type, ~320 ns a value against ~60 ns for a str (Python's lock held, on the writer thread).
_PLAIN = {member: member.value for member in (*Kind, *Status)}


def span_row(span: Span, source_id: int, chunk: int, index: int, price_usd: float | None) -> tuple:
    """The span's scalar columns in WRITTEN_SPAN_COLUMNS order; `counted` starts as "is a model
    call"; `price_usd` is its cost computed from a price (SpanPricer)."""
    return (
        span.trace_id,
        span.span_id,
        span.parent_id,
        span.name,
        _PLAIN.get(span.kind, span.kind),
        span.start_ns,
        span.end_ns,
        _PLAIN.get(span.status, span.status),
        span.status_message,
        span.model,
        span.provider,
        span.input_tokens,
        span.output_tokens,
        span.total_tokens,
        span.cache_read_tokens,
        span.cache_write_tokens,
        span.reasoning_tokens,
        span.cost_usd,
        span.session_id,
        span.user_id,
        span.service,
        source_id,
        int(span.is_model_call),
        chunk,
        index,
        price_usd,
        span.ttft_ns,
    )


def score_row(trace_id: str, span_id: str, score: Score, source_id: int) -> tuple:
    """One score in SCORE_COLUMNS order; a trace-level score gets span_id ''."""
    return (
        trace_id,
        "" if score.trace_level else span_id,
        score.name,
        score.value,
        score.label,
        score.comment,
        score.source,
        score.key,
        source_id,
    )


def replay_row(span: Span, source_id: int) -> tuple | None:
    """The span's link to the call it replays or judges (REPLAY_COLUMNS), None when it has none;
    a link whose ids are not text is no link."""
    of_trace, of_span = (span.attributes.get(key) for key in REPLAY_OF)
    if type(of_trace) is not str or type(of_span) is not str:
        return None
    purpose, run = (
        span.attributes.get("spanscope.replay.purpose"),
        span.attributes.get("spanscope.replay.run"),
    )
    return (
        span.trace_id,
        span.span_id,
        of_trace,
        of_span,
        purpose if type(purpose) is str else "replay",
        run if type(run) is str else None,
        span.model,
        source_id,
    )


def score_rows(span: Span, source_id: int) -> list[tuple]:
    """The span's scores in SCORE_COLUMNS order."""
    return [score_row(span.trace_id, span.span_id, score, source_id) for score in span.scores]


def _insert_rows(
    conn: sqlite3.Connection,
    head: str,
    tail: str,
    rows: list[tuple],
    problems: list[Problem] | None = None,
    kind: RowKind | None = None,
) -> None:
    """Insert many rows with few multi-row statements rather than executemany.

    executemany releases Python's lock for every row, and while the parser holds it each row then
    waits for a thread switch: 20,000 rows took 7.5 s instead of 0.01 s beside a busy thread.
    A statement whose values cannot be bound (nothing of it is written then) is run again with them
    made storable, each change added to `problems` naming the row as its `kind` says.
    """
    if not rows:
        return
    width = len(rows[0])
    per_statement = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // width
    for start in range(0, len(rows), per_statement):
        part = rows[start : start + per_statement]
        sql = _multi_row_sql(head, tail, width, len(part))
        try:
            conn.execute(sql, list(chain.from_iterable(part)))
        except _UNBINDABLE:
            if problems is None or kind is None:
                raise
            conn.execute(sql, list(chain.from_iterable(_storable(part, problems, kind))))


@dataclass(frozen=True, slots=True)
class RowKind:
    """How a problem names a row: "`what` <second column>", and its columns by name."""

    what: str
    columns: tuple[str, ...]


_SPAN_ROWS = RowKind("span", WRITTEN_SPAN_COLUMNS)
_SCORE_ROWS = RowKind("score of span", SCORE_COLUMNS)
_LOG_ROWS = RowKind("log record of span", LOG_COLUMNS)


def _storable(rows: list[tuple], problems: list[Problem], kind: RowKind) -> list[tuple]:
    fixed = []
    for row in rows:
        row, notes = storable_row(row, kind.columns)
        problems += [(f"{kind.what} {row[1]}", f"kept: {note}") for note in summarized(notes)]
        fixed.append(row)
    return fixed


@functools.lru_cache(maxsize=16)
def _multi_row_sql(head: str, tail: str, width: int, count: int) -> str:
    row = "(" + ", ".join("?" * width) + ")"
    return f"{head} {', '.join([row] * count)} {tail}"


@dataclass(slots=True)
class Batch:
    """Consecutive spans ready to store: rows, their packed (not yet compressed) chunks from id
        `first_chunk` on, and their scores; `unplaced` are score rows that name only their span
        (trace_id None), placed by `store_batch`; `logs` are log record rows (store/logs.py); `problems`
    are the records stored changed or not stored, with why."""

    rows: list[tuple]
    first_chunk: int
    chunks: list[bytes]
    scores: list[tuple]
    unplaced: list[tuple]
    logs: list[tuple] = field(default_factory=list)
    #: Replayed and judged calls' links to their recorded calls (schema REPLAY_COLUMNS).
    replays: list[tuple] = field(default_factory=list)
    #: Records stored changed or skipped, found while building or storing the batch.
    problems: list[Problem] = field(default_factory=list)


class BatchBuilder:
    """Turns spans into rows, payload chunks and score rows, and ScoreFor records into score rows,
    numbering chunks from `next_chunk`; model calls are priced as they come (each provider, model
    and day looked up once)."""

    def __init__(self, source_id: int, next_chunk: int, price: SpanPricer) -> None:
        self.source_id = source_id
        self.next_chunk = next_chunk
        self.price = price
        self._start()

    def _start(self) -> None:
        self.rows: list[tuple] = []
        self.chunks: list[bytes] = []
        self.documents: list[dict] = []
        self.scores: list[tuple] = []
        self.unplaced: list[tuple] = []
        self.logs: list[tuple] = []
        self.replays: list[tuple] = []
        self.problems: list[Problem] = []
        self.first_chunk = self.next_chunk

    def add(self, record: Record) -> None:
        """Add one record; UnstorableSpan (nothing added) for a span the store cannot hold at all,
        which the caller reports as its own skipped or refused record."""
        if isinstance(record, ScoreFor):
            self._add_score_for(record)
            return
        if isinstance(record, LogRecord):
            self.logs.append(self._log_row(record))
            return
        span, notes = fit_span(record)
        self.rows.append(
            span_row(span, self.source_id, self.next_chunk, len(self.documents), self.price(span))
        )
        if span.scores:
            self.scores += score_rows(span, self.source_id)
        link = replay_row(span, self.source_id)
        if link is not None:
            self.replays.append(link)
        doc = document(span)
        if notes:
            doc["attributes"] = note_problems(doc["attributes"], notes)
            self.problems += [(where(span), f"kept: {note}") for note in notes]
        self.documents.append(doc)
        if len(self.documents) == payload.CHUNK_SPANS:
            self._close_chunk()

    def _log_row(self, record: LogRecord) -> tuple:
        try:
            return log_row(record, self.source_id)
        except TypeError:  # orjson cannot write a value of it
            record, notes = fit_log(record)
            where = f"log record of span {record.span_id}"
            self.problems += [(where, f"kept: {note}") for note in summarized(notes)]
            return log_row(record, self.source_id)

    def _add_score_for(self, record: ScoreFor) -> None:
        if record.trace_id is None:
            self.unplaced.append(score_row("", record.span_id or "", record.score, self.source_id))
        else:
            self.scores.append(score_row(record.trace_id, record.span_id or "", record.score, self.source_id))

    def empty(self) -> bool:
        return not (self.rows or self.scores or self.unplaced or self.logs)

    def full(self) -> bool:
        """True once the batch has BATCH_SPANS rows (spans and scores read apart from theirs) and
        ends on a chunk boundary."""
        waiting = len(self.rows) + len(self.unplaced) + len(self.scores) + len(self.logs)
        return waiting >= BATCH_SPANS and not self.documents

    def take(self) -> Batch:
        """The spans added since the last take, as one batch (a partly filled chunk is closed)."""
        if self.documents:
            self._close_chunk()
        batch = Batch(
            self.rows,
            self.first_chunk,
            self.chunks,
            self.scores,
            self.unplaced,
            self.logs,
            self.replays,
            self.problems,
        )
        self._start()
        return batch

    def _close_chunk(self) -> None:
        try:
            packed = payload.pack(self.documents)
        except TypeError:  # orjson cannot write a value of some document
            spans = self.rows[len(self.rows) - len(self.documents) :]
            packed = payload.pack(
                [self._packable(doc, row) for doc, row in zip(self.documents, spans, strict=True)]
            )
        self.chunks.append(packed)
        self.documents = []
        self.next_chunk += 1

    def _packable(self, doc: dict, row: tuple) -> dict:
        """The document with what orjson cannot write kept as text, and a note of each in it."""
        notes: list[str] = []
        fixed = {key: packable(value, key, notes) for key, value in doc.items()}
        if notes:
            notes = summarized(notes)
            fixed["attributes"] = note_problems(fixed.get("attributes") or {}, notes)
            self.problems += [(f"span {row[1]} ({str(row[3])[:80]!r})", f"kept: {note}") for note in notes]
        return fixed


def where(span: Span) -> str:
    """A span as a problem names it: its id and (the start of) its name."""
    return f"span {span.span_id} ({str(span.name)[:80]!r})"


def store_batch(conn: sqlite3.Connection, batch: Batch, compressed: list[bytes]) -> list[tuple]:
    """Insert one batch (its chunks already compressed) in the caller's transaction. Its unplaced
    scores join `batch.scores` once their span is found; returns those whose span is not stored.
    Values SQLite cannot bind are made storable, each change added to `batch.problems`."""
    chunk_rows = list(
        zip(range(batch.first_chunk, batch.first_chunk + len(compressed)), compressed, strict=True)
    )
    _insert_rows(conn, _INSERT_CHUNKS, "", chunk_rows)
    _insert_rows(conn, _INSERT_SPANS, _ON_CONFLICT_SPANS, batch.rows, batch.problems, _SPAN_ROWS)
    placed, missing = _place(conn, batch.unplaced)
    batch.scores += placed
    _insert_rows(conn, _INSERT_SCORES, _SCORE_SEEN, batch.scores, batch.problems, _SCORE_ROWS)
    _insert_rows(conn, _INSERT_LOGS, _SCORE_SEEN, stored_rows(batch.logs), batch.problems, _LOG_ROWS)
    _insert_rows(conn, _INSERT_REPLAYS, "", batch.replays)
    return missing


#: Span ids looked up per statement when placing scores (below SQLite's variable limit).
_PLACE_PER_STATEMENT = 500


def _place(conn: sqlite3.Connection, rows: list[tuple]) -> tuple[list[tuple], list[tuple]]:
    """Score rows naming only their span: in the trace of the stored span with that id (ids such
    as LangSmith run ids are unique across traces); a root span's score rates its trace, as readers
    attach trace scores to roots. Returns (placed rows, rows whose span is not stored).

    spans has no index on span_id alone (each one costs every import), so the ids are looked up
    in few statements, each one pass over spans."""
    ids = sorted({row[1] for row in rows})
    found: dict[str, tuple[str, bool]] = {}
    for start in range(0, len(ids), _PLACE_PER_STATEMENT):
        part = ids[start : start + _PLACE_PER_STATEMENT]
        marks = ", ".join("?" * len(part))
        query = f"SELECT span_id, trace_id, parent_id IS NULL FROM spans WHERE span_id IN ({marks})"
        found.update(
            (span_id, (trace_id, bool(root))) for span_id, trace_id, root in conn.execute(query, part)
        )
    placed, missing = [], []
    for row in rows:
        hit = found.get(row[1])
        if hit is None:
            missing.append(row)
        else:
            trace_id, root = hit
            placed.append((trace_id, "" if root else row[1], *row[2:]))
    return placed, missing
