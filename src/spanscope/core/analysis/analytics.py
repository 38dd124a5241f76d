"""Per-group usage, latency and cost of counted model calls, worked out in SQL over the whole store.

Only `counted = 1` spans take part, so an agent span repeating its SDK call's usage is never
counted twice. Costs are priced in bulk: token sums per (provider, model, UTC day), one price
lookup each, rather than one lookup and one calculation per span.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from spanscope.core.pricing.prices import ModelPrice, PriceBook
from spanscope.core.store.db import Database
from spanscope.core.store.usage import (
    ALL,
    DURATION,
    TTFT,
    UsageFilter,
    group_totals,
    reported_costs,
    token_sums_to_price,
    value_ranks,
)

#: --by choice -> the span column it groups on.
GROUP_COLUMNS = {
    "model": "model",
    "name": "name",
    "service": "service",
    "session": "session_id",
    "trace": "trace_id",
}
PERCENTILES = (50, 95, 99)
#: Percentiles of the time to first token (of the calls that report one).
TTFT_PERCENTILES = (50, 95)
#: Span kinds counted as chains (steps that call others) and as tools, for the most-frequent lists.
CHAIN_KINDS = ("CHAIN", "AGENT")
TOOL_KINDS = ("TOOL",)


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
    #: "p50", "p95" of the time to first token, None where no call of the group reports one.
    ttft_ms: dict[str, float | None] = field(default_factory=dict, compare=False)

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
            "ttft_ms": dict(self.ttft_ms),
        }


def group_stats(
    db: Database,
    by: str = "model",
    reprice_as: str | None = None,
    book: PriceBook | None = None,
    where: UsageFilter = ALL,
) -> list[GroupStats]:
    """One GroupStats per group, most calls first; `reprice_as` prices every call as that model."""
    if by not in GROUP_COLUMNS:
        raise ValueError(f"cannot group by {by!r}; expected one of {', '.join(GROUP_COLUMNS)}")
    column = GROUP_COLUMNS[by]
    latencies = _percentiles(db, column, DURATION, PERCENTILES, where)
    ttfts = _percentiles(db, column, TTFT, TTFT_PERCENTILES, where)
    costs = _costs(db, column, reprice_as, book or PriceBook.load(), where)
    return [_group(row, latencies, ttfts, costs) for row in group_totals(db, column, where)]


Percentiles = dict[Any, dict[str, float | None]]


def _group(row: tuple, latencies: Percentiles, ttfts: Percentiles, costs: dict[Any, _Cost]) -> GroupStats:
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
        ttft_ms=ttfts.get(group, {f"p{p}": None for p in TTFT_PERCENTILES}),
    )


def _percentiles(
    db: Database, column: str, measure: tuple[str, str], percentiles: tuple[int, ...], where: UsageFilter
) -> Percentiles:
    """Nearest-rank percentiles in ms of the calls having `measure` (usage.DURATION: finished calls):
    the row at rank ceil(p * n / 100) of each group."""
    found: dict[Any, dict[int, int]] = {}
    sizes: dict[Any, int] = {}
    for group, rank, n, ns in value_ranks(db, column, measure, percentiles, where):
        found.setdefault(group, {})[rank] = ns
        sizes[group] = n
    return {
        group: {f"p{p}": by_rank[(p * sizes[group] + 99) // 100] / 1e6 for p in percentiles}
        for group, by_rank in found.items()
    }


def _costs(
    db: Database, column: str, reprice_as: str | None, book: PriceBook, where: UsageFilter
) -> dict[Any, _Cost]:
    """Reported costs win (unless repricing); the rest are priced per (provider, model, day) sums."""
    costs: dict[Any, _Cost] = {}
    if reprice_as is None:
        for group, n, total, tokens_out in reported_costs(db, column, where):
            cost = costs.setdefault(group, _Cost())
            cost.reported, cost.usd, cost.priced_output_tokens = n, total, tokens_out
    for group, provider, model, day, n, *sums in token_sums_to_price(db, column, reprice_as, where):
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


def usd(price: ModelPrice, tokens_in: int, cache_read: int, cache_write: int, tokens_out: int) -> float:
    """Base rates ($ per million tokens) times the sums: input excludes the cache reads and writes
    it includes, which have their own rates (the input rate when the model has none)."""
    rate_in = price.input or 0.0
    read_rate = price.cached_input if price.cached_input is not None else rate_in
    write_rate = price.cache_write if price.cache_write is not None else rate_in
    uncached = tokens_in - cache_read - cache_write
    total = uncached * rate_in + cache_read * read_rate + cache_write * write_rate
    return (total + tokens_out * (price.output or 0.0)) / 1e6
