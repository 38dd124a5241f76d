"""Retrieved documents as a ranked list: position, id, score, content (markdown rendered, long ones
folded to their first lines) and metadata."""

from __future__ import annotations

from typing import Any

from spanscope.core.model import Kind
from spanscope.core.presentation.content import TextBudget, compact, document, preview
from spanscope.ui.detail.html import Reading, Rendered, card, coloured, esc, muted, within_budget
from spanscope.ui.detail.prose import Prose
from spanscope.ui.style import KIND_COLORS, tint

SCORE_BAR_CELLS = 10
#: The bar's empty cells: a track behind the filled ones (style.tint: dark on a dark palette).
BAR_TRACK = "#dfe6e9"


def _score(score: float | None) -> str:
    """The score as a number and, for scores in [0, 1], a small bar to compare at a glance."""
    if score is None:
        return muted("no score")
    text = f"{muted('score')} <b>{score:.4g}</b>"
    if not 0 <= score <= 1:
        return text
    filled = round(score * SCORE_BAR_CELLS)
    bar = coloured("█" * filled, KIND_COLORS[Kind.RETRIEVER], bold=False)
    track = f'<span style="color: {tint(BAR_TRACK)}">{"█" * (SCORE_BAR_CELLS - filled)}</span>'
    return f"{text}&nbsp; {bar}{track}"


def _document(position: int, item: dict[str, Any], prose: Prose, foldable: bool) -> str:
    doc = document(item)
    title = f"<b>{position}.</b> " + (f"<b>{esc(doc.id)}</b>" if doc.id else muted("(no id)"))
    title += f"&nbsp;&nbsp; {_score(doc.score)}"
    meta = " · ".join(f"{k}: {preview(compact(v), 200)}" for k, v in doc.metadata.items())
    body = prose.folded(str(position), doc.content, foldable) + (
        f'<p style="margin: 2px 0">{muted(meta)}</p>' if meta else ""
    )
    return card(title, body, KIND_COLORS[Kind.RETRIEVER])


def documents_html(
    items: list[dict[str, Any]], budget: TextBudget, reading: Reading | None = None
) -> Rendered:
    """Documents in retrieval order; `items` are the raw dicts, read only as far as they are shown.
    Long documents are folded when there are several to compare."""
    out = Rendered("", budget)
    prose, foldable = Prose(out, reading or Reading()), len(items) > 1
    out.html = within_budget(
        items, budget, lambda position, item: _document(position + 1, item, prose, foldable)
    )
    return out
