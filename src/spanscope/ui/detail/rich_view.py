"""A read-only rich-text view for generated HTML that renders a prefix of large content first.

It never fetches anything by itself: images come only from the rendering's own data URLs (a click
shows one in full), a remote image is loaded only by a click on its "Load image", web links open in
the user's browser on click, in-page links scroll to their anchor, and a fold's link opens or closes
that text where the reader is. No other link does anything: a link to a file is never followed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QImage, QTextDocument, QTextOption
from PySide6.QtWidgets import QTextBrowser, QVBoxLayout, QWidget

from spanscope.core.presentation.content import TextBudget, is_web_url
from spanscope.ui.detail.html import Reading, Rendered
from spanscope.ui.detail.media_view import QtMediaActions, thumbnail
from spanscope.ui.detail.truncation import QtTruncationBar, busy_cursor

Renderer = Callable[[TextBudget], Rendered]


class QtSafeBrowser(QTextBrowser):
    """A QTextBrowser that loads no resources but the images it was handed."""

    #: The reader clicked the link of the folded text with this key.
    fold_clicked = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.images: dict[str, QImage] = {}
        self.rendered: Rendered | None = None
        self.media = QtMediaActions(self)
        self.setOpenLinks(False)
        self.anchorClicked.connect(self._follow)

    def show_rendered(self, rendered: Rendered | None) -> None:
        self.rendered = rendered
        self.images = {} if rendered is None else {n: thumbnail(b) for n, b in rendered.images.items()}
        self.setHtml("" if rendered is None else rendered.html)

    def loadResource(self, kind: int, name: QUrl) -> Any:
        if kind == QTextDocument.ResourceType.ImageResource.value:
            return self.images.get(name.toString())
        return None

    def _follow(self, url: QUrl) -> None:
        name, rendered = url.toString(), self.rendered
        if rendered is not None and name in rendered.images:
            self.media.show_image(rendered.images[name])
        elif rendered is not None and name in rendered.remote:
            self.media.load_image(rendered.remote[name])
        elif rendered is not None and name in rendered.audio:
            self.media.save_audio(rendered.audio[name])
        elif rendered is not None and name in rendered.playable:
            self.media.play_audio(rendered.playable[name])
        elif rendered is not None and name in rendered.folds:
            self.fold_clicked.emit(rendered.folds[name])
        elif is_web_url(name):
            QDesktopServices.openUrl(url)
        elif url.hasFragment():
            self.scrollToAnchor(url.fragment())


class QtRichView(QWidget):
    """Shows what a renderer produces within the text budget; "Show all" renders it in full.

    `reading` is how the reader wants it shown; a renderer that honours it is handed it by its
    maker (see payload.py). Opening a fold or changing `reading` renders again where the reader is."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.browser = QtSafeBrowser()
        self.browser.fold_clicked.connect(self.toggle_fold)
        self.bar = QtTruncationBar()
        self.bar.show_all_requested.connect(self.show_all)
        self.reading = Reading()
        self._render: Renderer | None = None
        self._limit: int | None = TextBudget().limit
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.browser, 1)
        layout.addWidget(self.bar)

    def set_renderer(self, render: Renderer | None) -> None:
        self._render = render
        self.reading.unfolded.clear()
        self._show(TextBudget())

    def rerender(self) -> None:
        """Render again within the same budget, keeping the scroll position (`reading` changed)."""
        scroll = self.browser.verticalScrollBar()
        at = scroll.value()
        self._show(TextBudget(limit=self._limit))
        scroll.setValue(at)

    def toggle_fold(self, key: str) -> None:
        self.reading.unfolded.symmetric_difference_update({key})
        self.rerender()

    def changeEvent(self, event: QEvent) -> None:
        """On a palette change (light to dark), render again: the colours written into the HTML
        were chosen for the palette it was rendered under (style.ink, style.tint)."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and self._render is not None:
            self.rerender()

    def clear_content(self) -> None:
        self.set_renderer(None)

    def show_all(self) -> None:
        with busy_cursor():
            self._show(TextBudget(limit=None))

    def text(self) -> str:
        return self.browser.toPlainText()

    def _show(self, budget: TextBudget) -> None:
        self._limit = budget.limit
        self.bar.hide()
        if self._render is None:
            self.browser.show_rendered(None)
            return
        rendered = self._render(budget)
        mode = QTextOption.WrapMode.WrapAnywhere if budget.long_tokens else QTextOption.WrapMode.WordWrap
        self.browser.setWordWrapMode(mode)
        self.browser.show_rendered(rendered)
        if budget.truncated:
            self.bar.offer(budget.shown_bytes, budget.total_bytes)
