"""Usage over time for the dashboard: requests, tokens, cost per model, errors and latency bins.

Everything is summed in SQLite per (hour, model, provider) by walking the usage index (schema v2)
in order, so a million calls cost one pass and no sort; hours are then folded into the chart's
buckets here. Ranges short enough for sub-hour buckets are re-read per minute. Costs are priced in
bulk like analytics.group_stats: one price lookup per (provider, model, UTC day).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

from spanscope.core.analysis.analytics import usd
from spanscope.core.analysis.chart_csv import Table
from spanscope.core.analysis.model_groups import members, ordered_keys
from spanscope.core.pricing.prices import PriceBook
from spanscope.core.store.db import Database
from spanscope.core.store.usage import ALL, HOUR_NS, UsageFilter, latency_rows, usage_rows

MINUTE_NS = 60_000_000_000
DAY_NS = 24 * HOUR_NS
#: Bucket widths to choose from, finest first: the finest giving at most MAX_BUCKETS buckets wins.
WIDTHS_NS = tuple(
    m * MINUTE_NS for m in (1, 5, 15, 60, 3 * 60, 6 * 60, 12 * 60, 24 * 60, 7 * 24 * 60, 30 * 24 * 60)
)
MAX_BUCKETS = 300

REPORTED, TO_PRICE, UNKNOWN = 0, 1, 2  # the cost classes of schema.COST_CLASS_SQL


def bin_edges_ms(latency_bin: int) -> tuple[float, float]:
    """[low, high) in ms of a latency bin (see schema.LATENCY_BIN_SQL: decade digits and lead digit)."""
    digits, lead = divmod(latency_bin, 10)
    scale = 10 ** (digits - 1) / 1e6
    return lead * scale, (lead + 1) * scale


def coarse_bin(latency_bin: int) -> int:
    """The 1-2-5 bin holding a latency bin: [1, 2), [2, 5) or [5, 10) times a power of ten, nearly
    even steps on a log axis (the fine bins' widths there differ ninefold)."""
    digits, lead = divmod(latency_bin, 10)
    return digits * 10 + (1 if lead < 2 else 2 if lead < 5 else 5)


def coarse_edges_ms(coarse: int) -> tuple[float, float]:
    """[low, high) in ms of a coarse_bin."""
    digits, lead = divmod(coarse, 10)
    scale = 10 ** (digits - 1) / 1e6
    return lead * scale, {1: 2, 2: 5, 5: 10}[lead] * scale


def bucket_width(first_ns: int, last_ns: int) -> int:
    """The finest width in WIDTHS_NS that covers [first_ns, last_ns] in at most MAX_BUCKETS buckets."""
    for width in WIDTHS_NS:
        if last_ns // width - first_ns // width < MAX_BUCKETS:
            return width
    return WIDTHS_NS[-1]


@dataclass
class ModelTotals:
    """One model's figures over the whole filter."""

    calls: int = 0
    errors: int = 0
    cost_usd: float = 0.0
    priced_calls: int = 0
    unpriced_calls: int = 0

    @property
    def error_rate(self) -> float:
        return self.errors / self.calls if self.calls else 0.0


@dataclass
class UsageSeries:
    """Per-bucket series (bucket i starts at first_bucket_ns + i * width_ns) and per-model totals.

    `cost[model][i]` is None when no call of that model in bucket i could be priced; models are in
    order of calls, most first.
    """

    width_ns: int
    first_bucket_ns: int
    requests: list[int]
    errors: list[int]
    input_tokens: list[int]
    output_tokens: list[int]
    unpriced: list[int]
    cost: dict[str | None, list[float | None]]
    totals: dict[str | None, ModelTotals]
    #: Per model key, the models merged under it (see `merged`); empty for a series of plain models.
    members: dict[str | None, list[str | None]] = field(default_factory=dict)

    @property
    def models(self) -> list[str | None]:
        return list(self.totals)

    def merged(self, keys: Mapping[str | None, str | None]) -> UsageSeries:
        """The series with each model's cost and totals added into its key's (model_groups.shown_as);
        keys in model_groups.ordered_keys order."""
        totals: dict[str | None, ModelTotals] = {}
        cost: dict[str | None, list[float | None]] = {}
        for model, mine in self.totals.items():
            key = keys.get(model, model)
            total = totals.setdefault(key, ModelTotals())
            total.calls += mine.calls
            total.errors += mine.errors
            total.cost_usd += mine.cost_usd
            total.priced_calls += mine.priced_calls
            total.unpriced_calls += mine.unpriced_calls
            column = cost.setdefault(key, [None] * len(self.requests))
            for i, value in enumerate(self.cost[model]):
                if value is not None:
                    column[i] = (column[i] or 0.0) + value
        order = ordered_keys({key: t.calls for key, t in totals.items()})
        return replace(
            self,
            totals={key: totals[key] for key in order},
            cost={key: cost[key] for key in order},
            members=members({m: keys.get(m, m) for m in self.totals}),
        )

    def bucket_starts_ns(self) -> list[int]:
        return [self.first_bucket_ns + i * self.width_ns for i in range(len(self.requests))]

    # CSV tables, one per chart

    def cost_table(self) -> Table:
        header = ["bucket_start_utc", *(f"cost_usd {m}" for m in self.models), "unpriced_calls"]
        rows = [
            [_iso(t), *(self.cost[m][i] for m in self.models), self.unpriced[i]]
            for i, t in enumerate(self.bucket_starts_ns())
        ]
        return Table(header, rows)

    def tokens_table(self) -> Table:
        rows = [
            [_iso(t), self.input_tokens[i], self.output_tokens[i]]
            for i, t in enumerate(self.bucket_starts_ns())
        ]
        return Table(["bucket_start_utc", "input_tokens", "output_tokens"], rows)

    def requests_table(self) -> Table:
        rows = [[_iso(t), self.requests[i], self.errors[i]] for i, t in enumerate(self.bucket_starts_ns())]
        return Table(["bucket_start_utc", "requests", "errors"], rows)

    def error_table(self) -> Table:
        rows = [[m, t.calls, t.errors, t.error_rate] for m, t in self.totals.items()]
        return Table(["model", "calls", "errors", "error_rate"], rows)


def usage_series(db: Database, where: UsageFilter = ALL, book: PriceBook | None = None) -> UsageSeries:
    """Series of the calls `where` selects; buckets span the filter's range, else the calls'."""
    book = book or PriceBook.load()
    rows = usage_rows(db, HOUR_NS, where)
    if not rows:
        return UsageSeries(HOUR_NS, where.start_ns or 0, [], [], [], [], [], {}, {})
    grain = HOUR_NS
    first, last = _range_ns(rows, where, grain)
    width = bucket_width(first, last)
    if width < HOUR_NS:
        grain = MINUTE_NS
        rows = usage_rows(db, MINUTE_NS, where)
        first, last = _range_ns(rows, where, grain)
        width = bucket_width(first, last)
    return _fold(rows, grain, width, first, last, book)


@dataclass
class LatencyStats:
    """Finished calls per latency bin (see bin_edges_ms) per model, and per model the output
    tokens and time of the calls that produced output, for output tokens per second."""

    bins: dict[str | None, dict[int, int]]
    output_tokens: dict[str | None, int]
    output_ns: dict[str | None, int]

    def merged(self, keys: Mapping[str | None, str | None]) -> LatencyStats:
        """The stats with each model's bins and output added into its key's (model_groups.shown_as)."""
        out = LatencyStats({}, {}, {})
        for model, by_bin in self.bins.items():
            key = keys.get(model, model)
            mine = out.bins.setdefault(key, {})
            for b, n in by_bin.items():
                mine[b] = mine.get(b, 0) + n
            out.output_tokens[key] = out.output_tokens.get(key, 0) + self.output_tokens.get(model, 0)
            out.output_ns[key] = out.output_ns.get(key, 0) + self.output_ns.get(model, 0)
        return out

    def median_ms(self, model: str | None) -> float | None:
        """The middle of the coarse bin holding the model's median call (geometric, as the axis is
        logarithmic): the tick the latency chart marks."""
        by_bin = self.coarse().get(model)
        if not by_bin:
            return None
        half, seen = sum(by_bin.values()) / 2, 0
        for b in sorted(by_bin):
            seen += by_bin[b]
            if seen >= half:
                break
        low, high = coarse_edges_ms(b)
        return (low * high) ** 0.5

    def tokens_per_s(self, model: str | None) -> float | None:
        ns = self.output_ns.get(model)
        return self.output_tokens[model] / (ns / 1e9) if ns else None

    def coarse(self) -> dict[str | None, dict[int, int]]:
        """Calls per coarse_bin, per model: what the latency chart draws."""
        merged: dict[str | None, dict[int, int]] = {}
        for model, by_bin in self.bins.items():
            mine = merged.setdefault(model, {})
            for b, n in by_bin.items():
                mine[coarse_bin(b)] = mine.get(coarse_bin(b), 0) + n
        return merged

    def latency_table(self) -> Table:
        rows = [
            [model, *coarse_edges_ms(b), n]
            for model, by_bin in self.coarse().items()
            for b, n in sorted(by_bin.items())
        ]
        return Table(["model", "latency_from_ms", "latency_to_ms", "calls"], rows)

    def speed_table(self) -> Table:
        rows = [
            [m, self.output_tokens.get(m, 0), self.output_ns.get(m, 0) / 1e9, self.tokens_per_s(m)]
            for m in self.bins
        ]
        return Table(["model", "output_tokens", "seconds", "output_tokens_per_s"], rows)


def latency_stats(db: Database, where: UsageFilter = ALL) -> LatencyStats:
    """Latency bins and output speed of the finished calls `where` selects."""
    stats = LatencyStats({}, {}, {})
    for model, latency_bin, n, tokens, ns in latency_rows(db, where):
        stats.bins.setdefault(model, {})[latency_bin] = n
        stats.output_tokens[model] = stats.output_tokens.get(model, 0) + (tokens or 0)
        stats.output_ns[model] = stats.output_ns.get(model, 0) + (ns or 0)
    return stats


def _range_ns(rows: list[tuple], where: UsageFilter, grain: int) -> tuple[int, int]:
    """The span to chart: the filter's bounds where it has them, else those of the calls found."""
    grains = [r[0] for r in rows] or [0]
    first = where.start_ns if where.start_ns is not None else min(grains) * grain
    last = where.end_ns - 1 if where.end_ns is not None else max(grains) * grain + grain - 1
    return first, max(first, last)


def _fold(
    rows: Iterable[tuple], grain: int, width: int, first: int, last: int, book: PriceBook
) -> UsageSeries:
    """Sum the per-grain rows into buckets of `width` and per-model totals, pricing as we go."""
    start = first // width * width
    count = last // width - first // width + 1
    zeros = [0] * count
    series = UsageSeries(width, start, zeros[:], zeros[:], zeros[:], zeros[:], zeros[:], {}, {})
    for g, model, provider, cost_class, calls, errors, tokens_in, tokens_out, reported, *priced in sorted(
        rows, key=lambda r: -r[4]
    ):
        i = min(max((g * grain - start) // width, 0), count - 1)
        cost = reported if cost_class == REPORTED else None
        if cost_class == TO_PRICE and model:
            price = book.price(provider, model, _day(g * grain))
            if price is not None:
                priced_in, cache_read, cache_write = priced
                cost = usd(price, priced_in, cache_read or 0, cache_write or 0, tokens_out or 0)
        totals = series.totals.setdefault(model, ModelTotals())
        column = series.cost.setdefault(model, [None] * count)
        series.requests[i] += calls
        series.errors[i] += errors
        series.input_tokens[i] += tokens_in or 0
        series.output_tokens[i] += tokens_out or 0
        totals.calls += calls
        totals.errors += errors
        if cost is None:
            series.unpriced[i] += calls
            totals.unpriced_calls += calls
        else:
            column[i] = (column[i] or 0.0) + cost
            totals.cost_usd += cost
            totals.priced_calls += calls
    series.totals = dict(sorted(series.totals.items(), key=lambda kv: (-kv[1].calls, str(kv[0]))))
    series.cost = {m: series.cost[m] for m in series.totals}
    return series


def _day(ns: int) -> date:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ns // 1000)).date()


def _iso(ns: int) -> str:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ns // 1000)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
