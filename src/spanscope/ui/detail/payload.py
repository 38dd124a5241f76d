"""A span's input or output, shown the way its shape reads best: a conversation, a list of
retrieved documents, a JSON tree, or wrapped text."""

from __future__ import annotations

from functools import partial
from typing import Any

from PySide6.QtWidgets import QLabel, QStackedWidget, QVBoxLayout, QWidget

from spanscope.core.presentation.content import PayloadKind, human_bytes, shape, utf8_size
from spanscope.ui.detail.conversation import conversation_html
from spanscope.ui.detail.documents import documents_html
from spanscope.ui.detail.json_tree import QtJsonTree
from spanscope.ui.detail.rich_view import QtRichView
from spanscope.ui.detail.text_view import QtLargeTextView
from spanscope.ui.style import MUTED_COLOR


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def describe(kind: PayloadKind, value: Any) -> str:
    """A few words on what the payload is, for the section heading."""
    if kind is PayloadKind.MESSAGES:
        return _plural(len(value), "message")
    if kind is PayloadKind.DOCUMENTS:
        return _plural(len(value), "document")
    if kind is PayloadKind.JSON:
        return "JSON"
    if kind is PayloadKind.TEXT:
        return f"text, {human_bytes(utf8_size(value))}"
    return ""


class QtPayloadView(QStackedWidget):
    """One page per shape; pages not shown are emptied so they hold no large content."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.empty = QLabel(wordWrap=True)
        self.empty.setStyleSheet(f"color: {MUTED_COLOR}; padding: 6px")
        self.rich = QtRichView()
        self.tree = QtJsonTree()
        self.text = QtLargeTextView()
        for page in (self.empty, self.rich, self.tree, self.text):
            self.addWidget(page)

    def set_value(self, kind: PayloadKind, value: Any, empty_text: str) -> None:
        if kind is PayloadKind.MESSAGES:
            self.rich.set_renderer(partial(conversation_html, value))
            page: QWidget = self.rich
        elif kind is PayloadKind.DOCUMENTS:
            self.rich.set_renderer(partial(documents_html, value))
            page = self.rich
        elif kind is PayloadKind.JSON:
            self.tree.set_value(value)
            page = self.tree
        elif kind is PayloadKind.TEXT:
            self.text.set_text(value)
            page = self.text
        else:
            self.empty.setText(empty_text)
            page = self.empty
        for other in (self.rich, self.tree, self.text):
            if other is not page:
                other.clear_content()
        self.setCurrentWidget(page)


class QtPayloadSection(QWidget):
    """A titled payload view, e.g. "Input · 4 messages"."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.heading = QLabel()
        self.view = QtPayloadView()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.setSpacing(2)
        self.heading.setContentsMargins(4, 0, 0, 0)
        layout.addWidget(self.heading)
        layout.addWidget(self.view, 1)

    def set_value(self, value: Any, empty_text: str) -> None:
        kind, shown = shape(value)
        about = describe(kind, shown)
        about_html = f' <span style="color: {MUTED_COLOR}">· {about}</span>' if about else ""
        self.heading.setText(f"<b>{self.title}</b>{about_html}")
        self.view.set_value(kind, shown, empty_text)
