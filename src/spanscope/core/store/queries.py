"""Read-only queries over a store: paged trace lists, a trace's spans, full spans for export."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import orjson
import sqlite_utils

from spanscope.core.model import Kind, LogRecord, Score, Span, Status
from spanscope.core.pricing.prices import DAY_NS, REPORTED, PriceBook, day_date
from spanscope.core.span_rows import ROW_COLUMNS, TOKEN_COLUMNS, SpanRows
from spanscope.core.store.documents import ChunkReader, span_fields
from spanscope.core.store.logs import has_logs, span_logs, trace_logs
from spanscope.core.store.schema import SPAN_COLUMNS, TRACE_COLUMNS

SORTABLE_TRACE_COLUMNS = frozenset(TRACE_COLUMNS)

#: Columns a tree row needs: scalars only, never the payload.
TREE_COLUMNS = ("id", *SPAN_COLUMNS, "orphan", "clock_skew", "ttft_ns")


class NotFound(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class TraceRow:
    trace_id: str
    root_name: str | None
    start_ns: int
    end_ns: int | None
    duration_ns: int | None
    span_count: int
    error_count: int
    input_tokens: int | None
    output_tokens: int | None
    total_tokens: int | None
    cache_read_tokens: int | None
    cache_write_tokens: int | None
    reasoning_tokens: int | None
    cost_usd: float | None
    models: tuple[str, ...]
    session_id: str | None
    user_id: str | None
    service: str | None
    #: A one-line summary of the trace's scores ("correctness 0.9, helpful yes"), if it has any.
    scores: str | None
    #: Counted model calls whose cost was reported, computed from a price, or unknown.
    cost_reported: int | None
    cost_computed: int | None
    cost_unknown: int | None


def trace_row(row: tuple) -> TraceRow:
    values = list(row)
    models_at = TRACE_COLUMNS.index("models")
    values[models_at] = tuple(sorted(values[models_at].split(","))) if values[models_at] else ()
    return TraceRow(*values)


def get_trace(db: sqlite_utils.Database, trace_id: str) -> TraceRow | None:
    """One trace's roll-up (None: no such trace)."""
    row = db.execute(
        f"SELECT {', '.join(TRACE_COLUMNS)} FROM traces WHERE trace_id = ?", (trace_id,)
    ).fetchone()
    return None if row is None else trace_row(row)


def count_traces(db: sqlite_utils.Database) -> int:
    return db.execute("SELECT count(*) FROM traces").fetchone()[0]


def list_traces(
    db: sqlite_utils.Database,
    *,
    order_by: str = "start_ns",
    descending: bool = False,
    limit: int | None = None,
    offset: int = 0,
) -> list[TraceRow]:
    """One page of traces; ties broken by trace id so pages never overlap."""
    if order_by not in SORTABLE_TRACE_COLUMNS:
        raise ValueError(f"cannot sort traces by {order_by!r}")
    direction = "DESC" if descending else "ASC"
    sql = (
        f"SELECT {', '.join(TRACE_COLUMNS)} FROM traces "
        f"ORDER BY {order_by} {direction}, trace_id {direction} LIMIT ? OFFSET ?"
    )
    return [trace_row(r) for r in db.execute(sql, (-1 if limit is None else limit, offset))]


def trace_span_count(db: sqlite_utils.Database, trace_id: str) -> int | None:
    """How many spans the store holds for a trace (None: no such trace), from its roll-up."""
    row = db.execute("SELECT span_count FROM traces WHERE trace_id = ?", (trace_id,)).fetchone()
    return row[0] if row else None


def resolve_trace_id(db: sqlite_utils.Database, text: str) -> str:
    """The full id of the trace named by `text`: a whole id or a unique prefix (any case, 0x allowed)."""
    if db.execute("SELECT 1 FROM traces WHERE trace_id = ?", (text,)).fetchone():
        return text
    # Hex ids match in any case; ids that are not hex (Inspect's sample uuids) as written.
    for wanted in dict.fromkeys((text.strip().lower().removeprefix("0x"), text.strip())):
        matches = [
            r[0]
            for r in db.execute(
                "SELECT trace_id FROM traces WHERE trace_id >= ? AND trace_id < ? LIMIT 2",
                (wanted, wanted + "\uffff"),
            )
        ]
        if matches:
            break
    if not matches:
        raise NotFound(f"no trace {text!r} in the store")
    if len(matches) > 1:
        raise NotFound(f"{text!r} names more than one trace; give more of the id")
    return matches[0]


