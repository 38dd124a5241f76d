"""The current trace as a collapsible span tree with an inline waterfall: the view and the panel.

Built for 100,000-span traces: the tree is shown as the flat list of its visible rows (the model, in
span_tree_model) in a table view with fixed row heights, so Qt lays out only the rows on screen, and
expanding a parent of 40,000 children is one block of rows inserted (a QTreeView re-lays out every
shown row, two Python calls each, whenever a wide parent changes). The Name delegate draws the
indentation and arrows.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QItemSelection,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QRectF,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QColor, QKeyEvent, QKeySequence, QMouseEvent, QPainter, QPalette, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QStyle,
    QStyledItemDelegate,
    QStyleOption,
    QStyleOptionViewItem,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from spanscope.core.presentation.trace_summary import score_text
from spanscope.core.presentation.tree_text import depth_note, drawn_depth
from spanscope.core.store.queries import get_trace, trace_scores
from spanscope.core.store.replays import replay_origin, replays_of
from spanscope.ui.column_fit import QtColumnFitter
from spanscope.ui.context import QtObserver, QtTraceContext
from spanscope.ui.costs import prices
from spanscope.ui.dataset_export import open_dataset_export, span_choices
from spanscope.ui.judge_dialog import judge_launcher
from spanscope.ui.span_tree_model import (
    BRANCH_ROLE,
    COLUMNS,
    COST,
    HIDDEN_ERRORS_ROLE,
    LATENCY,
    MODEL,
    NAME,
    SCORES_ROLE,
    STATUS,
    TOKENS,
    WATERFALL_ROLE,
    Branch,
    QtSpanTreeModel,
    errors_below_text,
)
from spanscope.ui.style import ERROR_COLOR, MUTED_COLOR, ink
from spanscope.ui.trace_header import QtTraceHeader

#: Each column's width (Name takes what the others leave), and the least it gives up to in a narrow
#: panel; narrower still, the tree scrolls sideways rather than cut a column to nothing.
COLUMN_WIDTHS = {NAME: 220, LATENCY: 160, TOKENS: 100, COST: 112, MODEL: 125, STATUS: 90}
COLUMN_LEAST = {NAME: 150, LATENCY: 110, TOKENS: 76, COST: 72, MODEL: 72, STATUS: 56}
#: The score badge's colour (legible on light and dark rows) and its largest share of the Name cell.
SCORE_COLOR = "#c27c0e"
BADGE_SHARE = 0.45
#: Pixels per tree level, and the width of the expand arrow.
INDENT = 14
#: Pixels of the Name cell kept for the icon and name however deep the row, and the levels of
#: indentation drawn however narrow the cell.
NAME_ROOM = 160
MIN_DRAWN_LEVELS = 4
SEARCH_DELAY_MS = 200


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

    def initStyleOption(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        super().initStyleOption(option, index)
        hidden = index.data(HIDDEN_ERRORS_ROLE)
        if not hidden:
            return
        note = errors_below_text(hidden)
        option.text = f"{option.text} · {note}" if option.text else note
        option.palette.setColor(QPalette.ColorRole.Text, QColor(ERROR_COLOR))


def indent_levels(cell: QRect, depth: int) -> int:
    """The levels a row is indented by in its Name cell (tree_text.drawn_depth): a deep row keeps
    NAME_ROOM pixels for its name and, drawn shallower than it is, names its depth after it."""
    return drawn_depth(depth, max(MIN_DRAWN_LEVELS, (cell.width() - NAME_ROOM) // INDENT - 1))


def arrow_rect(cell: QRect, depth: int) -> QRect:
    """Where a row's expand arrow sits in its Name cell: one INDENT per drawn level in."""
    return QRect(cell.left() + indent_levels(cell, depth) * INDENT, cell.top(), INDENT, cell.height())


