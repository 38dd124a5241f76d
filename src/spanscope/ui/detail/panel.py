"""The step detail panel: everything about the selected span, in tabs."""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap, QShowEvent
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QHBoxLayout,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from spanscope.core.evaluation.grounding import Grounding, ground_span
from spanscope.core.model import Kind, Span, Status
from spanscope.core.presentation.content import attribute_rows, missing_content_note
from spanscope.core.store.queries import NotFound, get_span, span_scores
from spanscope.ui.context import QtObserver, QtTraceContext
from spanscope.ui.detail.attributes import QtAttributesView
from spanscope.ui.detail.events import events_html
from spanscope.ui.detail.grounding import grounding_html
from spanscope.ui.detail.header import QtSpanHeader
from spanscope.ui.detail.logs import QtLogsView
from spanscope.ui.detail.payload import QtPayloadSection
from spanscope.ui.detail.reading import markdown_choice
from spanscope.ui.detail.rich_view import QtRichView
from spanscope.ui.detail.scores import scores_html
from spanscope.ui.detail.usage import QtUsageView
from spanscope.ui.reference_answers import QtReferenceAnswers, reference_answers
from spanscope.ui.replay.corner import QtReplayCorner
from spanscope.ui.style import ERROR_COLOR

IO_TAB, ATTRIBUTES_TAB, EVENTS_TAB, USAGE_TAB, SCORES_TAB, GROUNDING_TAB, LOGS_TAB = range(7)
#: Where the input/output split the reader last set is remembered.
SPLIT_KEY = "detail/io_split"
#: Until the reader moves it, the input (usually the longer) takes this share of the height.
INPUT_SHARE = 0.6
#: The least height, in text lines, of a scrolling view on a tab other than I/O: what keeps the
#: panel's least height low, so on a 720p screen the trace list above keeps its rows.
PAGE_VIEW_MIN_LINES = 2


def _dot(color: str, size: int = 10) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(color))
    painter.drawEllipse(1, 1, size - 2, size - 2)
    painter.end()
    return QIcon(pixmap)


def _counted(title: str, n: int) -> str:
    return f"{title} ({n})" if n else title


