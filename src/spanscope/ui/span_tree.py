"""The current trace as a collapsible span tree with an inline waterfall.

Built for 100,000-span traces: the model keeps no object per span (an index's internal id is its
row in the core TraceTree plus one), reads the tree's column lists, parents come from the tree's
parent array, wide parents load their children in batches through fetchMore, and search is computed
in core then shown by a model reset (a recursive QSortFilterProxyModel is hundreds of times slower at
this size).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QItemSelection,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRectF,
    Qt,
    QTimer,
)
from PySide6.QtGui import QColor, QFont, QKeySequence, QPainter, QPalette, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from spanscope.core import display
from spanscope.core.interpreter import paused_gc
from spanscope.core.model import MODEL_KINDS
from spanscope.core.store.queries import SpanRows, trace_rows
from spanscope.core.tree import TraceTree
from spanscope.ui.context import QtObserver, QtTraceContext
from spanscope.ui.style import ERROR_COLOR, MUTED_COLOR, kind_color, kind_icon

COLUMNS = ("Name", "Latency", "Tokens", "Cost", "Model", "Status")
NAME, LATENCY, TOKENS, COST, MODEL, STATUS = range(len(COLUMNS))
#: Widths of every column but Name, which takes the rest, so narrow windows clip nothing but names.
COLUMN_WIDTHS = {LATENCY: 160, TOKENS: 100, COST: 64, MODEL: 125, STATUS: 90}
COLUMN_TIPS = (
    "Span name; the icon shows its kind",
    "Duration, and where the span sits on the trace's time axis",
    "Input / output tokens. Σ: summed over the model calls below (wrappers that repeat usage are skipped)",
    "Reported cost. Σ: summed over the model calls below",
    "Model the span called",
    "Error status; a collapsed span shows how many errors it hides",
)

#: (start, end) as fractions of the trace's time axis, and the bar's colour.
WATERFALL_ROLE = Qt.ItemDataRole.UserRole.value + 1
#: Error spans strictly below a span.
ERRORS_BELOW_ROLE = Qt.ItemDataRole.UserRole.value + 2

#: Children shown per fetchMore: a parent with 100,000 children opens as fast as one with 1,000.
BATCH = 1000
#: Traces below this size open with two levels expanded; larger ones show just the roots' children.
SMALL_TRACE = 2000
SEARCH_DELAY_MS = 200

_EMPTY = TraceTree.build(SpanRows.from_dicts([]))


class QtSpanTreeModel(QAbstractItemModel):
    """A lazy tree model over a TraceTree; ints only: internal id = row + 1, and 0 is the root."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._full = _EMPTY
        self._tree = _EMPTY
        #: The whole trace's columns, and the shown children of each row plus, last, the shown roots:
        #: an invalid parent's internal id, 0, minus one indexes them.
        self._columns = _EMPTY.rows.columns
        self._kids: list[Sequence[int]] = [_EMPTY.roots]
        self._matched: frozenset[int] | None = None
        #: Rows shown per parent (-1: top level) once fetchMore went beyond the first batch.
        self._loaded: dict[int, int] = {}
        self._muted = QColor(MUTED_COLOR)
        self._error = QColor(ERROR_COLOR)
        self._italic = QFont()
        self._italic.setItalic(True)
        self._bold = QFont()
        self._bold.setBold(True)
        self._bar_colors: dict[tuple[str, bool, bool], QColor] = {}
        self._roles: dict[int, Callable[[int, int], Any]] = {
            Qt.ItemDataRole.DisplayRole.value: self._display,
            Qt.ItemDataRole.DecorationRole.value: self._decoration,
            Qt.ItemDataRole.ToolTipRole.value: self._tooltip,
            Qt.ItemDataRole.ForegroundRole.value: self._foreground,
            Qt.ItemDataRole.FontRole.value: self._font,
            Qt.ItemDataRole.TextAlignmentRole.value: self._alignment,
            WATERFALL_ROLE: self._waterfall,
            ERRORS_BELOW_ROLE: lambda i, _: self._full.errors_below(i),
        }

    @property
    def tree(self) -> TraceTree:
        """What is shown: the whole trace, or the search's matches with their ancestors."""
        return self._tree

    @property
    def matched(self) -> frozenset[int] | None:
        """Rows the search matched (None: no search)."""
        return self._matched

    def set_tree(self, tree: TraceTree, query: str = "") -> None:
        """Show another trace, filtered by `query` when it is not blank."""
        self._full, self._columns = tree, tree.rows.columns
        self.set_filter(query)

    def set_filter(self, query: str) -> None:
        """Show the spans matching `query` plus their ancestors; a blank query shows every span."""
        query = query.strip()
        matched = self._full.matches(query) if query else None
        shown = self._full.filtered(matched) if matched is not None else self._full
        self.beginResetModel()
        self._matched, self._tree, self._loaded = matched, shown, {}
        self._kids = [*shown.children, shown.roots]
        self.endResetModel()

    def row_of(self, index: QModelIndex | QPersistentModelIndex) -> int:
        """The TraceTree row behind `index`; -1 for the invisible root."""
        return index.internalId() - 1 if index.isValid() else -1

    def span_id(self, index: QModelIndex) -> str | None:
        return self._columns["span_id"][index.internalId() - 1] if index.isValid() else None

    def index_of(self, span_id: str | None, column: int = NAME) -> QModelIndex:
        """The index showing `span_id` (loading batches on the way); invalid when it is not shown."""
        row = self._tree.index.get(span_id) if span_id is not None else None
        return self.index_for(row, column) if row is not None else QModelIndex()

    def index_for(self, row: int, column: int = NAME) -> QModelIndex:
        """The index of TraceTree row `row`, making sure every batch on its path is loaded."""
        if not self._tree.shown(row):
            return QModelIndex()
        for node in self._tree.path(row):
            self._load_through(node)
        return self.createIndex(self._tree.position(row), column, row + 1)

    def _load_through(self, row: int) -> None:
        """Load batches of `row`'s siblings until `row` itself is in."""
        parent = self._tree.parent[row]
        have, need = self._shown_count(parent), self._tree.position(row) + 1
        if need > have:
            total = len(self._siblings(parent))
            self._insert(parent, have, min(total, -(-need // BATCH) * BATCH))

    def _insert(self, parent: int, have: int, upto: int) -> None:
        if upto <= have:
            return
        where = self.createIndex(self._tree.position(parent), 0, parent + 1) if parent >= 0 else QModelIndex()
        self.beginInsertRows(where, have, upto - 1)
        self._loaded[parent] = upto
        self.endInsertRows()

    def _siblings(self, parent: int) -> Sequence[int]:
        return self._kids[parent]

    def _shown_count(self, parent: int) -> int:
        return min(len(self._siblings(parent)), self._loaded.get(parent, BATCH))

    # QAbstractItemModel

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.column() > 0 else self._shown_count(self.row_of(parent))

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return len(COLUMNS)

    def hasChildren(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> bool:  # noqa: B008
        # index() and hasChildren() run once per shown row on every relayout (each fetchMore of an
        # expanded parent): kept to the fewest calls, no helpers, no branches on validity.
        return parent.column() <= 0 and bool(self._kids[parent.internalId() - 1])

    def canFetchMore(self, parent: QModelIndex | QPersistentModelIndex) -> bool:
        row = self.row_of(parent)
        return parent.column() <= 0 and self._shown_count(row) < len(self._siblings(row))

    def fetchMore(self, parent: QModelIndex | QPersistentModelIndex) -> None:
        row = self.row_of(parent)
        have = self._shown_count(row)
        self._insert(row, have, min(len(self._siblings(row)), have + BATCH))

    def index(
        self,
        row: int,
        column: int,
        parent: QModelIndex | QPersistentModelIndex = QModelIndex(),  # noqa: B008
    ) -> QModelIndex:
        owner = parent.internalId() - 1
        siblings = self._kids[owner] if parent.column() <= 0 else ()
        if 0 <= column < len(COLUMNS) and 0 <= row < len(siblings) and row < self._loaded.get(owner, BATCH):
            return self.createIndex(row, column, siblings[row] + 1)
        return QModelIndex()

    def parent(self, child: QModelIndex | QPersistentModelIndex) -> QModelIndex:
        up = self._tree.parent[child.internalId() - 1] if child.isValid() else -1
        return self.createIndex(self._tree.position(up), 0, up + 1) if up >= 0 else QModelIndex()

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
        getter = self._roles.get(role)
        return getter(index.internalId() - 1, index.column()) if getter and index.isValid() else None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return COLUMN_TIPS[section]
        return None

    # Roles; `i` is the TraceTree row.

    def _display(self, i: int, column: int) -> str:
        columns = self._columns
        if column == NAME:
            return columns["name"][i]
        if column == LATENCY:
            end = columns["end_ns"][i]
            return display.duration(None if end is None else end - columns["start_ns"][i])
        if column == TOKENS:
            return self._tokens_text(i)
        if column == COST:
            return self._cost_text(i)
        if column == MODEL:
            return columns["model"][i] or ""
        return _status_text(columns["status"][i], columns["status_message"][i])

    def _is_parent(self, i: int) -> bool:
        return bool(self._full.children[i])

    def _tokens_text(self, i: int) -> str:
        if self._is_parent(i):
            rolled = self._full.rolled
            text = _in_out(rolled["input_tokens"][i], rolled["output_tokens"][i])
            return f"Σ {text}" if text else ""
        return _in_out(self._columns["input_tokens"][i], self._columns["output_tokens"][i])

    def _cost_text(self, i: int) -> str:
        if self._is_parent(i):
            rolled = self._full.rolled["cost_usd"][i]
            return f"Σ {display.cost(rolled)}" if rolled is not None else ""
        return display.cost(self._columns["cost_usd"][i])

    def _decoration(self, i: int, column: int) -> Any:
        return kind_icon(self._columns["kind"][i]) if column == NAME else None

    def _foreground(self, i: int, column: int) -> QColor | None:
        if column in (NAME, STATUS) and self._columns["status"][i] == "error":
            return self._error
        if column == STATUS or (column in (TOKENS, COST) and self._is_parent(i)):
            return self._muted
        return None

    def _font(self, i: int, column: int) -> QFont | None:
        if column != NAME:
            return None
        if self._matched is not None and i in self._matched:
            return self._bold
        columns = self._columns
        return self._italic if columns["orphan"][i] or columns["clock_skew"][i] else None

    def _alignment(self, i: int, column: int) -> int | None:
        if column in (LATENCY, TOKENS, COST):
            return (Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter).value
        return None

    def _waterfall(self, i: int, column: int) -> tuple[float, float, QColor]:
        tree, columns = self._full, self._columns
        length = max(1, tree.end_ns - tree.start_ns)
        end = columns["end_ns"][i]
        start = (columns["start_ns"][i] - tree.start_ns) / length
        finish = ((tree.end_ns if end is None else end) - tree.start_ns) / length
        color = self._bar_color(columns["kind"][i], columns["status"][i] == "error", end is None)
        return start, finish, color

    def _bar_color(self, kind: str, error: bool, running: bool) -> QColor:
        """Kind colour, red for errors, faded while running; one QColor per combination."""
        key = (kind, error, running)
        color = self._bar_colors.get(key)
        if color is None:
            base = self._error if error else kind_color(kind)
            color = QColor(base.red(), base.green(), base.blue(), 110 if running else 255)
            self._bar_colors[key] = color
        return color

    def _tooltip(self, i: int, column: int) -> str | None:
        tips: dict[int, Callable[[int], str | None]] = {
            NAME: self._name_tip,
            LATENCY: self._latency_tip,
            TOKENS: self._tokens_tip,
            COST: self._cost_tip,
            MODEL: self._model_tip,
            STATUS: self._status_tip,
        }
        tip = tips.get(column)
        return tip(i) if tip else None

    def _name_tip(self, i: int) -> str:
        row = self._full.rows[i]
        lines = [row["name"], f"{row['kind']} · span {row['span_id']}"]
        if row["orphan"]:
            lines.append(f"Orphan: its parent {row['parent_id']} is not in this trace.")
        if row["clock_skew"]:
            lines.append("Clock skew: starts before its parent.")
        return "\n".join(lines)

    def _latency_tip(self, i: int) -> str:
        row = self._full.rows[i]
        offset = display.duration(row["start_ns"] - self._full.start_ns)
        if row["end_ns"] is None:
            return f"Starts {offset} into the trace; still running"
        return f"Starts {offset} into the trace; takes {display.duration(row['end_ns'] - row['start_ns'])}"

    def _tokens_tip(self, i: int) -> str:
        row, rolled = self._full.rows[i], self._full.rolled
        lines = [f"This span: {_usage(lambda c: row[c])}"]
        if self._is_parent(i):
            lines.append(f"Σ model calls here and below: {_usage(lambda c: rolled[c][i])}")
        if row["kind"] in MODEL_KINDS and not row["counted"]:
            lines.append("Not counted: a model call below it reports the same usage.")
        return "\n".join(lines)

    def _cost_tip(self, i: int) -> str:
        own = display.cost(self._full.rows[i]["cost_usd"]) or "none reported"
        if not self._is_parent(i):
            return f"This span: {own}"
        rolled = display.cost(self._full.rolled["cost_usd"][i]) or "none reported"
        return f"This span: {own}\nΣ model calls here and below: {rolled}"

    def _model_tip(self, i: int) -> str | None:
        row = self._full.rows[i]
        return " · ".join(filter(None, (row["model"], row["provider"]))) or None

    def _status_tip(self, i: int) -> str | None:
        row, below = self._full.rows[i], self._full.errors_below(i)
        lines = [row["status_message"] or row["status"]] if row["status"] != "unset" else []
        if below:
            lines.append(_errors_below_text(below))
        return "\n".join(lines) or None


def _status_text(status: str, message: str | None) -> str:
    if status == "error":
        return message or "error"
    return "ok" if status == "ok" else ""


def _errors_below_text(count: int) -> str:
    return f"{count} error{'' if count == 1 else 's'} below"


def _compact(n: int) -> str:
    """Short enough for a narrow column; the tooltip has the exact figure."""
    if n < 10_000:
        return f"{n:,}"
    if n < 1_000_000:
        return f"{n / 1e3:.1f}k"
    return f"{n / 1e6:.1f}M"


def _in_out(tokens_in: int | None, tokens_out: int | None) -> str:
    if tokens_in is None and tokens_out is None:
        return ""
    return " / ".join("?" if n is None else _compact(n) for n in (tokens_in, tokens_out))


def _usage(value: Callable[[str], int | None]) -> str:
    labels = {
        "input_tokens": "in",
        "output_tokens": "out",
        "total_tokens": "total",
        "cache_read_tokens": "cache read",
        "cache_write_tokens": "cache write",
        "reasoning_tokens": "reasoning",
    }
    parts = [f"{label} {value(c):,}" for c, label in labels.items() if value(c) is not None]
    return " · ".join(parts) or "no tokens"


class QtWaterfallDelegate(QStyledItemDelegate):
    """A bar placed on the trace's time axis in the span's kind colour, then the latency text.

    Paints with as few Qt calls as it can: the stock delegate draws the background and the
    right-aligned text, two fillRects the bar.
    """

    TEXT_WIDTH = 74

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._guide = QColor(MUTED_COLOR)
        self._guide.setAlpha(60)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        super().paint(painter, option, index)
        rect = option.rect
        track = QRectF(
            rect.left() + 6, rect.top() + 5, rect.width() - self.TEXT_WIDTH - 12, rect.height() - 9
        )
        if track.width() <= 0 or track.height() <= 0:
            return
        start, end, color = index.data(WATERFALL_ROLE)
        width = track.width()
        painter.fillRect(QRectF(track.left(), track.center().y(), width, 1), self._guide)
        bar = QRectF(
            track.left() + start * width, track.top(), max(2.0, (end - start) * width), track.height()
        )
        painter.fillRect(bar, color)


class QtStatusDelegate(QStyledItemDelegate):
    """Status text; on a collapsed span, also the number of errors hidden below it, in red."""

    def __init__(self, view: QTreeView) -> None:
        super().__init__(view)
        self._view = view

    def initStyleOption(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        super().initStyleOption(option, index)
        below = index.data(ERRORS_BELOW_ROLE)
        if not below or self._view.isExpanded(index.siblingAtColumn(NAME)):
            return
        note = _errors_below_text(below)
        option.text = f"{option.text} · {note}" if option.text else note
        option.palette.setColor(QPalette.ColorRole.Text, QColor(ERROR_COLOR))


def load_tree(context: QtTraceContext, trace_id: str | None) -> TraceTree:
    """The span tree of `trace_id` read through the GUI thread's connection (empty without one)."""
    if trace_id is None or context.db is None:
        return _EMPTY
    with paused_gc():
        return TraceTree.build(trace_rows(context.db, trace_id))


def _span_count(context: QtTraceContext, trace_id: str) -> int | None:
    """The trace's span count as the store's trace roll-up has it (None: no such trace)."""
    if context.db is None:
        return None
    row = context.db.execute("SELECT span_count FROM traces WHERE trace_id = ?", (trace_id,)).fetchone()
    return row[0] if row else None


class QtSpanTreePanel(QWidget, QtObserver):
    """Search box, expand buttons and the span tree of the current trace; registers with `context`
    and keeps the tree's selection and the context's current span in step."""

    def __init__(self, context: QtTraceContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self._trace_id: str | None = None
        self._syncing = False
        self.model = QtSpanTreeModel(self)
        self.view = self._make_view()
        self.search = QLineEdit(self, placeholderText="Search spans: name, model, kind:llm, status:error")
        self.search.setClearButtonEnabled(True)
        self.matches_label = QLabel(self)
        self._search_timer = QTimer(self, singleShot=True, interval=SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self._apply_search)
        self.search.textChanged.connect(self._search_timer.start)
        self.search.returnPressed.connect(self._apply_search)
        find = QShortcut(
            QKeySequence.StandardKey.Find, self, context=Qt.ShortcutContext.WidgetWithChildrenShortcut
        )
        find.activated.connect(self.search.setFocus)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(self._make_toolbar())
        layout.addWidget(self.view)
        context.register(self)

    def _make_view(self) -> QTreeView:
        view = QTreeView(self)
        view.setModel(self.model)
        view.setUniformRowHeights(True)
        view.setAlternatingRowColors(True)
        view.setAllColumnsShowFocus(True)
        view.setAnimated(False)
        view.setIndentation(14)
        view.setSelectionBehavior(QTreeView.SelectionBehavior.SelectRows)
        view.setSelectionMode(QTreeView.SelectionMode.SingleSelection)
        view.setItemDelegateForColumn(LATENCY, QtWaterfallDelegate(view))
        view.setItemDelegateForColumn(STATUS, QtStatusDelegate(view))
        header = view.header()
        header.setStretchLastSection(False)
        header.setMinimumSectionSize(40)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(NAME, QHeaderView.ResizeMode.Stretch)
        for column, width in COLUMN_WIDTHS.items():
            header.resizeSection(column, width)
        view.selectionModel().selectionChanged.connect(self._on_selection_changed)
        return view

    def _make_toolbar(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        bar.setContentsMargins(2, 2, 2, 0)
        bar.addWidget(self.search, 1)
        bar.addWidget(self.matches_label)
        for text, tip, slot in (
            ("Expand all", "Expand every span", self.expand_all),
            ("Collapse all", "Collapse to the top-level spans", self.view.collapseAll),
            (
                "Expand to errors",
                "Collapse everything, then open the way to each error span",
                self.expand_to_errors,
            ),
        ):
            button = QToolButton(self, text=text, toolTip=tip, autoRaise=True)
            button.clicked.connect(slot)
            bar.addWidget(button)
        return bar

    # QtObserver

    def on_store_loaded(self, context: QtTraceContext) -> None:
        """An import committed: reload the shown trace if spans of it arrived (a trace can span files)."""
        if self._trace_id is not None and _span_count(context, self._trace_id) != len(self.model.tree.rows):
            self._show(self._trace_id)

    def on_store_closed(self) -> None:
        self._show(None)

    def on_trace_changed(self, trace_id: str | None) -> None:
        self._show(trace_id)

    def on_span_changed(self, trace_id: str | None, span_id: str | None) -> None:
        if trace_id == self._trace_id:
            self.select_span(span_id)

    # Actions

    def current_span_id(self) -> str | None:
        """The span of the selected row."""
        rows = self.view.selectionModel().selectedRows()
        return self.model.span_id(rows[0]) if rows else None

    def select_span(self, span_id: str | None) -> None:
        """Select, reveal and scroll to `span_id` without telling the context (it told us)."""
        index = self.model.index_of(span_id)
        if index.isValid() and index == self.view.currentIndex().siblingAtColumn(NAME):
            return
        self._syncing = True
        try:
            if index.isValid():
                self._reveal(index)
                self.view.setCurrentIndex(index)
                self.view.scrollTo(index)
            else:
                self.view.selectionModel().clear()
        finally:
            self._syncing = False

    def expand_all(self) -> None:
        """Expand every loaded span; batches loaded later (scrolling further) arrive collapsed."""
        self.view.expandAll()

    def expand_to_errors(self) -> None:
        """Collapse all, then expand exactly the ancestors of each shown error span."""
        tree = self.model.tree
        self.view.collapseAll()
        ancestors = {a for i in tree.error_rows for a in tree.path(i)[:-1]}
        for row in sorted(ancestors):
            self.view.expand(self.model.index_for(row))
        if tree.error_rows:
            self.view.scrollTo(self.model.index_for(tree.error_rows[0]))

    def set_filter(self, query: str) -> None:
        """Search the trace (what typing in the search box does, without the typing delay)."""
        if self.search.text() != query:
            self.search.setText(query)
        self._apply_search()

    # Internals

    def _show(self, trace_id: str | None) -> None:
        self._trace_id = trace_id
        self.model.set_tree(load_tree(self._context, trace_id), self.search.text())
        self._after_reset()

    def _apply_search(self) -> None:
        self._search_timer.stop()
        self.model.set_filter(self.search.text())
        self._after_reset()

    def _after_reset(self) -> None:
        """Default expansion, match count, and the context's span selected again."""
        matched = self.model.matched
        if matched is not None:
            self.view.expandAll()
            self.matches_label.setText(f"{len(matched):,} match{'' if len(matched) == 1 else 'es'}")
        else:
            self.view.expandToDepth(1 if len(self.model.tree.rows) < SMALL_TRACE else 0)
            self.matches_label.setText("")
        if self._context.trace_id == self._trace_id:
            self.select_span(self._context.span_id)

    def _reveal(self, index: QModelIndex) -> None:
        parent = index.parent()
        while parent.isValid():
            self.view.expand(parent)
            parent = parent.parent()

    def _on_selection_changed(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        """Selection, not the current index: the view makes a row current on mere focus-in."""
        if not self._syncing and not selected.isEmpty():
            self._context.select_span(self.model.span_id(selected.indexes()[0]))
