"""JSON as a collapsible tree. Nodes are made only when their parent is expanded, a few hundred at a
time as the view scrolls (canFetchMore/fetchMore), so a huge value costs nothing until opened.
A data URL or base64 value reads as its type and size ("image/png, 1.6 KB"); copying gives the value."""

from __future__ import annotations

from itertools import islice
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QTreeView, QWidget

from spanscope.core.presentation.content import compact, container_summary
from spanscope.core.presentation.media import cell_text, cell_tooltip
from spanscope.ui.detail.copying import FULL_TEXT_ROLE, KEY_COLUMN, VALUE_ROLE, QtCopySupport
from spanscope.ui.plain_tooltip import plain_tooltip
from spanscope.ui.style import MUTED_COLOR, ink

FETCH_BATCH = 500
#: Open the top level when it has at most this many entries (each open entry fetches a batch).
EXPAND_TOP_LEVEL = 20
AnyIndex = QModelIndex | QPersistentModelIndex
_ROOT = QModelIndex()
_SCALAR_COLORS = {str: "#1e8449", bool: "#8e44ad", type(None): "#8e44ad"}
_NUMBER_COLOR = "#2e86de"


class _Node:
    __slots__ = ("_shown", "children", "key", "parent", "row", "value")

    def __init__(self, key: str, value: Any, parent: _Node | None, row: int) -> None:
        self.key = key
        self.value = value
        self.parent = parent
        self.row = row
        self.children: list[_Node] = []
        self._shown: str | None = None

    @property
    def shown(self) -> str:
        """The scalar's cell text, payloads named, worked out once (a view asks on every paint)."""
        if self._shown is None:
            self._shown = cell_text(compact(self.value))
        return self._shown

    @property
    def size(self) -> int:
        """How many children the value has, fetched or not."""
        return len(self.value) if isinstance(self.value, dict | list) else 0

    def fetch(self, count: int) -> None:
        start = len(self.children)
        if isinstance(self.value, dict):
            items = [(str(k), v) for k, v in islice(self.value.items(), start, start + count)]
        else:
            items = [(f"[{i}]", v) for i, v in enumerate(self.value[start : start + count], start)]
        self.children += [_Node(key, value, self, start + n) for n, (key, value) in enumerate(items)]


class QtJsonModel(QAbstractItemModel):
    HEADERS = ("Key", "Value")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._root = _Node("", {}, None, 0)

    def set_value(self, value: Any) -> None:
        self.beginResetModel()
        self._root = _Node("", value if isinstance(value, dict | list) else [value], None, 0)
        self.endResetModel()

    def _node(self, index: AnyIndex) -> _Node:
        return index.internalPointer() if index.isValid() else self._root

    def index(self, row: int, column: int, parent: AnyIndex = _ROOT) -> QModelIndex:
        node = self._node(parent)
        if not self.hasIndex(row, column, parent):
            return QModelIndex()
        return self.createIndex(row, column, node.children[row])

    def parent(self, index: AnyIndex = _ROOT) -> QModelIndex:
        if not index.isValid():
            return QModelIndex()
        parent = index.internalPointer().parent
        if parent is None or parent is self._root:
            return QModelIndex()
        return self.createIndex(parent.row, 0, parent)

    def rowCount(self, parent: AnyIndex = _ROOT) -> int:
        if parent.column() > 0:
            return 0
        return len(self._node(parent).children)

    def columnCount(self, parent: AnyIndex = _ROOT) -> int:
        return len(self.HEADERS)

    def hasChildren(self, parent: AnyIndex = _ROOT) -> bool:
        return parent.column() <= 0 and self._node(parent).size > 0

    def canFetchMore(self, parent: AnyIndex) -> bool:
        node = self._node(parent)
        return parent.column() <= 0 and len(node.children) < node.size

    def fetchMore(self, parent: AnyIndex) -> None:
        node = self._node(parent)
        count = min(FETCH_BATCH, node.size - len(node.children))
        if count <= 0:
            return
        self.beginInsertRows(parent, len(node.children), len(node.children) + count - 1)
        node.fetch(count)
        self.endInsertRows()

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        node: _Node = index.internalPointer()
        value = node.value
        if index.column() == KEY_COLUMN:
            return node.key if role in (Qt.ItemDataRole.DisplayRole, FULL_TEXT_ROLE) else None
        if role == Qt.ItemDataRole.DisplayRole:
            return container_summary(value) if isinstance(value, dict | list) else node.shown
        if role == FULL_TEXT_ROLE:
            return compact(value)
        if role == VALUE_ROLE:
            return value
        if role == Qt.ItemDataRole.ForegroundRole:
            return QColor(ink(_value_color(value)))
        if role == Qt.ItemDataRole.ToolTipRole and not isinstance(value, dict | list):
            return plain_tooltip(cell_tooltip(compact(value)))
        return None


def _value_color(value: Any) -> str:
    if isinstance(value, dict | list):
        return MUTED_COLOR
    return _SCALAR_COLORS.get(type(value), _NUMBER_COLOR)


class QtJsonTree(QTreeView):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.json_model = QtJsonModel(self)
        self.setModel(self.json_model)
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setExpandsOnDoubleClick(False)
        self.header().setStretchLastSection(True)
        self.copying = QtCopySupport(self)

    def set_value(self, value: Any) -> None:
        """Show `value`, with its top level open when it is small."""
        self.json_model.set_value(value)
        if isinstance(value, dict | list) and len(value) <= EXPAND_TOP_LEVEL:
            self.expandToDepth(0)
        self.resizeColumnToContents(KEY_COLUMN)
        self.setColumnWidth(KEY_COLUMN, min(self.columnWidth(KEY_COLUMN), max(self.width() // 2, 160)))

    def clear_content(self) -> None:
        self.json_model.set_value({})
