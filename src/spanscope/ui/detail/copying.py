"""Copying from the item views (attributes, JSON tree): Ctrl+C copies the selected cells as
tab-separated lines; the context menu copies one key or value, or shows it in full.

Models expose a cell's complete text under FULL_TEXT_ROLE (the display text may be elided) and
its raw value under VALUE_ROLE.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QObject, QPoint, Qt
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import QAbstractItemView, QApplication, QMenu

from spanscope.ui.detail.value_dialog import QtValueDialog

FULL_TEXT_ROLE = Qt.ItemDataRole.UserRole
VALUE_ROLE = Qt.ItemDataRole.UserRole + 1
KEY_COLUMN, VALUE_COLUMN = 0, 1


def _position(index: QModelIndex) -> tuple[int, ...]:
    rows = []
    while index.isValid():
        rows.append(index.row())
        index = index.parent()
    return tuple(reversed(rows))


def selection_text(view: QAbstractItemView) -> str:
    """The selected cells in view order: one line per row, cells separated by tabs."""
    lines: dict[tuple[int, ...], list[tuple[int, str]]] = {}
    for index in view.selectionModel().selectedIndexes():
        lines.setdefault(_position(index), []).append((index.column(), index.data(FULL_TEXT_ROLE) or ""))
    return "\n".join("\t".join(text for _, text in sorted(cells)) for _, cells in sorted(lines.items()))


def _copy_cell(index: QModelIndex, column: int) -> None:
    QApplication.clipboard().setText(index.siblingAtColumn(column).data(FULL_TEXT_ROLE) or "")


class QtCopySupport(QObject):
    """Adds Ctrl+C, double-click to show a value, and the Copy key / Copy value menu to a view.

    Ctrl+C is taken in an event filter: the view's own handler would copy only the current cell."""

    def __init__(self, view: QAbstractItemView) -> None:
        super().__init__(view)
        self.view = view
        self.dialogs: list[QtValueDialog] = []
        view.installEventFilter(self)
        view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        view.customContextMenuRequested.connect(self._menu)
        view.doubleClicked.connect(self.show_value)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        is_key = event.type() in (QEvent.Type.KeyPress, QEvent.Type.ShortcutOverride)
        if not (is_key and isinstance(event, QKeyEvent) and event.matches(QKeySequence.StandardKey.Copy)):
            return False
        if event.type() == QEvent.Type.KeyPress:
            self.copy_selection()
        event.accept()
        return True

    def copy_selection(self) -> None:
        QApplication.clipboard().setText(selection_text(self.view))

    def show_value(self, index: QModelIndex) -> QtValueDialog:
        """Open the row's value in its own window (non-modal, so several can be compared)."""
        key = index.siblingAtColumn(KEY_COLUMN).data(FULL_TEXT_ROLE) or ""
        dialog = QtValueDialog(key, index.siblingAtColumn(VALUE_COLUMN).data(VALUE_ROLE), self.view)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.destroyed.connect(lambda: self.dialogs.remove(dialog))
        self.dialogs.append(dialog)
        dialog.show()
        return dialog

    def context_menu(self, index: QModelIndex) -> QMenu:
        menu = QMenu(self.view)
        menu.addAction("Copy value", lambda: _copy_cell(index, VALUE_COLUMN))
        menu.addAction("Copy key", lambda: _copy_cell(index, KEY_COLUMN))
        menu.addAction("Copy selection", self.copy_selection)
        menu.addSeparator()
        menu.addAction("Show value…", lambda: self.show_value(index))
        return menu

    def _menu(self, point: QPoint) -> None:
        index = self.view.indexAt(point)
        if index.isValid():
            self.context_menu(index).exec(self.view.viewport().mapToGlobal(point))
