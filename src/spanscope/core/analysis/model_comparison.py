"""Side-by-side figures of chosen models, and one (latency, cost) point per call for a scatter.

The table rests on analytics.group_stats (SQL, bulk pricing); the points are read for the chosen
models only, an even sample when there are more than `limit`, and priced per call from the same
per-(provider, model, day) price lookups.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from spanscope.core.analysis.analytics import GroupStats, group_stats, usd
from spanscope.core.analysis.chart_csv import Table
from spanscope.core.evaluation.model_references import ReferenceMeans
from spanscope.core.pricing.prices import PriceBook
from spanscope.core.store.db import Database
from spanscope.core.store.usage import ALL, UsageFilter, finished_calls, score_means

MAX_POINTS = 50_000


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    unit: str


#: The compared figures, in table order; each gets a bar chart.
METRICS = (
    Metric("calls", "Calls", ""),
    Metric("mean_ms", "Mean latency", "ms"),
    Metric("p50_ms", "p50 latency", "ms"),
    Metric("p95_ms", "p95 latency", "ms"),
    Metric("ttft_p50_ms", "p50 time to first token", "ms"),
    Metric("ttft_p95_ms", "p95 time to first token", "ms"),
    Metric("tokens_per_call", "Tokens per call (in + out)", "tokens"),
    Metric("cost_per_call", "Cost per call", "USD"),
    Metric("cost_per_1k_output", "Cost per 1k output tokens", "USD"),
    Metric("error_rate", "Error rate", "%"),
    Metric("tokens_per_s", "Output tokens/s", "tokens/s"),
)

#: The reference metrics' columns: (ModelMeans score field, header); BLEU is on a 0-100 scale.
REFERENCE_COLUMNS = (
    ("exact", "mean exact match"),
    ("f1", "mean token F1"),
    ("rouge_l", "mean ROUGE-L"),
    ("bleu", "mean BLEU (0-100)"),
)


@dataclass(frozen=True)
class ModelRow:
    """One model's figures; None where unknown (no priced call, no finished call)."""

    model: str | None
    values: dict[str, float | None]
    unpriced_calls: int
    #: Score name -> (mean value, how many scores), for the numeric scores of its calls.
    scores: dict[str, tuple[float, int]] = field(default_factory=dict)


def compare_models(
    db: Database,
    models: list[str | None],
    where: UsageFilter = ALL,
    book: PriceBook | None = None,
) -> list[ModelRow]:
    """A row per model in `models` (in that order) over the calls `where` selects."""
    chosen = replace(where, models=tuple(models))
    stats = {g.group: g for g in group_stats(db, "model", book=book, where=chosen)}
    scores = model_scores(db, chosen)
    return [_row(m, stats.get(m), scores.get(m, {})) for m in models]


def model_scores(db: Database, where: UsageFilter) -> dict[str | None, dict[str, tuple[float, int]]]:
    """Mean numeric score per model and score name: scores given to one of its calls, and scores of a
    whole trace (counted once for each model called in it). Empty when the store keeps no scores."""
    found: dict[str | None, dict[str, tuple[float, int]]] = {}
    for model, name, mean, n in score_means(db, where):
        found.setdefault(model, {})[name] = (mean, n)
    return found


def _row(model: str | None, g: GroupStats | None, scores: dict[str, tuple[float, int]]) -> ModelRow:
    if g is None:
        return ModelRow(model, {m.key: None for m in METRICS} | {"calls": 0}, 0, scores)
    tokens = (g.input_tokens or 0) + (g.output_tokens or 0)
    priced = g.priced_calls
    values = {
        "calls": g.calls,
        "mean_ms": g.mean_latency_ms,
        "p50_ms": g.latency_ms["p50"],
        "p95_ms": g.latency_ms["p95"],
        "ttft_p50_ms": g.ttft_ms["p50"],
        "ttft_p95_ms": g.ttft_ms["p95"],
        "tokens_per_call": tokens / g.calls
        if g.input_tokens is not None or g.output_tokens is not None
        else None,
        "cost_per_call": g.cost_usd / priced if g.cost_usd is not None and priced else None,
        "cost_per_1k_output": (
            g.cost_usd / g.priced_output_tokens * 1000
            if g.cost_usd is not None and g.priced_output_tokens
            else None
        ),
        "error_rate": 100 * g.errors / g.calls,
        "tokens_per_s": g.tokens_per_s,
    }
    return ModelRow(model, values, g.cost_source["unknown"], scores)


