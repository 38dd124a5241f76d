"""Two traces side by side, aligned step by step: what one run did differently from the other.

Alignment (`align`) is top-down over the two span trees, so a step is only ever paired with a step
whose parent is paired with its parent (the parent constraint), then relaxed for moves:

1. Siblings. The children of a paired step (and the two lists of roots) are aligned as sequences of
   (kind, name) keys: a common head and tail pair off directly; the stretch between is aligned by a
   small dynamic programme (Needleman-Wunsch with free gaps) scoring same kind and name 3, same name
   with another kind 1, same kind with another name 0.5 (a call on another model, a different tool at
   the same place) and never pairing different kinds with different names. A stretch of more than
   DP_MAX_CELLS cells is paired greedily instead (linear time), by equal keys only.
2. Moves. Steps still unpaired below a pair (descending through unpaired steps only, at most
   MOVE_DEPTH levels) are paired by equal (kind, name), first come first served in pre-order: a
   reordered step, or one wrapped in a new chain or unwrapped, is shown as moved instead of removed
   and added. The depth bound keeps the alignment linear: each new pair looks for moves below it
   again, so unbounded, a deep chain of steps that differ at every other level was quadratic.
3. Every new pair is aligned the same way, down to the leaves.

Two traces with one root each always pair their roots: they are the two runs being compared.

Rows are then listed in B's (the "after" trace's) tree order, each step of A that has no partner
placed where its sibling alignment put it. Paired steps whose name, kind, model, status, input and
output are equal are "same", otherwise "changed"; latency, tokens and cost are compared for all.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any, Literal

from spanscope.core.debugging.tree import TraceTree
from spanscope.core.diff.conversation_diff import message_text, word_diff
from spanscope.core.model import is_messages
from spanscope.core.presentation.content import pretty
from spanscope.core.store.db import Database
from spanscope.core.store.queries import trace_rows
from spanscope.core.store.span_io import trace_io

Change = Literal["same", "changed", "moved", "added", "removed"]
CHANGES: tuple[Change, ...] = ("same", "changed", "moved", "added", "removed")
#: Cells of the dynamic programme for one unequal stretch of siblings; larger stretches are paired
#: greedily, each step with the next of the same kind and name at most GREEDY_WINDOW places ahead.
DP_MAX_CELLS = 40_000
GREEDY_WINDOW = 50
#: Levels below a pair's unpaired children that its moves are looked for in.
MOVE_DEPTH = 32
SAME_KEY, SAME_NAME, SAME_KIND = 3.0, 1.0, 0.5
#: How much unchanged text a collapsed word diff keeps on each side of a change.
CONTEXT_CHARS = 80

Key = tuple[str, str]
Op = tuple[int | None, int | None]


# --- alignment ---------------------------------------------------------------------------------


def _pair_score(a: Key, b: Key) -> float | None:
    if a == b:
        return SAME_KEY
    if a[1] == b[1]:
        return SAME_NAME
    if a[0] == b[0]:
        return SAME_KIND
    return None


def _dp(keys_a: Sequence[Key], keys_b: Sequence[Key], a0: int, b0: int) -> list[Op]:
    """Best-scoring order-preserving pairing of two stretches (gaps free); ops in order."""
    n, m = len(keys_a), len(keys_b)
    best = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        row, below = best[i], best[i + 1]
        for j in range(m - 1, -1, -1):
            value = max(below[j], row[j + 1])
            score = _pair_score(keys_a[i], keys_b[j])
            if score is not None:
                value = max(value, score + below[j + 1])
            row[j] = value
    ops: list[Op] = []
    i = j = 0
    while i < n and j < m:
        score = _pair_score(keys_a[i], keys_b[j])
        if score is not None and best[i][j] == score + best[i + 1][j + 1]:
            ops.append((a0 + i, b0 + j))
            i, j = i + 1, j + 1
        elif best[i][j] == best[i + 1][j]:
            ops.append((a0 + i, None))
            i += 1
        else:
            ops.append((None, b0 + j))
            j += 1
    ops += [(a0 + k, None) for k in range(i, n)] + [(None, b0 + k) for k in range(j, m)]
    return ops


def align_siblings(keys_a: Sequence[Key], keys_b: Sequence[Key]) -> list[Op]:
    """Positions in `keys_a` and `keys_b` paired in order: (i, j), (i, None) or (None, j)."""
    n, m = len(keys_a), len(keys_b)
    head = 0
    while head < min(n, m) and keys_a[head] == keys_b[head]:
        head += 1
    tail = 0
    while tail < min(n, m) - head and keys_a[n - 1 - tail] == keys_b[m - 1 - tail]:
        tail += 1
    middle_a, middle_b = keys_a[head : n - tail], keys_b[head : m - tail]
    if len(middle_a) * len(middle_b) <= DP_MAX_CELLS:
        middle = _dp(middle_a, middle_b, head, head)
    else:
        middle = _greedy(middle_a, middle_b, head, head)
    return [(k, k) for k in range(head)] + middle + [(n - tail + k, m - tail + k) for k in range(tail)]


def _greedy(keys_a: Sequence[Key], keys_b: Sequence[Key], a0: int, b0: int) -> list[Op]:
    """Pairs each step of A with the next unpaired step of B of the same kind and name at most
    GREEDY_WINDOW places ahead: linear time for stretches too long for the dynamic programme."""
    places: dict[Key, deque[int]] = defaultdict(deque)
    for j, key in enumerate(keys_b):
        places[key].append(j)
    ops: list[Op] = []
    j = 0
    for i, key in enumerate(keys_a):
        queue = places[key]
        while queue and queue[0] < j:
            queue.popleft()
        if queue and queue[0] - j <= GREEDY_WINDOW:
            found = queue.popleft()
            ops += [(None, b0 + k) for k in range(j, found)]
            ops.append((a0 + i, b0 + found))
            j = found + 1
        else:
            ops.append((a0 + i, None))
    ops += [(None, b0 + k) for k in range(j, len(keys_b))]
    return ops


@dataclass(frozen=True, slots=True)
class AlignedRow:
    """One row of the side-by-side view: rows of A and B (None: no such step on that side)."""

    a: int | None
    b: int | None
    depth: int
    moved: bool = False


class _Aligner:
    def __init__(self, tree_a: TraceTree, tree_b: TraceTree) -> None:
        self.trees = (tree_a, tree_b)
        self.keys = tuple(
            list(zip(t.rows.columns["kind"], t.rows.columns["name"], strict=True)) for t in self.trees
        )
        self.partner: tuple[list[int], list[int]] = ([-1] * len(tree_a.rows), [-1] * len(tree_b.rows))
        self.moved_b: set[int] = set()
        #: (row of A, row of B) of every pair, (-1, -1) for the roots -> their children's alignment.
        self.ops: dict[tuple[int, int], list[Op]] = {}

    def kids(self, side: int, row: int) -> Sequence[int]:
        tree = self.trees[side]
        return tree.roots if row < 0 else tree.children[row]

    def run(self) -> None:
        pending = [(-1, -1)]
        while pending:
            a, b = pending.pop()
            kids_a, kids_b = self.kids(0, a), self.kids(1, b)
            if a < 0 and len(kids_a) == len(kids_b) == 1:
                self.ops[(a, b)] = [(kids_a[0], kids_b[0])]
                self._pair(kids_a[0], kids_b[0], pending)
                continue
            ops = [
                (None if i is None else kids_a[i], None if j is None else kids_b[j])
                for i, j in align_siblings(
                    [self.keys[0][r] for r in kids_a], [self.keys[1][r] for r in kids_b]
                )
            ]
            self.ops[(a, b)] = ops
            for i, j in ops:
                if i is not None and j is not None:
                    self._pair(i, j, pending)
            self._pair_moves(a, b, ops, pending)

    def _pair(self, i: int, j: int, pending: list[tuple[int, int]]) -> None:
        self.partner[0][i], self.partner[1][j] = j, i
        pending.append((i, j))

    def _unpaired(self, side: int, start: Iterable[int]) -> Iterable[int]:
        """Unpaired rows in pre-order, from `start` down through unpaired rows only, MOVE_DEPTH levels."""
        stack = [(row, 0) for row in reversed(list(start))]
        while stack:
            row, depth = stack.pop()
            if self.partner[side][row] < 0:
                yield row
                if depth < MOVE_DEPTH:
                    stack.extend((kid, depth + 1) for kid in reversed(self.kids(side, row)))

    def _pair_moves(self, a: int, b: int, ops: list[Op], pending: list[tuple[int, int]]) -> None:
        lonely_a = [i for i, j in ops if j is None]
        lonely_b = [j for i, j in ops if i is None]
        if not lonely_a or not lonely_b:
            return
        waiting: dict[Key, deque[int]] = defaultdict(deque)
        free = set()
        for i in self._unpaired(0, lonely_a):
            waiting[self.keys[0][i]].append(i)
            free.add(i)
        for j in self._unpaired(1, lonely_b):
            queue = waiting.get(self.keys[1][j])
            while queue and queue[0] not in free:
                queue.popleft()
            if queue:
                i = queue.popleft()
                self._take(i, free)
                self._pair(i, j, pending)
                self.moved_b.add(j)

    def _take(self, i: int, free: set[int]) -> None:
        """Drop `i` and its descendants from the rows of A still `free` to move (unpaired, as are
        their ancestors below the pair being aligned): each row leaves once, so a whole deep chain of
        candidates costs linear time, where walking up from each one would be quadratic."""
        stack = [i]
        while stack:
            row = stack.pop()
            if row in free:
                free.discard(row)
                stack.extend(self.kids(0, row))

    def rows(self) -> list[AlignedRow]:
        out: list[AlignedRow] = []
        stack: list[tuple[int | None, int | None, int]] = [
            (i, j, 0) for i, j in reversed(self._entries(-1, -1))
        ]
        while stack:
            i, j, depth = stack.pop()
            out.append(AlignedRow(i, j, depth, j is not None and j in self.moved_b))
            stack.extend((ci, cj, depth + 1) for ci, cj in reversed(self._entries(i, j)))
        return out

    def _entries(self, i: int | None, j: int | None) -> list[Op]:
        """The rows shown below a row, in order."""
        if j is None:
            return [(c, None) for c in self.kids(0, i) if self.partner[0][c] < 0]
        if i is None:
            return [(self.partner[1][c] if self.partner[1][c] >= 0 else None, c) for c in self.kids(1, j)]
        entries: list[Op] = []
        for x, y in self.ops[(i, j)]:
            if y is not None:
                entries.append((self.partner[1][y] if self.partner[1][y] >= 0 else None, y))
            elif self.partner[0][x] < 0:
                entries.append((x, None))
        return entries


def align(tree_a: TraceTree, tree_b: TraceTree) -> list[AlignedRow]:
    """Every step of both trees exactly once, paired where the alignment found a partner."""
    aligner = _Aligner(tree_a, tree_b)
    aligner.run()
    return aligner.rows()


# --- the diff ----------------------------------------------------------------------------------


def payload_diff_text(value: Any) -> str:
    """A payload as text to diff: a conversation as `[role] content` paragraphs, JSON indented."""
    if value is None:
        return ""
    if is_messages(value):
        return "\n\n".join(f"[{m.get('role')}] {message_text(m)}" for m in value)
    return pretty(value)


@dataclass(frozen=True, slots=True)
class Step:
    """One span's figures as the diff compares them (tokens and cost are its own, not rolled up)."""

    span_id: str
    name: str
    kind: str
    model: str | None
    status: str
    latency_ns: int | None
    input_tokens: int | None
    output_tokens: int | None
    cost_usd: float | None
    #: The cost was computed from a price at import, not reported by the source.
    cost_computed: bool
    input: str
    output: str

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__ if k not in ("input", "output")}