def resolve_span(db: sqlite_utils.Database, text: str, trace: str | None = None) -> tuple[str, str]:
    """(trace id, span id) of the span named by `text` (a whole id or a unique prefix), in `trace`
    when given (itself a trace id or prefix), else anywhere in the store."""
    trace_id = None if trace is None else resolve_trace_id(db, trace)
    where, args = ("trace_id = ? AND ", (trace_id,)) if trace_id else ("", ())
    wanted = text.strip().lower().removeprefix("0x")
    for value in dict.fromkeys((text, wanted, text.strip())):
        exact = db.execute(
            f"SELECT trace_id, span_id FROM spans WHERE {where}span_id = ? LIMIT 2", (*args, value)
        )
        found = exact.fetchall()
        if not found:
            found = db.execute(
                f"SELECT trace_id, span_id FROM spans WHERE {where}span_id >= ? AND span_id < ? LIMIT 2",
                (*args, value, value + "\uffff"),
            ).fetchall()
        if found:
            break
    if not found:
        raise NotFound(f"no span {text!r} in " + (f"trace {trace_id}" if trace_id else "the store"))
    if len(found) > 1:
        raise NotFound(f"{text!r} names more than one span; give more of the id, or --trace")
    return found[0][0], found[0][1]


#: JSON keeps 15 significant digits of a REAL; as text, 20 digits round-trip every double exactly.
#: (Not needed for price_usd, a figure we computed: 15 digits show it to the hundred-billionth of a
#: cent, and printing 20 digits costs the SELECT a tenth of its time.)
_REAL_COLUMNS = frozenset({"cost_usd"})


def _json_array(column: str) -> str:
    value = f"iif({column} IS NULL, NULL, printf('%!.20e', {column}))" if column in _REAL_COLUMNS else column
    return f"json_group_array({value})"


def _rows_sql(where: str) -> str:
    """One row of one JSON array per column: orjson parses it far faster than the sqlite3 module hands
    out 100,000 rows of twenty values. The aggregate keeps the ordered subquery's order, so the arrays
    line up; sorting here rather than in Python keeps the tree's passes over the rows close to
    sequential in memory."""
    return (
        f"SELECT {', '.join(map(_json_array, ROW_COLUMNS))} FROM ("
        f"SELECT {', '.join(ROW_COLUMNS)} FROM spans WHERE {where} ORDER BY start_ns, id)"
    )


#: A trace imported in one piece fills a run of rowids: one scan of that run reads it (`+trace_id`
#: keeps SQLite off the index). Otherwise its rowids, from the index, are looked up in rowid order (an
#: IN list is sorted). Walking the (trace_id, span_id) index to the rows would visit them in span-id
#: order instead: a random page read per span, several times slower.
_ROWS_IN_RANGE_SQL = _rows_sql("id BETWEEN ? AND ? AND +trace_id = ?")
_ROWS_BY_ID_SQL = _rows_sql("id IN (SELECT id FROM spans WHERE trace_id = ?)")
#: Scanning a run of rowids beats looking each span up while at most this many rows share the run.
RANGE_SCAN_SPREAD = 4


def trace_rows(db: sqlite_utils.Database, trace_id: str) -> SpanRows:
    """Every span of a trace, in start order."""
    low, high, count = db.execute(
        "SELECT min(id), max(id), count(*) FROM spans WHERE trace_id = ?", (trace_id,)
    ).fetchone()
    if count and high - low < RANGE_SCAN_SPREAD * count:
        arrays = db.execute(_ROWS_IN_RANGE_SQL, (low, high, trace_id)).fetchone()
    else:
        arrays = db.execute(_ROWS_BY_ID_SQL, (trace_id,)).fetchone()
    columns = dict(zip(ROW_COLUMNS, map(orjson.loads, arrays), strict=True))
    for column in _REAL_COLUMNS:
        columns[column] = [None if v is None else float(v) for v in columns[column]]
    return SpanRows(columns)


