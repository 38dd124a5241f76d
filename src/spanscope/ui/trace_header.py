"""The line above the span tree naming the current trace, and its scores with the spans they rate.

A trace's scores often rate one of its spans (a retriever's relevance, an LLM call's correctness),
not its root: listed here, each links to the span it rates, so they are found without opening span
after span. A replay or a judge's call links to the recorded call it is of, and a recorded trace to
its replays and judgements. Everything from the trace is escaped before it reaches the labels' rich text.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from spanscope.core.model import Score
from spanscope.core.presentation import display
from spanscope.core.presentation.trace_summary import score_lines, score_text, trace_cost
from spanscope.core.store.queries import TraceRow
from spanscope.core.store.replays import ReplayRow
from spanscope.ui.plain_tooltip import plain_tooltip
from spanscope.ui.style import ERROR_COLOR, MUTED_COLOR

#: Scores shown in the line itself; the tooltip lists them all.
SHOWN_SCORES = 8
#: Replays of a recorded trace linked in the line, the latest first.
SHOWN_REPLAYS = 4
_SEP = " &nbsp;·&nbsp; "


def _muted(text: str) -> str:
    return f"<span style='color:{MUTED_COLOR}'>{html.escape(text)}</span>"


class QtTraceHeader(QWidget):
    """Name, id and totals of a trace, then its scores; clicking the span a score rates emits
    `span_clicked` with that span's id."""

    span_clicked = Signal(str)
    #: A link to another trace's span: (trace id, span id).
    open_requested = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel(textFormat=Qt.TextFormat.RichText)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.scores = QLabel(textFormat=Qt.TextFormat.RichText, wordWrap=True)
        self.scores.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse)
        self.scores.linkActivated.connect(self._on_link)
        self.links = QLabel(textFormat=Qt.TextFormat.RichText, wordWrap=True)
        self.links.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse)
        self.links.linkActivated.connect(self._on_other_trace)
        self.links.hide()
        for label in (self.title, self.scores, self.links):
            # A long name or many scores must not widen the panel: let the label be cut instead.
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.setSpacing(1)
        layout.addWidget(self.title)
        layout.addWidget(self.scores)
        layout.addWidget(self.links)
        #: The spans the shown links select, by link number (no trace data goes into a link).
        self._linked: list[str] = []
        self._other: list[tuple[str, str]] = []
        self.set_trace(None, [], {})

    def set_trace(
        self, trace: TraceRow | None, scores: Sequence[tuple[str, Score]], span_names: Mapping[str, str]
    ) -> None:
        """Show `trace` with its scores ((span id or '' for the whole trace, score)), naming the spans
        they rate by `span_names`."""
        self.setVisible(trace is not None)
        if trace is None:
            self._linked = []
            return
        self.title.setText(self._title_html(trace))
        self.title.setToolTip(plain_tooltip(f"{trace.root_name or '(no root span)'}\ntrace {trace.trace_id}"))
        self._linked = []
        parts = [self._score_html(span_id, score, span_names) for span_id, score in scores[:SHOWN_SCORES]]
        if len(scores) > SHOWN_SCORES:
            parts.append(_muted(f"and {len(scores) - SHOWN_SCORES:,} more"))
        self.scores.setText("Scores: " + ", ".join(parts) if parts else _muted("No scores"))
        self.scores.setToolTip(plain_tooltip(score_lines(scores, span_names)))

    @staticmethod
    def _title_html(trace: TraceRow) -> str:
        name = html.escape(trace.root_name or "(no root span)")
        spans = f"{display.count(trace.span_count)} span{'' if trace.span_count == 1 else 's'}"
        parts = [f"<b>{name}</b>", html.escape(spans), html.escape(display.duration(trace.duration_ns))]
        if cost := trace_cost(trace).text:
            parts.append(html.escape(cost))
        if trace.error_count:
            errors = f"{display.count(trace.error_count)} error{'' if trace.error_count == 1 else 's'}"
            parts.append(f"<span style='color:{ERROR_COLOR}'>{errors}</span>")
        if trace.service:
            parts.append(_muted(trace.service))
        # Last, as the least read: a narrow panel cuts it first (the tooltip has it whole).
        parts.append(_muted(f"trace {trace.trace_id}"))
        return _SEP.join(parts)

    def _score_html(self, span_id: str, score: Score, span_names: Mapping[str, str]) -> str:
        text = f"<b>{html.escape(score_text(score))}</b>"
        if span_id == "":
            return text
        self._linked.append(span_id)
        name = html.escape(span_names.get(span_id, span_id))
        return f"{text} {_muted('on')} <a href='#{len(self._linked) - 1}'>{name}</a>"

    def set_links(
        self, origin: Sequence[ReplayRow], names: Mapping[str, str], of_this: Sequence[ReplayRow]
    ) -> None:
        """The recorded calls this trace replays or judges (`origin`, named by `names` — trace id
        to the recorded trace's name), and the replays and judgements of this trace's calls."""
        self._other = []
        parts: list[str] = []
        if origin:
            first = origin[0]
            what = "Judgement of" if first.purpose == "judge" else "Replay of"
            calls = f" ({len(origin):,} calls)" if len(origin) > 1 else ""
            name = names.get(first.of_trace_id) or f"trace {first.of_trace_id}"
            parts.append(f"{what} {self._other_link(first.of_trace_id, first.of_span_id, name)}{calls}")
        replays = [row for row in of_this if row.purpose == "replay"]
        latest = {}
        for row in reversed(replays):
            latest.setdefault(row.trace_id, row)
        if latest:
            shown = [
                self._other_link(row.trace_id, row.span_id, row.model or "replay")
                for row in list(latest.values())[:SHOWN_REPLAYS]
            ]
            more = _muted(f" and {len(latest) - SHOWN_REPLAYS:,} more") if len(latest) > SHOWN_REPLAYS else ""
            parts.append(f"Replayed with {', '.join(shown)}{more}")
        judged = sum(row.purpose == "judge" for row in of_this)
        if judged:
            parts.append(html.escape(f"Judged {judged:,} time{'' if judged == 1 else 's'} (see Scores)"))
        self.links.setText(_SEP.join(parts))
        self.links.setVisible(bool(parts))

    def _other_link(self, trace_id: str, span_id: str, text: str) -> str:
        self._other.append((trace_id, span_id))
        return f"<a href='#{len(self._other) - 1}'>{html.escape(text)}</a>"

    def _on_other_trace(self, link: str) -> None:
        number = int(link.removeprefix("#"))
        if 0 <= number < len(self._other):
            self.open_requested.emit(*self._other[number])

    def _on_link(self, link: str) -> None:
        number = int(link.removeprefix("#"))
        if 0 <= number < len(self._linked):
            self.span_clicked.emit(self._linked[number])