@dataclass(frozen=True, slots=True)
class TraceTotals:
    trace_id: str
    root_name: str | None
    spans: int
    errors: int
    duration_ns: int
    input_tokens: int | None
    output_tokens: int | None
    #: Reported or priced cost of the trace's counted model calls; None when none could be priced.
    cost_usd: float | None
    #: Counted model calls whose cost is unknown (no price, no token counts).
    unpriced: int
    #: Counted model calls whose cost was computed from a price (not reported by the source).
    computed: int
    models: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        data = {k: getattr(self, k) for k in self.__slots__}
        data["models"] = list(self.models)
        return data


@dataclass(frozen=True, slots=True)
class DiffRow:
    change: Change
    depth: int
    a: Step | None
    b: Step | None

    @property
    def differs(self) -> tuple[str, ...]:
        """Which compared fields of a pair differ (name, kind, model, status, input, output)."""
        if self.a is None or self.b is None:
            return ()
        return tuple(f for f in _COMPARED if getattr(self.a, f) != getattr(self.b, f))

    def input_diff(self) -> list[tuple[str, str]]:
        return readable(word_diff(self.a.input if self.a else "", self.b.input if self.b else ""))

    def output_diff(self) -> list[tuple[str, str]]:
        return readable(word_diff(self.a.output if self.a else "", self.b.output if self.b else ""))

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "change": self.change,
            "depth": self.depth,
            "a": self.a.to_json() if self.a else None,
            "b": self.b.to_json() if self.b else None,
            "differs": list(self.differs),
        }
        for field, runs in (("input", self.input_diff), ("output", self.output_diff)):
            if self.a is not None and self.b is not None and field in data["differs"]:
                data[f"{field}_diff"] = [list(run) for run in runs()]
        return data


