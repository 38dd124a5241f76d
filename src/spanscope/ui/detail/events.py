"""A span's events in time order: exceptions with type, message and stack trace, other events with
their time since the span started and their attributes. A failed span with no exception event shows
its status message first, so the tab never hides why it failed."""

from __future__ import annotations

from spanscope.core.model import Event, Span, Status
from spanscope.core.presentation import display
from spanscope.core.presentation.content import TextBudget, compact, offset
from spanscope.ui.detail.html import Rendered, card, code_block, error, esc, muted, text_block, within_budget
from spanscope.ui.style import ERROR_COLOR, MUTED_COLOR

_EXCEPTION_KEYS = frozenset({"exception.type", "exception.message", "exception.stacktrace"})


def _when(event: Event, start_ns: int) -> str:
    if event.time_ns is None:
        return muted("time not recorded")
    return f"<b>{esc(offset(event.time_ns, start_ns))}</b> {muted(display.timestamp(event.time_ns))}"


def _attributes(event: Event, budget: TextBudget) -> str:
    lines = [
        f"{muted(key)}&nbsp;&nbsp;{esc(budget.take(compact(value)))}"
        for key, value in event.attributes.items()
        if key not in _EXCEPTION_KEYS
    ]
    return "".join(f'<p style="margin: 0; white-space: pre-wrap">{line}</p>' for line in lines)


def _exception(event: Event, budget: TextBudget) -> str:
    kind = event.exception_type or "exception"
    message = event.exception_message
    html = f'<p style="margin: 2px 0">{error(kind)}'
    html += f": <b>{esc(budget.take(message))}</b></p>" if message else "</p>"
    if event.stacktrace:
        html += code_block(budget.take(event.stacktrace))
    return html


def _event(event: Event, start_ns: int, budget: TextBudget) -> str:
    title = f"<b>{esc(event.name)}</b>&nbsp;&nbsp;{_when(event, start_ns)}"
    body = (_exception(event, budget) if event.is_exception else "") + _attributes(event, budget)
    return card(title, body, ERROR_COLOR if event.is_exception else MUTED_COLOR)


def _status(span: Span, budget: TextBudget) -> str:
    message = text_block(budget.take(span.status_message)) if span.status_message else ""
    return card(error("Span failed"), message, ERROR_COLOR)


def events_html(span: Span, budget: TextBudget) -> Rendered:
    events = sorted(span.events, key=lambda e: (e.time_ns is None, e.time_ns or 0))
    explained = any(e.is_exception for e in events)
    html = _status(span, budget) if span.status is Status.ERROR and not explained else ""
    html += within_budget(events, budget, lambda _, event: _event(event, span.start_ns, budget))
    return Rendered(html or f"<p>{muted('No events recorded on this span.')}</p>", budget)
