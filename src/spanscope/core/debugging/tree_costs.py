"""The cost of every span of a trace tree, and its sums over subtrees and steps.

What the trace list shows for a whole trace, the span tree shows per span: the reported cost when
the source has one, else tokens x the price of the span's (provider, model, day) as worked out when
it was stored (SpanPricer), else unknown. Reading the stored figure keeps a 100,000-span tree quick
to open and makes it add up to the trace list's total by construction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from types import SimpleNamespace
from typing import Literal

from spanscope.core.debugging.tree import TraceTree
from spanscope.core.model import MODEL_KINDS
from spanscope.core.presentation import display
from spanscope.core.pricing.prices import Cost, PriceBook

Source = Literal["reported", "computed", "unknown"]
_UNKNOWN_SHIFT = 32
_COUNT_MASK = (1 << _UNKNOWN_SHIFT) - 1
_UNKNOWN = 1 << _UNKNOWN_SHIFT


@dataclass(frozen=True)
class CostSum:
    """Costs added up over some spans, with how many of them each source priced."""

    usd: float | None
    computed: int
    unknown: int

    @property
    def text(self) -> str:
        """`$0.0123`, `~$0.0123` when some of it is computed, a trailing `+?` (or just `?`) when some
        calls could not be priced; "" when there is no cost at all."""
        return display.cost(self.usd, computed=self.computed > 0, unknown=self.unknown > 0)


@dataclass
class TreeCosts:
    """Per row of `tree`: the span's own cost and its source (None: not a model call and nothing
    reported), and sums over each subtree's counted calls (the rule the token totals follow)."""

    tree: TraceTree
    book: PriceBook
    #: Each row's own cost: reported, else computed (None: unknown, or not a model call).
    usd: list[float | None]

    @classmethod
    def build(cls, tree: TraceTree, book: PriceBook) -> TreeCosts:
        """Costs as the store holds them: reported, else priced at import (`price_usd`, priced again
        when the user's prices change), so the tree adds up to the trace list's figure. `book`
        explains a cost (`cost`) and reprices (`what_if`)."""
        columns = tree.rows.columns
        # Only model calls without a reported cost have a price_usd. A comprehension, not a loop:
        # this runs on every tree shown.
        usd = [p if r is None else r for r, p in zip(columns["cost_usd"], columns["price_usd"], strict=True)]
        return cls(tree, book, usd)

    def source(self, i: int) -> Source | None:
        """How row `i`'s own cost was obtained (None: not a model call, and nothing reported)."""
        columns = self.tree.rows.columns
        if columns["cost_usd"][i] is not None:
            return "reported"
        if columns["kind"][i] not in MODEL_KINDS:
            return None
        return "unknown" if self.usd[i] is None else "computed"

    def cost(self, i: int) -> Cost | None:
        """Row `i`'s own cost and how it was obtained (None: not a model call, nothing reported);
        asked for one span at a time (a tooltip), so it goes through the book's one-call pricing."""
        if self.source(i) is None:
            return None
        return self.book.cost(SimpleNamespace(**self.tree.rows[i]))

    def subtree(self, i: int) -> CostSum:
        """Row `i`'s subtree, counted calls only."""
        usd, counts = self._rolled[0][i], self._rolled[1][i] or 0
        return CostSum(usd, counts & _COUNT_MASK, counts >> _UNKNOWN_SHIFT)

    def what_if(self, i: int, model: str, provider: str | None = None) -> CostSum:
        """What row `i`'s subtree would have cost had every counted call used `model`'s prices (of
        the call's own day), reported costs ignored: `PriceBook.reprice` over those calls."""
        counted, kinds = self.tree.rows.columns["counted"], self.tree.rows.columns["kind"]
        stack, calls = [i], []
        while stack:
            row = stack.pop()
            if counted[row] and kinds[row] in MODEL_KINDS:
                calls.append(SimpleNamespace(**self.tree.rows[row]))
            stack.extend(self.tree.children[row])
        costs = self.book.reprice(calls, model, provider)
        priced = [c.usd for c in costs if c.usd is not None]
        return CostSum(sum(priced) if priced else None, len(priced), len(costs) - len(priced))

    def steps(self, order: Sequence[int]) -> list[CostSum]:
        """Running sums of the counted calls along `order` (e.g. execution order): entry k covers
        order[: k + 1]."""
        counted, reported = self.tree.rows.columns["counted"], self.tree.rows.columns["cost_usd"]
        usd: float | None = None
        computed = unknown = 0
        sums = []
        for i in order:
            if counted[i]:
                cost = self.usd[i]
                if cost is None:
                    unknown += 1
                else:
                    usd = cost if usd is None else usd + cost
                    computed += reported[i] is None
            sums.append(CostSum(usd, computed, unknown))
        return sums

    @cached_property
    def _rolled(self) -> tuple[list[float | None], list[int | None]]:
        """Sums of counted calls' costs, and their computed and unknown counts packed in one int
        (unknown ones in the high bits; 0 for reported), both carried up the tree in one pass: this
        runs when a tree's Cost column is first painted."""
        tree, columns = self.tree, self.tree.rows.columns
        counted, reported = columns["counted"], columns["cost_usd"]
        own = [u if c else None for u, c in zip(self.usd, counted, strict=True)]
        # Counted calls are model calls, so each is reported, computed (a cost) or unknown (none).
        counts = [
            None if not c else 0 if r is not None else _UNKNOWN if u is None else 1
            for u, c, r in zip(self.usd, counted, reported, strict=True)
        ]
        parent = tree.parent
        for i in tree.upward:
            count = counts[i]
            if count is None:  # no counted call here or below
                continue
            up = parent[i]
            above = counts[up]
            counts[up] = count if above is None else above + count
            cost = own[i]
            if cost is not None:
                above_cost = own[up]
                own[up] = cost if above_cost is None else above_cost + cost
        return own, counts
