"""A window showing one value in full (indented when it is JSON), for values too long for a cell.

Base64 images and audio in it read as their type and size unless the user asks for the data."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QCheckBox, QDialog, QDialogButtonBox, QVBoxLayout, QWidget

from spanscope.core.presentation.content import pretty
from spanscope.core.presentation.media import shorten
from spanscope.ui.detail.text_view import QtLargeTextView
from spanscope.ui.screen_fit import fit_to_screen

#: A long value is read best in a wide, tall window; a small screen gets what it has.
PREFERRED_SIZE = (960, 720)


class QtValueDialog(QDialog):
    def __init__(self, title: str, value: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        text = pretty(value)
        short = shorten(text)
        self.view = QtLargeTextView(monospace=True)
        self.view.set_text(short)
        self.show_data = QCheckBox("Show base64 data")
        self.show_data.toggled.connect(lambda full: self.view.set_text(text if full else short))
        self.show_data.setVisible(short != text)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.show_data)
        layout.addWidget(buttons)
        fit_to_screen(self, *PREFERRED_SIZE)
