"""The Search tab: find spans across the whole store by their text, open one in the Traces view.

The index is built lazily: the first time the tab is shown, and after each import into a store
whose index was started (search was used on it once), `build_index` runs on a worker of its own
(its own writable connection, short transactions, so imports never wait long; asked again while
running, it runs once more after); queries run on a latest-wins worker. Until the index has caught
up, the status line says how far it got and results cover the spans indexed so far.
"""

from __future__ import annotations

import html
from functools import partial
from pathlib import Path

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRectF,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QAbstractTextDocumentLayout,
    QColor,
    QFocusEvent,
    QKeyEvent,
    QPainter,
    QPalette,
    QShowEvent,
    QTextDocument,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from spanscope.core.search.find import COUNT_CAP, Hit, SearchResult, search
from spanscope.core.search.index import IndexState, IndexStatus, build_index, index_started
from spanscope.core.search.query import SYNTAX_HELP, QuerySyntaxError
from spanscope.ui.context import QtObserver, QtTraceContext
from spanscope.ui.style import ERROR_COLOR, MUTED_COLOR, kind_icon, tint
from spanscope.ui.workers import Policy, QtWorker, TaskState

#: Spans listed per search; the count says how many more match.
RESULT_LIMIT = 200
#: Typing pauses this long before the search runs (Enter runs it at once).
TYPING_PAUSE_MS = 300
#: The trace column fits its names within these bounds (pixels).
TRACE_WIDTH = (140, 260)
#: Behind a match in a snippet (style.tint: dark on a dark palette, under the palette's text).
MARK_BACKGROUND = "#ffe066"


def _index(path: Path, state: TaskState) -> IndexStatus:
    """Bring the store's index up to date; build_index writes through a connection of its own."""
    return build_index(path, IndexState(on_progress=state.report, cancel_event=state.cancel_event))


class QtSearchResults(QAbstractTableModel):
    HEADERS = ("Trace", "Span", "Kind", "Field", "Match")
    MATCH = 4

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.hits: list[Hit] = []

    def set_hits(self, hits: list[Hit]) -> None:
        self.beginResetModel()
        self.hits = hits
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.hits)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.HEADERS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        hit = self.hits[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                hit.trace_name or hit.trace_id[:12],
                hit.span_name or "",
                hit.kind,
                hit.field or "",
                hit.snippet,
            )[column]
        if role == Qt.ItemDataRole.DecorationRole and column == 1:
            return kind_icon(hit.kind)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"trace {hit.trace_id}\nspan {hit.span_id}" + (f"\nmodel {hit.model}" if hit.model else "")
        if role == Qt.ItemDataRole.ForegroundRole and column == 1 and hit.status == "error":
            return QColor(ERROR_COLOR)
        return None


def snippet_html(hit: Hit) -> str:
    """The snippet as rich text, each match marked."""
    parts, at, mark = [], 0, f'<span style="background-color:{tint(MARK_BACKGROUND)}">'
    for start, end in hit.marks:
        parts += [html.escape(hit.snippet[at:start]), mark]
        parts += [html.escape(hit.snippet[start:end]), "</span>"]
        at = end
    return "".join([*parts, html.escape(hit.snippet[at:])])


class QtSnippetDelegate(QStyledItemDelegate):
    """Draws a snippet on one line with its matches highlighted."""

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        self.initStyleOption(option, index)
        model = index.model()
        hit = model.hits[index.row()] if isinstance(model, QtSearchResults) else None
        option.text = ""
        widget = option.widget
        style = widget.style() if widget is not None else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, option, painter, widget)
        if hit is None:
            return
        doc = QTextDocument()
        doc.setDefaultFont(option.font)
        doc.setDocumentMargin(0)
        doc.setHtml(f'<span style="white-space:pre">{snippet_html(hit)}</span>')
        context = QAbstractTextDocumentLayout.PaintContext()
        selected = option.state & QStyle.StateFlag.State_Selected
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        context.palette.setColor(QPalette.ColorRole.Text, option.palette.color(role))
        rect = option.rect.adjusted(4, 0, -4, 0)
        painter.save()
        painter.translate(rect.left(), rect.top() + (rect.height() - doc.size().height()) / 2)
        painter.setClipRect(QRectF(0, -rect.height(), rect.width(), rect.height() * 3))
        doc.documentLayout().draw(painter, context)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        hint = super().sizeHint(option, index)
        return QSize(min(hint.width(), 900), hint.height())


