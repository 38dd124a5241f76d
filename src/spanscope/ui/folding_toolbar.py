"""A toolbar that gives way on a narrow window: its groups of actions fold, one at a time in the
order they were marked foldable, into a single button with a menu, so every action stays one click
away and none hides behind Qt's overflow arrow."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QResizeEvent
from PySide6.QtWidgets import QHBoxLayout, QStyle, QToolBar, QToolButton, QWidget, QWidgetAction

#: Width kept free at the toolbar's end, so a rounding of the estimate never brings Qt's overflow arrow.
SLACK = 12


@dataclass
class FoldingGroup:
    """One group: its buttons side by side (shown while they fit) or one menu button (folded)."""

    title: str
    fold_rank: int
    expanded: QWidgetAction
    folded: QWidgetAction
    strip: QWidget
    menu_button: QToolButton


def _tool_button(parent: QWidget) -> QToolButton:
    button = QToolButton(parent)
    button.setAutoRaise(True)
    button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
    return button


class QtFoldingToolBar(QToolBar):
    """A QToolBar with `add_group`: a group's actions fold into one menu button when space runs out.

    The actions themselves are never hidden or disabled by folding (that would turn their shortcuts
    off): whichever of the strip and the menu button shows holds them, so their shortcuts work."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self.groups: list[FoldingGroup] = []

    def add_group(self, title: str, actions: list[QAction], fold_rank: int) -> FoldingGroup:
        """Add `actions` as one group; groups fold in increasing `fold_rank`, the lowest first."""
        strip = QWidget(self)
        row = QHBoxLayout(strip)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(self.layout().spacing())
        for action in actions:
            button = _tool_button(strip)
            button.setDefaultAction(action)
            row.addWidget(button)
        menu_button = _tool_button(self)
        menu_button.setText(f"{title} ▾")
        menu_button.setStyleSheet("QToolButton::menu-indicator { image: none; width: 0 }")  # the ▾ says it
        menu_button.setToolTip(f"{title}: " + ", ".join(a.text().replace("&", "") for a in actions))
        menu_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu_button.addActions(actions)  # a QToolButton without a menu shows its actions as one
        expanded, folded = QWidgetAction(self), QWidgetAction(self)
        expanded.setDefaultWidget(strip)
        folded.setDefaultWidget(menu_button)
        folded.setVisible(False)
        self.addAction(expanded)
        self.addAction(folded)
        group = FoldingGroup(title, fold_rank, expanded, folded, strip, menu_button)
        self.groups.append(group)
        self._refold()
        return group

    def folded_titles(self) -> list[str]:
        return [g.title for g in self.groups if g.folded.isVisible()]

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._refold()

    def _refold(self) -> None:
        """Fold the fewest groups, lowest rank first, that leave every button in view."""
        if self.orientation() != Qt.Orientation.Horizontal:
            return
        room = self.contentsRect().width() - self._handle_width() - SLACK
        ranked = sorted(self.groups, key=lambda g: g.fold_rank)
        need = self._expanded_width()
        folded: set[int] = set()
        for group in ranked:
            if need <= room:
                break
            folded.add(id(group))
            need -= group.strip.sizeHint().width() - group.menu_button.sizeHint().width()
        for group in self.groups:
            fold = id(group) in folded
            if group.folded.isVisible() != fold:
                group.expanded.setVisible(not fold)
                group.folded.setVisible(fold)

    def _expanded_width(self) -> int:
        """The width the toolbar's items take with every group expanded."""
        menu_buttons = {id(g.folded) for g in self.groups}
        expanded = {id(g.expanded) for g in self.groups}
        spacing = self.layout().spacing()
        total = 0
        for action in self.actions():
            if id(action) in menu_buttons or (id(action) not in expanded and not action.isVisible()):
                continue
            if action.isSeparator():
                total += self.style().pixelMetric(QStyle.PixelMetric.PM_ToolBarSeparatorExtent, None, self)
            else:
                widget = self.widgetForAction(action)
                total += widget.sizeHint().width() if widget is not None else 0
            total += spacing
        margins = self.layout().contentsMargins()
        return total + margins.left() + margins.right()

    def _handle_width(self) -> int:
        if not self.isMovable():
            return 0
        return self.style().pixelMetric(QStyle.PixelMetric.PM_ToolBarHandleExtent, None, self)
