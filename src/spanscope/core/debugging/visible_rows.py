"""The rows a collapsible span tree shows, top to bottom, as one flat list.

A tree view re-lays out every shown row whenever a wide parent changes, which stalls on 100,000-span
traces. A flat view over this list lays out only the rows on screen, and expanding or collapsing a
span is one contiguous block inserted into or removed from the list.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Sequence

from spanscope.core.debugging.tree import TraceTree

#: The rows and their depths that expanding a span shows below it.
Block = tuple[array, array]


class VisibleRows:
    """TraceTree rows under expanded spans, in pre-order, with their depths (roots: 0).

    `expanded` may hold spans below a collapsed ancestor: as in a tree view, they show open again
    when the ancestor opens.
    """

    def __init__(self, tree: TraceTree, expanded: Iterable[int] = ()) -> None:
        self.tree = tree
        self.expanded = set(expanded)
        self.rows, self.depths = self._preorder(tree.roots, 0)

    @classmethod
    def to_depth(cls, tree: TraceTree, depth: int) -> VisibleRows:
        """Spans at `depth` or above expanded (0: the roots), the rest collapsed."""
        return cls(tree, (i for level in _levels(tree, depth + 1) for i in level if tree.children[i]))

    @classmethod
    def carried_over(cls, old: VisibleRows, tree: TraceTree) -> VisibleRows:
        """`tree` (the same trace, re-read after more of it arrived) with the spans that were open
        in `old` open again; rows are matched by span id, since new spans shift row numbers."""
        span_ids = old.tree.rows.columns["span_id"]
        index = tree.index
        return cls(tree, (index[span_ids[r]] for r in old.expanded if span_ids[r] in index))

    @classmethod
    def all_expanded(cls, tree: TraceTree) -> VisibleRows:
        return cls(tree, (i for i, kids in enumerate(tree.children) if kids))

    def __len__(self) -> int:
        return len(self.rows)

    def find(self, row: int) -> int:
        """The position of TraceTree row `row`; -1 when the filter or a collapsed ancestor hides it."""
        try:
            return self.rows.index(row)
        except ValueError:
            return -1

    def is_expanded(self, row: int) -> bool:
        return row in self.expanded

    def has_children(self, row: int) -> bool:
        return bool(self.tree.children[row])

    def opening(self, pos: int) -> Block:
        """What expanding the row at `pos` shows below it; apply with `open` (a Qt model announces
        the block's size in between)."""
        return self._preorder(self.tree.children[self.rows[pos]], self.depths[pos] + 1)

    def open(self, pos: int, block: Block) -> None:
        self.expanded.add(self.rows[pos])
        self.rows[pos + 1 : pos + 1], self.depths[pos + 1 : pos + 1] = block

    def closing(self, pos: int) -> int:
        """How many rows collapsing the row at `pos` hides: its shown descendants."""
        return self._subtree_end(pos) - pos - 1

    def close(self, pos: int, count: int) -> None:
        self.expanded.discard(self.rows[pos])
        del self.rows[pos + 1 : pos + 1 + count]
        del self.depths[pos + 1 : pos + 1 + count]

    def _subtree_end(self, pos: int) -> int:
        """The position after the subtree at `pos`: that of the next sibling of its row or of the
        nearest ancestor that has one (shown, since its parent is expanded). One C-speed search
        instead of a Python loop over 100,000 depths."""
        tree, i = self.tree, self.rows[pos]
        while i >= 0:
            up = tree.parent[i]
            siblings = tree.roots if up < 0 else tree.children[up]
            k = tree.position(i) + 1
            if k < len(siblings):
                return self.rows.index(siblings[k], pos)
            i = up
        return len(self.rows)

    def _preorder(self, tops: Sequence[int], depth: int) -> Block:
        """`tops` and, below each expanded one, its descendants that show, in pre-order."""
        rows, depths = array("i"), array("i")
        children, expanded = self.tree.children, self.expanded
        stack: list[tuple[Iterator[int], int]] = [(iter(tops), depth)]
        while stack:
            siblings, level = stack[-1]
            for i in siblings:
                rows.append(i)
                depths.append(level)
                if i in expanded and children[i]:
                    stack.append((iter(children[i]), level + 1))
                    break
            else:
                stack.pop()
        return rows, depths


def _levels(tree: TraceTree, count: int) -> Iterator[Sequence[int]]:
    """The roots, their children, and so on: `count` levels (at least one)."""
    level: Sequence[int] = tree.roots
    for _ in range(count - 1):
        yield level
        level = [c for i in level for c in tree.children[i]]
    yield level
