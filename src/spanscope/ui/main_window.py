"""The main window: trace list on top, span tree and step detail below, imports in the status bar;
Dashboard, Compare models and Review tabs beside the traces."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTabWidget,
    QWidget,
)

from spanscope.core.store import (
    FileResult,
    ImportProgress,
    ImportState,
    Outcome,
    StoreError,
    connect,
    import_file,
    is_store,
)
from spanscope.core.store.schema import SchemaError
from spanscope.ui.about import QtAboutDialog
from spanscope.ui.context import QtTraceContext
from spanscope.ui.dashboard.compare_tab import QtCompareTab
from spanscope.ui.dashboard.dashboard_tab import QtDashboardTab
from spanscope.ui.detail import QtDetailPanel
from spanscope.ui.listen import QtListener
from spanscope.ui.price_settings import edit_prices
from spanscope.ui.problems import QtProblemsPanel
from spanscope.ui.reference_answers import attach_action
from spanscope.ui.review import QtReview
from spanscope.ui.search import QtSearchPanel
from spanscope.ui.span_tree import QtSpanTreePanel
from spanscope.ui.stepping import (
    QtBreakpointsPanel,
    QtConversationDiffView,
    QtStateStrip,
    QtStepController,
    QtSteppingToolbar,
)
from spanscope.ui.timeline import QtTimelinePanel
from spanscope.ui.trace_diff import QtTraceDiffWindow
from spanscope.ui.trace_list import QtTraceListPanel
from spanscope.ui.workers import Policy, QtWorker, TaskState, worker_errors

MAX_RECENT = 10
#: Import progress is shown at most this often; more would only flood the event loop.
PROGRESS_INTERVAL_S = 0.1
PROBLEMS_HEIGHT = 130
#: The Timeline's share of the window height when it first shows, and its least height.
TIMELINE_SHARE, TIMELINE_MIN_HEIGHT = 0.2, 120
TRACE_FILE_FILTER = (
    "Trace files and Phoenix/MLflow stores "
    "(*.json *.jsonl *.gz *.zst *.txt *.ndjson *.binpb *.pb *.eval *.db);;All files (*)"
)
STORE_FILE_FILTER = "Spanscope stores (*.db *.sqlite *.sqlite3);;All files (*)"


def import_one(store: Path, path: Path, state: TaskState) -> FileResult:
    """Import one file on the import worker; a file whose turn comes after Cancel is not read."""
    if state.cancelled:
        return FileResult(path, Outcome.CANCELLED)

    def report(p: ImportProgress) -> None:
        state.report(p, final=p.bytes_done >= p.bytes_total)

    return import_file(store, path, ImportState(on_progress=report, cancel_event=state.cancel_event))


class QtMainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or QSettings("Spanscope", "Spanscope")
        self.context = QtTraceContext(self)
        #: One file at a time: the store has a single writer.
        self.imports = QtWorker("Import", self, Policy.QUEUE, progress_interval_s=PROGRESS_INTERVAL_S)
        self.listener = QtListener(self.context, self)
        self.setWindowTitle("Spanscope")
        self.setAcceptDrops(True)
        self.resize(1600, 1000)

        self.trace_list = QtTraceListPanel(self.context)
        self.span_tree = QtSpanTreePanel(self.context)
        self.detail = QtDetailPanel(self.context)
        lower = QSplitter(Qt.Orientation.Horizontal)
        lower.addWidget(self.span_tree)
        lower.addWidget(self.detail)
        lower.setSizes([1000, 600])
        main = QSplitter(Qt.Orientation.Vertical)
        main.addWidget(self.trace_list)
        main.addWidget(lower)
        main.setSizes([300, 700])
        self.dashboard = QtDashboardTab(self.context)
        self.compare = QtCompareTab(self.context)
        self._set_aside: list[QDockWidget] = []
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(main, "Traces")
        self.tabs.addTab(self.dashboard, "Dashboard")
        self.tabs.addTab(self.compare, "Compare models")
        self.compare.span_opened.connect(lambda *_: self.tabs.setCurrentIndex(0))
        self.review = QtReview(self.context, self.trace_list, self.settings, self.tabs, self)
        self.detail.annotate_requested.connect(self.review.annotate)
        self.search = QtSearchPanel(self.context)
        self.tabs.addTab(self.search, "Search")
        self.search.span_opened.connect(lambda *_: self.tabs.setCurrentIndex(0))
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.setCentralWidget(self.tabs)

        self.stepping = QtStepController(self.context, self)
        self.stepping_toolbar = QtSteppingToolbar(self.stepping, self)
        self.addToolBar(self.stepping_toolbar)
        bottom, right = Qt.DockWidgetArea.BottomDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        self.timeline = QtTimelinePanel(self.context)
        self.timeline_dock = self._dock("Timeline", self.timeline, bottom)
        self.breakpoints = QtBreakpointsPanel(self.stepping)
        self.breakpoints_dock = self._dock("Breakpoints", self.breakpoints, right)
        self.changes = QtConversationDiffView(self.stepping)
        self.changes_dock = self._dock("Conversation changes", self.changes, right)
        self.problems = QtProblemsPanel()
        self.problems_dock = self._dock("Problems", self.problems, bottom)
        self.tabifyDockWidget(self.timeline_dock, self.problems_dock)
        self.timeline_dock.raise_()
        self._docks_sized = False
        self.breakpoints_dock.hide()
        self.changes_dock.hide()
        self.stepping_toolbar.addSeparator()
        self.stepping_toolbar.addAction(self.breakpoints_dock.toggleViewAction())
        self.stepping_toolbar.addAction(self.changes_dock.toggleViewAction())
        self.stepping_toolbar.addAction(self.review.menu.start_action)
        self.problems_dock.hide()

        self._build_status_bar()
        self._build_menus()
        self.imports.progress.connect(self._on_progress)
        self.imports.finished.connect(self._on_file_done)
        self.imports.idle.connect(self._on_imports_idle)
        self.listener.failed.connect(self._report_error)
        worker_errors().raised.connect(self._show_worker_error)
        self.listener.status.connect(self._show_listening)
        self.context.store_loaded.connect(self._select_first_trace)

    # --- building -------------------------------------------------------------------------------

    def _on_tab_changed(self, index: int) -> None:
        """The usage tabs take the whole window: the bottom docks of the Traces tab step aside."""
        if index == 0:
            for dock in self._set_aside:
                dock.show()
            self._set_aside = []
        elif not self._set_aside:
            self._set_aside = [d for d in (self.timeline_dock, self.problems_dock) if d.isVisible()]
            for dock in self._set_aside:
                dock.hide()

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title.lower().replace(" ", "_"))
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.state_strip = QtStateStrip(self.stepping)
        bar.addPermanentWidget(self.state_strip)
        self.store_label = QLabel("No store open")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(260)
        self.progress.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the running import; the store stays as it was before it")
        self.cancel_button.clicked.connect(self.imports.cancel)
        self.listen_label = QLabel()
        self.listen_label.hide()
        bar.addWidget(self.store_label, 1)
        bar.addPermanentWidget(self.listen_label)
        bar.addPermanentWidget(self.progress)
        bar.addPermanentWidget(self.cancel_button)
        self._show_progress(False)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._action(file_menu, "&Open Trace Files…", self.open_files_dialog, QKeySequence.StandardKey.Open)
        self._action(file_menu, "Open &Store…", self.open_store_dialog, "Ctrl+Shift+O")
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self._refresh_recent_menu()
        file_menu.addSeparator()
        file_menu.addAction(self.listener.action)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        view_menu = self.menuBar().addMenu("&View")
        self._action(view_menu, "&Search All Spans…", self.show_search, "Ctrl+Shift+F")
        view_menu.addSeparator()
        for dock in (self.timeline_dock, self.breakpoints_dock, self.changes_dock, self.problems_dock):
            view_menu.addAction(dock.toggleViewAction())
        view_menu.addSeparator()
        self._action(view_menu, "&Compare Traces…", self.compare_traces, "Ctrl+Shift+D")
        settings_menu = self.menuBar().addMenu("Se&ttings")
        self._action(settings_menu, "Model &Prices…", lambda: edit_prices(self, self.context, self._status))
        step_menu = self.menuBar().addMenu("&Step")
        for action in self.stepping_toolbar.actions_by_name.values():
            step_menu.addAction(action)
        self.menuBar().addMenu(self.review.menu)
        self.review.menu.addAction(attach_action(self.context, self.settings, self))
        help_menu = self.menuBar().addMenu("&Help")
        self._action(help_menu, "&About Spanscope", self._about)

    def _action(self, menu, text: str, slot, shortcut=None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    # --- opening --------------------------------------------------------------------------------

    def open_store(self, path: Path) -> bool:
        """Show the store at `path`; imports (and live capture, when on) go into it from now on."""
        listening = self.listener.listening
        self.listener.stop()
        try:
            self.context.open_store(Path(path))
        except (StoreError, SchemaError, OSError) as exc:
            self._report_error(f"Cannot open store {path}", str(exc))
            return False
        self.store_label.setText(f"Store: {path}")
        self._remember(Path(path))
        if listening:
            self.listener.start()
        return True

    def open_sources(self, paths: list[Path]) -> None:
        """Open what the user gave: stores are shown, trace files imported into the open store."""
        stores = [p for p in paths if is_store(p)]
        files = [p for p in paths if not is_store(p)]
        if stores:
            self.open_store(stores[0])
        if files:
            self.import_files(files)

    def import_files(self, paths: list[Path]) -> None:
        if self.context.store_path is None:
            self._report_error("No store open", "Open a store before importing trace files.")
            return
        for path in paths:
            self._remember(Path(path))
        for path in paths:
            self.imports.start(partial(import_one, self.context.store_path, Path(path)))
        self._show_progress(True)

    def open_files_dialog(self) -> None:
        names, _ = QFileDialog.getOpenFileNames(self, "Open trace files", self._last_dir(), TRACE_FILE_FILTER)
        if names:
            self.open_sources([Path(n) for n in names])

    def open_store_dialog(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Open store", self._last_dir(), STORE_FILE_FILTER)
        if name:
            path = Path(name)
            if not path.exists() or is_store(path):
                connect(path).conn.close()  # a new name creates an empty store
                self.open_store(path)
            else:
                self._report_error(f"Cannot open store {path}", "This file is not a Spanscope store.")

    # --- imports --------------------------------------------------------------------------------

    def _on_progress(self, p: ImportProgress) -> None:
        done, total = p.bytes_done, p.bytes_total
        self.progress.setMaximum(1000)
        self.progress.setValue(int(1000 * done / total) if total else 0)
        mb = f"{done / 1e6:,.0f} of {total / 1e6:,.0f} MB"
        self.progress.setFormat(f"{p.path.name}: {mb}, {p.spans:,} spans")

    def _on_file_done(self, result: FileResult) -> None:
        if result.outcome is Outcome.IMPORTED:
            added = (
                f"{result.scores_added:,} new scores"
                if result.scores_only
                else f"{result.spans_added:,} new spans"
            )
            self.statusBar().showMessage(f"{result.path.name}: {added} in {result.traces:,} traces", 8000)
            self.context.refresh()
        elif result.outcome is Outcome.ALREADY:
            self.statusBar().showMessage(f"{result.path.name} is already in this store", 8000)
        if self.problems.add_result(result):
            self._show_problems()

    def _select_first_trace(self) -> None:
        """Show something at once: with nothing selected yet, the first trace of the list."""
        if self.context.trace_id is None and self.trace_list.model.rowCount():
            self.context.select_trace(self.trace_list.model.trace_id_at(0))

    def _show_listening(self, text: str) -> None:
        self.listen_label.setText(text)
        self.listen_label.setVisible(bool(text))

    def _show_problems(self) -> None:
        """Open the Problems panel at a modest height, so the traces stay in view."""
        if not self.problems_dock.isVisible():
            self.problems_dock.show()
            self.resizeDocks([self.problems_dock], [PROBLEMS_HEIGHT], Qt.Orientation.Vertical)

    def _on_imports_idle(self) -> None:
        self._show_progress(False)

    def _show_progress(self, visible: bool) -> None:
        self.progress.setVisible(visible)
        self.cancel_button.setVisible(visible)
        if visible:
            self.progress.setRange(0, 0)

    # --- drag and drop --------------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_sources(paths)

    # --- recent, errors, about ------------------------------------------------------------------

    def _remember(self, path: Path) -> None:
        recent = [p for p in self._recent() if p != str(path.resolve())]
        self.settings.setValue("recent", [str(path.resolve()), *recent][:MAX_RECENT])
        self.settings.setValue("last_dir", str(path.resolve().parent))
        self._refresh_recent_menu()

    def _recent(self) -> list[str]:
        value = self.settings.value("recent", [])
        return [value] if isinstance(value, str) else list(value or [])

    def _last_dir(self) -> str:
        return str(self.settings.value("last_dir", str(Path.home())))

    def _refresh_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self._recent()
        for name in recent:
            action = self.recent_menu.addAction(name)
            action.triggered.connect(lambda _=False, p=Path(name): self.open_sources([p]))
        self.recent_menu.setEnabled(bool(recent))

    def report_missing(self, path: Path) -> None:
        self._report_error(str(path), "no such file")

    def _report_error(self, title: str, text: str) -> None:
        self.problems.add_result(FileResult(Path(title), Outcome.FAILED, error=text))
        self._show_problems()
        self.statusBar().showMessage(f"{title}: {text}", 10000)

    def compare_traces(self) -> QtTraceDiffWindow:
        """Open the trace diff on the current trace and the next run of the same chain."""
        window = QtTraceDiffWindow(self.context, self)
        window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        window.span_opened.connect(self._open_span)
        window.open_traces(self.context.trace_id)
        window.show()
        return window

    def _open_span(self, trace_id: str, span_id: str) -> None:
        self.tabs.setCurrentIndex(0)
        self.context.select_trace(trace_id)
        self.context.select_span(span_id)
        self.activateWindow()

    def _show_worker_error(self, title: str, text: str) -> None:
        self.statusBar().showMessage(f"{title}: {text}", 10000)

    def _status(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    def show_search(self) -> None:
        self.tabs.setCurrentWidget(self.search)
        self.search.focus_query()

    def _about(self) -> None:
        dialog = QtAboutDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def showEvent(self, event: QShowEvent) -> None:
        """Size the Timeline for the window's first real size, so a small screen keeps the traces."""
        super().showEvent(event)
        if not self._docks_sized:
            self._docks_sized = True
            height = max(TIMELINE_MIN_HEIGHT, int(self.height() * TIMELINE_SHARE))
            self.resizeDocks([self.timeline_dock], [height], Qt.Orientation.Vertical)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.listener.stop()
        self.search.stop()
        self.imports.cancel()
        self.imports.wait(5000)
        self.context.close_store()
        super().closeEvent(event)
