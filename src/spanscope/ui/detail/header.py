"""The line above the tabs naming the span: kind icon, name, status, latency, time to first token,
model and graph node, and a failed span's message underneath, folded to MESSAGE_LINES lines (the
Events tab and the message's tooltip have all of it), so a long error leaves the tabs their room."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QFont, QFontMetrics, QResizeEvent, QTextLayout
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QWidget

from spanscope.core.model import Span, Status
from spanscope.core.presentation import display
from spanscope.core.presentation.content import graph_step, preview
from spanscope.ui.detail.html import coloured, error, esc, muted
from spanscope.ui.plain_tooltip import plain_tooltip
from spanscope.ui.style import ERROR_COLOR, kind_icon

ICON_SIZE = 18
OK_COLOR = "#27ae60"
#: The most lines a failed span's message takes in the header.
MESSAGE_LINES = 2


def folded(text: str, font: QFont, width: int, lines: int) -> str:
    """`text` as it wraps at `width` px in `font`, cut to its first `lines` lines, the last of them
    ending in "…" when there was more."""
    layout = QTextLayout(text, font)
    layout.beginLayout()
    starts = []
    while len(starts) <= lines and (line := layout.createLine()).isValid():
        line.setLineWidth(width)
        starts.append(line.textStart())
    layout.endLayout()
    if len(starts) <= lines:
        return text
    last = starts[lines - 1]
    return text[:last] + QFontMetrics(font).elidedText(text[last:], Qt.TextElideMode.ElideRight, width)


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
        self._message_text = ""
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
            self._message_text = preview(span.status_message, 300)
            self._fold_message()
            self.message.setToolTip(plain_tooltip(span.status_message[:5000]))
            self.message.show()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.message.isVisibleTo(self):
            self._fold_message()

    def changeEvent(self, event: QEvent) -> None:
        """The message's colour is written for the palette: written again when that changes."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and self.message.isVisibleTo(self):
            self._fold_message()

    def _fold_message(self) -> None:
        width = max(1, self.message.contentsRect().width() or self.width() - ICON_SIZE - 14)
        text = folded(self._message_text, self.message.font(), width, MESSAGE_LINES)
        self.message.setText(coloured(text, ERROR_COLOR, bold=False))

    @staticmethod
    def _status(span: Span) -> str:
        if span.status is Status.ERROR:
            return error("ERROR")
        if span.status is Status.OK:
            return coloured("OK", OK_COLOR)
        return ""
