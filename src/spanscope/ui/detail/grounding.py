"""The Grounding tab: each sentence of an LLM call's answer with the passages sharing its words."""

from __future__ import annotations

from spanscope.core.evaluation.grounding import (
    MIN_SHARED,
    PARTLY_AT,
    SUPPORTED_AT,
    Grounding,
    SentenceGrounding,
    Verdict,
)
from spanscope.core.presentation.content import TextBudget
from spanscope.ui.detail.html import Rendered, card, coloured, esc, muted, within_budget
from spanscope.ui.style import ERROR_COLOR, MUTED_COLOR, ink, tint

VERDICT_COLORS = {
    Verdict.SUPPORTED: "#27ae60",
    Verdict.PARTLY: "#e1a100",
    Verdict.NOT_FOUND: ERROR_COLOR,
    Verdict.NOT_JUDGED: MUTED_COLOR,
}
#: Pale highlights behind words, and behind the note (each through style.tint, so dark on a dark palette).
SHARED_BACKGROUND = "#fff1a8"
MATCHED_BACKGROUND = "#d5f5e3"
NOTE_BACKGROUND = "#f4f6f7"

NOTE = (
    "<b>Lexical evidence, not proof.</b> Each sentence is matched to document passages by the words "
    "they share (common words left out). Shared words do not show that a passage says the same thing "
    "(a dropped “not” or a changed number goes unnoticed), and a faithful paraphrase can score low. "
    f"Score: the share of the sentence's words found in its passages; supported from "
    f"{SUPPORTED_AT:.0%}, partly from {PARTLY_AT:.0%}, below that <i>possibly not grounded</i>; "
    f"sentences with fewer than {MIN_SHARED} words are not judged."
)


def marked(text: str, start: int, end: int, ranges: list[tuple[int, int, str]]) -> str:
    """text[start:end], escaped, each of `ranges` (absolute start, end and CSS, in order) styled."""
    out, at = [], start
    for a, b, style in ranges:
        out += [esc(text[at:a]), f'<span style="{style}">{esc(text[a:b])}</span>']
        at = b
    out.append(esc(text[at:end]))
    return "".join(out)


def _sentence(found: Grounding, position: int, s: SentenceGrounding, budget: TextBudget) -> str:
    color = VERDICT_COLORS[s.verdict]
    score = "" if s.verdict is Verdict.NOT_JUDGED else f"{s.score:.2f} "
    title = f"<b>{position}.</b> {coloured(score + s.verdict.value, color)}"
    budget.take(s.text)
    ranges = sorted(
        [(a, b, f"background: {tint(MATCHED_BACKGROUND)}") for a, b in s.matched]
        + (
            []
            if s.verdict is Verdict.NOT_JUDGED
            else [(a, b, f"color: {ink(ERROR_COLOR)}") for a, b in s.unmatched]
        )
    )
    html = f'<p style="margin: 2px 0">{marked(found.answer, s.start, s.end, ranges)}</p>'
    for sup in s.supports:
        doc = found.documents.items[sup.document]
        shared = [(a, b, f"background: {tint(SHARED_BACKGROUND)}") for a, b in sup.overlap]
        passage = marked(doc.text, sup.start, sup.end, shared)
        budget.take(doc.text[sup.start : sup.end])
        html += f'<p style="margin: 4px 0 0 12px">{muted(f"{sup.score:.2f} · {doc.label}")}<br>{passage}</p>'
    if not s.supports and s.verdict is not Verdict.NOT_JUDGED:
        why = muted(f"No passage shares {MIN_SHARED} of its words.")
        html += f'<p style="margin: 4px 0 0 12px">{why}</p>'
    return card(title, html, color)


def grounding_html(found: Grounding, budget: TextBudget) -> Rendered:
    counts = ", ".join(f"{n} {verdict}" for verdict, n in found.counts().items() if n)
    legend = (
        f'<span style="background: {tint(MATCHED_BACKGROUND)}">words found</span> and '
        f'<span style="color: {ink(ERROR_COLOR)}">words not found</span> in the sentence\'s '
        "supporting passages; "
        f'<span style="background: {tint(SHARED_BACKGROUND)}">shared words</span> in each passage.'
    )
    head = (
        f'<p style="margin: 4px 0; padding: 4px; background: {tint(NOTE_BACKGROUND)}">{NOTE}<br>{legend}</p>'
        f'<p style="margin: 6px 0">{len(found.documents.items)} documents, '
        f"{esc(found.documents.origin)}. {esc(counts)}.</p>"
    )
    sentences = within_budget(found.sentences, budget, lambda k, s: _sentence(found, k + 1, s, budget))
    return Rendered(head + sentences, budget)
