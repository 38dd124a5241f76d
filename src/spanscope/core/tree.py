"""A trace's spans arranged as a tree: roots (true roots and orphans), children in start order.

Everything a view needs per span is computed once, here, as flat tuples indexed by row: parent,
position among its siblings, roll-ups over its subtree. A Qt model can then hold plain ints (row
indexes) instead of one object per span, which is what lets a 100,000-span trace open quickly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from spanscope.core.store.schema import TOKEN_COLUMNS

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


@dataclass(frozen=True, slots=True)
class TraceTree:
    """Index-based tree over `rows` (dicts with TREE_COLUMNS), rows in start order.

    `parent[i]` is -1 for a root; `position[i]` is the row's place in its parent's children (or in
    `roots`), -1 when a filtered view hides it. Roll-ups and time bounds always describe the whole
    trace, also in a filtered view: a parent's totals do not shrink because a search hid a child.
    """

    rows: Sequence[dict[str, Any]]
    roots: tuple[int, ...]
    children: tuple[tuple[int, ...], ...]
    parent: tuple[int, ...]
    position: tuple[int, ...]
    #: Per column of ROLLED_COLUMNS: the sum over counted spans in each subtree (None: nothing known).
    rolled: Mapping[str, tuple[Any, ...]]
    #: Error spans in each subtree, the span itself included.
    subtree_errors: tuple[int, ...]
    #: Latest end in each subtree; running spans count as ending at the trace's end.
    subtree_end: tuple[int, ...]
    #: Rows whose status is error, in start order.
    error_rows: tuple[int, ...]
    #: span_id -> row.
    index: Mapping[str, int]
    start_ns: int
    end_ns: int

    @classmethod
    def build(cls, rows: Sequence[dict[str, Any]]) -> TraceTree:
        index = {row["span_id"]: i for i, row in enumerate(rows)}
        parent = _link(rows, index)
        roots, children = _group(parent)
        # (child, parent) pairs in reverse pre-order: children always come before their parent.
        upward = [(i, parent[i]) for i in reversed(_preorder(roots, children)) if parent[i] >= 0]
        start_ns, end_ns = _bounds(rows)
        counted = [i for i, row in enumerate(rows) if row["counted"]]
        error_rows = tuple(i for i, row in enumerate(rows) if row["status"] == "error")
        return cls(
            rows=rows,
            roots=roots,
            children=children,
            parent=tuple(parent),
            position=_positions(len(rows), roots, children),
            rolled={c: _roll_counted(upward, rows, counted, c) for c in ROLLED_COLUMNS},
            subtree_errors=_roll(upward, _ones(len(rows), error_rows), _add),
            subtree_end=_roll(upward, [end_ns if r["end_ns"] is None else r["end_ns"] for r in rows], max),
            error_rows=error_rows,
            index=index,
            start_ns=start_ns,
            end_ns=end_ns,
        )

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

    def shown(self, i: int) -> bool:
        return self.position[i] >= 0

    def errors_below(self, i: int) -> int:
        return self.subtree_errors[i] - (self.rows[i]["status"] == "error")

    def matches(self, query: str) -> frozenset[int]:
        """Rows matching every term of `query`: bare words (any of SEARCHED_COLUMNS) or `field:word`
        (SEARCH_FIELDS); case-insensitive substrings. An empty query matches every row."""
        found: Sequence[int] = range(len(self.rows))
        for columns, needle in _terms(query):
            texts = _texts([self.rows[i] for i in found], columns)
            found = [i for i, text in zip(found, texts, strict=True) if needle in text]
        return frozenset(found)

    def filtered(self, keep: Iterable[int]) -> TraceTree:
        """A view showing the rows in `keep` plus all their ancestors, so every match keeps its context."""
        shown = set()
        for i in keep:
            while i >= 0 and i not in shown:
                shown.add(i)
                i = self.parent[i]
        roots = tuple(i for i in self.roots if i in shown)
        children: list[tuple[int, ...]] = [()] * len(self.rows)
        for i in shown:
            children[i] = tuple(c for c in self.children[i] if c in shown)
        return dataclasses.replace(
            self,
            roots=roots,
            children=tuple(children),
            position=_positions(len(self.rows), roots, children),
            error_rows=tuple(i for i in self.error_rows if i in shown),
        )


def _link(rows: Sequence[dict[str, Any]], index: Mapping[str, int]) -> list[int]:
    """Each row's parent row, -1 for roots: true roots, orphans, and one row of each parent cycle."""
    parent = [index.get(row["parent_id"], -1) for row in rows]
    _cut_cycles(parent)
    return parent


