"""A trace's roll-up and scores as people read them, for the trace list and the trace header."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from spanscope.core.debugging.tree_costs import CostSum
from spanscope.core.model import Score
from spanscope.core.store.queries import TraceRow

#: At most this many scores are listed one a line; the rest are counted.
LISTED_SCORES = 25


def trace_cost(trace: TraceRow) -> CostSum:
    """The trace's cost as stored: reported plus computed, and how many calls were unpriced."""
    return CostSum(trace.cost_usd, trace.cost_computed or 0, trace.cost_unknown or 0)


def score_text(score: Score) -> str:
    """ "relevance 0.8", "helpful yes"."""
    return f"{score.name} {score.display_value()}".strip()


def score_lines(scores: Sequence[tuple[str, Score]], span_names: Mapping[str, str] | None = None) -> str:
    """Every score of a trace, one a line, with who or what gave it and what it rates: the whole
    trace, or a span (named when `span_names` knows it)."""
    lines = []
    for span_id, score in scores[:LISTED_SCORES]:
        rates = "" if span_id == "" else _span_named(span_id, span_names)
        lines.append(f"{score_text(score)} — {score.given_by or 'source unknown'}{rates}")
    if len(scores) > LISTED_SCORES:
        lines.append(f"… and {len(scores) - LISTED_SCORES:,} more")
    return "\n".join(lines)


def _span_named(span_id: str, span_names: Mapping[str, str] | None) -> str:
    return " (on a span)" if span_names is None else f" (on span {span_names.get(span_id, span_id)})"
