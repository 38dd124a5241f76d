"""A read-only rich-text view for generated HTML that renders a prefix of large content first.

It never fetches anything: images come only from the rendering's own decoded data URLs, web links
open in the user's browser on click, and in-page links scroll to their anchor.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QSize, Qt, QUrl
from PySide6.QtGui import QColor, QDesktopServices, QImage, QPainter, QTextDocument, QTextOption
from PySide6.QtWidgets import QTextBrowser, QVBoxLayout, QWidget

from spanscope.core.presentation.content import DataImage, TextBudget, is_web_url
from spanscope.ui.detail.html import Rendered
from spanscope.ui.detail.truncation import QtTruncationBar, busy_cursor
from spanscope.ui.style import MUTED_COLOR

Renderer = Callable[[TextBudget], Rendered]
THUMBNAIL = QSize(240, 160)


def thumbnail(image: DataImage) -> QImage:
    """The image scaled to fit THUMBNAIL, or a grey box saying it could not be read."""
    loaded = QImage.fromData(image.data)
    if not loaded.isNull():
        if loaded.width() <= THUMBNAIL.width() and loaded.height() <= THUMBNAIL.height():
            return loaded
        return loaded.scaled(
            THUMBNAIL, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
    placeholder = QImage(THUMBNAIL.width(), 40, QImage.Format.Format_ARGB32)
    placeholder.fill(QColor("#dfe6e9"))
    painter = QPainter(placeholder)
    painter.setPen(QColor(MUTED_COLOR))
    painter.drawText(placeholder.rect(), Qt.AlignmentFlag.AlignCenter, f"unreadable {image.mime}")
    painter.end()
    return placeholder


class QtSafeBrowser(QTextBrowser):
    """A QTextBrowser that loads no resources but the images it was handed."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.images: dict[str, QImage] = {}
        self.setOpenLinks(False)
        self.anchorClicked.connect(self._follow)

    def loadResource(self, kind: int, name: QUrl) -> Any:
        if kind == QTextDocument.ResourceType.ImageResource.value:
            return self.images.get(name.toString())
        return None

    def _follow(self, url: QUrl) -> None:
        if is_web_url(url.toString()):
            QDesktopServices.openUrl(url)
        elif url.hasFragment():
            self.scrollToAnchor(url.fragment())


class QtRichView(QWidget):
    """Shows what a renderer produces within the text budget; "Show all" renders it in full."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.browser = QtSafeBrowser()
        self.bar = QtTruncationBar()
        self.bar.show_all_requested.connect(self.show_all)
        self._render: Renderer | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.browser, 1)
        layout.addWidget(self.bar)

    def set_renderer(self, render: Renderer | None) -> None:
        self._render = render
        self._show(TextBudget())

    def clear_content(self) -> None:
        self.set_renderer(None)

    def show_all(self) -> None:
        with busy_cursor():
            self._show(TextBudget(limit=None))

    def text(self) -> str:
        return self.browser.toPlainText()

    def _show(self, budget: TextBudget) -> None:
        self.bar.hide()
        if self._render is None:
            self.browser.images = {}
            self.browser.clear()
            return
        rendered = self._render(budget)
        self.browser.images = {name: thumbnail(image) for name, image in rendered.images.items()}
        mode = QTextOption.WrapMode.WrapAnywhere if budget.long_tokens else QTextOption.WrapMode.WordWrap
        self.browser.setWordWrapMode(mode)
        self.browser.setHtml(rendered.html)
        if budget.truncated:
            self.bar.offer(budget.shown_bytes, budget.total_bytes)
