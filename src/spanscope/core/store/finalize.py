"""Facts that need a whole trace: orphans, clock skew, which model calls count, trace roll-ups.

Spans of one trace may arrive in any order and across files, so these are recomputed for every
trace an import touched, inside the import's transaction. It is nearly all SQL, so it runs in
SQLite's C code without holding Python's lock while the parser goes on; only pricing runs in Python,
once per (trace, provider, model, day) group of token sums.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import date
from pathlib import Path

from spanscope.core.model import MODEL_KINDS
from spanscope.core.pricing import PriceBook, Rates, user_price_book
from spanscope.core.store.db import connect
from spanscope.core.store.schema import TOKEN_COLUMNS, TRACE_COLUMNS

_MODEL_KINDS_SQL = "(" + ", ".join(f"'{k}'" for k in sorted(MODEL_KINDS)) + ")"

_FIND_CHANGED_FLAGS = """
INSERT INTO changed_flags
SELECT id, orphan, skew FROM (
    SELECT c.id AS id, c.orphan AS was_orphan, c.clock_skew AS was_skew,
        (c.parent_id IS NOT NULL AND p.id IS NULL) AS orphan,
        coalesce(c.start_ns < p.start_ns, 0) AS skew
    FROM touched t CROSS JOIN spans c ON c.trace_id = t.trace_id
    LEFT JOIN spans p ON p.trace_id = c.trace_id AND p.span_id = c.parent_id
)
WHERE orphan != was_orphan OR skew != was_skew
"""
_SET_CHANGED_FLAGS = """
UPDATE spans SET
    orphan = (SELECT f.orphan FROM changed_flags f WHERE f.id = spans.id),
    clock_skew = (SELECT f.skew FROM changed_flags f WHERE f.id = spans.id)
WHERE id IN (SELECT id FROM changed_flags)
"""

# Every span with a model call somewhere below it; UNION (not ALL) also ends parent cycles.
_FIND_SPANS_ABOVE_MODEL_CALLS = f"""
INSERT INTO above_model
WITH RECURSIVE above(trace_id, span_id) AS (
    SELECT s.trace_id, s.parent_id FROM touched t CROSS JOIN spans s ON s.trace_id = t.trace_id
    WHERE s.kind IN {_MODEL_KINDS_SQL} AND s.parent_id IS NOT NULL
    UNION
    SELECT s.trace_id, s.parent_id FROM above a
    JOIN spans s ON s.trace_id = a.trace_id AND s.span_id = a.span_id
    WHERE s.parent_id IS NOT NULL
)
SELECT trace_id, span_id FROM above
"""

# A model call with another below it only repeats that usage (an agent's LLM span around the
# SDK's call): it is not counted. Spans are never removed, so a call only ever stops counting.
_UNCOUNT_WRAPPING_MODEL_CALLS = f"""
UPDATE spans SET counted = 0
WHERE id IN (
    SELECT s.id FROM above_model a CROSS JOIN spans s ON s.trace_id = a.trace_id AND s.span_id = a.span_id
    WHERE s.counted = 1 AND s.kind IN {_MODEL_KINDS_SQL}
)
"""

_ROLLED_UP = TRACE_COLUMNS[1:]
_TOKENS = ", ".join(f"sum({c}) FILTER (WHERE counted)" for c in TOKEN_COLUMNS)
# An upsert, not INSERT OR REPLACE: a trace keeps its rowid, so views paging by rowid stay valid.
_ROLL_UP_TRACES = f"""
INSERT INTO traces (trace_id, {", ".join(_ROLLED_UP)})
SELECT g.trace_id,
    (SELECT r.name FROM spans r WHERE r.trace_id = g.trace_id AND (r.parent_id IS NULL OR r.orphan)
     ORDER BY r.start_ns LIMIT 1),
    min(start_ns), max(end_ns), max(end_ns) - min(start_ns), count(*),
    sum(status = 'error'), {_TOKENS},
    sum(cost_usd) FILTER (WHERE counted),
    group_concat(DISTINCT model) FILTER (WHERE kind IN {_MODEL_KINDS_SQL} AND model IS NOT NULL),
    max(session_id), max(user_id), max(service),
    count(*) FILTER (WHERE counted AND cost_usd IS NOT NULL), 0, 0
FROM touched t CROSS JOIN spans g ON g.trace_id = t.trace_id
WHERE true
GROUP BY g.trace_id
ON CONFLICT (trace_id) DO UPDATE SET
    {", ".join(f"{c} = excluded.{c}" for c in _ROLLED_UP)}
"""


_DAY_NS = 86_400 * 10**9
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_CACHED = "coalesce(s.cache_read_tokens, 0) + coalesce(s.cache_write_tokens, 0)"
_INPUT = f"coalesce(s.input_tokens, {_CACHED})"
# Token sums of the counted calls without a reported cost, per trace, provider, model and UTC day; a
# call with no token counts is grouped apart (it cannot be priced). The largest input of a group says
# whether a tier may apply, `odd` counts calls whose counts contradict each other: both mean the
# group is priced call by call, which a sum would get wrong.
_COST_GROUPS = f"""
SELECT s.trace_id, s.provider, s.model, s.start_ns / {_DAY_NS} AS day,
    s.input_tokens IS NOT NULL OR s.output_tokens IS NOT NULL AS has_tokens, count(*),
    sum({_INPUT}), sum(coalesce(s.cache_read_tokens, 0)), sum(coalesce(s.cache_write_tokens, 0)),
    sum(coalesce(s.output_tokens, 0)), sum(coalesce(s.reasoning_tokens, 0)), max({_INPUT}),
    sum({_CACHED} > {_INPUT} OR coalesce(s.reasoning_tokens, 0) > coalesce(s.output_tokens, 0))
