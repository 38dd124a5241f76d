"""A trace's spans arranged as a tree: roots (true roots and orphans), children in start order.

What a view needs per span is kept as flat lists indexed by row: parent, children, roll-ups over
its subtree. A Qt model can then hold plain ints (row indexes) instead of one object per span, and
the build is a few passes over columns and lists of ints, never an object per span, which is what
lets a 100,000-span trace open quickly.
"""

from __future__ import annotations

import dataclasses
from bisect import bisect_left
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from operator import add
from typing import Any

from spanscope.core.span_rows import TOKEN_COLUMNS, SpanRows

#: Columns summed over a subtree's counted model calls (the same rule as the trace totals).
ROLLED_COLUMNS = (*TOKEN_COLUMNS, "cost_usd")

#: Search fields a query can name (`kind:llm`); bare words look in all of SEARCHED_COLUMNS.
SEARCH_FIELDS: dict[str, tuple[str, ...]] = {
    "name": ("name",),
    "kind": ("kind",),
    "model": ("model",),
    "status": ("status",),
    "id": ("span_id",),
}
SEARCHED_COLUMNS = ("name", "kind", "model", "span_id", "status_message")


@dataclass(frozen=True)
class TraceTree:
    """Index-based tree over `rows` (SpanRows, in start order): row `i` is the i-th span of `rows`.

    `parent[i]` is -1 for a root. Roll-ups and time bounds always describe the whole trace, also in a
    filtered view: a parent's totals do not shrink because a search hid a child.
    """

    rows: SpanRows
    #: Roots and each row's children, in start order: ascending rows, so a row's place is a bisection.
    roots: Sequence[int]
    children: Sequence[Sequence[int]]
    parent: Sequence[int]
    #: Per column of ROLLED_COLUMNS: the sum over counted spans in each subtree (None: nothing known).
    rolled: Mapping[str, Sequence[Any]]
    #: Error spans in each subtree, the span itself included.
    subtree_errors: Sequence[int]
    #: Rows whose status is error, in start order.
    error_rows: Sequence[int]
    #: span_id -> row.
    index: Mapping[str, int]
    start_ns: int
    end_ns: int
    #: Non-root rows, each before its parent: the order roll-ups fold values upwards in.
    upward: Sequence[int] = dataclasses.field(repr=False)

    @classmethod
    def build(cls, rows: SpanRows) -> TraceTree:
        columns = rows.columns
        index = dict(zip(columns["span_id"], range(len(rows)), strict=True))
        parent = [index.get(p, -1) for p in columns["parent_id"]]
        kids = _group(parent)
        reached = _levels(kids)
        if len(reached) < len(rows):
            _cut_cycles(parent, reached)
            kids = _group(parent)
            reached = _levels(kids)
        roots = list(kids.pop())
        upward = reached[len(roots) :]
        upward.reverse()
        status = columns["status"]
        errors = _roll(parent, upward, [1 if s == "error" else None for s in status], add)
        return cls(
            rows=rows,
            roots=roots,
            children=kids,
            parent=parent,
            rolled=_CountedSums(columns, parent, upward),
            subtree_errors=[0 if e is None else e for e in errors],
            error_rows=[i for i, s in enumerate(status) if s == "error"],
            index=index,
            start_ns=columns["start_ns"][0] if rows else 0,
            end_ns=_last_end(columns["start_ns"], columns["end_ns"]),
            upward=upward,
        )

    @cached_property
    def subtree_end(self) -> Sequence[int]:
        """Latest end in each subtree; running spans count as ending at the trace's end. Worked out on
        first use: the tree view does not need it."""
        ends = [self.end_ns if e is None else e for e in self.rows.columns["end_ns"]]
        return _roll(self.parent, self.upward, ends, max)

    def walk(self) -> Iterator[tuple[int, int]]:
        """(row index, depth) in pre-order over the rows this tree shows."""
        stack = [(i, 0) for i in reversed(self.roots)]
        while stack:
            i, depth = stack.pop()
            yield i, depth
            stack.extend((c, depth + 1) for c in reversed(self.children[i]))

    def path(self, i: int) -> tuple[int, ...]:
        """Rows from the root down to `i`, both included: what to expand to reveal `i`."""
        chain = [i]
        while self.parent[chain[-1]] >= 0:
            chain.append(self.parent[chain[-1]])
        return tuple(reversed(chain))

    def position(self, i: int) -> int:
        """The row's place among its parent's children (or the roots); -1 when this view hides it."""
        up = self.parent[i]
        siblings = self.roots if up < 0 else self.children[up]
        k = bisect_left(siblings, i)
        return k if k < len(siblings) and siblings[k] == i else -1

    def shown(self, i: int) -> bool:
        return self.position(i) >= 0

    def errors_below(self, i: int) -> int:
        return self.subtree_errors[i] - (self.rows.columns["status"][i] == "error")

    def matches(self, query: str) -> frozenset[int]:
        """Rows matching every term of `query`: bare words (any of SEARCHED_COLUMNS) or `field:word`
        (SEARCH_FIELDS); case-insensitive substrings. An empty query matches every row."""
        found: Sequence[int] = range(len(self.rows))
        for columns, needle in _terms(query):
            texts = _texts([self.rows.columns[c] for c in columns], found)
            found = [i for i, text in zip(found, texts, strict=True) if needle in text]
        return frozenset(found)

    def ancestors(self, rows: Iterable[int]) -> set[int]:
        """Every row above any of `rows`: what to expand to show them all. Each walk up stops at a row
        already found, so a 100,000-deep chain of error spans costs one walk, not one per error."""
        found: set[int] = set()
        for i in rows:
            up = self.parent[i]
            while up >= 0 and up not in found:
                found.add(up)
                up = self.parent[up]
        return found

    def filtered(self, keep: Collection[int]) -> TraceTree:
        """A view showing the rows in `keep` plus all their ancestors, so every match keeps its context."""
        shown = self.ancestors(keep)
        shown.update(keep)
        children: list[Sequence[int]] = [()] * len(self.rows)
        for i in shown:
            children[i] = [c for c in self.children[i] if c in shown]
        return dataclasses.replace(
            self,
            roots=[i for i in self.roots if i in shown],
            children=children,
            error_rows=[i for i in self.error_rows if i in shown],
        )