class QtNameDelegate(QStyledItemDelegate):
    """What a tree view draws left of a name, drawn in the cell: the indentation, the expand arrow
    (the style's own branch indicator), then the stock icon and text; on a span that carries
    scores, a ★ badge with them at the right end, which the name gives way to."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        depth, branch = index.data(BRANCH_ROLE)
        item = QStyleOptionViewItem(option)
        self.initStyleOption(item, index)
        widget = option.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, item, painter, widget)
        if branch != Branch.LEAF:
            self._draw_arrow(style, item, painter, depth, branch)
        levels = indent_levels(option.rect, depth)
        item.rect = option.rect.adjusted((levels + 1) * INDENT, 0, 0, 0)
        if levels < depth:
            item.text = f"{item.text}  {depth_note(depth)}"
        scores = index.data(SCORES_ROLE)
        if scores:
            item.rect.setRight(item.rect.right() - self._draw_badge(painter, item, scores))
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, item, painter, widget)

    def _draw_badge(self, painter: QPainter, item: QStyleOptionViewItem, scores: tuple[int, str]) -> int:
        """Draw "★ relevance 0.8, …" right-aligned in the cell if it fits in a share of it, else
        "★ 3" (how many; the tooltip lists them); its width."""
        metrics = item.fontMetrics
        count, line = scores
        text = f"★ {line}"
        if metrics.horizontalAdvance(text) + 8 > item.rect.width() * BADGE_SHARE:
            text = f"★ {count}"
        width = metrics.horizontalAdvance(text) + 8
        rect = QRect(item.rect.right() - width, item.rect.top(), width, item.rect.height())
        painter.save()
        painter.setPen(QColor(ink(SCORE_COLOR)))
        painter.drawText(rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, text)
        painter.restore()
        return width

    @staticmethod
    def _draw_arrow(
        style: QStyle, item: QStyleOptionViewItem, painter: QPainter, depth: int, branch: Branch
    ) -> None:
        arrow = QStyleOption()
        arrow.rect = arrow_rect(item.rect, depth)
        arrow.palette = item.palette
        arrow.state = item.state | QStyle.StateFlag.State_Children
        if branch == Branch.EXPANDED:
            arrow.state |= QStyle.StateFlag.State_Open
        style.drawPrimitive(QStyle.PrimitiveElement.PE_IndicatorBranch, arrow, painter, item.widget)


class QtSpanTableView(QTableView):
    """The flat list of shown spans, behaving like a tree view: Right expands or steps to the first
    child, Left collapses or steps to the parent, a click on the arrow or a double-click toggles.
    Fixed row heights let Qt lay out only the rows on screen, however many are shown."""

    def __init__(self, model: QtSpanTreeModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._tree_model = model
        self.setModel(model)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.setTabKeyNavigation(False)
        self.setAlternatingRowColors(True)
        self.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        rows = self.verticalHeader()
        rows.hide()
        rows.setMinimumSectionSize(1)
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(max(self.fontMetrics().height(), 16) + 6)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        current = self.currentIndex()
        row = self._tree_model.row_of(current)
        if row >= 0 and event.key() == Qt.Key.Key_Right:
            self._right(current, row)
        elif row >= 0 and event.key() == Qt.Key.Key_Left:
            self._left(row)
        else:
            super().keyPressEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        index = self.indexAt(event.position().toPoint())
        if self._on_arrow(index, event.position().toPoint()):
            self._tree_model.toggle(self._tree_model.row_of(index))
        else:
            super().mousePressEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        super().mouseDoubleClickEvent(event)
        row = self._tree_model.row_of(self.indexAt(event.position().toPoint()))
        if row >= 0:
            self._tree_model.toggle(row)

    def _right(self, current: QModelIndex, row: int) -> None:
        model = self._tree_model
        if not model.has_children(row):
            return
        if model.is_expanded(row):
            self.setCurrentIndex(current.sibling(current.row() + 1, current.column()))
        else:
            model.expand(row)

    def _left(self, row: int) -> None:
        model = self._tree_model
        if model.is_expanded(row):
            model.collapse(row)
        elif model.tree.parent[row] >= 0:
            self.setCurrentIndex(model.index_for(model.tree.parent[row], self.currentIndex().column()))

    def _on_arrow(self, index: QModelIndex, point: QPoint) -> bool:
        if index.column() != NAME:
            return False
        depth, branch = index.data(BRANCH_ROLE)
        return branch != Branch.LEAF and arrow_rect(self.visualRect(index), depth).contains(point)


class QtSpanTreePanel(QWidget, QtObserver):
    """Search box, expand buttons and the span tree of the current trace; registers with `context`
    and keeps the tree's selection and the context's current span in step."""

    #: "Replay…" was chosen on an LLM span: (trace id, span id).
    replay_requested = Signal(str, str)

    def __init__(self, context: QtTraceContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self._trace_id: str | None = None
        self._syncing = False
        self.model = QtSpanTreeModel(self)
        self.view = self._make_view()
        export = QAction("Export as Dataset…", self.view, triggered=self._export_dataset)
        self.view.addAction(export)
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
        self.header = QtTraceHeader(self)
        self.header.span_clicked.connect(context.select_span)
        self.header.open_requested.connect(context.open_span)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.header)
        layout.addLayout(self._make_toolbar())
        layout.addWidget(self.view)
        prices().changed.connect(self._reload)
        context.register(self)

    def _make_view(self) -> QtSpanTableView:
        view = QtSpanTableView(self.model, self)
        view.setItemDelegateForColumn(NAME, QtNameDelegate(view))
        view.setItemDelegateForColumn(LATENCY, QtWaterfallDelegate(view))
        view.setItemDelegateForColumn(STATUS, QtStatusDelegate(view))
        header = view.horizontalHeader()
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setMinimumSectionSize(40)
        self.fitter = QtColumnFitter(view, NAME)
        self.fitter.set_widths(
            [COLUMN_WIDTHS[c] for c in range(len(COLUMNS))], [COLUMN_LEAST[c] for c in range(len(COLUMNS))]
        )
        view.selectionModel().selectionChanged.connect(self._on_selection_changed)
        view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        view.customContextMenuRequested.connect(self._context_menu)
        self.judge_action = QAction("Judge…", view, toolTip="Score this span with an LLM judge")
        self.judge_action.triggered.connect(lambda: judge_launcher(self._context).open_current(self.window()))
        view.addAction(self.judge_action)
        return view

    def _context_menu(self, point: QPoint) -> QMenu:
        """The view's actions (Export as Dataset…), after Replay… on an LLM span."""
        menu = QMenu(self)
        row = self.model.row_of(self.view.indexAt(point))
        if row >= 0 and self._trace_id is not None and self.model.tree.rows.columns["kind"][row] == "LLM":
            trace_id, span_id = self._trace_id, self.model.tree.rows.columns["span_id"][row]
            menu.addAction("Replay…", lambda: self.replay_requested.emit(trace_id, span_id))
            menu.addSeparator()
        menu.addActions(self.view.actions())
        menu.popup(self.view.viewport().mapToGlobal(point))
        return menu

    def _make_toolbar(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        bar.setContentsMargins(2, 2, 2, 0)
        bar.addWidget(self.search, 1)
        bar.addWidget(self.matches_label)
        for text, tip, slot in (
            ("Expand all", "Expand every span", self.expand_all),
            ("Collapse all", "Collapse to the top-level spans", self.model.collapse_all),
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
        """Spans of the shown trace arrived (an import: a trace can span files; or live capture):
        show them, keeping open spans open and the same span at the top of the view."""
        if not context.trace_grew(self._trace_id, self.model.full_span_count):
            self._show_scores()  # a file of scores only adds no span
            return
        scroll = self.view.verticalScrollBar()
        top = self.model.span_id(self.model.index(scroll.value(), NAME))
        self.model.grow(context.trace_tree(self._trace_id))
        self._show_scores()
        self._after_reset()
        self.view.updateGeometries()
        if top is not None and (at := self.model.index_of(top)).isValid():
            scroll.setValue(at.row())

    def on_store_closed(self) -> None:
        self._show(None)

    def on_trace_changed(self, trace_id: str | None) -> None:
        """Show the trace and, unless a span of it was asked for, select its root, so its input and
        output show at once (the context keeps only the newest request: `open_span` still wins)."""
        self._show(trace_id)
        tree = self._context.trace_tree(trace_id)
        if trace_id is not None and self._context.span_id is None and tree.roots:
            self._context.select_span(tree.rows.columns["span_id"][tree.roots[0]])

    def on_span_changed(self, trace_id: str | None, span_id: str | None) -> None:
        if trace_id == self._trace_id:
            self.select_span(span_id)

    # Actions

    def current_span_id(self) -> str | None:
        """The span of the selected row."""
        rows = self.view.selectionModel().selectedRows()
        return self.model.span_id(rows[0]) if rows else None

    def _export_dataset(self) -> None:
        rows = self.view.selectionModel().selectedRows()
        if self._trace_id is not None and rows:
            name = self.model.tree.rows.columns["name"][self.model.row_of(rows[0])]
            choices = span_choices(self._trace_id, self.model.span_id(rows[0]), name)
            open_dataset_export(self, self._context, choices)

    def select_span(self, span_id: str | None) -> None:
        """Select, reveal and scroll to `span_id` without telling the context (it told us)."""
        index = self.model.index_of(span_id)
        if index.isValid() and index == self.view.currentIndex().siblingAtColumn(NAME):
            return
        self._syncing = True
        try:
            if index.isValid():
                self.view.setCurrentIndex(index)
                self.view.scrollTo(index)
            else:
                self.view.selectionModel().clear()
        finally:
            self._syncing = False

    def select_first_error(self) -> None:
        """Select the shown trace's first error span, if it has one (what the app opens on)."""
        tree = self._context.trace_tree(self._trace_id)
        if tree.error_rows:
            self._context.select_span(tree.rows.columns["span_id"][tree.error_rows[0]])

    def expand_all(self) -> None:
        self.model.expand_all()

    def expand_to_errors(self) -> None:
        """Expand exactly the ancestors of each shown error span, collapsing the rest."""
        tree = self.model.tree
        self.model.expand_only(tree.ancestors(tree.error_rows))
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
        self.model.set_tree(self._context.trace_tree(trace_id), self.search.text())
        self._show_scores()
        self._after_reset()

    def _show_scores(self) -> None:
        """The trace in the header with its scores; a badge on each span that carries some."""
        db, trace_id = self._context.db, self._trace_id
        if db is None or trace_id is None:
            self.header.set_trace(None, [], {})
            return
        scores = trace_scores(db, trace_id)
        by_span: dict[str, list[str]] = {}
        for span_id, score in scores:
            if span_id:
                by_span.setdefault(span_id, []).append(score_text(score))
        self.model.set_scores(by_span)
        tree = self._context.trace_tree(trace_id)
        names = {s: tree.rows.columns["name"][tree.index[s]] for s in by_span if s in tree.index}
        self.header.set_trace(get_trace(db, trace_id), scores, names)
        origin = replay_origin(db, trace_id)
        recorded = {row.of_trace_id: get_trace(db, row.of_trace_id) for row in origin[:1]}
        named = {trace: row.root_name for trace, row in recorded.items() if row is not None and row.root_name}
        self.header.set_links(origin, named, replays_of(db, trace_id))

    def _reload(self) -> None:
        """The store was priced again: read the shown trace's costs afresh."""
        self._show(self._trace_id)

    def _apply_search(self) -> None:
        self._search_timer.stop()
        self.model.set_filter(self.search.text())
        self._after_reset()

    def _after_reset(self) -> None:
        """Match count, and the context's span selected again."""
        matched = self.model.matched
        count = "" if matched is None else f"{len(matched):,} match{'' if len(matched) == 1 else 'es'}"
        self.matches_label.setText(count)
        if self._context.trace_id == self._trace_id:
            self.select_span(self._context.span_id)

    def _on_selection_changed(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        """Selection, not the current index: the view makes a row current on mere focus-in."""
        if not self._syncing and not selected.isEmpty():
            self._context.select_span(self.model.span_id(selected.indexes()[0]))
