"""Aggregate reads of counted model calls for analytics, the dashboard and the model comparison.

Each is one SQL statement summing over the whole store (a million calls), so the sums stay in
SQLite; callers get the grouped rows and do the pricing and folding. `UsageFilter` says which calls
a read covers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import sqlite_utils

from spanscope.core.store.schema import COST_CLASS_SQL, HOUR_SQL, LATENCY_BIN_SQL

HOUR_NS = 3_600_000_000_000


@dataclass(frozen=True)
class UsageFilter:
    """Which calls the metrics cover; the defaults cover the whole store.

    The time range bounds a call's start, half-open [start_ns, end_ns). Service is the call's own;
    session, user and trace name (any part, any ASCII case) are the trace's, since a trace often
    sets them on one span only.
    """

    start_ns: int | None = None
    end_ns: int | None = None
    service: str | None = None
    session: str | None = None
    user: str | None = None
    trace_name: str | None = None
    #: Only calls to these models (None: any model).
    models: tuple[str | None, ...] | None = None

    def sql(self) -> tuple[str, list[object]]:
        """` AND ...` clauses over the spans table (or "") and their parameters."""
        clauses: list[str] = []
        params: list[object] = []
        # The hour bounds add nothing to the result; they let SQLite seek in the usage index.
        if self.start_ns is not None:
            clauses += [f"{HOUR_SQL} >= ?", "start_ns >= ?"]
            params += [self.start_ns // HOUR_NS, self.start_ns]
        if self.end_ns is not None:
            clauses += [f"{HOUR_SQL} <= ?", "start_ns < ?"]
            params += [self.end_ns // HOUR_NS, self.end_ns]
        if self.service is not None:
            clauses.append("service = ?")
            params.append(self.service)
        if self.models is not None:
            named = [m for m in self.models if m is not None]
            either = [f"model IN ({', '.join('?' * len(named))})"] if named else []
            either += ["model IS NULL"] if None in self.models else []
            clauses.append("(" + " OR ".join(either or ["0"]) + ")")
            params += named
        trace_clauses, trace_params = self._trace_sql()
        if trace_clauses:
            clauses.append(f"trace_id IN (SELECT trace_id FROM traces WHERE {' AND '.join(trace_clauses)})")
            params += trace_params
        return "".join(f" AND {c}" for c in clauses), params

    def _trace_sql(self) -> tuple[list[str], list[object]]:
        clauses: list[str] = []
        params: list[object] = []
        for column, value in (("session_id", self.session), ("user_id", self.user)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if self.trace_name:
            escaped = self.trace_name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            clauses.append("root_name LIKE ? ESCAPE '\\'")
            params.append(f"%{escaped}%")
        return clauses, params


ALL = UsageFilter()


# --- per group of a span column (analytics.group_stats) ---------------------------------------------


def group_totals(db: sqlite_utils.Database, column: str, where: UsageFilter) -> list[tuple]:
    """Per value of `column`, most calls first: (group, calls, errors, input, output and cache-read
    token sums, output tokens and nanoseconds of the timed calls, mean duration in ns)."""
    timed = "output_tokens > 0 AND end_ns IS NOT NULL"
    clause, params = where.sql()
    sql = (
        f"SELECT {column}, count(*), sum(status = 'error'), sum(input_tokens), sum(output_tokens), "
        f"sum(cache_read_tokens), sum(output_tokens) FILTER (WHERE {timed}), "
        f"sum(end_ns - start_ns) FILTER (WHERE {timed}), avg(end_ns - start_ns) "
        f"FROM spans WHERE counted = 1{clause} GROUP BY {column} ORDER BY count(*) DESC, {column}"
    )
    return db.execute(sql, params).fetchall()


#: What a percentile can be taken of, per call: its SQL and the condition that the call has it.
DURATION = ("end_ns - start_ns", "end_ns IS NOT NULL")
TTFT = ("ttft_ns", "ttft_ns IS NOT NULL")


def value_ranks(
    db: sqlite_utils.Database,
    column: str,
    measure: tuple[str, str],
    percentiles: tuple[int, ...],
    where: UsageFilter,
) -> list[tuple[Any, int, int, int]]:
    """(group, rank, group size, value) of the calls having `measure` (DURATION: finished calls; TTFT)
    at rank ceil(p * n / 100) of each group for each p of `percentiles`, picked by a window over the
    sorted values so only those rows leave SQLite."""
    value, known = measure
    ranks = ", ".join(f"({p} * n + 99) / 100" for p in percentiles)
    clause, params = where.sql()
    sql = (
        f"WITH d AS (SELECT {column} AS grp, {value} AS v, "
        f"row_number() OVER (PARTITION BY {column} ORDER BY {value}) AS rn, "
        f"count(*) OVER (PARTITION BY {column}) AS n FROM spans "
        f"WHERE counted = 1 AND {known}{clause}) "
        f"SELECT grp, rn, n, v FROM d WHERE rn IN ({ranks})"
    )
    return db.execute(sql, params).fetchall()


def reported_costs(db: sqlite_utils.Database, column: str, where: UsageFilter) -> list[tuple]:
    """Per group, the calls whose source reported a cost: (group, calls, cost sum, output tokens)."""
    clause, params = where.sql()
    sql = (
        f"SELECT {column}, count(*), sum(cost_usd), sum(coalesce(output_tokens, 0)) FROM spans "
        f"WHERE counted = 1 AND cost_usd IS NOT NULL{clause} GROUP BY {column}"
    )
    return db.execute(sql, params).fetchall()


def token_sums_to_price(
    db: sqlite_utils.Database, column: str, reprice_as: str | None, where: UsageFilter
) -> list[tuple]:
    """Token sums of the calls to price (every call as model `reprice_as` when given, else those
    without a reported cost), per group and (provider, model, UTC day): (group, provider, model,
    ISO day, calls, input, cache read, cache write, output). A call with no model or no token counts
    gets a NULL input sum of its own, so it is counted as unknown."""
    provider, model = ("NULL", "?") if reprice_as else ("provider", "model")
    has_tokens = "(input_tokens IS NOT NULL OR output_tokens IS NOT NULL)"
    cache_read, cache_write = "coalesce(cache_read_tokens, 0)", "coalesce(cache_write_tokens, 0)"
    clause, params = where.sql()
    sql = (
        f"SELECT {column}, {provider} AS p, {model} AS m, "
        "date(start_ns / 1000000000, 'unixepoch') AS day, count(*), "
        f"sum(coalesce(input_tokens, {cache_read} + {cache_write})) FILTER (WHERE {has_tokens}), "
        f"sum({cache_read}), sum({cache_write}), sum(coalesce(output_tokens, 0)) "
        f"FROM spans WHERE counted = 1 {'' if reprice_as else 'AND cost_usd IS NULL'}{clause} "
        f"GROUP BY {column}, p, m, day, {has_tokens}"
    )
    return db.execute(sql, [*((reprice_as,) if reprice_as else ()), *params]).fetchall()


def top_names(
    db: sqlite_utils.Database, kinds: tuple[str, ...], where: UsageFilter = ALL, limit: int = 20
) -> list[tuple[str | None, int, int]]:
    """The most frequent span names of `kinds` (e.g. CHAIN_KINDS, TOOL_KINDS): (name, count, errors)."""
    clause, params = where.sql()
    marks = ", ".join("?" * len(kinds))
    sql = (
        f"SELECT name, count(*), sum(status = 'error') FROM spans WHERE kind IN ({marks}){clause} "
        "GROUP BY name ORDER BY count(*) DESC, name LIMIT ?"
    )
    return [tuple(row) for row in db.execute(sql, [*kinds, *params, limit])]


def store_services(db: sqlite_utils.Database) -> list[str]:
    """Every service named by a trace, sorted (the filter's choices)."""
    sql = "SELECT service FROM traces WHERE service IS NOT NULL GROUP BY service"
    return [service for (service,) in db.execute(sql)]


# --- over time (analysis.usage_series) ----------------------------------------------------------------


def usage_rows(db: sqlite_utils.Database, grain_ns: int, where: UsageFilter) -> list[tuple]:
    """Sums per (start_ns // grain_ns, model, provider, cost class): (grain, model, provider, class,
    calls, errors, input, output, reported cost, input to price, cache read, cache write). By the
    hour it is an ordered walk of the usage index, and the cost class in the key spares every sum a
    per-row condition."""
    grain = HOUR_SQL if grain_ns == HOUR_NS else f"start_ns / {grain_ns}"
    cached = "coalesce(cache_read_tokens, 0) + coalesce(cache_write_tokens, 0)"
    clause, params = where.sql()
    sql = (
        f"SELECT {grain}, model, provider, {COST_CLASS_SQL}, count(*), sum(status = 'error'), "
        "sum(input_tokens), sum(output_tokens), sum(cost_usd), "
        f"sum(coalesce(input_tokens, {cached})), sum(cache_read_tokens), sum(cache_write_tokens) "
        f"FROM spans WHERE counted = 1{clause} GROUP BY 1, 2, 3, 4"
    )
    return db.execute(sql, params).fetchall()


def latency_rows(db: sqlite_utils.Database, where: UsageFilter) -> list[tuple]:
    """Per (model, latency bin): (model, bin, calls, output tokens and ns of those with output); the
    inner grouping follows the index order, no sort."""
    has_output = "FILTER (WHERE output_tokens > 0)"
    clause, params = where.sql()
    sql = (
        "SELECT model, bin, sum(n), sum(tokens), sum(ns) FROM ("
        f"SELECT {HOUR_SQL}, model, provider, {COST_CLASS_SQL}, {LATENCY_BIN_SQL} AS bin, count(*) AS n, "
        f"sum(output_tokens) {has_output} AS tokens, sum(end_ns - start_ns) {has_output} AS ns "
        f"FROM spans WHERE counted = 1 AND end_ns > start_ns{clause} GROUP BY 1, 2, 3, 4, 5) "
        "GROUP BY model, bin"
    )
    return db.execute(sql, params).fetchall()


# --- per model (analysis.model_comparison, evaluation.model_references) -------------------------------


def models_by_calls(db: sqlite_utils.Database, where: UsageFilter = ALL) -> list[tuple[str | None, int]]:
    """Every model called under `where`, with its number of calls, most called first."""
    clause, params = where.sql()
    sql = f"SELECT model, count(*) FROM spans WHERE counted = 1{clause} GROUP BY model ORDER BY 2 DESC, 1"
    return [tuple(row) for row in db.execute(sql, params)]


def score_means(db: sqlite_utils.Database, where: UsageFilter) -> list[tuple[str | None, str, float, int]]:
    """(model, score name, mean value, scores) of the numeric scores given to a call `where` selects,
    or to its whole trace (counted once for each model called in it); none when the store keeps no
    scores."""
    if not db["scores"].exists():
        return []
    clause, params = where.sql()
    calls = (
        "SELECT model AS call_model, trace_id AS call_trace, span_id AS call_span "
        f"FROM spans WHERE counted = 1{clause}"
    )
    sql = (
        "SELECT call_model, name, avg(value), count(*) FROM ("
        f"SELECT DISTINCT s.id, c.call_model, s.name, s.value FROM scores s JOIN ({calls}) c "
        "ON c.call_trace = s.trace_id AND (s.span_id = c.call_span OR s.span_id = '') "
        "WHERE s.value IS NOT NULL) GROUP BY call_model, name ORDER BY name"
    )
    return db.execute(sql, params).fetchall()


def finished_calls(
    db: sqlite_utils.Database, models: list[str | None], where: UsageFilter, limit: int
) -> tuple[int, list[tuple]]:
    """How many finished calls of `models` `where` selects, and all of them, or every k-th by row id
    when more than `limit`: (model, provider, trace id, span id, start ns, duration ns, reported
    cost, input tokens, cache read, cache write, output tokens)."""
    clause, params = replace(where, models=tuple(models)).sql()
    base = f"FROM spans WHERE counted = 1 AND end_ns > start_ns{clause}"
    matching = db.execute(f"SELECT count(*) {base}", params).fetchone()[0]
    step = -(-matching // limit) if matching > limit else 1
    sample = f" AND id % {step} = 0" if step > 1 else ""
    sql = (
        "SELECT model, provider, trace_id, span_id, start_ns, end_ns - start_ns, cost_usd, input_tokens, "
        f"coalesce(cache_read_tokens, 0), coalesce(cache_write_tokens, 0), output_tokens {base}{sample}"
    )
    return matching, db.execute(sql, params).fetchall()


def traces_with_calls(db: sqlite_utils.Database, where: UsageFilter) -> set[str] | None:
    """The traces holding a call `where` selects, whatever its model; None when `where` selects
    every call (no need to read them)."""
    clause, params = replace(where, models=None).sql()
    if not clause:
        return None
    sql = f"SELECT DISTINCT trace_id FROM spans WHERE counted = 1{clause}"
    return {trace_id for (trace_id,) in db.execute(sql, params)}


def has_reference_sources(db: sqlite_utils.Database, reference_format: str) -> bool:
    """False when no span of the store can have a reference of its source's (a few milliseconds): no
    log of `reference_format` (whose samples carry their targets) was imported, and no expectation
    is among the scores (MLflow)."""
    if db["sources"].exists():
        sql = "SELECT 1 FROM sources WHERE format = ? LIMIT 1"
        if db.execute(sql, [reference_format]).fetchone() is not None:
            return True
    if not db["scores"].exists():
        return False
    sql = "SELECT 1 FROM scores WHERE source GLOB '*expectation' AND label IS NOT NULL LIMIT 1"
    return db.execute(sql).fetchone() is not None