def score_names(rows: list[ModelRow]) -> list[str]:
    return sorted({name for r in rows for name in r.scores})


def comparison_table(rows: list[ModelRow], references: ReferenceMeans | None = None) -> Table:
    """The figures per model; with `references` that hold any span, the reference metrics' means
    and how many spans with a reference each mean is over (empty cells for a model with none)."""
    names = score_names(rows)
    with_references = references is not None and references.spans > 0
    header = [
        "model",
        *(f"{m.label} ({m.unit})" if m.unit else m.label for m in METRICS),
        "unpriced calls",
        *(f"mean score {n}" for n in names),
        *(["spans with a reference", *(h for _, h in REFERENCE_COLUMNS)] if with_references else []),
    ]
    table_rows = []
    for r in rows:
        row = [
            r.model,
            *(r.values[m.key] for m in METRICS),
            r.unpriced_calls,
            *(r.scores[n][0] if n in r.scores else None for n in names),
        ]
        if with_references:
            means = references.by_model.get(r.model)
            row.append(0 if means is None else means.spans)
            row += [None if means is None else getattr(means.scores, f) for f, _ in REFERENCE_COLUMNS]
        table_rows.append(row)
    return Table(header, table_rows)


@dataclass
class CallPoints:
    """Per model: latency (ms), cost (USD) and (trace id, span id) of each shown call."""

    latency_ms: dict[str | None, list[float]] = field(default_factory=dict)
    cost_usd: dict[str | None, list[float]] = field(default_factory=dict)
    spans: dict[str | None, list[tuple[str, str]]] = field(default_factory=dict)
    #: Finished calls that match, and how many of the read ones had no known cost (not plotted).
    matching: int = 0
    read: int = 0
    unpriced: int = 0

    @property
    def shown(self) -> int:
        return sum(len(v) for v in self.latency_ms.values())

    def table(self) -> Table:
        rows = [
            [model, trace_id, span_id, ms, cost]
            for model, latencies in self.latency_ms.items()
            for ms, cost, (trace_id, span_id) in zip(
                latencies, self.cost_usd[model], self.spans[model], strict=True
            )
        ]
        return Table(["model", "trace_id", "span_id", "latency_ms", "cost_usd"], rows)


def call_points(
    db: Database,
    models: list[str | None],
    where: UsageFilter = ALL,
    book: PriceBook | None = None,
    limit: int = MAX_POINTS,
) -> CallPoints:
    """Finished calls of `models`: all of them, or every k-th by row id when more than `limit`."""
    book = book or PriceBook.load()
    matching, rows = finished_calls(db, models, where, limit)
    points = CallPoints(matching=matching)
    for model in models:
        points.latency_ms[model], points.cost_usd[model], points.spans[model] = [], [], []
    for (
        model,
        provider,
        trace_id,
        span_id,
        start_ns,
        ns,
        cost,
        tokens_in,
        read,
        write,
        tokens_out,
    ) in rows:
        points.read += 1
        if cost is None and model and (tokens_in is not None or tokens_out is not None):
            day = datetime.fromtimestamp(start_ns / 1e9, UTC).date()
            price = book.price(provider, model, day)
            if price is not None:
                cost = usd(
                    price, read + write if tokens_in is None else tokens_in, read, write, tokens_out or 0
                )
        if cost is None:
            points.unpriced += 1
            continue
        points.latency_ms[model].append(ns / 1e6)
        points.cost_usd[model].append(cost)
        points.spans[model].append((trace_id, span_id))
    return points
