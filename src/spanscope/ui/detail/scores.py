"""A span's scores: each evaluation with its value, who gave it and why (its comment).

Scores of the whole trace are shown on its root span, marked as such, so they are never hidden.
A span with a reference answer first shows it and the automatic metrics of its output against it,
marked apart from the scores people and evaluators gave."""

from __future__ import annotations

from spanscope.core.debugging.cursor import payload_text
from spanscope.core.evaluation.reference_metrics import Reference, metric_texts, score
from spanscope.core.model import Kind, Score, Span
from spanscope.core.presentation.content import TextBudget
from spanscope.ui.detail.html import Rendered, card, esc, muted, text_block, within_budget
from spanscope.ui.style import KIND_COLORS

#: The marker of the automatic metrics: not the evaluators' colour, so they are not taken for a score.
METRICS_COLOR = "#0984e3"


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


def reference_html(span: Span, reference: Reference, budget: TextBudget) -> str:
    """The expected answer(s) and the four metrics of the span's output against them."""
    names = ("exact match", "token F1", "ROUGE-L", "BLEU")
    texts = metric_texts(score(payload_text(span.output) or "", reference.expected))
    figures = " &nbsp;·&nbsp; ".join(
        f"{name} <b>{value}</b>" for name, value in zip(names, texts, strict=True)
    )
    expected = "Expected answers (the best match counts):" if len(reference.expected) > 1 else "Expected:"
    title = "<b>Automatic metrics against a reference answer</b>"
    about = f"computed from the output, not a human score · reference from {reference.origin}"
    body = (
        f"<p style='margin: 0 0 2px 0'>{muted(about)}</p>"
        f"<p style='margin: 2px 0'>{figures}</p>"
        f"<p style='margin: 6px 0 0 0'>{muted(expected)}</p>"
        + "".join(text_block(budget.take(text)) for text in reference.expected)
    )
    if span.output is None:
        body += f"<p style='margin: 2px 0'>{muted('The span has no output: every metric is 0.')}</p>"
    return card(title, body, METRICS_COLOR)


def scores_html(span: Span, budget: TextBudget, reference: Reference | None = None) -> Rendered:
    metrics = "" if reference is None else reference_html(span, reference, budget)
    html = within_budget(span.scores, budget, lambda _, score: _score(score, budget))
    if metrics:
        html = metrics + (f"<p style='margin: 10px 0 0 0'><b>Scores</b></p>{html}" if html else "")
    return Rendered(html or f"<p>{muted('No scores on this span.')}</p>", budget)
