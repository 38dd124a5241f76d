"""Reading and clicking the links of a rich-text view in tests."""

from __future__ import annotations

from collections.abc import Iterator

from PySide6.QtCore import QUrl
from PySide6.QtGui import QTextCharFormat, QTextDocument


def fragments(document: QTextDocument) -> Iterator[tuple[str, QTextCharFormat]]:
    """(text, format) of every run of text in the document, tables included."""
    block = document.begin()
    while block.isValid():
        runs = block.begin()
        while not runs.atEnd():
            fragment = runs.fragment()
            yield fragment.text(), fragment.charFormat()
            runs += 1
        block = block.next()


def follow_link(browser, text: str) -> None:
    """Click the first link showing `text` in a rich view (as a click on it does)."""
    links = (f.anchorHref() for t, f in fragments(browser.document()) if t == text and f.isAnchor())
    href = next(links, None)
    assert href is not None, f"no link {text!r}"
    browser.anchorClicked.emit(QUrl(href))
