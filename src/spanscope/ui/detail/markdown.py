"""Markdown from a trace as HTML for the rich-text views, made safe: Qt's own markdown reader (md4c,
GitHub dialect) with raw HTML read as text, images replaced by their address as text (nothing is
fetched or read from disk), links kept only to web addresses, and no tooltips taken from the text.

The HTML Qt writes back is trimmed of its per-paragraph defaults (a tenth of its size) and given
chat-sized headings and a tinted background behind code that reads in light and dark palettes.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Any

from PySide6.QtCore import QUrl
from PySide6.QtGui import QColor, QTextCharFormat, QTextCursor, QTextDocument

from spanscope.core.presentation.content import is_web_url
from spanscope.core.presentation.markdown import LINE_BREAK, with_line_breaks
from spanscope.ui.detail.html import CODE_BACKGROUND
from spanscope.ui.style import MUTED_COLOR

_FEATURES = QTextDocument.MarkdownFeature.MarkdownDialectGitHub | QTextDocument.MarkdownFeature.MarkdownNoHTML
TABLE_BORDER = "rgba(128, 128, 128, 0.55)"
_HEADING_SIZES = {"xx-large": "large", "x-large": "medium", "large": "medium"}
_NOISE = re.compile(r" ?margin-(?:left|right):0px;| ?-qt-block-indent:0;| ?text-indent:0px;| ?color:#0000ff;")
_STYLE = re.compile(r' style="([^"]*)"')
_HEADING = re.compile(r"<h[1-6] ")
_FONT_SIZE = re.compile(r"font-size:(xx-large|x-large|large);")
_MONOSPACE = "font-family:'monospace';"
_BROKEN_SPACE = LINE_BREAK + " "


class _InertDocument(QTextDocument):
    """A document that loads no resource: an image named in the text is never read."""

    def loadResource(self, kind: int, name: QUrl) -> Any:
        return None


def markdown_html(text: str) -> str:
    """An HTML fragment for `text` read as markdown, every line break kept."""
    document = _InertDocument()
    document.setMarkdown(with_line_breaks(text), _FEATURES)
    _defuse(document)
    return _trimmed(document.toHtml())


def _defuse(document: QTextDocument) -> None:
    """Images become their description as text; links not to the web become text; tooltips go; the
    space a soft break leaves after a kept line break goes."""
    formats: list[tuple[int, int, QTextCharFormat]] = []
    edits: list[tuple[int, str]] = []  # (position, text to put in place of the one character there)
    block = document.begin()
    while block.isValid():
        start, text = block.position(), block.text()
        at = text.find(_BROKEN_SPACE)
        while at >= 0:
            edits.append((start + at + 1, ""))
            at = text.find(_BROKEN_SPACE, at + 2)
        fragments = block.begin()
        while not fragments.atEnd():
            fragment = fragments.fragment()
            fmt = fragment.charFormat()
            if fmt.isImageFormat():
                edits.append((fragment.position(), _image_text(fmt)))
            elif fmt.toolTip() or (fmt.isAnchor() and not is_web_url(fmt.anchorHref())):
                fmt.setToolTip("")
                if not is_web_url(fmt.anchorHref()):
                    fmt.setAnchor(False)
                    fmt.setAnchorHref("")
                formats.append((fragment.position(), fragment.length(), fmt))
            fragments += 1
        block = block.next()
    cursor = QTextCursor(document)
    for position, length, fmt in formats:
        cursor.setPosition(position)
        cursor.setPosition(position + length, QTextCursor.MoveMode.KeepAnchor)
        cursor.setCharFormat(fmt)
    muted = QTextCharFormat()
    muted.setForeground(QColor(MUTED_COLOR))
    for position, replacement in sorted(edits, reverse=True):
        cursor.setPosition(position)
        cursor.setPosition(position + 1, QTextCursor.MoveMode.KeepAnchor)
        if replacement:
            cursor.insertText(replacement, muted)
        else:
            cursor.removeSelectedText()


def _image_text(fmt: QTextCharFormat) -> str:
    image = fmt.toImageFormat()
    alt = image.property(QTextCharFormat.Property.ImageAltText) or ""
    return f"[image{': ' + alt if alt else ''} · {image.name()}]"


def _trimmed(html: str) -> str:
    """The body of Qt's HTML without its defaults; smaller headings; code on a tinted background.

    Only style attributes are edited: Qt escapes quotes in text, so text can never hold one."""
    body = html[html.index(">", html.index("<body")) + 1 : html.rindex("</body>")]
    return "\n".join(
        _STYLE.sub(
            partial(_style, code_block=line.startswith("<pre"), heading=_HEADING.match(line) is not None),
            line,
        )
        for line in body.split("\n")
    )


def _style(match: re.Match[str], *, code_block: bool, heading: bool) -> str:
    style = _FONT_SIZE.sub(
        lambda m: f"font-size:{_HEADING_SIZES[m.group(1)]};", _NOISE.sub("", match.group(1))
    )
    if code_block:
        style = style.replace(_MONOSPACE, "").replace("white-space:pre-wrap;", "")
        if match.start() == 4:  # the <pre> itself
            style += f" background-color:{CODE_BACKGROUND};"
    elif _MONOSPACE in style:
        style += f" background-color:{CODE_BACKGROUND};"
    if heading:
        style = style.replace("margin-top:0px;", "margin-top:10px;").replace(
            "margin-bottom:0px;", "margin-bottom:4px;"
        )
    if "border-collapse" in style:
        style += f" border-color:{TABLE_BORDER};"
    return f' style="{style}"' if style.strip() else ""
