"""The original answer beside the replayed one, as rich text: each side's words (what the other side
lacks highlighted), its tool calls as cards, and a table of both calls' figures. Every piece of
trace or answer text is escaped here."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from spanscope.core.debugging.cursor import payload_text
from spanscope.core.endpoints.chat import Completion
from spanscope.core.model import Span, is_messages
from spanscope.core.presentation import display
from spanscope.core.presentation.content import pretty
from spanscope.core.pricing.prices import PriceBook
from spanscope.ui.detail.html import card, code_block, esc, muted
from spanscope.ui.style import MUTED_COLOR, ink, tint
from spanscope.ui.trace_diff import WORD_COLORS

TOOL_COLOR = "#8e44ad"


@dataclass(frozen=True, slots=True)
class Answer:
    """A call's answer as compared: its text and its tool calls ({id, name, arguments})."""

    text: str
    tool_calls: list[dict[str, Any]] = field(default_factory=list)


def recorded_answer(output: Any) -> Answer:
    """The answer in a span's shown output: an assistant message's text and tool calls (all of them
    when the output holds several messages), else the output as text."""
    if output is None:
        return Answer("")
    if isinstance(output, dict) and "role" in output:
        output = [output]
    if is_messages(output):
        said = [m for m in output if m.get("role") == "assistant"] or output
        calls = [c for m in said for c in m.get("tool_calls") or [] if isinstance(c, dict)]
        return Answer(payload_text(said) or "", calls)
    return Answer(output if isinstance(output, str) else pretty(output))


def completion_answer(completion: Completion) -> Answer:
    return Answer(completion.text, list(completion.tool_calls))


@dataclass(frozen=True, slots=True)
class Figures:
    """One call's figures, as shown (an empty text: unknown)."""

    model: str
    input_tokens: str
    output_tokens: str
    latency: str
    ttft: str
    cost: str

    @classmethod
    def of(cls, span: Span, book: PriceBook) -> Figures:
        cost = book.cost(span)
        return cls(
            span.model or "",
            display.count(span.input_tokens) if span.input_tokens is not None else "",
            display.count(span.output_tokens) if span.output_tokens is not None else "",
            display.duration(span.duration_ns) if span.duration_ns is not None else "",
            display.duration(span.ttft_ns) if span.ttft_ns is not None else "",
            display.cost(cost.usd, computed=cost.source == "computed", unknown=cost.usd is None),
        )


FIGURE_ROWS = (
    ("model", "model"),
    ("input tokens", "input_tokens"),
    ("output tokens", "output_tokens"),
    ("latency", "latency"),
    ("time to first token", "ttft"),
    ("cost", "cost"),
)


def figures_html(original: Figures, replay: Figures | None, replay_note: str = "") -> str:
    """A table: each figure of the original and of the replay (`replay_note` while it has none)."""
    rows = []
    for label, name in FIGURE_ROWS:
        a = getattr(original, name)
        b = getattr(replay, name) if replay is not None else ""
        rows.append(
            f"<tr><td>{muted(label)}</td><td>{esc(a) or muted('—')}</td>"
            f"<td>{esc(b) or muted(replay_note or '—')}</td></tr>"
        )
    head = '<tr><th></th><th align="left">Original</th><th align="left">Replay</th></tr>'
    return f'<table cellspacing="0" cellpadding="2">{head}{"".join(rows)}</table>'


def _arguments(value: Any) -> str:
    if isinstance(value, str):
        try:
            return pretty(json.loads(value))
        except ValueError:
            return value
    return pretty(value)


def tool_cards(calls: list[dict[str, Any]]) -> str:
    """Each tool call the answer makes: its name and id, and its arguments as indented JSON."""
    return "".join(
        card(
            f"<b>{esc(str(call.get('name') or '?'))}</b> "
            + muted(f"tool call {call.get('id') or ''}".rstrip()),
            code_block(_arguments(call.get("arguments"))),
            TOOL_COLOR,
        )
        for call in calls
    )


def _runs_html(runs: list[tuple[str, str]], marked: str) -> str:
    back, text, more = WORD_COLORS[marked]
    style = f"background: {tint(back)}; color: {ink(text)}{more}"
    parts = [
        esc(chunk) if op == "same" else f'<span style="{style}">{esc(chunk)}</span>'
        for op, chunk in runs
        if op in ("same", marked)
    ]
    return f'<p style="white-space: pre-wrap; margin: 2px 0 8px 0">{"".join(parts)}</p>'


def side_html(answer: Answer, runs: list[tuple[str, str]] | None, marked: str) -> str:
    """One side: its words (with `runs`, the word diff, those `marked` — removed on the original,
    added on the replay — highlighted), then its tool calls."""
    if runs is not None and answer.text:
        text = _runs_html(runs, marked)
    elif answer.text:
        text = f'<p style="white-space: pre-wrap; margin: 2px 0 8px 0">{esc(answer.text)}</p>'
    else:
        text = "" if answer.tool_calls else f"<p>{muted('(no text)')}</p>"
    return text + tool_cards(answer.tool_calls)


def streaming_html(text: str) -> str:
    """The replay's text as it arrives."""
    cursor = f'<span style="color: {MUTED_COLOR}">▍</span>'
    return f'<p style="white-space: pre-wrap; margin: 2px 0 8px 0">{esc(text)}{cursor}</p>'
