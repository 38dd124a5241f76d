"""A tree drawn as indented text lines, with the indentation capped so output stays linear in depth.

A 100,000-deep parent chain indented two spaces a level would print 10 GB (each line as wide as its
depth); past MAX_DRAWN_DEPTH levels a line keeps that indentation and names its level instead.
"""

from __future__ import annotations

#: Levels drawn as indentation; deeper lines show their level number at this indentation.
MAX_DRAWN_DEPTH = 24
INDENT = "  "


def indent(depth: int) -> str:
    """What goes before a tree line at `depth` (roots: 0): two spaces a level, or, past
    MAX_DRAWN_DEPTH, the deepest indentation and `┆ (depth 4,812) `."""
    if depth <= MAX_DRAWN_DEPTH:
        return INDENT * depth
    return f"{INDENT * MAX_DRAWN_DEPTH}┆ (depth {depth:,}) "