FROM touched t CROSS JOIN spans s ON s.trace_id = t.trace_id
WHERE s.counted AND s.cost_usd IS NULL
GROUP BY s.trace_id, s.provider, s.model, day, has_tokens
"""
_GROUP_CALLS = f"""
SELECT {_INPUT}, coalesce(s.cache_read_tokens, 0), coalesce(s.cache_write_tokens, 0),
    coalesce(s.output_tokens, 0), coalesce(s.reasoning_tokens, 0)
FROM spans s WHERE s.trace_id = ? AND s.counted AND s.cost_usd IS NULL
    AND s.provider IS ? AND s.model IS ? AND s.start_ns / {_DAY_NS} = ?
"""
_SET_COMPUTED = """
UPDATE traces SET cost_usd = iif(?2 > 0, coalesce(cost_usd, 0) + ?1, cost_usd),
    cost_computed = ?2, cost_unknown = ?3
WHERE trace_id = ?4
"""


def finalize_traces(
    conn: sqlite3.Connection, trace_ids: Iterable[str], book: PriceBook | None = None
) -> None:
    """Recompute flags, counted calls, roll-ups and costs of `trace_ids` (`book`: the user's prices)."""
    _fill_touched(conn, trace_ids)
    for statement in (
        _FIND_CHANGED_FLAGS,
        _SET_CHANGED_FLAGS,
        _FIND_SPANS_ABOVE_MODEL_CALLS,
        _UNCOUNT_WRAPPING_MODEL_CALLS,
    ):
        conn.execute(statement)
    _roll_up_and_price(conn, book or user_price_book())


def price_traces(conn: sqlite3.Connection, trace_ids: Iterable[str], book: PriceBook) -> None:
    """Roll `trace_ids` up and price them again, e.g. after the user's price overrides changed."""
    _fill_touched(conn, trace_ids)
    _roll_up_and_price(conn, book)


def price_all_traces(conn: sqlite3.Connection, book: PriceBook | None = None) -> None:
    traces = [t for (t,) in conn.execute("SELECT trace_id FROM traces")]
    price_traces(conn, traces, book or user_price_book())


def reprice_store(path: Path, book: PriceBook) -> int:
    """Price again, in one transaction, every trace of the store at `path` with calls priced from
    (or lacking) a price, e.g. after the user's overrides changed; how many traces that was."""
    db = connect(path)
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            traces = [t for (t,) in db.execute(_PRICED_TRACES)]
            price_traces(db.conn, traces, book)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    finally:
        db.conn.close()
    return len(traces)


_PRICED_TRACES = "SELECT trace_id FROM traces WHERE cost_computed > 0 OR cost_unknown > 0"


def _fill_touched(conn: sqlite3.Connection, trace_ids: Iterable[str]) -> None:
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS touched (trace_id TEXT PRIMARY KEY)")
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS above_model (trace_id TEXT, span_id TEXT)")
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS changed_flags (id INTEGER PRIMARY KEY, orphan INT, skew INT)"
    )
    conn.executemany("INSERT OR IGNORE INTO touched VALUES (?)", ((t,) for t in trace_ids))


def _roll_up_and_price(conn: sqlite3.Connection, book: PriceBook) -> None:
    conn.execute(_ROLL_UP_TRACES)
    conn.executemany(_SET_COMPUTED, _computed_costs(conn, book))
    for table in ("touched", "above_model", "changed_flags"):
        conn.execute(f"DELETE FROM {table}")


def _computed_costs(conn: sqlite3.Connection, book: PriceBook) -> list[tuple[float, int, int, str]]:
    """(computed $, computed calls, unknown calls, trace id) of each touched trace with unreported
    costs; one price lookup per (provider, model, day), then arithmetic on the token sums."""
    rates: dict[tuple[str | None, str | None, int], Rates | None] = {}
    totals: dict[str, list] = {}
    for trace, provider, model, day, has_tokens, calls, *sums, largest, odd in conn.execute(_COST_GROUPS):
        total = totals.get(trace)
        if total is None:
            total = totals[trace] = [0.0, 0, 0, trace]
        key = (provider, model, day)
        if key not in rates:
            price = book.price(provider, model, date.fromordinal(_EPOCH_ORDINAL + day)) if model else None
            rates[key] = None if price is None else price.fast
        fast = rates[key]
        if fast is None or not has_tokens:
            total[2] += calls
        elif odd or (fast.first_tier is not None and largest > fast.first_tier):
            _price_each(conn, fast, total, (trace, provider, model, day))
        else:
            total[0] += fast.usd(*sums, calls=calls)
            total[1] += calls
    return list(totals.values())


def _price_each(conn: sqlite3.Connection, fast: Rates, total: list, group: tuple) -> None:
    """Price a group's calls one by one: a tier applies per call, and a call whose counts contradict
    each other is unknown rather than hidden in a sum."""
    for counts in conn.execute(_GROUP_CALLS, group):
        try:
            total[0] += fast.usd(*counts)
            total[1] += 1
        except ValueError:
            total[2] += 1