class QtDetailPanel(QWidget, QtObserver):
    """Shows the context's current span; `set_span` shows any span directly (None clears).

    With `settings`, the input/output split and the choice of markdown or raw text are remembered."""

    #: The user asked to annotate this span, or (span id '') the whole trace.
    annotate_requested = Signal(str, str)

    def __init__(
        self,
        context: QtTraceContext | None = None,
        parent: QWidget | None = None,
        settings: QSettings | None = None,
    ) -> None:
        QWidget.__init__(self, parent)
        self.context = context
        self.settings = settings
        self.span: Span | None = None
        self.references: QtReferenceAnswers | None = None
        self.header = QtSpanHeader()
        self.markdown = markdown_choice(settings, self)
        self.input = QtPayloadSection("Input", self.markdown, expandable=True)
        self.output = QtPayloadSection("Output", self.markdown, expandable=True)
        self._shared_sizes: list[int] | None = None
        for section in (self.input, self.output):
            section.expand_requested.connect(partial(self._expand, section))
        self.io = QSplitter(Qt.Orientation.Vertical, childrenCollapsible=False, handleWidth=6)
        self.io.addWidget(self.input)
        self.io.addWidget(self.output)
        self.io.setStretchFactor(0, 3)
        self.io.setStretchFactor(1, 2)
        self._split_restored = settings is not None and self.io.restoreState(settings.value(SPLIT_KEY, b""))
        self.io.splitterMoved.connect(self._remember_split)
        self.attributes = QtAttributesView()
        self.events = QtRichView()
        self.usage = QtUsageView()
        self.scores = QtRichView()
        self.grounding = QtRichView()
        self.logs = QtLogsView()
        self.usage.trees = lambda trace_id: self.context.trace_tree(trace_id) if self.context else None
        self.tabs = QTabWidget(
            documentMode=True, usesScrollButtons=False, elideMode=Qt.TextElideMode.ElideRight
        )
        for page, title in (
            (self.io, "I/O"),
            (self.attributes, "Attributes"),
            (self.events, "Events"),
            (self.usage, "Usage"),
            (self._scores_page(), "Scores"),
            (self.grounding, "Grounding"),
            (self.logs, "Logs"),
        ):
            self.tabs.addTab(page, title)
            if page is not self.io:
                self._let_views_shrink(page)
        self.tabs.setTabToolTip(IO_TAB, "The span's input and output")
        #: "Replay…" on an LLM span, and its replays (main window: replay_corner.replay_requested).
        self.replay_corner = QtReplayCorner(context)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        top = QHBoxLayout()
        top.addWidget(self.header, 1)
        top.addWidget(self.replay_corner, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(top)
        layout.addWidget(self.tabs, 1)
        self.set_span(None)
        if context is not None:
            self.references = reference_answers(context)
            self.references.changed.connect(lambda: self._show_scores(self.span))
            context.register(self)

    def _remember_split(self) -> None:
        if self.settings is not None:
            self.settings.setValue(SPLIT_KEY, self.io.saveState())

    def _expand(self, section: QtPayloadSection) -> None:
        """Give `section` all the height but the other's title line, or, when it has it, share again."""
        sizes = self.io.sizes()
        other = 1 - self.io.indexOf(section)
        floor = self.io.widget(other).minimumSizeHint().height()
        if sizes[other] <= floor + 2 and self._shared_sizes is not None:
            self.io.setSizes(self._shared_sizes)
            self._shared_sizes = None
            return
        self._shared_sizes = sizes
        expanded = [sum(sizes) - floor] * 2
        expanded[other] = floor
        self.io.setSizes(expanded)

    def showEvent(self, event: QShowEvent) -> None:
        """The first time it is laid out, the split gets its default share unless one was restored."""
        super().showEvent(event)
        if not self._split_restored:
            self._split_restored = True
            total = sum(self.io.sizes())
            self.io.setSizes([round(total * INPUT_SHARE), total - round(total * INPUT_SHARE)])

    def _scores_page(self) -> QWidget:
        """The scores, under buttons to annotate the span or its trace."""
        buttons = QHBoxLayout()
        buttons.setContentsMargins(4, 4, 4, 0)
        for text, whole_trace in (("Annotate Span…", False), ("Annotate Trace…", True)):
            button = QPushButton(text)
            button.clicked.connect(lambda _=False, whole=whole_trace: self._annotate(whole))
            buttons.addWidget(button)
        buttons.addStretch(1)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(buttons)
        layout.addWidget(self.scores, 1)
        return page

    def _let_views_shrink(self, page: QWidget) -> None:
        """Let `page`'s scrolling views shrink to PAGE_VIEW_MIN_LINES lines (Qt's least is about
        four): no tab then asks much more height than the I/O tab's two title lines."""
        lines = PAGE_VIEW_MIN_LINES * self.fontMetrics().lineSpacing()
        for view in page.findChildren(QAbstractScrollArea):
            view.setMinimumHeight(min(view.minimumSizeHint().height(), lines + 2 * view.frameWidth()))

    def _annotate(self, whole_trace: bool) -> None:
        if self.span is not None:
            self.annotate_requested.emit(self.span.trace_id, "" if whole_trace else self.span.span_id)

    # --- QtObserver -----------------------------------------------------------------------------

    def on_store_loaded(self, context: QtTraceContext) -> None:
        """The store changed: a review may have been given, so the span's scores are read again."""
        self.context = context
        span = self.span
        self.replay_corner.set_span(span)
        if span is None or context.db is None:
            return
        scores = span_scores(context.db, span.trace_id, span.span_id, root=span.parent_id is None)
        if scores != span.scores:
            span.scores = scores
            self._show_scores(span)

    def on_store_closed(self) -> None:
        self.set_span(None)

    def on_trace_changed(self, trace_id: str | None) -> None:
        self.set_span(None)

    def on_span_changed(self, trace_id: str | None, span_id: str | None) -> None:
        db = self.context.db if self.context is not None else None
        if db is None or trace_id is None or span_id is None:
            self.set_span(None)
            return
        try:
            self.set_span(get_span(db, trace_id, span_id))
        except NotFound:
            self.set_span(None)

    # --- showing a span -------------------------------------------------------------------------

    def set_span(self, span: Span | None) -> None:
        self.span = span
        self.header.set_span(span)
        self.replay_corner.set_span(span)
        failed = span is not None and span.status is Status.ERROR
        if span is None:
            self.input.set_value(None, "")
            self.output.set_value(None, "")
        else:
            note = missing_content_note(span)
            self.input.set_value(span.input, note or "No input recorded.")
            self.output.set_value(
                span.output,
                "No output: the span failed (see Events)." if failed else note or "No output recorded.",
            )
        rows = [] if span is None else attribute_rows(span)
        self.attributes.set_rows(rows)
        self.events.set_renderer(None if span is None else partial(events_html, span))
        self.usage.set_span(span)
        self._show_scores(span)
        self.tabs.setTabText(ATTRIBUTES_TAB, _counted("Attributes", len(rows)))
        self.tabs.setTabText(EVENTS_TAB, _counted("Events", len(span.events) if span else 0))
        self.tabs.setTabIcon(EVENTS_TAB, _dot(ERROR_COLOR) if failed else QIcon())
        records = span.logs if span is not None else []
        self.logs.set_logs(records)
        self.tabs.setTabText(LOGS_TAB, _counted("Logs", len(records)))
        self.tabs.setTabVisible(LOGS_TAB, bool(records))
        self.tabs.tabBar().setTabTextColor(EVENTS_TAB, QColor(ERROR_COLOR) if failed else QColor())
        self.tabs.setEnabled(span is not None)
        found = self._grounding(span)
        self.grounding.set_renderer(None if found is None else partial(grounding_html, found))
        self.tabs.setTabVisible(GROUNDING_TAB, found is not None)
        self.tabs.setTabToolTip(
            GROUNDING_TAB, "Which retrieved passages share the words of each sentence of the answer"
        )

    def _grounding(self, span: Span | None) -> Grounding | None:
        """The answer's grounding when the span is an LLM call with documents to check it against."""
        db = self.context.db if self.context is not None else None
        if span is None or db is None or span.kind is not Kind.LLM:
            return None
        try:
            return ground_span(db, span, self.context.trace_tree(span.trace_id))
        except NotFound:
            return None

    def _show_scores(self, span: Span | None) -> None:
        """The span's scores, after its reference metrics when it has a reference answer."""
        reference = None if span is None or self.references is None else self.references.reference(span)
        self.scores.set_renderer(None if span is None else partial(scores_html, span, reference=reference))
        title = _counted("Scores", len(span.scores) if span else 0)
        self.tabs.setTabText(SCORES_TAB, title + (" + metrics" if reference is not None else ""))
