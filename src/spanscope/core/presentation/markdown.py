"""Qt-free decisions about markdown in trace text: whether a text is written in markdown, how its
line breaks are kept when it is rendered, and where a long text is folded.

Model answers and prompts are mostly markdown, but not all: a plain text rendered as markdown would
lose its line breaks and read `*args` as emphasis, so only text that shows markdown's marks is rendered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from spanscope.core.presentation.content import utf8_size

#: Only the start of a text is looked at to decide whether it is markdown.
SNIFF_CHARS = 20_000
_MARKDOWN_RE = re.compile(
    r"^ {0,3}(?:#{1,6} \S|```|~~~|[-*+] \S|\d{1,3}[.)] \S|> ?\S|\|.*\|[ \t]*$)"  # block marks
    r"|\*\*\S[^\n]*?\*\*|`[^`\n]+`|\[[^\]\n]+\]\([^)\s]+\)",  # bold, code, links
    re.MULTILINE,
)
_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
#: A line that starts a block of its own: the line before it does not run on into it.
_BLOCK_START_RE = re.compile(
    r" {0,3}(?:#{1,6}(?:\s|$)|[-*+](?:\s|$)|\d{1,9}[.)](?:\s|$)|>|```|~~~|\||[-*_=]{3,}\s*$|[-=]+\s*$)"
)
#: A line that does not run on: a heading or a table row.
_UNBROKEN_RE = re.compile(r" {0,3}(?:#{1,6}(?:\s|$)|\|)")
#: Ends a line that goes on in the same paragraph (Unicode's LINE SEPARATOR).
LINE_BREAK = "\u2028"

#: A text longer than this is folded (when it is not the conversation's last message) ...
FOLD_LINES, FOLD_CHARS = 10, 1000
#: ... to its first lines.
FOLDED_LINES, FOLDED_CHARS = 6, 600


def looks_like_markdown(text: str) -> bool:
    """True when the start of `text` has a heading, list, table, fence, quote, bold, code or link."""
    return _MARKDOWN_RE.search(text, 0, SNIFF_CHARS) is not None


def with_line_breaks(text: str) -> str:
    """`text` with each line that a paragraph continues on the next ending in LINE_BREAK, so a prompt
    written line by line keeps its lines when rendered (as chat apps and GitHub comments show them).

    A markdown hard break would start a new block in Qt's reader (paragraph spacing between lines, a
    list item's second line outside it), so the line ends in U+2028, which stays a line break inside
    its paragraph; the renderer then drops the space the soft break leaves after it."""
    lines = text.split("\n")
    fence = ""
    for n, line in enumerate(lines[:-1]):
        opened = _FENCE_RE.match(line)
        if opened is not None:
            mark = opened.group(1)
            if not fence:
                fence = mark
            elif mark[0] == fence[0] and len(mark) >= len(fence) and not line.strip(" `~"):
                fence = ""
            continue
        following = lines[n + 1]
        if (
            not fence
            and line.strip()
            and following.strip()
            and not line.endswith(("  ", "\\"))
            and _UNBROKEN_RE.match(line) is None
            and _BLOCK_START_RE.match(following) is None
        ):
            lines[n] = line + LINE_BREAK
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Fold:
    """The start of a long text, shown until the reader asks for all of it."""

    shown: str
    hidden_lines: int
    hidden_bytes: int

    def more(self) -> str:
        """`42 more lines, 3.1 KB` (or only the size when the rest is one line)."""
        size = _size(self.hidden_bytes)
        return f"{self.hidden_lines} more lines, {size}" if self.hidden_lines > 1 else f"{size} more"


def _size(size: int) -> str:
    return f"{size / 1000:.1f} KB" if size >= 1000 else f"{size} B"


def fold(text: str) -> Fold | None:
    """The first FOLDED_LINES lines (at most FOLDED_CHARS characters) of a text over FOLD_LINES lines
    or FOLD_CHARS characters, else None."""
    if len(text) <= FOLD_CHARS and text.count("\n", 0, FOLD_CHARS) < FOLD_LINES:
        return None
    end, lines = -1, 0
    while lines < FOLDED_LINES and (found := text.find("\n", end + 1, FOLDED_CHARS)) >= 0:
        end, lines = found, lines + 1
    whole_lines = end > 0 and (lines == FOLDED_LINES or end > FOLDED_CHARS // 2)
    shown = text[:end] if whole_lines else text[:FOLDED_CHARS]
    rest = text[len(shown) :].strip("\n")
    return Fold(shown, rest.count("\n") + 1 if rest else 0, utf8_size(rest))
