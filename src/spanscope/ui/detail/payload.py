"""A span's input or output, shown the way its shape reads best: a conversation, a list of
retrieved documents, a JSON tree, markdown, or wrapped text; "Raw" shows markdown as written."""

from __future__ import annotations

from functools import partial
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from spanscope.core.presentation.content import PayloadKind, TextBudget, human_bytes, shape, utf8_size
from spanscope.core.presentation.markdown import looks_like_markdown
from spanscope.ui.detail.conversation import conversation_html
from spanscope.ui.detail.documents import documents_html
from spanscope.ui.detail.html import Rendered, esc
from spanscope.ui.detail.json_tree import QtJsonTree
from spanscope.ui.detail.markdown import markdown_html
from spanscope.ui.detail.prose import MARKDOWN_CHARS
from spanscope.ui.detail.reading import QtMarkdownChoice
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


def markdown_document(text: str, budget: TextBudget) -> Rendered:
    return Rendered(markdown_html(budget.take(text)), budget)


def renders_as_markdown(text: str) -> bool:
    """A text payload is rendered when it is markdown and short enough to render at once."""
    return len(text) <= MARKDOWN_CHARS and looks_like_markdown(text)


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
        self.shown: tuple[PayloadKind, Any, str] = (PayloadKind.EMPTY, None, "")

    def set_value(self, kind: PayloadKind, value: Any, empty_text: str) -> None:
        self.shown = (kind, value, empty_text)
        if kind is PayloadKind.MESSAGES:
            self.rich.set_renderer(partial(conversation_html, value, reading=self.rich.reading))
            page: QWidget = self.rich
        elif kind is PayloadKind.TEXT and self.rich.reading.markdown and renders_as_markdown(value):
            self.rich.set_renderer(partial(markdown_document, value))
            page = self.rich
        elif kind is PayloadKind.DOCUMENTS:
            self.rich.set_renderer(partial(documents_html, value, reading=self.rich.reading))
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

    def set_markdown(self, rendered: bool) -> None:
        """Render markdown or show it as written; a conversation keeps its opened folds and place."""
        self.rich.reading.markdown = rendered
        kind, value, empty_text = self.shown
        if kind in (PayloadKind.MESSAGES, PayloadKind.DOCUMENTS):
            self.rich.rerender()
        elif kind is PayloadKind.TEXT:
            self.set_value(kind, value, empty_text)


class QtPayloadSection(QWidget):
    """A titled payload view, e.g. "Input · 4 messages", with a "Raw" switch for conversations and
    text that `markdown` (shared with the other sections, remembered) says how to show."""

    #: The reader asked for this section to take the whole height (or to share it again).
    expand_requested = Signal()

    def __init__(
        self,
        title: str,
        markdown: QtMarkdownChoice | None = None,
        parent: QWidget | None = None,
        *,
        expandable: bool = False,
    ) -> None:
        super().__init__(parent)
        self.title = title
        self.markdown = markdown or QtMarkdownChoice(parent=self)
        self.heading = QLabel(textFormat=Qt.TextFormat.RichText)
        self.raw = QToolButton(text="Raw", checkable=True, autoRaise=True)
        self.raw.setToolTip("Show text as written instead of rendering its markdown (in every conversation)")
        self.raw.setChecked(not self.markdown.rendered)
        self.raw.toggled.connect(lambda raw: self.markdown.set_rendered(not raw))
        self.markdown.changed.connect(self._markdown_changed)
        self.expand = QToolButton(text="⤢", autoRaise=True, visible=expandable)
        self.expand.setToolTip(
            f"Give the {title.lower()} all the height; again to share it (or double-click the title)"
        )
        self.expand.clicked.connect(self.expand_requested)
        for button in (self.raw, self.expand):
            button.setFixedHeight(self.fontMetrics().height() + 4)
        self.view = QtPayloadView()
        self.view.rich.reading.markdown = self.markdown.rendered
        # The section may be shrunk to its title line, so the other one can have the rest.
        self.view.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Ignored)
        top = QHBoxLayout()
        top.setContentsMargins(4, 0, 2, 0)
        top.addWidget(self.heading, 1)
        top.addWidget(self.raw)
        top.addWidget(self.expand)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 0)
        layout.setSpacing(1)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)

    def set_value(self, value: Any, empty_text: str) -> None:
        kind, shown = shape(value)
        about = describe(kind, shown)
        about_html = f' <span style="color: {MUTED_COLOR}">· {esc(about)}</span>' if about else ""
        self.heading.setText(f"<b>{esc(self.title)}</b>{about_html}")
        self.raw.setVisible(
            kind in (PayloadKind.MESSAGES, PayloadKind.DOCUMENTS)
            or (kind is PayloadKind.TEXT and renders_as_markdown(shown))
        )
        self.view.set_value(kind, shown, empty_text)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if self.expand.isVisibleTo(self) and event.position().y() < self.view.y():
            self.expand_requested.emit()
        else:
            super().mouseDoubleClickEvent(event)

    def _markdown_changed(self, rendered: bool) -> None:
        self.raw.setChecked(not rendered)
        self.view.set_markdown(rendered)
