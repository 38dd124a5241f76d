"""Reference metrics per model for the model comparison: the means of reference_metrics, for the
calls a usage filter selects, read only when the store can hold references at all.

Reading every span of a store (payloads decoded) to find none is what the comparison must not pay on
stores without references, so `may_have_references` first asks two cheap questions that mirror
reference_metrics.source_reference: was an Inspect log imported (its samples carry their targets),
and is there an expectation among the scores (MLflow)? A references file the user attached always
counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from spanscope.core.evaluation.reference_metrics import (
    MetricsReport,
    ModelMeans,
    ReferenceEntry,
    reference_metrics,
)
from spanscope.core.formats.inspect_eval import SPEC as INSPECT_EVAL
from spanscope.core.store.db import Database
from spanscope.core.store.usage import ALL, UsageFilter, has_reference_sources, traces_with_calls


@dataclass(frozen=True)
class ReferenceMeans:
    """The means per model (SpanMetrics.model: the span's model, else the models of the calls beneath
    it joined by ", "), how many spans under the filter have a reference, and how many lines of the
    attached file matched no span of the store."""

    by_model: dict[str | None, ModelMeans]
    spans: int
    unmatched: int


NONE = ReferenceMeans({}, 0, 0)


def may_have_references(db: Database) -> bool:
    """False when no span of the store can have a reference of its source's (a few milliseconds)."""
    return has_reference_sources(db, INSPECT_EVAL.name)


def reference_means(
    db: Database, entries: Sequence[ReferenceEntry] = (), where: UsageFilter = ALL
) -> ReferenceMeans:
    """Means over the spans with a reference in the traces holding a call `where` selects (whatever
    its model: the means are per model already)."""
    if not entries and not may_have_references(db):
        return NONE
    report = reference_metrics(db, entries)
    spans = report.spans
    traces = traces_with_calls(db, where)
    if traces is not None:
        spans = [m for m in spans if m.trace_id in traces]
    means = {g.model: g for g in MetricsReport(spans, []).by_model()}
    return ReferenceMeans(means, len(spans), len(report.unmatched))
