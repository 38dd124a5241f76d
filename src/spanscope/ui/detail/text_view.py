"""Plain text, wrapped, showing a prefix of large text first with "Show all" for the rest."""

from __future__ import annotations

from PySide6.QtGui import QFontDatabase, QTextOption
from PySide6.QtWidgets import QPlainTextEdit, QVBoxLayout, QWidget

from spanscope.core.presentation.content import TextBudget
from spanscope.ui.detail.truncation import QtTruncationBar, busy_cursor


class QtLargeTextView(QWidget):
    def __init__(self, parent: QWidget | None = None, *, monospace: bool = False) -> None:
        super().__init__(parent)
        self.editor = QPlainTextEdit(readOnly=True)
        if monospace:
            self.editor.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.bar = QtTruncationBar()
        self.bar.show_all_requested.connect(self.show_all)
        self._text = ""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.editor, 1)
        layout.addWidget(self.bar)

    def set_text(self, text: str) -> None:
        self._text = text
        self._show(TextBudget())

    def clear_content(self) -> None:
        self.set_text("")

    def show_all(self) -> None:
        with busy_cursor():
            self._show(TextBudget(limit=None))

    def text(self) -> str:
        return self.editor.toPlainText()

    def _show(self, budget: TextBudget) -> None:
        shown = budget.take(self._text)
        # Word wrapping lays out a huge unbroken word in quadratic time; wrap those anywhere instead.
        mode = QTextOption.WrapMode.WrapAnywhere if budget.long_tokens else QTextOption.WrapMode.WordWrap
        self.editor.setWordWrapMode(mode)
        self.editor.setPlainText(shown)
        if budget.truncated:
            self.bar.offer(budget.shown_bytes, budget.total_bytes)
        else:
            self.bar.hide()
