"""The trace list panel: filter bar, trace count and the table of every trace (model and columns in
trace_list_model.py), sortable and filterable.

Built for a million traces: the model holds only the sorted rowids and a few pages of rows, and
the view has fixed row heights, so Qt never measures rows.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QItemSelectionModel,
    QModelIndex,
    QSettings,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QFontMetrics
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from spanscope.core.presentation import display
from spanscope.core.store.db import Database
from spanscope.core.store.queries import count_traces, get_trace
from spanscope.core.store.trace_query import (
    TraceFilter,
    distinct_values,
    filled_columns,
    models_in_store,
    time_bounds,
)
from spanscope.ui.column_choice import QtColumnChoice
from spanscope.ui.column_fit import QtColumnFitter
from spanscope.ui.context import QtObserver, QtTraceContext
from spanscope.ui.judge_dialog import JudgeScope, judge_launcher, selected_traces
from spanscope.ui.trace_list_model import (
    COLUMNS,
    NAME_COLUMN,
    PROJECT_TIP,
    SERVER_KEY,
    QtTraceListModel,
    fetched_from,
)

#: Where the columns the user showed or hid (the header's context menu) are remembered.
COLUMNS_KEY = "trace_list/columns"
#: Rows measured to size the columns: about the first screenful, however large the store.
MEASURED_ROWS = 100
#: A cell's padding beside its text.
CELL_PADDING = 16

#: Time-range choices, as seconds back from the newest trace (the store is offline: wall-clock
#: "last hour" would usually be empty).
TIME_RANGES: tuple[tuple[str, int | None], ...] = (
    ("Any time", None),
    ("Last hour", 3600),
    ("Last 24 h", 86_400),
    ("Last 7 days", 7 * 86_400),
)

ALL_PROJECTS, ALL_MODELS = "All projects", "All models"
#: Whole rows the list keeps in sight, however small its share of the window.
MIN_ROWS = 4


def _refill(choice: QComboBox, everything: str, values: list[str]) -> None:
    """Offer `everything` then `values`, keeping the chosen value when it is still offered."""
    chosen = choice.currentData()
    choice.blockSignals(True)
    try:
        choice.clear()
        choice.addItem(everything, None)
        for value in values:
            choice.addItem(value, value)
        choice.setCurrentIndex(max(0, choice.findData(chosen)) if chosen is not None else 0)
    finally:
        choice.blockSignals(False)


class QtTraceTable(QTableView):
    """The table; typing in it starts a filter instead of Qt's type-to-find.

    Qt's type-to-find reads rows until one starts with the typed text: every one of 10^6 rows
    (12 s measured) when none does. The filter bar searches the store in one query instead.
    """

    typed = Signal(str)

    def keyboardSearch(self, search: str) -> None:
        self.typed.emit(search)


class QtTraceListPanel(QWidget, QtObserver):
    """Filter bar, trace count and the table; selecting a row makes its trace current, and with two
    rows selected "Compare selected" asks for them to be compared (earlier trace first)."""

    TEXT_DELAY_MS = 250
    #: Two traces to compare: (the earlier, the later).
    compare_requested = Signal(str, str)
    #: "Replay with Another Model…" chosen for the selected traces.
    replay_requested = Signal()

    def __init__(
        self, context: QtTraceContext, parent: QWidget | None = None, settings: QSettings | None = None
    ) -> None:
        """With `settings`, the columns the user shows or hides are remembered."""
        super().__init__(parent)
        self._context = context
        self._settings = settings
        self._syncing = False
        self._newest_ns: int | None = None
        self.model = QtTraceListModel(self)
        self._build_filter_bar()
        self._build_view()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(self._filter_bar)
        layout.addWidget(self.view)
        self._text_timer = QTimer(self, singleShot=True, interval=self.TEXT_DELAY_MS)
        self._text_timer.timeout.connect(self._apply_filter)
        self._connect()
        context.register(self)

    def _build_filter_bar(self) -> None:
        self.search = QLineEdit(placeholderText="Filter traces: name, id, project, model, session, user")
        self.search.setClearButtonEnabled(True)
        self.errors_only = QCheckBox("Errors only")
        self.project_choice = QComboBox(toolTip=PROJECT_TIP)
        self.project_choice.addItem(ALL_PROJECTS, None)
        self.project_choice.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.project_choice.setMinimumContentsLength(14)
        self.project_choice.hide()
        self.model_choice = QComboBox()
        self.model_choice.addItem(ALL_MODELS, None)
        # Wide enough for most model names, but a long one must not squeeze the search field.
        self.model_choice.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.model_choice.setMinimumContentsLength(20)
        self.time_choice = QComboBox(toolTip="Relative to the newest trace in the store")
        for label, seconds in TIME_RANGES:
            self.time_choice.addItem(label, seconds)
        self.count_label = QLabel()
        self.compare_button = QToolButton(text="Compare selected", autoRaise=True, enabled=False)
        self.compare_button.setToolTip(
            "Compare the two selected traces step by step (Ctrl+click a second row)"
        )
        self._filter_bar = QHBoxLayout()
        self._filter_bar.setContentsMargins(4, 4, 4, 0)
        self._filter_bar.addWidget(self.search, 1)
        for widget in (
            self.errors_only,
            self.project_choice,
            self.model_choice,
            self.time_choice,
            self.count_label,
            self.compare_button,
        ):
            self._filter_bar.addWidget(widget)

    def _build_view(self) -> None:
        view = self.view = QtTraceTable()
        view.setModel(self.model)
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.compare_action = QAction("Compare Selected Traces", view, enabled=False)
        view.addAction(self.compare_action)
        self.replay_action = QAction("Replay with Another Model…", view)
        view.addAction(self.replay_action)
        self.judge_action = QAction(
            "Judge…", view, toolTip="Score the selected traces' model calls with an LLM judge"
        )
        view.addAction(self.judge_action)
        # Per-item scrolling makes the scroll bar's value the top row, which refresh() restores.
        view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerItem)
        view.setAlternatingRowColors(True)
        view.setWordWrap(False)
        view.setShowGrid(False)
        view.setTextElideMode(Qt.TextElideMode.ElideRight)
        metrics = QFontMetrics(view.font())
        rows = view.verticalHeader()
        rows.hide()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setMinimumSectionSize(1)
        rows.setDefaultSectionSize(metrics.height() + 6)
        header = view.horizontalHeader()
        header.setHighlightSections(False)
        header.setSortIndicator(0, Qt.SortOrder.DescendingOrder)
        view.setSortingEnabled(True)
        header.sortIndicatorChanged.connect(self._keep_sort)
        self.fitter = QtColumnFitter(view, NAME_COLUMN)
        self.columns = QtColumnChoice(
            header,
            [c.key for c in COLUMNS],
            [c.title for c in COLUMNS],
            self.fitter.set_hidden,
            self._settings,
            COLUMNS_KEY,
            fixed=frozenset({NAME_COLUMN}),
            automatic_note="Hidden while no trace has a value in it",
        )
        # However the window is split, a few whole rows stay in sight below the header.
        view.setMinimumHeight(
            header.sizeHint().height()
            + MIN_ROWS * rows.defaultSectionSize()
            + view.horizontalScrollBar().sizeHint().height()
            + 2 * view.frameWidth()
        )
        self._wanted: list[int] = []

    def _keep_sort(self, section: int, _order: Qt.SortOrder) -> None:
        """The Server column sorts nothing (the store has no index of it): the arrow stays put."""
        if COLUMNS[section].key == SERVER_KEY:
            key, descending = self.model.sort_order()
            sorted_by = next(i for i, c in enumerate(COLUMNS) if c.key == key)
            order = Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder
            self.view.horizontalHeader().setSortIndicator(sorted_by, order)

    def _fit_columns(self) -> None:
        """Size each column for the first rows' content, between its narrowest and widest widths;
        widths only grow while the store stays the same, so sorting and filtering never jiggle them."""
        metrics = QFontMetrics(self.view.font())
        header = self.view.horizontalHeader()
        traces = [self.model.trace_at(row) for row in range(min(MEASURED_ROWS, self.model.rowCount()))]
        wanted, least = [], []
        for section, column in enumerate(COLUMNS):
            floor = max(
                header.sectionSizeHint(section), metrics.horizontalAdvance(column.narrowest) + CELL_PADDING
            )
            cap = max(floor, metrics.horizontalAdvance(column.widest) + CELL_PADDING)
            texts = (column.text(t) for t in traces if t is not None)
            content = max(map(metrics.horizontalAdvance, texts), default=0) + CELL_PADDING
            wanted.append(min(cap, max(floor, content)))
            # Figures are short and cut ones mislead: only text columns give up width.
            least.append(wanted[-1] if column.numeric else floor)
        if len(self._wanted) == len(wanted):
            wanted = list(map(max, wanted, self._wanted))
        self._wanted = wanted
        self.fitter.set_widths(wanted, least)

    def _hide_empty_columns(self, db: Database) -> None:
        """Columns no trace has a value in (no sessions, no scores) leave their room to the others,
        unless the user chose to see them (the header's context menu)."""
        filled = filled_columns(db, [c.key for c in COLUMNS if c.optional and c.key != SERVER_KEY])
        if fetched_from(db):
            filled.add(SERVER_KEY)
        self.columns.set_automatic({i for i, c in enumerate(COLUMNS) if c.optional and c.key not in filled})

    def _connect(self) -> None:
        self.search.textChanged.connect(self._text_timer.start)
        self.search.returnPressed.connect(self._apply_filter)
        self.errors_only.toggled.connect(self._apply_filter)
        self.project_choice.currentIndexChanged.connect(self._apply_filter)
        self.model_choice.currentIndexChanged.connect(self._apply_filter)
        self.time_choice.currentIndexChanged.connect(self._apply_filter)
        self.model.modelReset.connect(self._after_reset)
        self.view.typed.connect(self._type_into_search)
        self.view.selectionModel().currentRowChanged.connect(self._on_current_row_changed)
        self.view.selectionModel().selectionChanged.connect(self._update_compare)
        self.model.modelReset.connect(self._update_compare)
        self.compare_button.clicked.connect(self.compare_selected)
        self.compare_action.triggered.connect(self.compare_selected)
        self.replay_action.triggered.connect(self.replay_requested)
        self.judge_action.triggered.connect(
            lambda: judge_launcher(self._context).open(
                JudgeScope((), tuple(selected_traces(self.view, self.model.trace_id_at))), self.window()
            )
        )

    def current_filter(self) -> TraceFilter:
        """The filter the bar's widgets describe now."""
        seconds = self.time_choice.currentData()
        start_ns = None
        if seconds is not None and self._newest_ns is not None:
            start_ns = self._newest_ns - seconds * 1_000_000_000
        return TraceFilter(
            text=self.search.text().strip(),
            errors_only=self.errors_only.isChecked(),
            model=self.model_choice.currentData(),
            service=self.project_choice.currentData(),
            start_ns=start_ns,
        )

    def _type_into_search(self, text: str) -> None:
        self.search.setFocus()
        self.search.insert(text)

    def _apply_filter(self) -> None:
        self._text_timer.stop()
        self.model.set_filter(self.current_filter())
        self._update_count()

    def _after_reset(self) -> None:
        """After a sort or filter: columns sized for what shows, the current trace selected and in sight."""
        self._fit_columns()
        row = self._select(self._context.trace_id)
        if row is None:
            self.view.scrollToTop()
        else:
            self.view.scrollTo(self.model.index(row, 0), QAbstractItemView.ScrollHint.PositionAtCenter)

    def _select(self, trace_id: str | None) -> int | None:
        """Select `trace_id`'s row without telling the context (it already knows); its row or None."""
        row = self.model.row_of(trace_id)
        selection = self.view.selectionModel()
        self._syncing = True
        try:
            if row is None:
                selection.clear()
            else:
                flags = (
                    QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
                )
                selection.setCurrentIndex(self.model.index(row, 0), flags)
        finally:
            self._syncing = False
        return row

    def _on_current_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self._syncing or not current.isValid():
            return
        trace_id = self.model.trace_id_at(current.row())
        if trace_id is not None:
            # The context's echo must leave the selection to the view: a Ctrl+click is still adding
            # this row to it.
            self._syncing = True
            try:
                self._context.select_trace(trace_id)
            finally:
                self._syncing = False

    def selected_trace_ids(self) -> list[str | None] | None:
        """The traces of the selected rows, in display order, when exactly two are selected (read
        from the selection's ranges: a shift-click over a million rows lists none of them)."""
        # A row is one range per run of shown columns: merge the ranges' row spans first.
        spans = sorted((r.top(), r.bottom()) for r in self.view.selectionModel().selection())
        merged: list[list[int]] = []
        for top, bottom in spans:
            if merged and top <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], bottom)
            else:
                merged.append([top, bottom])
        if sum(bottom - top + 1 for top, bottom in merged) != 2:
            return None
        rows = [row for top, bottom in merged for row in range(top, bottom + 1)]
        ids = [self.model.trace_id_at(row) for row in rows]
        return None if None in ids else ids

    def _update_compare(self) -> None:
        ids = self.selected_trace_ids()
        enabled = ids is not None and len(ids) == 2
        self.compare_button.setEnabled(enabled)
        self.compare_action.setEnabled(enabled)

    def compare_selected(self) -> None:
        """Ask for the two selected traces to be compared, the one that started first as the before."""
        ids = self.selected_trace_ids()
        if ids is None or len(ids) != 2 or self.model.db is None:
            return
        traces = [get_trace(self.model.db, trace_id) for trace_id in ids]
        if None in traces:
            return
        first, second = sorted(traces, key=lambda t: (t.start_ns, t.trace_id))
        self.compare_requested.emit(first.trace_id, second.trace_id)

    def _update_count(self) -> None:
        db = self.model.db
        if db is None:
            self.count_label.setText("")
            return
        total, shown = count_traces(db), self.model.rowCount()
        noun = "trace" if total == 1 else "traces"
        if self.model.trace_filter == TraceFilter():
            self.count_label.setText(f"{display.count(total)} {noun}")
        else:
            self.count_label.setText(f"{display.count(shown)} of {display.count(total)} {noun}")

    def _update_choices(self, db: Database) -> None:
        """Projects and models to filter on, and the newest start the time ranges count back from."""
        bounds = time_bounds(db)
        self._newest_ns = None if bounds is None else bounds[1]
        projects = distinct_values(db, "service")
        _refill(self.project_choice, ALL_PROJECTS, projects)
        self.project_choice.setVisible(len(projects) > 1 or self.project_choice.currentIndex() > 0)
        _refill(self.model_choice, ALL_MODELS, models_in_store(db))

    def on_store_loaded(self, context: QtTraceContext) -> None:
        """A new store starts at the top; new traces in the same store never move what is on screen."""
        if context.db is None:
            return
        self._update_choices(context.db)
        self._hide_empty_columns(context.db)
        if context.db is not self.model.db:
            self._wanted = []
            self.fitter.forget_chosen()
            self.model.set_db(context.db, self.current_filter())
        else:
            self._refresh_in_place()
        self._update_count()

    def _refresh_in_place(self) -> None:
        """Re-read the store, keeping the row at the top of the view at the top."""
        scroll_bar = self.view.verticalScrollBar()
        top = scroll_bar.value()
        anchor = self.model.trace_id_at(top)
        self.model.refresh(self.current_filter())
        row = self.model.row_of(anchor)
        # The reset only schedules the scroll bar's new range; set it now or the value is clamped.
        self.view.updateGeometries()
        scroll_bar.setValue(top if row is None else row)

    def on_store_closed(self) -> None:
        self.model.set_db(None)
        self._newest_ns = None
        self._update_count()

    def current_trace_id(self) -> str | None:
        """The trace of the selected row (None when nothing listed is selected)."""
        selection = self.view.selectionModel()
        current = selection.currentIndex()
        if not current.isValid() or not selection.isRowSelected(current.row()):
            return None
        return self.model.trace_id_at(current.row())

    def on_trace_changed(self, trace_id: str | None) -> None:
        if self._syncing or self.current_trace_id() == trace_id:
            return
        row = self._select(trace_id)
        if row is not None:
            self.view.scrollTo(self.model.index(row, 0))
