"""Small HTML builders for the rich-text views (QTextBrowser's subset of HTML 4 and CSS).

Everything taken from a span goes through `esc`, so trace content can never inject markup.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from spanscope.core.presentation.content import TextBudget
from spanscope.core.presentation.media import Audio, Blob
from spanscope.ui.style import ERROR_COLOR, MUTED_COLOR, ink

#: Link and resource names of a rendering's media: an image (its thumbnail, and a click shows it in
#: full), a remote image to load on request, an audio clip to save or to play.
IMAGE_SCHEME, REMOTE_SCHEME = "spanscope-image", "spanscope-remote"
AUDIO_SCHEME, PLAY_SCHEME = "spanscope-audio", "spanscope-play"
#: A link that opens or folds again one long text of a rendering.
FOLD_SCHEME = "spanscope-fold"
T = TypeVar("T")
#: A grey that tints code both on a light and on a dark background.
CODE_BACKGROUND = "rgba(128, 128, 128, 0.16)"
#: At most this many items (messages, documents, events) before "Show all".
ITEM_LIMIT = 200


@dataclass(slots=True)
class Reading:
    """How the reader asked to see a rendering: markdown rendered or as written, and which folded
    texts (by the key their renderer gave them) they opened."""

    markdown: bool = True
    unfolded: set[str] = field(default_factory=set)


@dataclass(slots=True)
class Rendered:
    """One rendering: the HTML, the media it refers to by name, and what the budget held back."""

    html: str
    budget: TextBudget
    images: dict[str, Blob] = field(default_factory=dict)
    remote: dict[str, str] = field(default_factory=dict)
    audio: dict[str, Audio] = field(default_factory=dict)
    playable: dict[str, Audio] = field(default_factory=dict)
    folds: dict[str, str] = field(default_factory=dict)

    def add_image(self, image: Blob) -> str:
        return _named(self.images, IMAGE_SCHEME, image)

    def add_remote(self, url: str) -> str:
        return _named(self.remote, REMOTE_SCHEME, url)

    def add_audio(self, audio: Audio) -> str:
        return _named(self.audio, AUDIO_SCHEME, audio)

    def add_playable(self, audio: Audio) -> str:
        return _named(self.playable, PLAY_SCHEME, audio)

    def add_fold(self, key: str) -> str:
        """A link that opens (or folds again) the text the renderer calls `key`."""
        return _named(self.folds, FOLD_SCHEME, key)


def _named(media: dict[str, T], scheme: str, item: T) -> str:
    name = f"{scheme}:{len(media)}"
    media[name] = item
    return name


def within_budget(items: Sequence[T], budget: TextBudget, render: Callable[[int, T], str]) -> str:
    """Render items (`render(position, item)`) until the budget runs out; the rest are only
    counted, for "Show all (size)".

    Stopping matters as much as cutting text: ten thousand short items would flood the view too."""
    out = []
    for position, item in enumerate(items):
        if budget.exhausted or (budget.limit is not None and position == ITEM_LIMIT):
            budget.skip(items[position:])
            break
        out.append(render(position, item))
    return "".join(out)


def esc(text: str) -> str:
    return html.escape(text, quote=True)


def text_block(text: str) -> str:
    """Wrapped text keeping its line breaks."""
    return f'<p style="white-space: pre-wrap; margin: 2px 0">{esc(text)}</p>'


def code_block(text: str) -> str:
    """Monospace on a tinted background, wrapped, line breaks kept."""
    style = f"white-space: pre-wrap; margin: 2px 0; background-color: {CODE_BACKGROUND}"
    return f'<pre style="{style}">{esc(text)}</pre>'


def muted(text: str) -> str:
    return f'<span style="color: {MUTED_COLOR}">{esc(text)}</span>'


def small(text: str) -> str:
    """Muted and smaller: ids and other details beside a title."""
    return f'<span style="color: {MUTED_COLOR}; font-size: small">{esc(text)}</span>'


def coloured(text: str, color: str, *, bold: bool = True) -> str:
    """`text` in `color`, lightened on a dark palette (style.ink)."""
    weight = "font-weight: 600; " if bold else ""
    return f'<span style="{weight}color: {ink(color)}">{esc(text)}</span>'


def error(text: str) -> str:
    return coloured(text, ERROR_COLOR)


def card(title: str, body: str, color: str, *, hanging: bool = False) -> str:
    """One message / document / event: a marked title line and its body indented below; a `hanging`
    title (one that holds the whole message) wraps under its text, not under its marker.

    No tables: Qt lays out a table cell holding megabytes of text a hundred times slower."""
    marker = f'<span style="color: {ink(color)}">▍</span>'
    indent = "margin-left: 12px; text-indent: -12px; " if hanging else ""
    heading = f'<p style="{indent}margin-top: 8px; margin-bottom: 2px">{marker}{title}</p>'
    return heading + f'<div style="margin-left: 12px; margin-bottom: 6px">{body}</div>' if body else heading