class _CountedSums(Mapping[str, Sequence[Any]]):
    """Per column of ROLLED_COLUMNS, the sum over each subtree's counted spans, worked out on first
    use: the tree view shows three of these columns, only tooltips the others."""

    def __init__(
        self, columns: Mapping[str, Sequence[Any]], parent: Sequence[int], upward: Sequence[int]
    ) -> None:
        self._columns, self._parent, self._upward = columns, parent, upward
        self._sums: dict[str, Sequence[Any]] = {}

    def __getitem__(self, column: str) -> Sequence[Any]:
        if column not in self._sums:
            if column not in ROLLED_COLUMNS:
                raise KeyError(column)
            self._sums[column] = self._sum(column)
        return self._sums[column]

    def __iter__(self) -> Iterator[str]:
        return iter(ROLLED_COLUMNS)

    def __len__(self) -> int:
        return len(ROLLED_COLUMNS)

    def _sum(self, column: str) -> Sequence[Any]:
        values = self._columns[column]
        if values.count(None) == len(values):  # often cost, cache and reasoning tokens: nothing to add
            return values
        own = [v if c else None for v, c in zip(values, self._columns["counted"], strict=True)]
        return _roll(self._parent, self._upward, own, add)


def _group(parent: Sequence[int]) -> list[Sequence[int]]:
    """Each row's children, in row order. One entry more than there are rows, for the roots: a root's
    parent, -1, indexes it. Leaves share one empty tuple: most spans are leaves, and a list each would
    cost more than the rest of the build (the cycle collector scans every new list)."""
    kids: list[Any] = [()] * (len(parent) + 1)
    for i, p in enumerate(parent):
        siblings = kids[p]
        if siblings:
            siblings.append(i)
        else:
            kids[p] = [i]
    return kids


def _levels(kids: Sequence[Sequence[int]]) -> list[int]:
    """Rows the roots (kids[-1]) reach, level by level, so each comes after its parent; rows on or
    below a parent cycle are missing."""
    found: list[int] = []
    level = kids[-1]
    while level:
        found += level
        level = [c for i in level for c in kids[i]]
    return found


def _cut_cycles(parent: list[int], reached: Iterable[int]) -> None:
    """Make the earliest row of each parent cycle (a self-parent too) a root, so every row hangs below
    some root. Only rows the roots do not reach can be on a cycle."""
    state = bytearray(len(parent))  # 0 unvisited, 1 on the chain being followed, 2 settled
    for i in reached:
        state[i] = 2
    for start in range(len(parent)):
        chain = []
        i = start
        while i >= 0 and state[i] == 0:
            state[i] = 1
            chain.append(i)
            i = parent[i]
        if i >= 0 and state[i] == 1:
            parent[min(chain[chain.index(i) :])] = -1
        for j in chain:
            state[j] = 2


def _last_end(starts: Sequence[int], ends: Sequence[int | None]) -> int:
    """The trace's end: its last known time, start or end (running spans have no end yet)."""
    return max(starts[-1], max([e for e in ends if e is not None], default=0)) if starts else 0


def _roll(
    parent: Sequence[int], upward: Iterable[int], own: list[Any], combine: Callable[[Any, Any], Any]
) -> list[Any]:
    """Fold `own` values (None: nothing known) into every ancestor, given the non-root rows in an
    order that finishes each child before its parent."""
    for i in upward:
        value = own[i]
        if value is not None:
            p = parent[i]
            above = own[p]
            own[p] = value if above is None else combine(above, value)
    return own


def _terms(query: str) -> list[tuple[tuple[str, ...], str]]:
    terms = []
    for word in query.lower().split():
        field, sep, needle = word.partition(":")
        if sep and field in SEARCH_FIELDS and needle:
            terms.append((SEARCH_FIELDS[field], needle))
        else:
            terms.append((SEARCHED_COLUMNS, word))
    return terms


def _texts(columns: Sequence[Sequence[Any]], rows: Sequence[int]) -> Iterator[str]:
    """Each of `rows` as one lowercase string of `columns` (NUL-separated: a match never spans two
    fields)."""
    if len(columns) == 1:
        return ("" if value is None else str(value).lower() for value in map(columns[0].__getitem__, rows))
    values = zip(*(map(column.__getitem__, rows) for column in columns), strict=True)
    return ("\x00".join(map(str, filter(None, row))).lower() for row in values)