#: Span fields stored as columns under the same name (kind, status and flags need converting).
_PLAIN_FIELDS = (
    "trace_id",
    "span_id",
    "parent_id",
    "name",
    "start_ns",
    "end_ns",
    "status_message",
    "model",
    "provider",
    *TOKEN_COLUMNS,
    "cost_usd",
    "session_id",
    "user_id",
    "service",
    "ttft_ns",
)


#: Imported scores and reviews given here (local), read as one.
_SCORES_SQL = "SELECT trace_id, span_id, name, value, label, comment, source, key, local FROM all_scores"


def _scores_by_span(db: sqlite_utils.Database, where: str, args: tuple) -> dict[tuple[str, str], list[Score]]:
    """Scores keyed by (trace_id, span_id); span_id '' holds the trace-level ones."""
    found: dict[tuple[str, str], list[Score]] = {}
    for trace_id, span_id, name, value, label, comment, source, key, local in db.execute(
        f"{_SCORES_SQL} WHERE {where} ORDER BY name, local, id", args
    ):
        score = Score(name, value, label, comment, source, key, trace_level=span_id == "", local=bool(local))
        found.setdefault((trace_id, span_id), []).append(score)
    return found


def trace_scores(db: sqlite_utils.Database, trace_id: str) -> list[tuple[str, Score]]:
    """Every score of a trace with the id of the span it rates ('' for the whole trace)."""
    found = _scores_by_span(db, "trace_id = ?", (trace_id,))
    return [(span_id, score) for (_, span_id), scores in found.items() for score in scores]


def span_scores(db: sqlite_utils.Database, trace_id: str, span_id: str, root: bool) -> list[Score]:
    """A span's scores as `get_span` gives them: a root span also carries its trace's own."""
    found = _scores_by_span(db, "trace_id = ? AND span_id IN (?, '')", (trace_id, span_id))
    return _own_scores(found, trace_id, span_id, root)


def _own_scores(
    scores: dict[tuple[str, str], list[Score]], trace_id: str, span_id: str, root: bool
) -> list[Score]:
    """A span's scores, and for a root span also its trace's trace-level ones, as readers gave them."""
    own = scores.get((trace_id, span_id), [])
    return own + scores.get((trace_id, ""), []) if root else own


def _span(
    row: tuple, chunks: ChunkReader, scores: dict[tuple[str, str], list[Score]], logs: list[LogRecord]
) -> Span:
    """A full span with its scores and log records, its document (and its parent's, if its input may
    be the parent's) read through `chunks`."""
    values = dict(zip(TREE_COLUMNS, row, strict=True))
    doc = chunks.document(values["payload_chunk"], values["payload_index"])
    parent = chunks.parent(doc, values["trace_id"], values["parent_id"])
    own = _own_scores(scores, values["trace_id"], values["span_id"], values["parent_id"] is None)
    return Span(
        **{name: values[name] for name in _PLAIN_FIELDS},
        kind=Kind(values["kind"]),
        status=Status(values["status"]),
        orphan=bool(values["orphan"]),
        clock_skew=bool(values["clock_skew"]),
        scores=own,
        logs=logs,
        **span_fields(doc or {}, logs, parent),
    )


_SPAN_SQL = f"SELECT {', '.join('s.' + c for c in TREE_COLUMNS)} FROM spans s"
_PRICED_SPAN_SQL = f"SELECT {', '.join('s.' + c for c in TREE_COLUMNS)}, s.price_usd FROM spans s"


def get_span(db: sqlite_utils.Database, trace_id: str, span_id: str) -> Span:
    row = db.execute(f"{_SPAN_SQL} WHERE s.trace_id = ? AND s.span_id = ?", (trace_id, span_id)).fetchone()
    if row is None:
        raise NotFound(f"no span {span_id!r} in trace {trace_id!r}")
    scores = _scores_by_span(db, "trace_id = ? AND span_id IN (?, '')", (trace_id, span_id))
    return _span(row, ChunkReader(db), scores, span_logs(db, trace_id, span_id))


