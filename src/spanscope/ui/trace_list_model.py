"""The trace list's model and columns: every trace in the store as one table row.

Built for a million traces: the model holds only the sorted rowids (8 bytes a trace) and a few
pages of rows read on demand, so the view (ui/trace_list.py) never holds per-row objects.
"""

from __future__ import annotations

from array import array
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    Qt,
)
from PySide6.QtGui import QColor

from spanscope.core.presentation import display
from spanscope.core.presentation.trace_summary import score_lines, trace_cost
from spanscope.core.store.db import Database
from spanscope.core.store.queries import TraceRow, trace_cost_sources, trace_scores
from spanscope.core.store.remote_cache import remote_traces
from spanscope.core.store.trace_query import (
    TraceFilter,
    fetch_rows,
    rowid_of,
    sorted_trace_ids,
)
from spanscope.ui.costs import prices
from spanscope.ui.plain_tooltip import plain_tooltip
from spanscope.ui.style import ERROR_COLOR, MUTED_COLOR

#: data() role giving a row's full trace id.
TRACE_ID_ROLE = Qt.ItemDataRole.UserRole + 1

_ROLES = frozenset(
    {
        Qt.ItemDataRole.DisplayRole,
        Qt.ItemDataRole.TextAlignmentRole,
        Qt.ItemDataRole.ForegroundRole,
        Qt.ItemDataRole.ToolTipRole,
        TRACE_ID_ROLE,
    }
)
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_ERROR = QColor(ERROR_COLOR)
_MUTED = QColor(MUTED_COLOR)


PROJECT_TIP = "Phoenix or LangSmith project, MLflow experiment, Inspect task, else the OTel service.name"
#: The column marking a trace fetched from a trace server (the store's remote_traces), not a traces column:
#: the list cannot sort by it.
SERVER_KEY = "remote_server"


@dataclass(frozen=True, slots=True)
class Column:
    """One table column: its header, the traces column it sorts by, and how a cell reads."""

    title: str
    key: str
    text: Callable[[TraceRow], str]
    #: The column is sized for its content up to this text's width, and never narrower than this
    #: one's (nor than its header, sort arrow included).
    widest: str
    narrowest: str = ""
    numeric: bool = False
    #: Hidden while no trace in the store has a value in it.
    optional: bool = False
    #: The header's tooltip.
    tip: str = ""


COLUMNS = (
    Column(
        "Start (UTC)",
        "start_ns",
        lambda t: display.timestamp(t.start_ns),
        "2026-11-27 04:51:14.047",
        "2026-11-27 04:51:14.047",
    ),
    Column(
        "Name",
        "root_name",
        lambda t: t.root_name or "",
        "invoke_agent travel_planner with tools",
        "invoke_agent",
    ),
    Column(
        "Project",
        "service",
        lambda t: t.service or "",
        "fixture-langchain-agent",
        "rag-app",
        optional=True,
        tip=PROJECT_TIP,
    ),
    Column("Latency", "duration_ns", lambda t: display.duration(t.duration_ns), "59 min 59 s", numeric=True),
    Column("Spans", "span_count", lambda t: display.count(t.span_count), "12,345", numeric=True),
    Column("Tokens in", "input_tokens", lambda t: display.count(t.input_tokens), "1,234,567", numeric=True),
    Column("Tokens out", "output_tokens", lambda t: display.count(t.output_tokens), "123,456", numeric=True),
    Column("Cost", "cost_usd", lambda t: trace_cost(t).text, "~$1,234.56 +?", "~$0.0123", numeric=True),
    Column("Errors", "error_count", lambda t: display.count(t.error_count), "1,234", numeric=True),
    Column(
        "Models",
        "models",
        lambda t: ", ".join(t.models),
        "gpt-4o-mini-2024-07-18, gpt-4o",
        "gpt-4o-mini",
        optional=True,
    ),
    Column(
        "Session",
        "session_id",
        lambda t: t.session_id or "",
        "sess-demo-1234-5678",
        "sess-demo",
        optional=True,
    ),
    Column("User", "user_id", lambda t: t.user_id or "", "user-12345-abcd", "user-123", optional=True),
    Column(
        "Server",
        SERVER_KEY,
        lambda _t: "",  # the model's: see QtTraceListModel.data
        "jaeger+http://traces.example.com:16686",
        "phoenix+http://127.0.0.1:6006",
        optional=True,
        tip="The trace server a trace was fetched from (File > Connect to Server…, spanscope pull); "
        "empty: imported or received here",
    ),
    Column(
        "Scores",
        "scores",
        lambda t: t.scores or "",
        "correctness 0.75, helpful yes, relevance 0.8",
        "relevance 0.8",
        optional=True,
    ),
)
#: The column that takes the width the others leave.
NAME_COLUMN = next(i for i, c in enumerate(COLUMNS) if c.key == "root_name")
_ERRORS = next(i for i, c in enumerate(COLUMNS) if c.key == "error_count")