class _QueryBox(QLineEdit):
    """The query line; Down moves into the results."""

    down = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Down:
            self.down.emit()
            return
        super().keyPressEvent(event)


class _ResultsView(QTableView):
    """The results; Enter opens the current one."""

    activated_row = Signal(int)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.activated_row.emit(self.currentIndex().row())
            return
        super().keyPressEvent(event)


class QtSearchPanel(QWidget, QtObserver):
    """Query box, syntax help, results and a status line with the hit count and indexing progress."""

    #: A search's results are shown (tests and the screenshot wait for it).
    searched = Signal()

    def __init__(self, context: QtTraceContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self._used = False
        self._index: IndexStatus | None = None
        self._index_error = ""
        self._result: SearchResult | None = None
        self._message = ""

        self.query = _QueryBox()
        self.query.setPlaceholderText(
            'Search every span: words, "a phrase", prefix*, kind:llm, status:error …'
        )
        self.query.setClearButtonEnabled(True)
        help_label = QLabel(SYNTAX_HELP.replace(";  ", "  ·  "))
        help_label.setWordWrap(True)
        help_label.setStyleSheet(f"color: {MUTED_COLOR};")
        self.results = QtSearchResults(self)
        self.view = _ResultsView()
        self.view.setModel(self.results)
        self.view.setItemDelegateForColumn(QtSearchResults.MATCH, QtSnippetDelegate(self.view))
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setWordWrap(False)
        self.view.verticalHeader().hide()
        self.view.setAlternatingRowColors(True)
        header = self.view.horizontalHeader()
        for column, width in enumerate((200, 200, 90, 80)):
            header.resizeSection(column, width)
        header.setSectionResizeMode(QtSearchResults.MATCH, QHeaderView.ResizeMode.Stretch)
        self.status = QLabel()
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        top = QHBoxLayout()
        top.addWidget(QLabel("Find:"))
        top.addWidget(self.query, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(help_label)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.status)

        self._typing = QTimer(self, singleShot=True, interval=TYPING_PAUSE_MS)
        self._typing.timeout.connect(self.run_search)
        self.query.textEdited.connect(lambda _: self._typing.start())
        self.query.returnPressed.connect(self.run_search)
        self.query.down.connect(self._enter_results)
        self.view.doubleClicked.connect(lambda index: self.open_row(index.row()))
        self.view.activated_row.connect(self.open_row)
        self.indexer = QtWorker("Search index", self, Policy.ONCE_MORE)
        self.indexer.progress.connect(self._on_index_progress)
        self.indexer.finished.connect(self._on_index_finished)
        self.indexer.failed.connect(self._on_index_failed)
        self._job = QtWorker("Search", self, Policy.LATEST)
        self._job.finished.connect(self._on_results)
        self._job.failed.connect(self._show_message)
        context.register(self)
        self._update_status()

    # --- the context ------------------------------------------------------------------------------

    def on_store_loaded(self, context: QtTraceContext) -> None:
        if self._used or (context.db is not None and index_started(context.db)):
            self._start_indexing()

    def on_store_closed(self) -> None:
        self.stop()
        self._index, self._result, self._message = None, None, ""
        self.results.set_hits([])
        self._update_status()

    # --- indexing ---------------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._used:
            self._used = True
            self._start_indexing()

    def _start_indexing(self) -> None:
        if self._context.store_path is not None:
            self._index_error = ""
            self.indexer.start(partial(_index, self._context.store_path))

    def _on_index_progress(self, status: IndexStatus) -> None:
        self._index = status
        self._update_status()

    def _on_index_finished(self, status: IndexStatus) -> None:
        caught_up = status.complete and (self._index is None or not self._index.complete)
        self._index = status
        self._update_status()
        if caught_up and self.query.text().strip():
            self.run_search()  # results now cover every span

    def _on_index_failed(self, message: str) -> None:
        self._index_error = f"cannot index the store: {message}"
        self._update_status()

    def stop(self) -> None:
        """Stop indexing and searching (the store or the window is closing)."""
        self.indexer.cancel()
        self.indexer.wait(5000)
        self._job.cancel()
        self._job.wait(2000)

    # --- searching --------------------------------------------------------------------------------

    def focusInEvent(self, event: QFocusEvent) -> None:
        """Brought forward by its shortcut: the query, selected, so typing replaces it."""
        super().focusInEvent(event)
        self.query.setFocus()
        self.query.selectAll()

    def run_search(self) -> None:
        self._typing.stop()
        text = self.query.text()
        path = self._context.store_path
        if path is None or not text.strip():
            self._job.cancel()
            self._result, self._message = None, ""
            self.results.set_hits([])
            self._update_status()
            return

        def part(db):
            try:
                return search(db, text, limit=RESULT_LIMIT)
            except QuerySyntaxError as exc:
                return exc

        self._job.start_reads(path, {"result": part})

    def _on_results(self, values: dict) -> None:
        value = values["result"]
        if isinstance(value, QuerySyntaxError):
            self._show_message(str(value))
            return
        self._result, self._message = value, ""
        if not self.indexer.busy:
            self._index = value.index
        self.results.set_hits(value.hits)
        if value.hits:
            self.view.resizeColumnToContents(0)
            self.view.setColumnWidth(0, max(TRACE_WIDTH[0], min(self.view.columnWidth(0), TRACE_WIDTH[1])))
        self._update_status()
        self.searched.emit()

    def _show_message(self, message: str) -> None:
        self._result, self._message = None, message
        self.results.set_hits([])
        self._update_status()
        self.searched.emit()

    def _enter_results(self) -> None:
        if self.results.rowCount():
            self.view.setFocus()
            self.view.selectRow(0)

    def open_row(self, row: int) -> None:
        """Show the hit's span in the Traces view."""
        if 0 <= row < len(self.results.hits):
            hit = self.results.hits[row]
            self._context.open_span(hit.trace_id, hit.span_id)

    # --- status line ------------------------------------------------------------------------------

    def _update_status(self) -> None:
        parts = []
        if self._message:
            parts.append(f'<span style="color:{ERROR_COLOR}">{html.escape(self._message)}</span>')
        elif self._result is not None:
            r = self._result
            if r.more:
                parts.append(
                    f"more than {COUNT_CAP:,} matching spans: the best {len(r.hits):,} of the newest "
                    f"{COUNT_CAP:,} are shown; add words or filters to narrow"
                )
            else:
                shown = f" ({len(r.hits):,} shown)" if len(r.hits) < r.count else ""
                parts.append(f"{r.count:,} matching span{'s' if r.count != 1 else ''}{shown}")
        if self._index_error:
            parts.append(f'<span style="color:{ERROR_COLOR}">{html.escape(self._index_error)}</span>')
        elif self._index is not None and not self._index.complete:
            parts.append(
                f"indexing… {self._index.indexed:,} of {self._index.total:,} spans "
                "(results cover the spans indexed so far)"
            )
        elif self._index is not None:
            parts.append(f"{self._index.total:,} spans indexed")
        self.status.setText(
            "  ·  ".join(parts) or "Type to search every span's name, input, output and attributes"
        )
