"""What a tooltip shows, read as Qt renders it (`Qt.mightBeRichText` lives in QtGui)."""

from __future__ import annotations

from PySide6.QtGui import Qt, QTextDocument


def shown_text(tip: str | None) -> str:
    """The text a tooltip shows: rendered from markup when Qt takes it for rich text."""
    if not tip:
        return ""
    if not Qt.mightBeRichText(tip):
        return tip
    document = QTextDocument()
    document.setHtml(tip)
    return document.toPlainText()