def iter_spans(db: sqlite_utils.Database, trace_id: str | None = None) -> Iterator[Span]:
    """Full spans (payload decoded), trace by trace in trace start order, spans in start order."""
    for span, _ in iter_priced_spans(db, trace_id):
        yield span


def iter_priced_spans(
    db: sqlite_utils.Database, trace_id: str | None = None
) -> Iterator[tuple[Span, float | None]]:
    """`iter_spans`, each with its cost computed from a price when it was stored (`price_usd`, kept
    up to date with the user's prices; None for a reported cost, an unknown one, or no model call):
    with `cost_usd`, the cost every view shows."""
    sql = _PRICED_SPAN_SQL
    if trace_id is not None:
        scores = _scores_by_span(db, "trace_id = ?", (trace_id,))
        cur = db.execute(f"{sql} WHERE s.trace_id = ? ORDER BY s.start_ns, s.id", (trace_id,))
    else:
        scores = _scores_by_span(db, "true", ())
        cur = db.execute(
            f"{sql} JOIN traces t ON t.trace_id = s.trace_id "
            "ORDER BY t.start_ns, t.trace_id, s.start_ns, s.id"
        )
    chunks = ChunkReader(db)
    logs: dict[str, list[LogRecord]] = {}
    logs_of, read_logs = None, has_logs(db)
    trace_at, span_at = TREE_COLUMNS.index("trace_id"), TREE_COLUMNS.index("span_id")
    for row in cur:
        if read_logs and row[trace_at] != logs_of:  # rows come trace by trace: records read once each
            logs_of = row[trace_at]
            logs = trace_logs(db, logs_of)
        yield _span(row[:-1], chunks, scores, logs.get(row[span_at], [])), row[-1]


def priced_spans(db: sqlite_utils.Database, ids: list[int]) -> list[tuple[Span, float | None]]:
    """`iter_priced_spans` for a page of store rowids (as a search's `matching_ids` gives them), in
    rowid order; an id no longer stored is left out. Reading a long selection page by page keeps
    its memory bounded."""
    marks = ",".join("?" * len(ids))
    rows = db.execute(f"{_PRICED_SPAN_SQL} WHERE s.id IN ({marks}) ORDER BY s.id", ids).fetchall()
    trace_at, span_at = TREE_COLUMNS.index("trace_id"), TREE_COLUMNS.index("span_id")
    traces = sorted({r[trace_at] for r in rows})
    scores = _scores_by_span(db, f"trace_id IN ({','.join('?' * len(traces))})", tuple(traces))
    chunks, read_logs = ChunkReader(db), has_logs(db)
    return [
        (_span(r[:-1], chunks, scores, span_logs(db, r[trace_at], r[span_at]) if read_logs else []), r[-1])
        for r in rows
    ]


_COST_SOURCE_SQL = f"""
SELECT cost_usd IS NOT NULL AS reported, provider, model, start_ns / {DAY_NS} AS day,
    input_tokens IS NOT NULL OR output_tokens IS NOT NULL AS has_tokens, count(*)
FROM spans WHERE trace_id = ? AND counted
GROUP BY reported, provider, model, day, has_tokens ORDER BY reported DESC, count(*) DESC
"""


def trace_cost_sources(db: sqlite_utils.Database, trace_id: str, book: PriceBook) -> list[str]:
    """How a trace's cost was obtained, one line per source: reported calls, then each group of
    calls priced with one model's price of one day, or unknown and why."""
    lines = []
    for reported, provider, model, day, has_tokens, calls in db.execute(_COST_SOURCE_SQL, (trace_id,)):
        many = f"{calls:,} call{'' if calls == 1 else 's'}"
        if reported:
            lines.append(f"{many}: {REPORTED}")
        elif not model:
            lines.append(f"{many}: unknown: no model name")
        elif not has_tokens:
            lines.append(f"{many} of {model}: unknown: no token counts")
        else:
            price = book.price(provider, model, day_date(day))
            lines.append(
                f"{many} of {model}: {price.detail if price else f'unknown: no price for model {model}'}"
            )
    return lines
