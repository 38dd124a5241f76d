"""The remote trace list's model: the pages of a server's trace list loaded so far, one row per
`RemoteTrace`, with whether each trace is already in the local cache.

Rows only ever grow by a page the user asked for ("Load more", or scrolling to the end), so a server
holding 100,000 traces costs the rows looked at. The order is the server's (newest first): only a
server can sort its whole list, and the contract lists by start time only, so the view does not
re-sort what it has loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, Qt
from PySide6.QtGui import QColor

from spanscope.core.presentation import display
from spanscope.core.remote.base import RemoteTrace
from spanscope.ui.plain_tooltip import plain_tooltip
from spanscope.ui.style import ERROR_COLOR, MUTED_COLOR

#: data() role giving a row's trace id.
TRACE_ID_ROLE = Qt.ItemDataRole.UserRole + 1
LOCAL, REMOTE = "local", "remote"
SORT_NOTE = "Newest first, as the server lists them: servers sort their trace lists by start time only"

_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter


def _one_line(text: str | None) -> str:
    """A server's name on one row: its line breaks and control characters shown, not obeyed."""
    return display.printable(text or "")


def _error(trace: RemoteTrace) -> str:
    return {True: "error", False: "", None: "?"}[trace.error]


@dataclass(frozen=True, slots=True)
class Column:
    title: str
    text: Callable[[RemoteTrace, bool], str]
    #: Sized for this text (column_fit-like, but from a fixed sample: rows arrive a page at a time).
    widest: str
    numeric: bool = False
    tip: str = ""
    #: What a trace says here, None when it says nothing (the server's list does not carry it).
    value: Callable[[RemoteTrace], object] | None = None


COLUMNS = (
    Column(
        "Start (UTC)", lambda t, _c: display.timestamp(t.start_ns), "2026-11-27 04:51:14.047", tip=SORT_NOTE
    ),
    Column("Name", lambda t, _c: _one_line(t.name), "invoke_agent travel_planner"),
    Column("Project", lambda t, _c: _one_line(t.project), "fixture-service", value=lambda t: t.project),
    Column(
        "Latency",
        lambda t, _c: display.duration(t.duration_ns),
        "59 min 59 s",
        numeric=True,
        value=lambda t: t.duration_ns,
    ),
    Column(
        "Spans",
        lambda t, _c: display.count(t.span_count),
        "12,345",
        numeric=True,
        value=lambda t: t.span_count,
    ),
    Column(
        "Tokens",
        lambda t, _c: display.count(t.total_tokens),
        "1,234,567",
        numeric=True,
        value=lambda t: t.total_tokens,
    ),
    Column(
        "Cost", lambda t, _c: display.cost(t.cost_usd), "$1,234.56", numeric=True, value=lambda t: t.cost_usd
    ),
    Column("Error", lambda t, _c: _error(t), "error", value=lambda t: t.error),
    Column(
        "Cache",
        lambda _t, cached: LOCAL if cached else REMOTE,
        "remote",
        tip="local: fetched into the cache before (opens at once); remote: fetched when opened",
    ),
)
NAME_COLUMN = 1
_ERROR_COLUMN = 7
CACHE_COLUMN = len(COLUMNS) - 1


class QtRemoteTraceModel(QAbstractTableModel):
    """The loaded pages' traces, in the server's order, and whether the server has more."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._traces: list[RemoteTrace] = []
        self._cached: set[str] = set()
        self._has_more = False
        #: The columns some loaded trace has a value in.
        self._filled: set[int] = set()

    @property
    def has_more(self) -> bool:
        return self._has_more

    def clear(self) -> None:
        """Forget every row (another server, project or filter)."""
        self.beginResetModel()
        self._traces, self._cached, self._has_more, self._filled = [], set(), False, set()
        self.endResetModel()

    def add_page(self, traces: list[RemoteTrace], cached: Iterable[str], has_more: bool) -> None:
        """Append a page of the server's list, the ones of it in the cache, and whether more follow."""
        self._cached.update(cached)
        self._has_more = has_more
        for i, column in enumerate(COLUMNS):
            if column.value is None or any(column.value(t) is not None for t in traces):
                self._filled.add(i)
        if traces:
            first = len(self._traces)
            self.beginInsertRows(QModelIndex(), first, first + len(traces) - 1)
            self._traces.extend(traces)
            self.endInsertRows()

    def mark_cached(self, trace_id: str, cached: bool = True) -> None:
        """A trace was fetched into the cache (or left it)."""
        if cached:
            self._cached.add(trace_id)
        else:
            self._cached.discard(trace_id)
        for row, trace in enumerate(self._traces):
            if trace.trace_id == trace_id:
                cell = self.index(row, CACHE_COLUMN)
                self.dataChanged.emit(cell, cell)

    def empty_columns(self) -> set[int]:
        """The columns no loaded trace has a value in (a server whose list carries no tokens)."""
        return set(range(len(COLUMNS))) - self._filled

    def is_cached(self, trace_id: str) -> bool:
        return trace_id in self._cached

    def trace_at(self, row: int) -> RemoteTrace | None:
        return self._traces[row] if 0 <= row < len(self._traces) else None

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._traces)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        column = COLUMNS[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.title
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if column.numeric else _LEFT
        if role == Qt.ItemDataRole.ToolTipRole:
            return column.tip or None
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        trace = self.trace_at(index.row()) if index.isValid() else None
        if trace is None:
            return None
        column = COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.text(trace, trace.trace_id in self._cached)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if column.numeric else _LEFT
        if role == Qt.ItemDataRole.ForegroundRole:
            if index.column() == _ERROR_COLUMN and trace.error:
                return QColor(ERROR_COLOR)
            if index.column() == CACHE_COLUMN and trace.trace_id not in self._cached:
                return QColor(MUTED_COLOR)
            return None
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == NAME_COLUMN:
            return plain_tooltip(f"{trace.name or '(no name)'}\ntrace {trace.trace_id}")
        if role == TRACE_ID_ROLE:
            return trace.trace_id
        return None
