"""Column widths that fit a table's viewport: each column at the width its content wants, one column
taking what is left, and when the viewport is too narrow every column giving up width down to its
least (never 0 px); beyond that the view scrolls sideways.

Widths are worked out once per viewport resize or content change, never per row: Qt's
ResizeToContents would measure every row of a million-row view.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QHeaderView, QTableView


def fit_widths(wanted: Sequence[int], least: Sequence[int], available: int, stretch: int | None) -> list[int]:
    """Widths for columns wanting `wanted` px and needing at least `least` px, within `available`
    px: spare width goes to column `stretch` (None: to no column). Too little is taken from the
    other columns first, each in proportion to its slack above its least, and only then from the
    stretch column (the one that matters most); never below a column's least."""
    widths = [max(w, m) for w, m in zip(wanted, least, strict=True)]
    spare = available - sum(widths)
    if spare >= 0:
        if stretch is not None:
            widths[stretch] += spare
        return widths
    others = [i for i in range(len(widths)) if i != stretch]
    for group in (others, [] if stretch is None else [stretch]):
        spare += _give_up(widths, least, group, -spare)
        if spare >= 0:
            break
    return widths


def _give_up(widths: list[int], least: Sequence[int], columns: Sequence[int], needed: int) -> int:
    """Narrow `columns` by up to `needed` px in all, in proportion to their slack; what they gave."""
    slack = {i: widths[i] - least[i] for i in columns}
    total = sum(slack.values())
    if total <= 0:
        return 0
    share = min(1.0, needed / total)
    given = 0
    for i, room in slack.items():
        cut = min(room, math.ceil(room * share))
        widths[i] -= cut
        given += cut
    return given


class QtColumnFitter(QObject):
    """Keeps `view`'s shown columns fitted to its viewport (see `fit_widths`). A column the user
    resizes keeps that width from then on; the others, and the stretch column, make room for it."""

    def __init__(self, view: QTableView, stretch: int | None) -> None:
        super().__init__(view)
        self._view = view
        self._stretch = stretch
        self._wanted: list[int] = []
        self._least: list[int] = []
        self._chosen: dict[int, int] = {}
        self._fitting = False
        header = view.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.sectionResized.connect(self._on_section_resized)
        view.viewport().installEventFilter(self)

    @property
    def least(self) -> list[int]:
        """Each column's least width, by logical index (a column the user sized: that width)."""
        return [self._chosen.get(i, m) for i, m in enumerate(self._least)]

    def set_widths(self, wanted: Sequence[int], least: Sequence[int]) -> None:
        """What each column (by logical index) wants and needs; fits the columns at once."""
        self._wanted, self._least = list(wanted), list(least)
        self.fit()

    def set_hidden(self, hidden: set[int]) -> None:
        """Hide exactly the columns `hidden` (by logical index), then fit the rest."""
        header = self._view.horizontalHeader()
        self._fitting = True
        try:
            for i in range(header.count()):
                header.setSectionHidden(i, i in hidden)
        finally:
            self._fitting = False
        self.fit()

    def forget_chosen(self) -> None:
        """Drop the widths the user chose (another store: other content)."""
        self._chosen.clear()

    def fit(self) -> None:
        header = self._view.horizontalHeader()
        shown = [i for i in range(len(self._wanted)) if not header.isSectionHidden(i)]
        if not shown:
            return
        wanted = [self._chosen.get(i, self._wanted[i]) for i in shown]
        least = [self._chosen.get(i, self._least[i]) for i in shown]
        stretch = shown.index(self._stretch) if self._stretch in shown else None
        if stretch is not None and self._stretch in self._chosen:
            stretch = None
        widths = fit_widths(wanted, least, self._view.viewport().width(), stretch)
        self._fitting = True
        try:
            for i, width in zip(shown, widths, strict=True):
                if header.sectionSize(i) != width:
                    header.resizeSection(i, width)
        finally:
            self._fitting = False

    def _on_section_resized(self, section: int, _old: int, new: int) -> None:
        if self._fitting or new == 0 or section >= len(self._wanted):
            return
        self._chosen[section] = new
        self.fit()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize and watched is self._view.viewport():
            self.fit()
        return False
