"""The main window: trace list on top, span tree and step detail below, imports in the status bar;
Dashboard, Compare models and Review tabs beside the traces."""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path

from PySide6.QtCore import QSettings, QSize, Qt
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QKeySequence,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTabWidget,
    QWidget,
)

from spanscope.core.formats import Problem, dialog_filter
from spanscope.core.store import (
    FileResult,
    ImportProgress,
    Outcome,
    StoreError,
    connect,
    is_store,
)
from spanscope.core.store.finalize import prepare_store
from spanscope.core.store.schema import SchemaError
from spanscope.core.store.undo import recover_imports
from spanscope.ui.about import QtAboutDialog
from spanscope.ui.context import QtTraceContext, View
from spanscope.ui.costs import prices
from spanscope.ui.dashboard.compare_tab import QtCompareTab
from spanscope.ui.dashboard.dashboard_tab import QtDashboardTab
from spanscope.ui.dataset_export import open_dataset_export, window_choices
from spanscope.ui.detail import QtDetailPanel
from spanscope.ui.endpoint_settings import edit_endpoints
from spanscope.ui.import_tasks import FolderListed, import_one, list_folder
from spanscope.ui.judge_dialog import judge_launcher
from spanscope.ui.listen import QtListener
from spanscope.ui.panels import BOTTOM, PANELS, RIGHT, Area, Dock, Tab
from spanscope.ui.price_settings import edit_prices
from spanscope.ui.problems import QtProblemsPanel
from spanscope.ui.reference_answers import attach_action
from spanscope.ui.remote.browser import open_remote_browser
from spanscope.ui.replay.window import QtReplayWindow
from spanscope.ui.replay_batch_dialog import open_replay_batch
from spanscope.ui.review import QtReview
from spanscope.ui.review.review_tab import QtReviewTab
from spanscope.ui.screen_fit import fit_to_screen, fits
from spanscope.ui.search import QtSearchPanel
from spanscope.ui.span_tree import QtSpanTreePanel
from spanscope.ui.stepping import (
    QtBreakpointsPanel,
    QtConversationDiffView,
    QtStateStrip,
    QtStepController,
    QtSteppingToolbar,
)
from spanscope.ui.style import APPEARANCE_KEY, ColorScheme, apply_color_scheme, chosen_color_scheme
from spanscope.ui.timeline import QtTimelinePanel
from spanscope.ui.trace_diff import QtTraceDiffWindow
from spanscope.ui.trace_list import QtTraceListPanel
from spanscope.ui.workers import Policy, QtWorker, worker_errors

MAX_RECENT = 10
#: Import progress is shown at most this often; more would only flood the event loop.
PROGRESS_INTERVAL_S = 0.1
#: The views refresh for an import's newly committed spans at most this often (as for Listen's).
STORED_REFRESH_S = 0.5
PROBLEMS_HEIGHT = 130
#: The Timeline's share of the window height when it first shows (less on a window lower than
#: TALL_WINDOW, where the trace list and step detail need the height more), and its least height.
TIMELINE_SHARE, SMALL_TIMELINE_SHARE, TALL_WINDOW, TIMELINE_MIN_HEIGHT = 0.2, 0.15, 900, 100
#: The window's size on a screen that has room for it; a smaller screen gets the window maximized.
PREFERRED_SIZE = QSize(1600, 1000)
#: Trace rows the trace list is laid out to show (on a window 720 pixels high and up) and the least it
#: can be made to show, and its share of the Traces tab when there is room for more.
TRACE_ROWS, TRACE_MIN_ROWS, TRACE_LIST_SHARE = 8, 4, 0.3
#: The least widths of the span tree and the step detail: no dock or splitter squeezes them further.
SPAN_TREE_MIN_WIDTH, DETAIL_MIN_WIDTH = 380, 320
#: The span tree's share of the width it shares with the step detail.
SPAN_TREE_SHARE = 0.58
#: A side dock's share of the window width when it first opens, between these bounds.
SIDE_DOCK_SHARE, SIDE_DOCK_WIDTHS = 0.22, (240, 420)
#: Bumped when the window's docks or toolbars change, so an older saved layout is not restored.
WINDOW_STATE_VERSION = 1
APPEARANCES = (
    (ColorScheme.SYSTEM, "As the &System"),
    (ColorScheme.LIGHT, "&Light"),
    (ColorScheme.DARK, "&Dark"),
)
STORE_FILE_FILTER = "Spanscope stores (*.db *.sqlite *.sqlite3);;All files (*)"