_COMPARED = ("name", "kind", "model", "status", "input", "output")


@dataclass(frozen=True, slots=True)
class TraceDiff:
    a: TraceTotals
    b: TraceTotals
    rows: list[DiffRow]

    def counts(self) -> dict[str, int]:
        found = dict.fromkeys(CHANGES, 0)
        for row in self.rows:
            found[row.change] += 1
        return found

    def to_json(self) -> dict[str, Any]:
        return {
            "a": self.a.to_json(),
            "b": self.b.to_json(),
            "counts": self.counts(),
            "rows": [row.to_json() for row in self.rows],
        }


def _steps(db: Database, trace_id: str, tree: TraceTree) -> list[Step]:
    """Each row of `tree` as a Step, payloads read in one pass over the trace; costs as the store
    holds them (reported, else priced at import), so they add up like every other view's."""
    payloads = {
        span_id: (payload_diff_text(inputs), payload_diff_text(outputs))
        for span_id, (inputs, outputs) in trace_io(db, trace_id).items()
    }
    steps = []
    for row in tree.rows:
        text_in, text_out = payloads.get(row["span_id"], ("", ""))
        cost = row["price_usd"] if row["cost_usd"] is None else row["cost_usd"]
        steps.append(
            Step(
                span_id=row["span_id"],
                name=row["name"],
                kind=row["kind"],
                model=row["model"],
                status=row["status"],
                latency_ns=None if row["end_ns"] is None else row["end_ns"] - row["start_ns"],
                input_tokens=row["input_tokens"],
                output_tokens=row["output_tokens"],
                cost_usd=cost,
                cost_computed=row["cost_usd"] is None and cost is not None,
                input=text_in,
                output=text_out,
            )
        )
    return steps


