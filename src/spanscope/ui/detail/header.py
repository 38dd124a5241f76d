"""The line above the tabs naming the span: kind icon, name, status, latency, time to first token,
model and graph node, and a failed span's message underneath."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QWidget

from spanscope.core.model import Span, Status
from spanscope.core.presentation import display
from spanscope.core.presentation.content import graph_step, preview
from spanscope.ui.detail.html import coloured, error, esc, muted
from spanscope.ui.plain_tooltip import plain_tooltip
from spanscope.ui.style import ERROR_COLOR, kind_icon

ICON_SIZE = 18
OK_COLOR = "#27ae60"


class QtSpanHeader(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.icon = QLabel()
        self.icon.setFixedSize(ICON_SIZE, ICON_SIZE)
        self.title = QLabel(textFormat=Qt.TextFormat.RichText)
        # A long span name must not widen the panel: let the label be cut instead.
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message = QLabel(textFormat=Qt.TextFormat.RichText, wordWrap=True)
        layout = QGridLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setHorizontalSpacing(6)
        layout.addWidget(self.icon, 0, 0)
        layout.addWidget(self.title, 0, 1)
        layout.addWidget(self.message, 1, 1)
        layout.setColumnStretch(1, 1)
        self.set_span(None)

    def set_span(self, span: Span | None) -> None:
        self.message.hide()
        self.icon.setVisible(span is not None)
        if span is None:
            self.title.setText(muted("No step selected"))
            return
        self.icon.setPixmap(kind_icon(span.kind, ICON_SIZE).pixmap(ICON_SIZE, ICON_SIZE))
        self.icon.setToolTip(span.kind.value)
        parts = [f"<b>{esc(span.name)}</b>", self._status(span), esc(display.duration(span.duration_ns))]
        if span.ttft_ns is not None:
            parts.append(muted(f"first token after {display.duration(span.ttft_ns)}"))
        if span.model:
            parts.append(muted(span.model))
        step = graph_step(span)
        if step:
            parts.append(muted(step))
        self.title.setText(" &nbsp;·&nbsp; ".join(p for p in parts if p))
        if span.status is Status.ERROR and span.status_message:
            self.message.setText(coloured(preview(span.status_message, 300), ERROR_COLOR, bold=False))
            self.message.setToolTip(plain_tooltip(span.status_message[:5000]))
            self.message.show()

    @staticmethod
    def _status(span: Span) -> str:
        if span.status is Status.ERROR:
            return error("ERROR")
        if span.status is Status.OK:
            return coloured("OK", OK_COLOR)
        return ""
