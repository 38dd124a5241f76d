"""How deep a tree line is drawn: indentation capped so output stays linear in the tree's depth.

A 100,000-deep parent chain indented two spaces a level would print 10 GB (each line as wide as its
depth), and the span tree would draw a name 1.4 million pixels to the right. Past a cap a line keeps
the cap's indentation and names its level instead (`depth_note`); the CLI and the span tree share the
rule.
"""

from __future__ import annotations

#: Levels of indentation a text tree draws at most.
MAX_DRAWN_DEPTH = 24
INDENT = "  "


def drawn_depth(depth: int, most: int = MAX_DRAWN_DEPTH) -> int:
    """The levels of indentation a line at `depth` (roots: 0) is drawn with: at most `most`; a line
    drawn shallower than it is shows its `depth_note`."""
    return min(depth, most)


def depth_note(depth: int) -> str:
    return f"┆ (depth {depth:,})"


def indent(depth: int, unit: str = INDENT) -> str:
    """What goes before a text tree line at `depth`: `unit` per drawn level, then the depth note when
    the line is drawn shallower than it is."""
    levels = drawn_depth(depth)
    return unit * levels + (f"{depth_note(depth)} " if levels < depth else "")
