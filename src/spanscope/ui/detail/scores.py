"""A span's scores: each evaluation with its value, who gave it and why (its comment).

Scores of the whole trace are shown on its root span, marked as such, so they are never hidden."""

from __future__ import annotations

from spanscope.core.content import TextBudget
from spanscope.core.model import Kind, Score, Span
from spanscope.ui.detail.html import Rendered, card, esc, muted, text_block, within_budget
from spanscope.ui.style import KIND_COLORS


def _score(score: Score, budget: TextBudget) -> str:
    value = score.display_value() or ("" if score.comment else "no value")
    about = " · ".join(
        part for part in (score.given_by, "whole trace" if score.trace_level else None) if part
    )
    title = f"<b>{esc(score.name)}</b>&nbsp;&nbsp;<b>{esc(value)}</b>"
    if score.label is not None and score.value is not None:
        title += f"&nbsp;{muted(f'({score.value:.4g})')}"
    if about:
        title += f"&nbsp;&nbsp;{muted(about)}"
    body = text_block(budget.take(score.comment)) if score.comment else ""
    return card(title, body, KIND_COLORS[Kind.EVALUATOR])


def scores_html(span: Span, budget: TextBudget) -> Rendered:
    html = within_budget(span.scores, budget, lambda _, score: _score(score, budget))
    return Rendered(html or f"<p>{muted('No scores on this span.')}</p>", budget)