def trace_list_height(panel: QtTraceListPanel, rows: int) -> int:
    """The height the trace list panel needs to show `rows` whole rows under its header and
    filter bar, with room for a horizontal scroll bar."""
    view = panel.view
    chrome = panel.sizeHint().height() - view.sizeHint().height()
    header = view.horizontalHeader().sizeHint().height()
    scroll_bar = view.horizontalScrollBar().sizeHint().height()
    return (
        chrome
        + header
        + rows * view.verticalHeader().defaultSectionSize()
        + scroll_bar
        + 2 * view.frameWidth()
    )


class QtMainWindow(QMainWindow):
    """The window; its panels, made from PANELS, are attributes named as there (docks: name_dock)."""

    trace_list: QtTraceListPanel
    span_tree: QtSpanTreePanel
    detail: QtDetailPanel
    traces: QSplitter
    dashboard: QtDashboardTab
    compare: QtCompareTab
    review_tab: QtReviewTab
    search: QtSearchPanel
    timeline: QtTimelinePanel
    breakpoints: QtBreakpointsPanel
    changes: QtConversationDiffView
    problems: QtProblemsPanel
    timeline_dock: QDockWidget
    breakpoints_dock: QDockWidget
    changes_dock: QDockWidget
    problems_dock: QDockWidget

    def __init__(self, settings: QSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or QSettings("Spanscope", "Spanscope")
        self.context = QtTraceContext(self)
        #: One file at a time: the store has a single writer.
        self.imports = QtWorker("Import", self, Policy.QUEUE, progress_interval_s=PROGRESS_INTERVAL_S)
        #: The running import's spans the views were last refreshed for, and when.
        self._stored_shown, self._shown_at = 0, 0.0
        self.listener = QtListener(self.context, self)
        self.setWindowTitle("Spanscope")
        self.setAcceptDrops(True)
        self.stepping = QtStepController(self.context, self)
        self.stepping_toolbar = QtSteppingToolbar(self.stepping)
        self.review = QtReview(self.context, self.settings, self)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self._views: dict[View, QWidget] = {}
        self._set_aside: list[QDockWidget] = []
        #: Whether the layout was laid out already (or restored from the settings): then the first
        #: show leaves it alone.
        self._laid_out = False
        self._side_docks_sized: set[QDockWidget] = set()
        self._add_panels()
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.detail.annotate_requested.connect(self.review.annotate)
        self.context.view_requested.connect(self._on_view_requested)

        self._build_status_bar()
        self._build_menus()
        self.imports.progress.connect(self._on_progress)
        self.imports.finished.connect(self._on_file_done)
        self.imports.idle.connect(self._on_imports_idle)
        self.listener.failed.connect(self._report_error)
        worker_errors().raised.connect(self._show_worker_error)
        self.listener.status.connect(self._show_listening)
        self.context.store_loaded.connect(self._select_first_trace)
        self.trace_list.compare_requested.connect(self.compare_traces)
        self.trace_list.replay_requested.connect(lambda: open_replay_batch(self))
        for replay_requested in (
            self.span_tree.replay_requested,
            self.detail.replay_corner.replay_requested,
            self.stepping.replay_requested,
        ):
            replay_requested.connect(self.replay_span)
        self._restore_layout()

    # --- building -------------------------------------------------------------------------------

    def _add_panels(self) -> None:
        """Make every panel of PANELS and put it in its place. The tabs, the toolbar and the docks
        join the window in that order, which is the keyboard focus order."""
        docks: list[tuple[Dock, QDockWidget]] = []
        for panel in PANELS:
            widget = panel.make(self)
            setattr(self, panel.name, widget)
            place = panel.place
            if isinstance(place, Tab):
                self.tabs.addTab(widget, place.title)
                self._views[place.view] = widget
            elif isinstance(place, Dock):
                dock = QDockWidget(place.title)
                dock.setObjectName(place.title.lower().replace(" ", "_"))
                dock.setWidget(widget)
                setattr(self, f"{panel.name}_dock", dock)
                docks.append((place, dock))
        self.setCentralWidget(self.tabs)
        self.addToolBar(self.stepping_toolbar)
        for place, dock in docks:
            self.addDockWidget(place.area, dock)
        for place, dock in docks:  # hidden before tabbing: else Qt 6 leaves a stray tab bar drawn
            if not place.shown:
                dock.hide()
        for place, dock in docks:
            if place.tabbed_with is not None:
                beside = getattr(self, f"{place.tabbed_with}_dock")
                self.tabifyDockWidget(beside, dock)
                beside.raise_()
        self.stepping_toolbar.addSeparator()
        toggles = [dock.toggleViewAction() for place, dock in docks if place.on_toolbar]
        self.stepping_toolbar.add_group("Panels", toggles, fold_rank=2)
        self.stepping_toolbar.addAction(self.review.menu.start_action)
        self._docks = [dock for _place, dock in docks]
        self._bottom_docks = [dock for place, dock in docks if place.area == BOTTOM]
        for dock in (d for place, d in docks if place.area == RIGHT):
            dock.visibilityChanged.connect(partial(self._size_side_dock, dock))

    def traces_tab(self) -> QSplitter:
        """The Traces tab: its Area panels, the trace list above the span tree and step detail.

        No pane collapses: the trace list keeps room for TRACE_MIN_ROWS rows (and is laid out with
        TRACE_ROWS), the tree and the detail keep their least widths; a taller window gives its extra
        height to the tree and detail."""
        at = {p.place.where: getattr(self, p.name) for p in PANELS if isinstance(p.place, Area)}
        at["lower left"].setMinimumWidth(SPAN_TREE_MIN_WIDTH)
        at["lower right"].setMinimumWidth(DETAIL_MIN_WIDTH)
        at["top"].setMinimumHeight(trace_list_height(self.trace_list, TRACE_MIN_ROWS))
        self.lower_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.lower_splitter.setObjectName("lower_splitter")
        self.lower_splitter.addWidget(at["lower left"])
        self.lower_splitter.addWidget(at["lower right"])
        self.lower_splitter.setStretchFactor(0, 3)
        self.lower_splitter.setStretchFactor(1, 2)
        main = QSplitter(Qt.Orientation.Vertical)
        main.setObjectName("traces_splitter")
        main.addWidget(at["top"])
        main.addWidget(self.lower_splitter)
        main.setStretchFactor(0, 0)
        main.setStretchFactor(1, 1)
        for splitter in (main, self.lower_splitter):
            splitter.setChildrenCollapsible(False)
        return main

    def _on_view_requested(self, view: View) -> None:
        self.tabs.setCurrentWidget(self._views[view])

    def focus_view(self, view: View) -> None:
        """Bring `view` forward with the keyboard focus in it (its View menu entry)."""
        self.context.show_view(view)
        self._views[view].setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _on_tab_changed(self, index: int) -> None:
        """The usage tabs take the whole window: the bottom docks of the Traces tab step aside."""
        if self.tabs.widget(index) is self._views[View.TRACES]:
            for dock in self._set_aside:
                dock.show()
            self._set_aside = []
        elif not self._set_aside:
            self._set_aside = [d for d in self._bottom_docks if d.isVisible()]
            for dock in self._set_aside:
                dock.hide()

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
        self._action(file_menu, "Open Trace &Folder…", self.open_folder_dialog)
        self._action(file_menu, "Open &Store…", self.open_store_dialog, "Ctrl+Shift+O")
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self._refresh_recent_menu()
        self._action(file_menu, "&Connect to Server…", lambda: open_remote_browser(self))
        file_menu.addSeparator()
        self._action(file_menu, "Export &Dataset…", self._export_dataset)
        file_menu.addSeparator()
        file_menu.addAction(self.listener.action)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        view_menu = self.menuBar().addMenu("&View")
        for tab in (p.place for p in PANELS if isinstance(p.place, Tab) and p.place.action is not None):
            self._action(view_menu, tab.action, lambda _=False, v=tab.view: self.focus_view(v), tab.shortcut)
        view_menu.addSeparator()
        for dock in self._docks:
            view_menu.addAction(dock.toggleViewAction())
        view_menu.addSeparator()
        self._action(view_menu, "&Replay Traces with Another Model…", lambda: open_replay_batch(self))
        self._action(view_menu, "&Compare Traces…", lambda: self.compare_traces(), "Ctrl+Shift+D")
        settings_menu = self.menuBar().addMenu("Se&ttings")
        self._action(settings_menu, "Model &Prices…", lambda: edit_prices(self, self.context, self._status))
        self._action(settings_menu, "Model &Endpoints…", lambda: edit_endpoints(self))
        self._build_appearance_menu(settings_menu.addMenu("&Appearance"))
        step_menu = self.menuBar().addMenu("&Step")
        for action in self.stepping_toolbar.actions_by_name.values():
            step_menu.addAction(action)
        self.menuBar().addMenu(self.review.menu)
        self.review.menu.addAction(attach_action(self.context, self.settings, self))
        self.review.menu.addAction(judge_launcher(self.context, self.settings).action(self))
        help_menu = self.menuBar().addMenu("&Help")
        self._action(help_menu, "&About Spanscope", self._about)

    def _export_dataset(self) -> None:
        choices = window_choices(self.context.trace_id, self.search.query.text())
        open_dataset_export(self, self.context, choices)

    def _build_appearance_menu(self, menu: QMenu) -> None:
        """Follow the system's light or dark palette, or keep one whatever the system says."""
        group = QActionGroup(menu)
        chosen = chosen_color_scheme(self.settings)
        for scheme, text in APPEARANCES:
            action = menu.addAction(text)
            action.setCheckable(True)
            action.setChecked(scheme is chosen)
            action.triggered.connect(partial(self.set_color_scheme, scheme))
            group.addAction(action)

    def set_color_scheme(self, scheme: ColorScheme) -> None:
        """Show `scheme` and remember it; text coloured for the other scheme follows when redrawn."""
        self.settings.setValue(APPEARANCE_KEY, scheme.value)
        apply_color_scheme(QApplication.instance(), scheme)

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
            recover_imports(Path(path))
            prepare_store(Path(path), prices().book)
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
        """Open what the user gave: stores are shown, trace files (and folders of them) imported into
        the open store."""
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
        for path in map(Path, paths):
            self._remember(path)
            task = list_folder if path.is_dir() else import_one
            self.imports.start(partial(task, self.context.store_path, path))
        self._show_progress(True)

    def _import_listed(self, listed: FolderListed) -> None:
        """Import a folder's trace files; list the files skipped (in the Problems panel, as skipped)."""
        for path in listed.sources.files:
            self.imports.start(partial(import_one, listed.store, path))
        for path, why in listed.sources.skipped:
            problem = Problem(str(path), "folder" if path.is_dir() else "whole file", f"skipped: {why}")
            self.problems.add_result(FileResult(path, Outcome.SKIPPED, error=why, problems=[problem]))
        if skipped := len(listed.sources.skipped):
            self.statusBar().showMessage(
                f"{listed.folder.name}: {len(listed.sources.files):,} trace files to import, "
                f"{skipped:,} skipped (listed under Problems)",
                8000,
            )

    def open_files_dialog(self) -> None:
        names, _ = QFileDialog.getOpenFileNames(self, "Open trace files", self._last_dir(), dialog_filter())
        if names:
            self.open_sources([Path(n) for n in names])

    def open_folder_dialog(self) -> None:
        name = QFileDialog.getExistingDirectory(self, "Open a folder of trace files", self._last_dir())
        if name:
            self.open_sources([Path(name)])

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
        if p.stored != self._stored_shown and time.monotonic() - self._shown_at >= STORED_REFRESH_S:
            # The import committed more of its spans: the views show them, as Listen's do live.
            self._stored_shown, self._shown_at = p.stored, time.monotonic()
            self.context.refresh()
        done, total = p.bytes_done, p.bytes_total
        self.progress.setMaximum(1000)
        self.progress.setValue(int(1000 * done / total) if total else 0)
        mb = f"{done / 1e6:,.0f} of {total / 1e6:,.0f} MB"
        self.progress.setFormat(f"{p.path.name}: {mb}, {p.spans:,} spans")

    def _on_file_done(self, result: FileResult | FolderListed) -> None:
        if isinstance(result, FolderListed):
            self._import_listed(result)
            return
        self._stored_shown = 0
        if result.outcome in (Outcome.CANCELLED, Outcome.FAILED):
            self.context.refresh()  # what the views showed of it is gone
        if result.outcome is Outcome.IMPORTED:
            if result.logs_only:
                added = (
                    f"{result.logs_added:,} new log records ({result.logs_waiting:,} waiting for their spans)"
                )
            elif result.scores_only:
                added = f"{result.scores_added:,} new scores"
            else:
                added = f"{result.spans_added:,} new spans"
            self.statusBar().showMessage(f"{result.path.name}: {added} in {result.traces:,} traces", 8000)
            self.context.refresh()
        elif result.outcome is Outcome.ALREADY:
            self.statusBar().showMessage(f"{result.path.name} is already in this store", 8000)
        if self.problems.add_result(result):
            self._show_problems()

    def _select_first_trace(self) -> None:
        """Show something at once: with nothing selected yet, the first trace of the list, on its
        first error span (else its root)."""
        if self.context.trace_id is None and self.trace_list.model.rowCount():
            self.context.select_trace(self.trace_list.model.trace_id_at(0))
            self.span_tree.select_first_error()

    def _show_listening(self, text: str) -> None:
        self.listen_label.setText(text)
        self.listen_label.setVisible(bool(text))

    def _show_problems(self) -> None:
        """Open the Problems panel at a modest height, so the traces stay in view (beside the
        Timeline, as a tab, it takes the Timeline's height)."""
        if not self.problems_dock.isVisible():
            self.problems_dock.show()
            if not self.timeline_dock.isVisible():
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

    def compare_traces(self, trace_a: str | None = None, trace_b: str | None = None) -> QtTraceDiffWindow:
        """Open the trace diff on two traces: by default the current one and another run of the same
        sample or input."""
        window = QtTraceDiffWindow(self.context, self)
        window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        window.span_opened.connect(self._open_span)
        window.open_traces(trace_a or self.context.trace_id, trace_b)
        window.show()
        return window

    def replay_span(self, trace_id: str, span_id: str) -> QtReplayWindow:
        """Open the Replay window on an LLM span; a replay goes into the store open when it is run."""
        window = QtReplayWindow(self.context, trace_id, span_id, parent=self, settings=self.settings)
        window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        window.show()
        return window

    def _open_span(self, trace_id: str, span_id: str) -> None:
        self.context.open_span(trace_id, span_id)
        self.activateWindow()

    def _show_worker_error(self, title: str, text: str) -> None:
        self.statusBar().showMessage(f"{title}: {text}", 10000)

    def _status(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    def _about(self) -> None:
        dialog = QtAboutDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    # --- layout ---------------------------------------------------------------------------------

    def _restore_layout(self) -> None:
        """The window as the user left it; the first time, as large as the screen allows (maximized
        on a screen smaller than PREFERRED_SIZE)."""
        geometry = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if geometry is not None and state is not None and self.restoreState(state, WINDOW_STATE_VERSION):
            self._laid_out = self.restoreGeometry(geometry)
            for splitter in (self.traces, self.lower_splitter):
                saved = self.settings.value(f"window/{splitter.objectName()}")
                if saved is not None:
                    splitter.restoreState(saved)
            self._side_docks_sized = set(self._docks) if self._laid_out else set()
            if self._laid_out:
                return
        fit_to_screen(self, PREFERRED_SIZE.width(), PREFERRED_SIZE.height())
        if not fits(PREFERRED_SIZE, self):
            self.setWindowState(self.windowState() | Qt.WindowState.WindowMaximized)

    def _save_layout(self) -> None:
        for dock in self._set_aside:  # saved as shown: they are hidden only while another tab shows
            dock.show()
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState(WINDOW_STATE_VERSION))
        for splitter in (self.traces, self.lower_splitter):
            self.settings.setValue(f"window/{splitter.objectName()}", splitter.saveState())

    def _lay_out(self) -> None:
        """Share the window out for its current size: the Timeline its share of the height (at least
        TIMELINE_MIN_HEIGHT), the trace list TRACE_LIST_SHARE of the Traces tab (at least its
        TRACE_ROWS rows), the span tree SPAN_TREE_SHARE of the width below it."""
        share = TIMELINE_SHARE if self.height() >= TALL_WINDOW else SMALL_TIMELINE_SHARE
        height = max(TIMELINE_MIN_HEIGHT, int(self.height() * share))
        self.resizeDocks([self.timeline_dock], [height], Qt.Orientation.Vertical)
        tab = self.traces.height()
        top = max(trace_list_height(self.trace_list, TRACE_ROWS), int(tab * TRACE_LIST_SHARE))
        self.traces.setSizes([top, max(0, tab - top)])
        width = self.lower_splitter.width()
        self.lower_splitter.setSizes([int(width * SPAN_TREE_SHARE), width - int(width * SPAN_TREE_SHARE)])

    def _size_side_dock(self, dock: QDockWidget, visible: bool) -> None:
        """A side dock opens at a share of the window's width, the first time it opens."""
        if visible and dock not in self._side_docks_sized:
            self._side_docks_sized.update([*self.tabifiedDockWidgets(dock), dock])
            low, high = SIDE_DOCK_WIDTHS
            width = min(high, max(low, int(self.width() * SIDE_DOCK_SHARE)))
            self.resizeDocks([dock], [width], Qt.Orientation.Horizontal)

    def showEvent(self, event: QShowEvent) -> None:
        """Lay the window out for its first real size, unless it was restored as the user left it."""
        super().showEvent(event)
        if not self._laid_out:
            self._laid_out = True
            self.layout().activate()
            self._lay_out()

    def closeEvent(self, event: QCloseEvent) -> None:
        self._save_layout()
        for replay in self.findChildren(QtReplayWindow):
            replay.close()  # its call is cancelled
        self.listener.stop()
        self.search.stop()
        self.imports.cancel()
        self.imports.wait(5000)
        self.context.close_store()
        super().closeEvent(event)