def _cut_cycles(parent: list[int]) -> None:
    """Make the earliest row of each parent cycle (a self-parent too) a root, so every row hangs below
    some root. A cycle needs a parent that starts no earlier than its child, so only those rows (rare:
    clock skew) are followed."""
    state = [0] * len(parent)  # 0 unvisited, 1 on the chain being followed, 2 settled
    for start in (i for i, p in enumerate(parent) if p >= i):
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


def _group(parent: Sequence[int]) -> tuple[tuple[int, ...], tuple[tuple[int, ...], ...]]:
    kids: list[list[int]] = [[] for _ in parent]
    roots = []
    for i, p in enumerate(parent):
        (roots if p < 0 else kids[p]).append(i)
    return tuple(roots), tuple(map(tuple, kids))


def _preorder(roots: Sequence[int], children: Sequence[Sequence[int]]) -> list[int]:
    order = []
    stack = list(reversed(roots))
    while stack:
        i = stack.pop()
        order.append(i)
        stack.extend(reversed(children[i]))
    return order


def _positions(n: int, roots: Sequence[int], children: Sequence[Sequence[int]]) -> tuple[int, ...]:
    position = [-1] * n
    for siblings in (roots, *children):
        for k, i in enumerate(siblings):
            position[i] = k
    return tuple(position)


def _bounds(rows: Sequence[dict[str, Any]]) -> tuple[int, int]:
    """(first start, last end); running spans end at the latest known time, start or end."""
    if not rows:
        return 0, 0
    starts = list(map(itemgetter("start_ns"), rows))
    ends = [e for e in map(itemgetter("end_ns"), rows) if e is not None]
    return min(starts), max(max(starts), max(ends, default=0))


def _sparse(rows: Sequence[dict[str, Any]], counted: Sequence[int], column: str) -> list[Any]:
    values: list[Any] = [None] * len(rows)
    for i in counted:
        values[i] = rows[i][column]
    return values


def _ones(n: int, at: Iterable[int]) -> list[int]:
    values = [0] * n
    for i in at:
        values[i] = 1
    return values


def _add(a: Any, b: Any) -> Any:
    return a + b


def _roll(upward: Sequence[tuple[int, int]], own: list[Any], combine: Callable[[Any, Any], Any]) -> tuple:
    """Fold `own` values (None: nothing known) into every ancestor, given (child, parent) pairs in
    an order that finishes each child before its parent."""
    for i, p in upward:
        value = own[i]
        if value is not None:
            above = own[p]
            own[p] = value if above is None else combine(above, value)
    return tuple(own)


def _roll_counted(
    upward: Sequence[tuple[int, int]], rows: Sequence[dict[str, Any]], counted: Sequence[int], column: str
) -> tuple[Any, ...]:
    """`column` summed over the counted rows of each subtree; columns no span reports (often cost,
    cache and reasoning tokens) skip the pass."""
    if all(rows[i][column] is None for i in counted):
        return (None,) * len(rows)
    return _roll(upward, _sparse(rows, counted, column), _add)


def _terms(query: str) -> list[tuple[tuple[str, ...], str]]:
    terms = []
    for word in query.lower().split():
        field, sep, needle = word.partition(":")
        if sep and field in SEARCH_FIELDS and needle:
            terms.append((SEARCH_FIELDS[field], needle))
        else:
            terms.append((SEARCHED_COLUMNS, word))
    return terms


def _texts(rows: Sequence[dict[str, Any]], columns: tuple[str, ...]) -> Iterator[str]:
    """Each row's `columns` as one lowercase string (NUL-separated: a match never spans two fields)."""
    if len(columns) == 1:
        return (str(value).lower() if value is not None else "" for value in map(itemgetter(*columns), rows))
    return ("\x00".join(map(str, filter(None, values))).lower() for values in map(itemgetter(*columns), rows))