def _sum(values: Iterable[int | float | None]) -> Any:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def _totals(trace_id: str, tree: TraceTree, steps: list[Step]) -> TraceTotals:
    counted = [s for s, c in zip(steps, tree.rows.columns["counted"], strict=True) if c]
    return TraceTotals(
        trace_id=trace_id,
        root_name=tree.rows.columns["name"][tree.roots[0]] if tree.roots else None,
        spans=len(steps),
        errors=len(tree.error_rows),
        duration_ns=tree.end_ns - tree.start_ns,
        input_tokens=_sum(s.input_tokens for s in counted),
        output_tokens=_sum(s.output_tokens for s in counted),
        cost_usd=_sum(s.cost_usd for s in counted),
        unpriced=sum(s.cost_usd is None for s in counted),
        computed=sum(s.cost_computed for s in counted),
        models=tuple(sorted({s.model for s in counted if s.model})),
    )


def _row(aligned: AlignedRow, steps_a: list[Step], steps_b: list[Step]) -> DiffRow:
    a = None if aligned.a is None else steps_a[aligned.a]
    b = None if aligned.b is None else steps_b[aligned.b]
    if a is None:
        change: Change = "added"
    elif b is None:
        change = "removed"
    elif aligned.moved:
        change = "moved"
    else:
        change = "changed" if any(getattr(a, f) != getattr(b, f) for f in _COMPARED) else "same"
    return DiffRow(change, aligned.depth, a, b)


def diff_traces(db: Database, trace_a: str, trace_b: str) -> TraceDiff:
    """Trace `trace_b` against `trace_a` (full ids), read from the store."""
    tree_a, tree_b = TraceTree.build(trace_rows(db, trace_a)), TraceTree.build(trace_rows(db, trace_b))
    steps_a, steps_b = _steps(db, trace_a, tree_a), _steps(db, trace_b, tree_b)
    rows = [_row(r, steps_a, steps_b) for r in align(tree_a, tree_b)]
    return TraceDiff(_totals(trace_a, tree_a, steps_a), _totals(trace_b, tree_b, steps_b), rows)


def readable(runs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A word diff with the lone spaces that difflib keeps between rewritten words folded into the
    change, so a rewritten sentence reads as one removed and one added phrase, not word by word."""
    out: list[tuple[str, str]] = []
    for k, (op, text) in enumerate(runs):
        between = 0 < k < len(runs) - 1 and runs[k - 1][0] != "same" and runs[k + 1][0] != "same"
        if op == "same" and between and text.isspace() and "\n" not in text:
            out += [("removed", text), ("added", text)]
        else:
            out.append((op, text))
    merged: list[tuple[str, str]] = []
    for same, group in groupby(out, key=lambda run: run[0] == "same"):
        stretch = list(group)
        if same:
            merged += stretch
            continue
        for kind in ("removed", "added"):
            text = "".join(t for op, t in stretch if op == kind)
            if text:
                merged.append((kind, text))
    return merged


def collapse(runs: list[tuple[str, str]], context: int = CONTEXT_CHARS) -> list[tuple[str, str]]:
    """A word diff with long unchanged runs cut to `context` characters around each change
    (the cut shown as `…`), so a one-word change in a long prompt reads at a glance."""
    out: list[tuple[str, str]] = []
    for k, (op, text) in enumerate(runs):
        if op != "same" or len(text) <= 2 * context + 1:
            out.append((op, text))
            continue
        before = text[:context] if k > 0 else ""
        after = text[-context:] if k < len(runs) - 1 else ""
        out.append(("same", f"{before}…{after}"))
    return out
