"""The step detail's way into replays, beside its tabs, for an LLM span: "Replay…", and how many
replays of the call are stored (a link to the newest)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

from spanscope.core.model import Kind, Span
from spanscope.core.store.replays import ReplayRow, replays_of
from spanscope.ui.context import QtTraceContext


class QtReplayCorner(QWidget):
    """Hidden unless the shown span is an LLM call."""

    #: The user asked to replay the shown span: (trace id, span id).
    replay_requested = Signal(str, str)

    def __init__(self, context: QtTraceContext | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.span: Span | None = None
        self.replays: list[ReplayRow] = []
        self.count = QLabel(textFormat=Qt.TextFormat.RichText)
        self.count.setToolTip("Replays of this call stored so far: open the newest")
        self.count.linkActivated.connect(self._open_newest)
        self.button = QToolButton(text="Replay…", autoRaise=True)
        self.button.setToolTip("Edit this call's request, send it to a model and compare the answers")
        self.button.clicked.connect(self._request)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 2, 0)
        layout.setSpacing(4)
        layout.addWidget(self.count)
        layout.addWidget(self.button)
        self.set_span(None)

    def set_span(self, span: Span | None) -> None:
        """Show the way in for `span` (also to count again after the store changed)."""
        self.span = span
        db = self.context.db if self.context is not None else None
        is_call = span is not None and span.kind is Kind.LLM
        self.setVisible(is_call)
        self.replays = []
        if is_call and db is not None:
            self.replays = [r for r in replays_of(db, span.trace_id, span.span_id) if r.purpose == "replay"]
        self.count.setText(f'<a href="newest">Replays: {len(self.replays)}</a>' if self.replays else "")
        self.count.setVisible(bool(self.replays))

    def _request(self) -> None:
        if self.span is not None:
            self.replay_requested.emit(self.span.trace_id, self.span.span_id)

    def _open_newest(self, _link: str) -> None:
        if self.replays and self.context is not None:
            newest = self.replays[-1]
            self.context.open_span(newest.trace_id, newest.span_id)
