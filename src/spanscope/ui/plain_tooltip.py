"""Tooltips that show trace data as written, never as markup.

Qt renders a tooltip as rich text whenever `Qt.mightBeRichText` says it looks like markup: a span
named `<b>x</b>` shows in bold, and one named `<img src="/dev/zero">` makes Qt read that file until
it aborts. Escaped inside a paragraph that keeps spaces and line breaks, any text shows literally.
"""

from __future__ import annotations

import html


def plain_tooltip(text: str | None) -> str | None:
    """`text` as a tooltip showing it literally, line breaks kept; None for no text."""
    if not text:
        return None
    return f"<p style='white-space:pre-wrap'>{html.escape(text, quote=False)}</p>"
