"""Filtered, sorted views of the traces table for a list that shows a million rows.

A list sorts and filters once into an array of traces-table rowids (8 bytes a trace), then reads
only the page on screen by rowid. That keeps scrolling independent of the store's size, where
LIMIT/OFFSET paging would cost time in proportion to how far down the page is.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import chain

import sqlite_utils

from spanscope.core.store.queries import TraceRow, trace_row
from spanscope.core.store.schema import SORTED_TRACE_COLUMNS, TRACE_COLUMNS

#: Columns a list may sort by; each has its own index, so a sort is an index walk.
SORT_COLUMNS = frozenset(SORTED_TRACE_COLUMNS)
#: Columns a search term is looked for in (anywhere), besides a trace id prefix.
TEXT_COLUMNS = ("root_name", "models", "session_id", "user_id", "service")


@dataclass(frozen=True, slots=True)
class TraceFilter:
    """What a trace must match to be listed; the defaults match every trace.

    `text` is split into words, and each word must occur in one of TEXT_COLUMNS (any ASCII case) or
    start the trace id. `start_ns`/`end_ns` bound the trace start, half-open: [start_ns, end_ns).
    """

    text: str = ""
    errors_only: bool = False
    model: str | None = None
    #: The project (the traces' service) a trace must belong to.
    service: str | None = None
    start_ns: int | None = None
    end_ns: int | None = None


def _like_pattern(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _word_clause(word: str) -> tuple[str, list[object]]:
    """One search word, in any text column or as a trace id prefix (ids are stored lowercase hex)."""
    prefix = word.lower().removeprefix("0x")
    either = [f"{column} LIKE ? ESCAPE '\\'" for column in TEXT_COLUMNS]
    either.append("(trace_id >= ? AND trace_id < ?)")
    pattern = _like_pattern(word)
    return "(" + " OR ".join(either) + ")", [*[pattern] * len(TEXT_COLUMNS), prefix, prefix + "\uffff"]


def where_clause(trace_filter: TraceFilter) -> tuple[str, list[object]]:
    """SQL `WHERE ...` (or "" for no filter) and its parameters."""
    clauses: list[str] = []
    params: list[object] = []
    for word in trace_filter.text.split():
        clause, word_params = _word_clause(word)
        clauses.append(clause)
        params += word_params
    if trace_filter.errors_only:
        clauses.append("error_count > 0")
    if trace_filter.model is not None:
        # `models` is a comma-joined set of names: match a whole name, not a part of one.
        clauses.append("instr(',' || models || ',', ',' || ? || ',') > 0")
        params.append(trace_filter.model)
    if trace_filter.service is not None:
        clauses.append("service = ?")
        params.append(trace_filter.service)
    if trace_filter.start_ns is not None:
        clauses.append("start_ns >= ?")
        params.append(trace_filter.start_ns)
    if trace_filter.end_ns is not None:
        clauses.append("start_ns < ?")
        params.append(trace_filter.end_ns)
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), params


def sorted_trace_ids(
    db: sqlite_utils.Database,
    trace_filter: TraceFilter,
    order_by: str = "start_ns",
    descending: bool = False,
) -> array:
    """Rowids of the matching traces in display order; ties go by rowid in the same direction.

    Rowid ties keep the order total (pages never overlap) and let SQLite walk the column's index,
    whose entries are (value, rowid), forwards or backwards without sorting anything.
    """
    if order_by not in SORT_COLUMNS:
        raise ValueError(f"cannot sort traces by {order_by!r}")
    where, params = where_clause(trace_filter)
    direction = "DESC" if descending else "ASC"
    # Under a filter, walking the sort index would look up every row in random order to test it
    # (seconds at 10^6 rows); `+column` makes SQLite filter first, then sort only the matches.
    key = f"+{order_by}" if where else order_by
    cursor = db.execute(
        f"SELECT rowid FROM traces {where} ORDER BY {key} {direction}, rowid {direction}", params
    )
    return array("q", chain.from_iterable(cursor))


_FETCH_SQL = f"SELECT rowid, {', '.join(TRACE_COLUMNS)} FROM traces WHERE rowid IN "


def fetch_rows(db: sqlite_utils.Database, rowids: array | list[int]) -> list[TraceRow | None]:
    """The traces at `rowids`, in that order, read in one query.

    None stands for a rowid that is gone: an import rewrites the roll-up of every trace it touched,
    and a rewritten row gets a new rowid, so a list sorted before that commit holds stale ids until
    it sorts again.
    """
    if not rowids:
        return []
    wanted = list(rowids)
    found = {
        row[0]: trace_row(row[1:])
        for row in db.execute(_FETCH_SQL + "(" + ",".join("?" * len(wanted)) + ")", wanted)
    }
    return [found.get(rowid) for rowid in wanted]


def rowid_of(db: sqlite_utils.Database, trace_id: str) -> int | None:
    row = db.execute("SELECT rowid FROM traces WHERE trace_id = ?", (trace_id,)).fetchone()
    return None if row is None else row[0]


#: Columns `distinct_values` may list: each has an index to skip through.
_DISTINCT_COLUMNS = frozenset({"models", "service", "session_id", "user_id", "scores"})


def distinct_values(db: sqlite_utils.Database, column: str) -> list[str]:
    """The distinct non-empty values of a traces column, sorted.

    Skips from one distinct value to the next through the column's index, so the cost follows the
    number of distinct values, not the number of traces.
    """
    if column not in _DISTINCT_COLUMNS:
        raise ValueError(f"no index to list the values of {column!r}")
    values = db.execute(
        f"""
        WITH RECURSIVE v(value) AS (
            SELECT min({column}) FROM traces
            UNION ALL
            SELECT (SELECT min(t.{column}) FROM traces t WHERE t.{column} > v.value) FROM v
            WHERE v.value IS NOT NULL
        )
        SELECT value FROM v WHERE value IS NOT NULL AND value != ''
        """
    )
    return [value for (value,) in values]


def models_in_store(db: sqlite_utils.Database) -> list[str]:
    """Every model name used by some trace, sorted (`models` holds comma-joined combinations)."""
    return sorted({name for joined in distinct_values(db, "models") for name in joined.split(",") if name})


def filled_columns(db: sqlite_utils.Database, columns: Iterable[str]) -> set[str]:
    """Which of `columns` (text columns `distinct_values` may list) some trace has a value in: one
    index seek each."""
    filled = set()
    for column in columns:
        if column not in _DISTINCT_COLUMNS:
            raise ValueError(f"no index to look for values of {column!r}")
        if db.execute(f"SELECT EXISTS (SELECT 1 FROM traces WHERE {column} > '')").fetchone()[0]:
            filled.add(column)
    return filled


def time_bounds(db: sqlite_utils.Database) -> tuple[int, int] | None:
    """The first and the last trace start, or None for an empty store (two index seeks)."""
    low, high = db.execute(
        "SELECT (SELECT min(start_ns) FROM traces), (SELECT max(start_ns) FROM traces)"
    ).fetchone()
    return None if low is None else (low, high)
