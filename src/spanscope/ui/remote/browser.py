"""File > Connect to Server…: a team's trace server browsed on the server, page by page, each trace
fetched into the local cache store when opened and shown in the main window like any local trace.

Everything that talks to the server runs on QtWorkers (tasks.py); a newer listing request drops the
older one's result (LATEST), so changing a filter while a page loads shows only the new list. Names
from the server are shown as plain text only (table cells, plain-text labels, escaped tooltips).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDateTime, QModelIndex, QSettings, Qt, QTimeZone, Signal
from PySide6.QtGui import QCloseEvent, QFontMetrics, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from spanscope.core.presentation.content import human_bytes
from spanscope.core.remote.base import RemoteClient, RemoteTrace, TraceQuery
from spanscope.core.remote.cache import (
    CacheConfigError,
    CacheStore,
    parse_size,
    read_cache_limit,
    write_cache_limit,
)
from spanscope.core.remote.registry import schemes_help, server_specs
from spanscope.ui.context import QtTraceContext
from spanscope.ui.plain_tooltip import plain_tooltip
from spanscope.ui.remote.poll import QtTracePoll
from spanscope.ui.remote.recent import recent_urls, remember_url
from spanscope.ui.remote.tasks import (
    CacheState,
    Connected,
    Fetched,
    FetchStep,
    Listed,
    connect_server,
    fetch,
    list_page,
    shrink,
)
from spanscope.ui.remote.trace_table import COLUMNS, NAME_COLUMN, SORT_NOTE, QtRemoteTraceModel
from spanscope.ui.screen_fit import fit_to_screen
from spanscope.ui.style import ERROR_COLOR, MUTED_COLOR
from spanscope.ui.workers import Policy, QtWorker

PAGE_SIZE = 100
#: The "since" choices: seconds back from now (the server's clock is the wall clock), None for all.
SINCE_CHOICES: tuple[tuple[str, int | str | None], ...] = (
    ("Last hour", 3600),
    ("Last day", 86_400),
    ("Last 7 days", 7 * 86_400),
    ("Any time", None),
    ("Range…", "range"),
)
DEFAULT_SINCE = 1
CELL_PADDING = 16
FILTER_TIP = (
    "The server's own filter, passed as written: Jaeger's tags (error=true http.method=GET), Tempo's "
    "TraceQL ({ … }) or tags, Langfuse's list filters (name=chat userId=u1 tags=prod), MLflow's "
    "filter_string, Phoenix's span filter condition"
)


class QtRemoteTraceTable(QTableView):
    """The remote trace table; Return opens the current trace, as a double-click does."""

    entered_row = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.entered_row.emit()
            return
        super().keyPressEvent(event)


class QtRemoteBrowser(QDialog):
    """Server URL, Connect, the project and the server's filters, the paged trace list, Open."""

    def __init__(
        self,
        context: QtTraceContext,
        settings: QSettings,
        open_store: Callable[[Path], bool],
        parent: QWidget | None = None,
    ) -> None:
        """`open_store`: how the main window shows another store (its open_store: False when it cannot)."""
        super().__init__(parent)
        self.setWindowTitle("Connect to Server")
        self.context, self.settings, self._open_store = context, settings, open_store
        self.client: RemoteClient | None = None
        self.cache: CacheStore | None = None
        #: Traces asked for per page.
        self.page_size = PAGE_SIZE
        self._cursor: str | None = None
        self._query: TraceQuery | None = None
        self.connect_worker = QtWorker("Connect to server", self, Policy.LATEST)
        self.connect_worker.finished.connect(self._connected)
        self.connect_worker.failed.connect(self._connect_crashed)
        self.list_worker = QtWorker("List remote traces", self, Policy.LATEST)
        self.list_worker.finished.connect(self._listed)
        self.list_worker.failed.connect(self._list_crashed)
        self.fetch_worker = QtWorker("Fetch a remote trace", self, Policy.LATEST, progress_interval_s=0.1)
        self.fetch_worker.progress.connect(self._fetch_progress)
        self.fetch_worker.finished.connect(self._fetched)
        self.fetch_worker.failed.connect(self._fetch_crashed)
        self.cache_worker = QtWorker("Keep the cache under its limit", self, Policy.QUEUE)
        self.cache_worker.finished.connect(self._cache_changed)
        self.cache_worker.failed.connect(
            lambda text: self._show_error(f"Keeping the cache small failed:\n{text}")
        )
        self.poll = QtTracePoll(context, parent=self)
        self.poll.said.connect(self._poll_said)
        self._build()
        fit_to_screen(self, 1100, 680)

    # --- building ---------------------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.addLayout(self._server_row())
        schemes = "   ".join(f"{s.kind}+http://HOST:{s.default_port}" for s in server_specs().values())
        self.hint = QLabel(
            f"URLs: {schemes}   (or https://)", textFormat=Qt.TextFormat.PlainText, wordWrap=True
        )
        self.hint.setToolTip(plain_tooltip("The server kinds:\n" + schemes_help()))
        self.hint.setStyleSheet(f"color: {MUTED_COLOR};")
        layout.addWidget(self.hint)
        self.banner = QLabel(textFormat=Qt.TextFormat.PlainText, wordWrap=True)
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner.setFrameShape(QFrame.Shape.StyledPanel)
        self.banner.setStyleSheet(
            f"QLabel {{ color: {ERROR_COLOR}; border: 1px solid {ERROR_COLOR}; padding: 6px; }}"
        )
        self.banner.hide()
        layout.addWidget(self.banner)
        layout.addLayout(self._filter_row())
        self._build_table()
        layout.addWidget(self.view, 1)
        layout.addLayout(self._list_row())
        layout.addLayout(self._fetch_row())
        layout.addLayout(self._cache_row())
        # Return belongs to the field it is pressed in (Connect, List, the limit), never to a default button.
        for button in self.findChildren(QPushButton):
            button.setAutoDefault(False)
        self._set_connected(False)

    def _server_row(self) -> QHBoxLayout:
        self.url = QComboBox(editable=True)
        self.url.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.url.addItems(recent_urls(self.settings))
        self.url.setCurrentIndex(0 if self.url.count() else -1)
        self.url.lineEdit().setPlaceholderText("phoenix+http://localhost:6006")
        self.url.setToolTip(
            "Credentials come from environment variables or the system keyring, never the URL"
        )
        self.url.lineEdit().returnPressed.connect(self.connect_server)
        self.connect_button = QPushButton("Connect")
        self.connect_button.clicked.connect(self.connect_server)
        row = QHBoxLayout()
        row.addWidget(QLabel("Server"))
        row.addWidget(self.url, 1)
        row.addWidget(self.connect_button)
        return row

    def _filter_row(self) -> QHBoxLayout:
        self.project = QComboBox(toolTip="Phoenix project, MLflow experiment, Tempo or Jaeger service")
        self.project.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.project.setMinimumContentsLength(18)
        self.since = QComboBox(toolTip="Traces started in this time, as the server's clock has it")
        for label, value in SINCE_CHOICES:
            self.since.addItem(label, value)
        self.since.setCurrentIndex(DEFAULT_SINCE)
        self.errors_only = QCheckBox("Errors only")
        self.filter = QLineEdit(placeholderText="the server's own filter", toolTip=FILTER_TIP)
        self.filter.setClearButtonEnabled(True)
        self.list_button = QPushButton("List")
        self.list_button.setToolTip("List the traces again with these filters")
        self.project.currentIndexChanged.connect(self.list_traces)
        self.since.currentIndexChanged.connect(self._since_changed)
        self.errors_only.toggled.connect(self.list_traces)
        self.filter.returnPressed.connect(self.list_traces)
        self.list_button.clicked.connect(self.list_traces)
        row = QHBoxLayout()
        row.addWidget(QLabel("Project"))
        row.addWidget(self.project)
        row.addWidget(QLabel("Since"))
        row.addWidget(self.since)
        for widget in self._range():
            row.addWidget(widget)
        row.addWidget(self.errors_only)
        row.addWidget(self.filter, 1)
        row.addWidget(self.list_button)
        return row

    def _range(self) -> list[QWidget]:
        """From and until (UTC) editors, shown when Since is Range…; listed again once edited."""
        now = QDateTime.currentDateTimeUtc()
        self.range_from = QDateTimeEdit(now.addDays(-1), calendarPopup=True)
        self.range_until = QDateTimeEdit(now, calendarPopup=True)
        for edit in (self.range_from, self.range_until):
            edit.setTimeZone(QTimeZone.utc())
            edit.setDisplayFormat("yyyy-MM-dd HH:mm")
            edit.editingFinished.connect(self.list_traces)
        self.range_widgets: list[QWidget] = [self.range_from, QLabel("to"), self.range_until]
        for widget in self.range_widgets:
            widget.hide()
        return self.range_widgets

    def _build_table(self) -> None:
        self.model = QtRemoteTraceModel(self)
        view = self.view = QtRemoteTraceTable()
        view.setModel(self.model)
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        view.setAlternatingRowColors(True)
        view.setWordWrap(False)
        view.setShowGrid(False)
        view.setTextElideMode(Qt.TextElideMode.ElideRight)
        view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerItem)
        metrics = QFontMetrics(view.font())
        rows = view.verticalHeader()
        rows.hide()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setMinimumSectionSize(1)
        rows.setDefaultSectionSize(metrics.height() + 6)
        header = view.horizontalHeader()
        header.setHighlightSections(False)
        # The server's order, shown as such; clicking a header sorts nothing (only the server could).
        header.setSortIndicatorShown(True)
        header.setSortIndicator(0, Qt.SortOrder.DescendingOrder)
        header.setSectionsClickable(False)
        header.setToolTip(SORT_NOTE)
        for section, column in enumerate(COLUMNS):
            header.resizeSection(section, metrics.horizontalAdvance(column.widest) + CELL_PADDING)
        header.setSectionResizeMode(NAME_COLUMN, QHeaderView.ResizeMode.Stretch)
        view.doubleClicked.connect(self._open_index)
        view.verticalScrollBar().valueChanged.connect(self._scrolled)

    def _list_row(self) -> QHBoxLayout:
        self.count_label = QLabel(textFormat=Qt.TextFormat.PlainText)
        self.more_button = QPushButton("Load more")
        self.more_button.setToolTip("Ask the server for its next page of traces")
        self.more_button.clicked.connect(self.load_more)
        row = QHBoxLayout()
        row.addWidget(self.count_label, 1)
        row.addWidget(self.more_button)
        return row

    def _fetch_row(self) -> QHBoxLayout:
        self.open_button = QPushButton("Open", enabled=False)
        self.open_button.setToolTip(
            "Show the selected trace in the main window, fetched into the cache first"
        )
        self.open_button.clicked.connect(self.open_selected)
        self.refresh_button = QPushButton("Refresh", enabled=False)
        self.refresh_button.setToolTip("Fetch the selected trace again, replacing the cache's copy")
        self.refresh_button.clicked.connect(lambda: self.open_selected(refresh=True))
        self.fetch_bar = QProgressBar(textVisible=True)
        self.fetch_bar.hide()
        self.fetch_label = QLabel(textFormat=Qt.TextFormat.PlainText)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop fetching: nothing of the trace is stored")
        self.cancel_button.clicked.connect(self.cancel_fetch)
        self.cancel_button.hide()
        row = QHBoxLayout()
        row.addWidget(self.fetch_label, 1)
        row.addWidget(self.fetch_bar, 1)
        row.addWidget(self.cancel_button)
        row.addWidget(self.refresh_button)
        row.addWidget(self.open_button)
        self.view.selectionModel().currentRowChanged.connect(self._update_buttons)
        QShortcut(QKeySequence.StandardKey.Refresh, self, lambda: self.open_selected(refresh=True))
        self.view.entered_row.connect(self.open_selected)
        return row

    def _cache_row(self) -> QHBoxLayout:
        self.cache_label = QLabel(textFormat=Qt.TextFormat.PlainText)
        self.cache_label.setStyleSheet(f"color: {MUTED_COLOR};")
        self.cache_limit = QLineEdit(placeholderText="2GB")
        self.cache_limit.setToolTip(
            "The most the server's cache store may take (e.g. 500MB, 2GB); past it, the traces opened "
            "least recently are deleted from the cache (never the one shown)"
        )
        self.cache_limit.setMaximumWidth(QFontMetrics(self.font()).horizontalAdvance("0000.0 GiB") + 24)
        self.cache_limit.editingFinished.connect(self.set_cache_limit)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.close)
        row = QHBoxLayout()
        row.addWidget(self.cache_label, 1)
        row.addWidget(QLabel("Cache limit"))
        row.addWidget(self.cache_limit)
        row.addWidget(self.close_button)
        try:
            self.cache_limit.setText(human_bytes(read_cache_limit()).replace(" ", ""))
        except CacheConfigError as exc:
            self._show_error(str(exc))
        return row

    # --- connecting and listing -------------------------------------------------------------------

    def _show_error(self, text: str) -> None:
        self.banner.setText(text)
        self.banner.show()

    def _clear_error(self) -> None:
        self.banner.clear()
        self.banner.hide()

    def _set_connected(self, connected: bool) -> None:
        for widget in (self.project, self.since, self.errors_only, self.filter, self.list_button):
            widget.setEnabled(connected)
        self.more_button.setEnabled(connected and self.model.has_more)

    def connect_server(self) -> None:
        """Make the typed URL's client and ask its server for its projects (on a worker)."""
        text = self.url.currentText().strip()
        if not text:
            self._show_error(
                "Give a server URL, e.g. phoenix+http://localhost:6006 (the schemes are listed above)."
            )
            return
        self._clear_error()
        self.list_worker.cancel()
        if self.fetch_worker.busy:
            self.cancel_fetch()
        self.client = self.cache = None
        self.model.clear()
        self._cursor = self._query = None
        self.project.blockSignals(True)
        self.project.clear()
        self.project.blockSignals(False)
        self._set_connected(False)
        self.connect_button.setEnabled(False)
        self.count_label.setText(f"Connecting to {text}…")
        self.connect_worker.start(connect_server(text))

    def _connected(self, done: Connected) -> None:
        self.connect_button.setEnabled(True)
        if done.error is not None or done.client is None:
            self.count_label.clear()
            self._show_error(done.error or "The server gave no answer.")
            return
        self.client, self.cache = done.client, done.cache
        if done.cache_state is not None:
            self._cache_changed(done.cache_state)
        assert done.url is not None
        urls = remember_url(self.settings, done.url)
        self.url.blockSignals(True)
        self.url.clear()
        self.url.addItems(urls)
        self.url.setCurrentIndex(0)
        self.url.blockSignals(False)
        self.project.blockSignals(True)
        self.project.clear()
        for name in done.projects:
            self.project.addItem(name, name)
        if not done.projects:
            self.project.addItem("(no projects)", None)
        self.project.blockSignals(False)
        self._set_connected(True)
        self.list_traces()

    def _connect_crashed(self, text: str) -> None:
        self.connect_button.setEnabled(True)
        self.count_label.clear()
        self._show_error(f"Connecting to {self.url.currentText().strip()} failed unexpectedly:\n{text}")

    def _since_changed(self) -> None:
        ranged = self.since.currentData() == "range"
        for widget in self.range_widgets:
            widget.setVisible(ranged)
        self.list_traces()

    def trace_query(self) -> TraceQuery:
        """The first page of what the filters ask the server for."""
        since_ns = until_ns = None
        choice = self.since.currentData()
        if choice == "range":
            since_ns = self.range_from.dateTime().toMSecsSinceEpoch() * 1_000_000
            until_ns = self.range_until.dateTime().toMSecsSinceEpoch() * 1_000_000
        elif isinstance(choice, int):
            since_ns = time.time_ns() - choice * 1_000_000_000
        return TraceQuery(
            project=self.project.currentData(),
            since_ns=since_ns,
            until_ns=until_ns,
            filter=self.filter.text().strip() or None,
            errors_only=self.errors_only.isChecked(),
            page_size=self.page_size,
        )

    def list_traces(self) -> None:
        """The first page of the list the filters describe; whatever was asked before is dropped."""
        if self.client is None:
            return
        self._clear_error()
        self.model.clear()
        self._cursor = None
        self._request(self.trace_query())

    def load_more(self) -> None:
        """The next page of the same list (never the whole list)."""
        if self.client is None or self._query is None or self._cursor is None or self.list_worker.busy:
            return
        self._request(dataclasses.replace(self._query, cursor=self._cursor))

    def _scrolled(self, value: int) -> None:
        """Scrolled to the last row loaded: the next page, as Load more."""
        if value and value == self.view.verticalScrollBar().maximum():
            self.load_more()

    def _request(self, query: TraceQuery) -> None:
        assert self.client is not None
        self._query = query
        self.more_button.setEnabled(False)
        self.count_label.setText(self._count_text(loading=True))
        assert self.cache is not None
        self.list_worker.start(list_page(self.client, query, self.cache))

    def _listed(self, listed: Listed | None) -> None:
        if listed is None or listed.query != self._query:
            return
        if listed.error is not None:
            self._show_error(listed.error)
            self.more_button.setEnabled(self.model.has_more)
            self.count_label.setText(self._count_text() if self.model.rowCount() else "")
            return
        self._cursor = listed.next_cursor
        self.model.add_page(listed.traces, listed.cached, listed.next_cursor is not None)
        empty = self.model.empty_columns()
        for section in range(len(COLUMNS)):
            self.view.setColumnHidden(section, section in empty)
        self.more_button.setEnabled(self.model.has_more)
        self.count_label.setText(self._count_text())

    def _list_crashed(self, text: str) -> None:
        self.more_button.setEnabled(self.model.has_more)
        self.count_label.setText(self._count_text())
        self._show_error(f"Listing traces failed unexpectedly:\n{text}")

    def _count_text(self, loading: bool = False) -> str:
        shown = self.model.rowCount()
        if loading:
            return f"{_traces(shown)} listed, asking the server for more…" if shown else "Asking the server…"
        if not shown:
            return f"No traces match these filters on the server (since: {self.since.currentText()})."
        more = (
            "more on the server (Load more, or scroll to the end)" if self.model.has_more else "that is all"
        )
        return f"{_traces(shown)} listed, newest first; {more}"

    # --- the cache ----------------------------------------------------------------------------------

    def set_cache_limit(self) -> None:
        """Save the limit typed (in remote.json, as `spanscope pull --cache-limit` does) and keep the
        open server's cache under it at once (on a worker), never evicting the trace shown."""
        if not self.cache_limit.isModified():
            return
        self.cache_limit.setModified(False)
        text = self.cache_limit.text().strip()
        try:
            limit = parse_size(text)
            if limit == read_cache_limit():
                return
            write_cache_limit(limit)
        except (CacheConfigError, OSError) as exc:
            self._show_error(f"Cache limit not saved: {exc}")
            return
        self._clear_error()
        if self.cache is not None:
            self.cache.limit_bytes = limit
            shown = self.context.trace_id if self.context.store_path == self.cache.path else None
            self.cache_worker.start(shrink(self.cache, {shown} if shown else set()))

    def _cache_changed(self, state: CacheState) -> None:
        for trace_id in state.evicted:
            self.model.mark_cached(trace_id, False)
        self.cache_label.setText(state.text())
        if state.evicted and self.context.store_path == state.path:
            self.context.refresh()

    # --- opening ----------------------------------------------------------------------------------

    def selected_trace(self) -> RemoteTrace | None:
        index = self.view.currentIndex()
        return self.model.trace_at(index.row()) if index.isValid() else None

    def _update_buttons(self) -> None:
        chosen = self.client is not None and self.selected_trace() is not None
        self.open_button.setEnabled(chosen)
        self.refresh_button.setEnabled(chosen)

    def _open_index(self, index: QModelIndex) -> None:
        """Double-click: open the trace (fetched into the cache first when it is not there)."""
        trace = self.model.trace_at(index.row())
        if trace is not None:
            self.open_trace(trace.trace_id)

    def open_selected(self, refresh: bool = False) -> None:
        trace = self.selected_trace()
        if trace is not None:
            self.open_trace(trace.trace_id, refresh=refresh)

    def open_trace(self, trace_id: str, refresh: bool = False) -> None:
        """Show `trace_id` in the main window: from the cache store, fetched into it first when it is
        not there or `refresh`; a newer Open drops this one."""
        if self.client is None or self.cache is None:
            return
        self.poll.stop(quietly=True)
        self._clear_error()
        fetching = refresh or not self.model.is_cached(trace_id)
        host = self.client.url.host
        self.fetch_label.setText(
            f"Fetching trace {trace_id} from {host}…"
            if fetching
            else f"Opening trace {trace_id} from the cache…"
        )
        self.fetch_bar.setRange(0, 0)
        self.fetch_bar.show()
        self.cancel_button.show()
        self.fetch_worker.start(fetch(self.client, trace_id, self.cache, refresh=refresh))

    def _fetch_progress(self, step: object) -> None:
        if not isinstance(step, FetchStep):
            return
        if step.total:
            self.fetch_bar.setRange(0, step.total)
            self.fetch_bar.setValue(min(step.done, step.total))
            self.fetch_bar.setFormat(f"{step.done:,} of {step.total:,}")
        else:
            self.fetch_bar.setRange(0, 0)
        self.fetch_label.setText(
            f"Fetching {step.what} from {self.client.url.host if self.client else 'the server'}…"
        )

    def _fetch_ended(self) -> None:
        self.fetch_bar.hide()
        self.fetch_bar.resetFormat()
        self.cancel_button.hide()

    def cancel_fetch(self) -> None:
        """Stop the fetch: the cache keeps a trace whole or not at all, so nothing half-fetched stays."""
        self.fetch_worker.cancel()
        self._fetch_ended()
        self.fetch_label.setText("Fetch cancelled: the trace is not shown, and no part of it is kept.")

    def _fetched(self, done: Fetched | None) -> None:
        if done is None:
            return
        self._fetch_ended()
        self.fetch_label.setToolTip("")
        if done.error is not None:
            self.fetch_label.clear()
            self._show_error(done.error)
            return
        self.model.mark_cached(done.trace_id)
        if done.cache is not None:
            self._cache_changed(done.cache)
        if self.context.store_path != done.store:
            if not self._open_store(done.store):
                self.fetch_label.setText(
                    f"Trace {done.trace_id} is cached, but the cache store could not be opened."
                )
                return
        else:
            self.context.refresh()
        self.context.show_trace(done.trace_id)
        text = f"Trace {done.trace_id}: {done.spans:,} spans, shown in the main window"
        if done.problems:
            text += f"; {len(done.problems):,} records left out (hover for why)"
            self.fetch_label.setToolTip(plain_tooltip("\n".join(f"{w}: {why}" for w, why in done.problems)))
        if done.running and self.client is not None and self.cache is not None:
            text += f"; still running, fetched again every {self.poll.timer.interval() // 1000} s while shown"
            self.poll.watch(self.client, done.trace_id, self.cache)
        self.fetch_label.setText(text)

    def _fetch_crashed(self, text: str) -> None:
        self._fetch_ended()
        self.fetch_label.clear()
        self._show_error(f"Fetching the trace failed unexpectedly:\n{text}")

    def _poll_said(self, text: str) -> None:
        self.fetch_label.setText(text)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing stops what the browser was asked to do, but a running trace's poll goes on while the
        main window shows it (File > Connect to Server… shows this browser again)."""
        self.connect_worker.cancel()
        self.list_worker.cancel()
        if self.fetch_worker.busy:
            self.cancel_fetch()
        super().closeEvent(event)


def _traces(n: int) -> str:
    return f"{n:,} trace" if n == 1 else f"{n:,} traces"


def open_remote_browser(window: Any) -> QtRemoteBrowser:
    """The main window's browser (made on first use, kept while the window lives), brought forward."""
    browser = window.findChild(QtRemoteBrowser)
    if browser is None:
        browser = QtRemoteBrowser(window.context, window.settings, window.open_store, window)
        # The poll goes on with the browser closed: what it says shows in the window's status bar too.
        browser.poll.said.connect(lambda text: window.statusBar().showMessage(text, 10_000))
    browser.show()
    browser.raise_()
    browser.activateWindow()
    return browser
