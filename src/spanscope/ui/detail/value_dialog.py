"""A window showing one value in full (indented when it is JSON), for values too long for a cell."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QVBoxLayout, QWidget

from spanscope.core.presentation.content import pretty
from spanscope.ui.detail.text_view import QtLargeTextView


class QtValueDialog(QDialog):
    def __init__(self, title: str, value: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.resize(720, 520)
        self.view = QtLargeTextView(monospace=True)
        self.view.set_text(pretty(value))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view, 1)
        layout.addWidget(buttons)
