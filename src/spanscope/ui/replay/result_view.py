"""The right half of the replay window: the original answer and the replay side by side, the replay's
text live as it streams and then both word-diffed, both calls' figures, and a banner for a failure."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSplitter, QVBoxLayout, QWidget

from spanscope.core.diff.conversation_diff import word_diff
from spanscope.ui.detail.html import esc, muted
from spanscope.ui.detail.rich_view import QtSafeBrowser
from spanscope.ui.replay.compare_html import Answer, Figures, figures_html, side_html, streaming_html
from spanscope.ui.style import ERROR_COLOR, ink, tint

#: Behind a failure's message (style.tint: dark on a dark palette).
BANNER_BACKGROUND = "#fde0dc"


def _titled(title: str, view: QWidget) -> QWidget:
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(2)
    label = QLabel(f"<b>{title}</b>", textFormat=Qt.TextFormat.RichText)
    layout.addWidget(label)
    layout.addWidget(view, 1)
    return box


class QtReplayResult(QWidget):
    """Original | Replay, with the figures above and a failure banner on top."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.banner = QLabel(textFormat=Qt.TextFormat.PlainText, wordWrap=True)
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner.hide()
        self.figures = QLabel(textFormat=Qt.TextFormat.RichText)
        self.original_view = QtSafeBrowser()
        self.replay_view = QtSafeBrowser()
        sides = QSplitter(Qt.Orientation.Horizontal, childrenCollapsible=False)
        sides.addWidget(_titled("Original", self.original_view))
        sides.addWidget(_titled("Replay", self.replay_view))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.banner)
        layout.addWidget(self.figures)
        layout.addWidget(sides, 1)
        self.original: Answer = Answer("")
        self.original_figures: Figures | None = None
        self.replay: Answer | None = None
        self.replay_figures: Figures | None = None
        self.streamed = ""

    def set_original(self, answer: Answer, figures: Figures) -> None:
        self.original, self.original_figures = answer, figures
        self.replay = self.replay_figures = None
        self.original_view.setHtml(side_html(answer, None, "removed"))
        self.replay_view.setHtml(f"<p>{muted('Press Run (Ctrl+Enter) to send the request.')}</p>")
        self._show_figures("")

    def started(self) -> None:
        self.hide_banner()
        self.replay = self.replay_figures = None
        self.streamed = ""
        self.original_view.setHtml(side_html(self.original, None, "removed"))
        self.replay_view.setHtml(f"<p>{muted('Waiting for the answer…')}</p>")
        self._show_figures("running…")

    def stream(self, text: str) -> None:
        """The answer so far (the worker sends it throttled)."""
        self.streamed = text
        self.replay_view.setHtml(streaming_html(text))
        bar = self.replay_view.verticalScrollBar()
        bar.setValue(bar.maximum())

    def finished(self, answer: Answer, figures: Figures) -> None:
        """The whole answer: both sides word-diffed, the replay's figures beside the original's."""
        self.replay, self.replay_figures = answer, figures
        runs = word_diff(self.original.text, answer.text)
        self.original_view.setHtml(side_html(self.original, runs, "removed"))
        self.replay_view.setHtml(side_html(answer, runs, "added"))
        self._show_figures("")

    def stopped(self, why: str) -> None:
        """No answer (cancelled or failed): say so where the replay would be."""
        self.replay = self.replay_figures = None
        partial = f'<p style="white-space: pre-wrap">{esc(self.streamed)}</p>' if self.streamed else ""
        self.replay_view.setHtml(f"{partial}<p>{muted(why)}</p>")
        self._show_figures("")

    def show_banner(self, text: str) -> None:
        """A failure, in plain text (it may quote what an endpoint said)."""
        self.banner.setText(text)
        colours = f"background: {tint(BANNER_BACKGROUND)}; color: {ink(ERROR_COLOR)}"
        self.banner.setStyleSheet(f"{colours}; padding: 6px; border-radius: 3px")
        self.banner.show()

    def hide_banner(self) -> None:
        self.banner.clear()
        self.banner.hide()

    def _show_figures(self, note: str) -> None:
        if self.original_figures is not None:
            self.figures.setText(figures_html(self.original_figures, self.replay_figures, note))