class QtTraceListModel(QAbstractTableModel):
    """Traces in display order, read from the store a page at a time as the view asks for rows."""

    PAGE_ROWS = 256
    CACHED_PAGES = 8

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._db: Database | None = None
        self._filter = TraceFilter()
        self._column = 0
        self._order = Qt.SortOrder.DescendingOrder
        self._rowids = array("q")
        self._pages: OrderedDict[int, list[TraceRow | None]] = OrderedDict()
        #: The server each fetched trace came from (read on refresh: a cache holds thousands at most).
        self._servers: dict[str, str] = {}

    @property
    def db(self) -> Database | None:
        return self._db

    @property
    def trace_filter(self) -> TraceFilter:
        return self._filter

    def sort_order(self) -> tuple[str, bool]:
        """The traces column the rows are sorted by, and whether descending."""
        return COLUMNS[self._column].key, self._order == Qt.SortOrder.DescendingOrder

    def rowids(self) -> array:
        """A copy of the listed traces' rowids, in display order (8 bytes a trace)."""
        return array("q", self._rowids)

    def set_db(self, db: Database | None, trace_filter: TraceFilter | None = None) -> None:
        """Show the traces of another store (None: show nothing), optionally under a new filter."""
        self._db = db
        self.refresh(trace_filter)

    def set_filter(self, trace_filter: TraceFilter) -> None:
        if trace_filter != self._filter:
            self.refresh(trace_filter)

    def refresh(self, trace_filter: TraceFilter | None = None) -> None:
        """Sort and filter again, e.g. after an import added traces; drops every cached page."""
        self.beginResetModel()
        if trace_filter is not None:
            self._filter = trace_filter
        self._rowids = self._sorted_rowids()
        self._pages.clear()
        self._servers = fetched_from(self._db) if self._db is not None else {}
        self.endResetModel()

    def _sorted_rowids(self) -> array:
        if self._db is None:
            return array("q")
        descending = self._order == Qt.SortOrder.DescendingOrder
        return sorted_trace_ids(self._db, self._filter, COLUMNS[self._column].key, descending)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Called by the view's header; unchanged keys keep the current rows (no second query)."""
        if not 0 <= column < len(COLUMNS) or (column, order) == (self._column, self._order):
            return
        if COLUMNS[column].key == SERVER_KEY:
            return
        self._column, self._order = column, order
        self.refresh()

    def trace_at(self, row: int) -> TraceRow | None:
        """The trace shown at `row`, reading its page on a cache miss; None if it left the store."""
        if not 0 <= row < len(self._rowids) or self._db is None:
            return None
        number, offset = divmod(row, self.PAGE_ROWS)
        page = self._pages.get(number)
        if page is None:
            start = number * self.PAGE_ROWS
            page = fetch_rows(self._db, self._rowids[start : start + self.PAGE_ROWS])
            if len(self._pages) >= self.CACHED_PAGES:
                self._pages.popitem(last=False)
            self._pages[number] = page
        else:
            self._pages.move_to_end(number)
        return page[offset]

    def trace_id_at(self, row: int) -> str | None:
        trace = self.trace_at(row)
        return None if trace is None else trace.trace_id

    def row_of(self, trace_id: str | None) -> int | None:
        """Where `trace_id` is listed, or None when filtered out or unknown."""
        if trace_id is None or self._db is None:
            return None
        rowid = rowid_of(self._db, trace_id)
        if rowid is None:
            return None
        try:
            return self._rowids.index(rowid)
        except ValueError:
            return None

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rowids)

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
        if role == Qt.ItemDataRole.InitialSortOrderRole:
            # A first click on a number or the start time shows the largest (or newest) first.
            descending = column.numeric or column.key == "start_ns"
            return Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        # Painting asks for a dozen roles per cell; answer the unused ones before reading the row.
        if role not in _ROLES or not index.isValid():
            return None
        column = COLUMNS[index.column()]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if column.numeric else _LEFT
        trace = self.trace_at(index.row())
        if trace is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._servers.get(trace.trace_id, "") if column.key == SERVER_KEY else column.text(trace)
        if role == Qt.ItemDataRole.ForegroundRole:
            return (_ERROR if trace.error_count else _MUTED) if index.column() == _ERRORS else None
        if role == Qt.ItemDataRole.ToolTipRole:
            if column.key == SERVER_KEY:
                return plain_tooltip(self._servers.get(trace.trace_id))
            if column.key == "scores" and trace.scores and self._db is not None:
                return plain_tooltip(score_lines(trace_scores(self._db, trace.trace_id)))
            return plain_tooltip(self._tooltip(column, trace))
        return trace.trace_id

    def _tooltip(self, column: Column, trace: TraceRow) -> str | None:
        """How the cost was obtained (asked of the store on hover), else `_cell_tip`."""
        if column.key != "cost_usd" or self._db is None:
            return _cell_tip(column, trace)
        sources = trace_cost_sources(self._db, trace.trace_id, prices().book)
        if not sources:
            return "No model calls"
        marks = "~: computed from token counts and prices · ?: some calls could not be priced"
        return "\n".join([f"Cost {trace_cost(trace).text or 'unknown'}", *sources, marks])


def fetched_from(db: Database) -> dict[str, str]:
    """The server each trace of the store fetched from one came from (File > Connect to Server…)."""
    return {row.trace_id: row.server for row in remote_traces(db)}


def _cell_tip(column: Column, trace: TraceRow) -> str | None:
    """Whatever a narrow cell may cut off: every model, and the name with the trace id."""
    if column.key == "models":
        return "\n".join(trace.models) or None
    if column.key == "root_name":
        return f"{trace.root_name or '(no root span)'}\ntrace {trace.trace_id}"
    return None
