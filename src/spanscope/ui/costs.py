"""The app's one price book, and the span costs of the current trace.

Every view asks here, so the span tree, the stepping strip and the Usage tab show the same figures
as the trace list; when the user's price overrides change (and the open store has been priced again
with them), `changed` tells them all to show costs again.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from spanscope.core.debugging.tree import TraceTree
from spanscope.core.debugging.tree_costs import TreeCosts
from spanscope.core.pricing.prices import PriceBook, user_price_book


class QtPrices(QObject):
    #: Prices changed and the open store holds the new costs: show costs again.
    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.book: PriceBook = user_price_book()
        self._last: tuple[TraceTree, TreeCosts] | None = None

    def tree_costs(self, tree: TraceTree) -> TreeCosts:
        """The costs of `tree`'s spans, worked out once per tree (the span tree and stepping share it)."""
        if self._last is None or self._last[0] is not tree:
            self._last = (tree, TreeCosts.build(tree, self.book))
        return self._last[1]

    def reload(self) -> None:
        """Read the user's price overrides again (`changed` is emitted by whoever reprices the store)."""
        self.book = user_price_book()
        self._last = None


_prices: QtPrices | None = None


def prices() -> QtPrices:
    """The application-wide QtPrices (created on first use, on the GUI thread)."""
    global _prices
    if _prices is None:
        _prices = QtPrices()
    return _prices
