"""Trace text inside a rendering, shown the way the reader chose: markdown rendered (within an
allowance per rendering, so megabytes still open at once) or as written, and folded to its first
lines with "Show all" when it is long."""

from __future__ import annotations

from spanscope.core.presentation.markdown import fold, looks_like_markdown
from spanscope.ui.detail.html import Reading, Rendered, code_block, muted, text_block
from spanscope.ui.detail.markdown import markdown_html

#: At most this much text of one rendering is rendered as markdown; the rest is shown as written.
MARKDOWN_CHARS = 100_000
MARKDOWN_SKIPPED = "shown as written: this view holds more text than is rendered as markdown at once"


class Prose:
    """Writes the texts of one rendering (`out`) as `reading` asks."""

    def __init__(self, out: Rendered, reading: Reading) -> None:
        self.out = out
        self.reading = reading
        self.markdown_left = MARKDOWN_CHARS

    def folded(self, key: str, text: str, foldable: bool, *, code: bool = False) -> str:
        """`text`, or (when `foldable` and long) its first lines and a link to show all of it, under
        `key`, which the reader's `Reading.unfolded` names once opened; an opened one folds again."""
        folding = fold(text) if foldable else None
        opened = folding is not None and key in self.reading.unfolded
        shown = self.out.budget.take(text if folding is None or opened else folding.shown)
        body = code_block(shown) if code else self.text(shown)
        if folding is None:
            return body
        link = f'<a href="{self.out.add_fold(key)}">{"Show less" if opened else "Show all"}</a>'
        more = "" if opened else " " + muted(f"· {folding.more()}")
        return body + f'<p style="margin: 0 0 4px 0">{link}{more}</p>'

    def text(self, text: str) -> str:
        """Markdown rendered while the reader wants it and the allowance lasts; else as written."""
        if not self.reading.markdown or not looks_like_markdown(text):
            return text_block(text)
        if len(text) > self.markdown_left:
            return text_block(text) + f'<p style="margin: 2px 0">{muted(MARKDOWN_SKIPPED)}</p>'
        self.markdown_left -= len(text)
        return markdown_html(text)
