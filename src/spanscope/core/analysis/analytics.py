"""Per-group usage, latency and cost of counted model calls, worked out in SQL over the whole store.

Only `counted = 1` spans take part, so an agent span repeating its SDK call's usage is never
counted twice. Costs are priced in bulk: token sums per (provider, model, UTC day), one price
lookup each, rather than one lookup and one calculation per span.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlite_utils

from spanscope.core.pricing.prices import ModelPrice, PriceBook
from spanscope.core.store.schema import HOUR_SQL

#: --by choice -> the span column it groups on.
GROUP_COLUMNS = {
    "model": "model",
    "name": "name",
    "service": "service",
    "session": "session_id",
    "trace": "trace_id",
}
PERCENTILES = (50, 95, 99)
HOUR_NS = 3_600_000_000_000
#: Span kinds counted as chains (steps that call others) and as tools, for the most-frequent lists.
CHAIN_KINDS = ("CHAIN", "AGENT")
TOOL_KINDS = ("TOOL",)


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


@dataclass
class _Cost:
    """Running cost of one group, with how many calls each source priced."""

    usd: float = 0.0
    reported: int = 0
    computed: int = 0
    unknown: int = 0
    #: Output tokens of the priced calls, so a cost per output token leaves the unpriced out.
    priced_output_tokens: int = 0

    @property
    def total(self) -> float | None:
        return self.usd if self.reported or self.computed else None


@dataclass(frozen=True)
class GroupStats:
    group: str | None
    calls: int
    errors: int
    input_tokens: int | None
    output_tokens: int | None
    cache_read_tokens: int | None
    cost_usd: float | None
    cost_source: dict[str, int]
    latency_ms: dict[str, float | None]
    tokens_per_s: float | None
    priced_output_tokens: int = field(default=0, compare=False)
    mean_latency_ms: float | None = field(default=None, compare=False)

    @property
    def priced_calls(self) -> int:
        return self.cost_source["reported"] + self.cost_source["computed"]

    def to_json(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "calls": self.calls,
            "errors": self.errors,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_read_tokens": self.cache_read_tokens,
            "cost_usd": self.cost_usd,
            "cost_source": dict(self.cost_source),
            "latency_ms": dict(self.latency_ms),
            "tokens_per_s": self.tokens_per_s,
        }


def group_stats(
    db: sqlite_utils.Database,
    by: str = "model",
    reprice_as: str | None = None,
    book: PriceBook | None = None,
    where: UsageFilter = ALL,
) -> list[GroupStats]:
    """One GroupStats per group, most calls first; `reprice_as` prices every call as that model."""
    if by not in GROUP_COLUMNS:
        raise ValueError(f"cannot group by {by!r}; expected one of {', '.join(GROUP_COLUMNS)}")
    column = GROUP_COLUMNS[by]
    latencies = _percentiles(db, column, where)
    costs = _costs(db, column, reprice_as, book or PriceBook.load(), where)
    clause, params = where.sql()
    return [_group(row, latencies, costs) for row in db.execute(_totals_sql(column, clause), params)]


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


def _totals_sql(column: str, clause: str) -> str:
    timed = "output_tokens > 0 AND end_ns IS NOT NULL"
    return (
        f"SELECT {column}, count(*), sum(status = 'error'), sum(input_tokens), sum(output_tokens), "
        f"sum(cache_read_tokens), sum(output_tokens) FILTER (WHERE {timed}), "
        f"sum(end_ns - start_ns) FILTER (WHERE {timed}), avg(end_ns - start_ns) "
        f"FROM spans WHERE counted = 1{clause} GROUP BY {column} ORDER BY count(*) DESC, {column}"
    )


def _group(row: tuple, latencies: dict[Any, dict[str, float | None]], costs: dict[Any, _Cost]) -> GroupStats:
    group, calls, errors, tokens_in, tokens_out, cached, timed_out, timed_ns, mean_ns = row
    cost = costs.get(group, _Cost())
    latency = latencies.get(group, {f"p{p}": None for p in PERCENTILES})
    return GroupStats(
        group=group,
        calls=calls,
        errors=errors or 0,
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        cache_read_tokens=cached,
        cost_usd=cost.total,
        cost_source={"reported": cost.reported, "computed": cost.computed, "unknown": cost.unknown},
        latency_ms=latency,
        tokens_per_s=timed_out / (timed_ns / 1e9) if timed_ns else None,
        priced_output_tokens=cost.priced_output_tokens,
        mean_latency_ms=None if mean_ns is None else mean_ns / 1e6,
    )


def _percentiles(
    db: sqlite_utils.Database, column: str, where: UsageFilter
) -> dict[Any, dict[str, float | None]]:
    """Nearest-rank percentiles of finished calls: the row at rank ceil(p * n / 100) of each group,
    picked by a window over the sorted durations so only three rows a group leave SQLite."""
    ranks = ", ".join(f"({p} * n + 99) / 100" for p in PERCENTILES)
    clause, params = where.sql()
    sql = (
        f"WITH d AS (SELECT {column} AS grp, end_ns - start_ns AS ns, "
        f"row_number() OVER (PARTITION BY {column} ORDER BY end_ns - start_ns) AS rn, "
        f"count(*) OVER (PARTITION BY {column}) AS n FROM spans "
        f"WHERE counted = 1 AND end_ns IS NOT NULL{clause}) "
        f"SELECT grp, rn, n, ns FROM d WHERE rn IN ({ranks})"
    )
    found: dict[Any, dict[int, int]] = {}
    sizes: dict[Any, int] = {}
    for group, rank, n, ns in db.execute(sql, params):
        found.setdefault(group, {})[rank] = ns
        sizes[group] = n
    return {
        group: {f"p{p}": by_rank[(p * sizes[group] + 99) // 100] / 1e6 for p in PERCENTILES}
        for group, by_rank in found.items()
    }


def _costs(
    db: sqlite_utils.Database, column: str, reprice_as: str | None, book: PriceBook, where: UsageFilter
) -> dict[Any, _Cost]:
    """Reported costs win (unless repricing); the rest are priced per (provider, model, day) sums."""
    costs: dict[Any, _Cost] = {}
    clause, params = where.sql()
    if reprice_as is None:
        reported = (
            f"SELECT {column}, count(*), sum(cost_usd), sum(coalesce(output_tokens, 0)) FROM spans "
            f"WHERE counted = 1 AND cost_usd IS NOT NULL{clause} GROUP BY {column}"
        )
        for group, n, total, tokens_out in db.execute(reported, params):
            cost = costs.setdefault(group, _Cost())
            cost.reported, cost.usd, cost.priced_output_tokens = n, total, tokens_out
    sql, priced_params = _priced_sql(column, reprice_as, clause)
    for group, provider, model, day, n, *sums in db.execute(sql, [*priced_params, *params]):
        cost = costs.setdefault(group, _Cost())
        price = (
            book.price(provider, model, date.fromisoformat(day)) if model and sums[0] is not None else None
        )
        if price is None:
            cost.unknown += n
        else:
            cost.computed += n
            cost.usd += usd(price, *sums)
            cost.priced_output_tokens += sums[3]
    return costs


def _priced_sql(column: str, reprice_as: str | None, clause: str) -> tuple[str, tuple]:
    """Token sums of the calls to price, per group and (provider, model, UTC day); a call with no
    model or no token counts gets a NULL input sum of its own, so it is counted as unknown."""
    provider, model = ("NULL", "?") if reprice_as else ("provider", "model")
    has_tokens = "(input_tokens IS NOT NULL OR output_tokens IS NOT NULL)"
    cache_read, cache_write = "coalesce(cache_read_tokens, 0)", "coalesce(cache_write_tokens, 0)"
    sql = (
        f"SELECT {column}, {provider} AS p, {model} AS m, "
        "date(start_ns / 1000000000, 'unixepoch') AS day, count(*), "
        f"sum(coalesce(input_tokens, {cache_read} + {cache_write})) FILTER (WHERE {has_tokens}), "
        f"sum({cache_read}), sum({cache_write}), sum(coalesce(output_tokens, 0)) "
        f"FROM spans WHERE counted = 1 {'' if reprice_as else 'AND cost_usd IS NULL'}{clause} "
        f"GROUP BY {column}, p, m, day, {has_tokens}"
    )
    return sql, (reprice_as,) if reprice_as else ()


def usd(price: ModelPrice, tokens_in: int, cache_read: int, cache_write: int, tokens_out: int) -> float:
    """Base rates ($ per million tokens) times the sums: input excludes the cache reads and writes
    it includes, which have their own rates (the input rate when the model has none)."""
    rate_in = price.input or 0.0
    read_rate = price.cached_input if price.cached_input is not None else rate_in
    write_rate = price.cache_write if price.cache_write is not None else rate_in
    uncached = tokens_in - cache_read - cache_write
    total = uncached * rate_in + cache_read * read_rate + cache_write * write_rate
    return (total + tokens_out * (price.output or 0.0)) / 1e6
