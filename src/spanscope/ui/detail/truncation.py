"""The strip under a view whose content was cut short: how much is shown, and a "Show all" button."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QApplication, QHBoxLayout, QLabel, QPushButton, QWidget

from spanscope.core.presentation.content import human_bytes
from spanscope.ui.style import MUTED_COLOR


@contextmanager
def busy_cursor() -> Iterator[None]:
    """A wait cursor while "Show all" lays out megabytes (it can take a second)."""
    QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        yield
    finally:
        QApplication.restoreOverrideCursor()


class QtTruncationBar(QWidget):
    show_all_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        self.label.setStyleSheet(f"color: {MUTED_COLOR}")
        self.button = QPushButton()
        self.button.clicked.connect(self.show_all_requested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.button)
        self.hide()

    def offer(self, shown_bytes: int, total_bytes: int) -> None:
        """Say that only `shown_bytes` of `total_bytes` are on screen, and offer the rest."""
        self.label.setText(f"Showing the first {human_bytes(shown_bytes)} of {human_bytes(total_bytes)}.")
        self.button.setText(f"Show all ({human_bytes(total_bytes)})")
        self.show()
