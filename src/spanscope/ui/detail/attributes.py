"""Every attribute of a span (its own, then resource and scope ones) as a flat, filterable,
copyable key/value table. Long values are elided in the cell; double-click shows them in full.
Base64 images and audio read as their type and size in the cell and tooltip; copying gives the value."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLineEdit, QTableView, QVBoxLayout, QWidget

from spanscope.core.presentation.content import compact
from spanscope.core.presentation.media import cell_text, cell_tooltip
from spanscope.ui.detail.copying import FULL_TEXT_ROLE, KEY_COLUMN, VALUE_ROLE, QtCopySupport
from spanscope.ui.plain_tooltip import plain_tooltip

AnyIndex = QModelIndex | QPersistentModelIndex
_ROOT = QModelIndex()


class QtAttributesModel(QAbstractTableModel):
    HEADERS = ("Key", "Value")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._keys: list[str] = []
        self._values: list[Any] = []
        self._texts: list[str] = []
        self._previews: list[str] = []

    def set_rows(self, rows: list[tuple[str, Any]]) -> None:
        self.beginResetModel()
        self._keys = [key for key, _ in rows]
        self._values = [value for _, value in rows]
        self._texts = [compact(value) for value in self._values]
        self._previews = [cell_text(text) for text in self._texts]
        self.endResetModel()

    def rowCount(self, parent: AnyIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._keys)

    def columnCount(self, parent: AnyIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, key_column = index.row(), index.column() == KEY_COLUMN
        if role == Qt.ItemDataRole.DisplayRole:
            return self._keys[row] if key_column else self._previews[row]
        if role == FULL_TEXT_ROLE:
            return self._keys[row] if key_column else self._texts[row]
        if role == VALUE_ROLE:
            return self._values[row]
        if role == Qt.ItemDataRole.ToolTipRole:
            return plain_tooltip(self._keys[row] if key_column else cell_tooltip(self._texts[row]))
        return None


class QtAttributesView(QWidget):
    """A filter box over the attributes table; the filter matches keys and full values."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = QtAttributesModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterRole(FULL_TEXT_ROLE)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.filter = QLineEdit(placeholderText="Filter keys and values", clearButtonEnabled=True)
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.copying = QtCopySupport(self.table)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.filter)
        layout.addWidget(self.table, 1)

    def set_rows(self, rows: list[tuple[str, Any]]) -> None:
        self.model.set_rows(rows)
        self.table.resizeColumnToContents(KEY_COLUMN)
        limit = max(self.width() * 45 // 100, 160)
        self.table.setColumnWidth(KEY_COLUMN, min(self.table.columnWidth(KEY_COLUMN), limit))
