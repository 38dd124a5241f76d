"""A trace's spans arranged as a tree: roots (true roots and orphans), children in start order."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class TraceTree:
    """Index-based tree over `rows` (dicts with span_id, parent_id, start_ns), rows in start order.

    Children lists hold row indexes, so views can keep plain ints instead of per-node objects.
    """

    rows: Sequence[dict[str, Any]]
    roots: tuple[int, ...]
    children: tuple[tuple[int, ...], ...]

    @classmethod
    def build(cls, rows: Sequence[dict[str, Any]]) -> TraceTree:
        index = {row["span_id"]: i for i, row in enumerate(rows)}
        kids: list[list[int]] = [[] for _ in rows]
        roots = []
        for i, row in enumerate(rows):
            parent = index.get(row["parent_id"]) if row["parent_id"] is not None else None
            if parent is None or parent == i:
                roots.append(i)
            else:
                kids[parent].append(i)
        return cls(rows, tuple(roots), tuple(tuple(k) for k in kids))

    def walk(self) -> Iterator[tuple[int, int]]:
        """(row index, depth) in pre-order; a parent cycle is cut rather than followed forever."""
        seen = set()
        stack = [(i, 0) for i in reversed(self.roots)]
        while stack:
            i, depth = stack.pop()
            if i in seen:
                continue
            seen.add(i)
            yield i, depth
            stack.extend((c, depth + 1) for c in reversed(self.children[i]))
        # Spans caught in a parent cycle are reachable from no root; show them as roots.
        for i in range(len(self.rows)):
            if i not in seen:
                seen.add(i)
                yield i, 0
