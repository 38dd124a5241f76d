"""Review mode's label picker: every label of every set, numbered, in a menu at the label rows.

A digit picks a label (Qt's mnemonics would not do it on every platform); picking the label already
given takes it back.
"""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import QPoint, Signal
from PySide6.QtGui import QAction, QKeyEvent
from PySide6.QtWidgets import QMenu

from spanscope.core.review.label_sets import LabelSet

#: Labels past this many are listed without a number (digits pick only these).
NUMBERED = 9


class QtLabelMenu(QMenu):
    #: A set's name, a label of it, and whether it is now given (False: taken back).
    picked = Signal(str, str, bool)

    def offer(self, sets: list[LabelSet], given: Mapping[str, str | None], at: QPoint) -> None:
        """Show the labels of `sets` at `at`, those in `given` (set name: label) checked."""
        self.clear()
        if not sets:
            self.addAction("No label sets yet: Review ▸ Label Sets… defines them").setEnabled(False)
        number = 0
        for label_set in sets:
            self.addSection(label_set.name)
            for label in label_set.labels:
                number += 1
                text = f"{number}  {label}" if number <= NUMBERED else label
                action = QAction(text, self, checkable=True)
                action.setChecked(label == given.get(label_set.name))
                action.setData((label_set.name, label))
                action.triggered.connect(lambda on, n=label_set.name, v=label: self.picked.emit(n, v, on))
                self.addAction(action)
        self.popup(at)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        numbered = [a for a in self.actions() if a.data() is not None][:NUMBERED]
        text = event.text()
        if text.isdigit() and 1 <= int(text) <= len(numbered):
            self.hide()
            numbered[int(text) - 1].trigger()
            return
        super().keyPressEvent(event)
