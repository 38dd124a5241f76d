"""Review mode: the traces of the trace list's filter, one at a time, rated from the keyboard.

Each trace shows what it was asked and what it finally answered, side by side, with the reviewer's
own review below and the scores others gave it. J/K move, 1-5 rate, U/D give thumbs, L picks a
label, C comments, N jumps to the next trace not yet reviewed. Every review is stored as it is
given; the other views catch up when the tab is left.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QHideEvent, QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from spanscope.core.model import Span
from spanscope.core.presentation import display
from spanscope.core.review.annotations import (
    RATING,
    RATINGS,
    THUMBS,
    THUMBS_DOWN,
    THUMBS_UP,
    WHOLE_TRACE,
    Given,
    given_by,
)
from spanscope.core.review.session import ReviewWalk, TraceIO, trace_io
from spanscope.core.store.queries import TraceRow, trace_scores
from spanscope.core.store.trace_query import TraceFilter
from spanscope.ui.context import QtObserver, QtTraceContext
from spanscope.ui.detail.html import coloured, esc, muted
from spanscope.ui.detail.payload import QtPayloadSection
from spanscope.ui.detail.reading import markdown_choice
from spanscope.ui.review.annotate_dialog import others_html
from spanscope.ui.review.form import QtReviewForm
from spanscope.ui.review.label_menu import QtLabelMenu
from spanscope.ui.review.reviewer import QtReviewer
from spanscope.ui.style import ERROR_COLOR, MUTED_COLOR
from spanscope.ui.trace_list_model import COLUMNS

#: What the list shows: its filter, sort column, descending, the trace selected in it, and the
#: rowids of the traces it lists, in its order.
ListState = tuple[TraceFilter, str, bool, str | None, array]

KEYS_HELP = (
    "<b>J</b>/<b>K</b> next/previous · <b>1</b>–<b>5</b> rate · <b>0</b> no rating · "
    "<b>U</b>/<b>D</b> thumbs up/down · <b>L</b> label · <b>C</b> comment · <b>N</b> next not reviewed"
)
REVIEWED_COLOR = "#27ae60"


class QtReviewTab(QWidget, QtObserver):
    """Walks the traces `list_state()` describes when review mode starts."""

    #: The user asked to see this trace in the Traces tab.
    open_trace = Signal(str)

    def __init__(
        self,
        context: QtTraceContext,
        reviewer: QtReviewer,
        list_state: Callable[[], ListState],
        parent: QWidget | None = None,
    ) -> None:
        QWidget.__init__(self, parent)
        self.context = context
        self.reviewer = reviewer
        self.list_state = list_state
        self.walk: ReviewWalk | None = None
        self.trace: TraceRow | None = None
        self.io: TraceIO | None = None
        self._build()
        self._bind_keys()
        reviewer.changed.connect(self._reviewer_changed)
        context.register(self)

    # --- building -------------------------------------------------------------------------------

    def _build(self) -> None:
        self.progress = QProgressBar(textVisible=False, maximumHeight=10, maximumWidth=220)
        self.progress_label = QLabel()
        self.position_label = QLabel()
        self.walk_label = QLabel(textFormat=Qt.TextFormat.RichText)
        self.reviewer_name = QLineEdit(maximumWidth=160, toolTip="Reviews are given under this name")
        self.reviewer_name.editingFinished.connect(
            lambda: self.reviewer.set_author(self.reviewer_name.text())
        )
        next_open = QPushButton("Next Not Reviewed (N)", clicked=self.next_unreviewed)
        restart = QPushButton("Restart from Trace List", clicked=self.start)
        restart.setToolTip("Walk the traces the trace list shows now, in its order")
        for button in (next_open, restart):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        top = QHBoxLayout()
        top.addWidget(self.progress)
        top.addWidget(self.progress_label)
        top.addSpacing(16)
        top.addWidget(self.position_label)
        top.addSpacing(16)
        top.addWidget(self.walk_label)
        top.addStretch(1)
        top.addWidget(next_open)
        top.addWidget(restart)
        top.addSpacing(16)
        top.addWidget(QLabel("Reviewer"))
        top.addWidget(self.reviewer_name)

        self.title = QLabel(textFormat=Qt.TextFormat.RichText)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details = QLabel(textFormat=Qt.TextFormat.RichText)
        open_button = QPushButton("Open in Traces", clicked=self._open_in_traces)
        open_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        header = QHBoxLayout()
        heading = QVBoxLayout()
        heading.addWidget(self.title)
        heading.addWidget(self.details)
        header.addLayout(heading, 1)
        header.addWidget(open_button, 0, Qt.AlignmentFlag.AlignTop)

        markdown = markdown_choice(self.reviewer.settings, self)
        self.input = QtPayloadSection("Input", markdown)
        self.output = QtPayloadSection("Final output", markdown)
        io = QSplitter(Qt.Orientation.Horizontal, childrenCollapsible=False)
        io.addWidget(self.input)
        io.addWidget(self.output)
        io.setStretchFactor(0, 2)
        io.setStretchFactor(1, 3)

        self.form = QtReviewForm("A comment on the whole trace (C), Enter to save it, Escape to leave it")
        self.form.edited.connect(self._give)
        self.form.comment.left.connect(self.setFocus)
        self.form.comment.given.connect(lambda _: self.setFocus())
        self.others = QLabel(textFormat=Qt.TextFormat.RichText, wordWrap=True)
        self.others.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.failure = QLabel(textFormat=Qt.TextFormat.RichText, wordWrap=True)
        self.failure.hide()
        others_box = QVBoxLayout()
        others_box.addWidget(QLabel("<b>Other scores of this trace</b>", textFormat=Qt.TextFormat.RichText))
        others_box.addWidget(self.others, 1)
        self.form_heading = QLabel(textFormat=Qt.TextFormat.RichText)
        form_box = QVBoxLayout()
        form_box.addWidget(self.form_heading)
        form_box.addWidget(self.form)
        review = QHBoxLayout()
        review.addLayout(form_box, 3)
        review.addSpacing(24)
        review.addLayout(others_box, 2)
        keys = QLabel(
            f'<span style="color: {MUTED_COLOR}">{KEYS_HELP}</span>', textFormat=Qt.TextFormat.RichText
        )

        page = QWidget()
        body = QVBoxLayout(page)
        body.setContentsMargins(0, 0, 0, 0)
        body.addLayout(header)
        body.addWidget(io, 1)
        body.addLayout(review)
        body.addWidget(self.failure)
        body.addWidget(keys)
        self.empty = QLabel(alignment=Qt.AlignmentFlag.AlignCenter, wordWrap=True)
        self.pages = QStackedWidget()
        self.pages.addWidget(page)
        self.pages.addWidget(self.empty)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addLayout(top)
        layout.addWidget(self.pages, 1)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.label_menu = QtLabelMenu(self)
        self.label_menu.picked.connect(self._label)

    def _bind_keys(self) -> None:
        bindings: list[tuple[str, Callable[[], object]]] = [
            ("J", lambda: self.move(1)),
            ("K", lambda: self.move(-1)),
            ("U", lambda: self.choose(THUMBS, Given(label=THUMBS_UP))),
            ("D", lambda: self.choose(THUMBS, Given(label=THUMBS_DOWN))),
            ("0", lambda: self.choose(RATING, None)),
            ("L", self.pick_label),
            ("C", self.edit_comment),
            ("N", self.next_unreviewed),
        ]
        bindings += [(str(n), lambda n=n: self.choose(RATING, Given(float(n)))) for n in RATINGS]
        self.shortcuts: list[QShortcut] = []
        for key, slot in bindings:
            shortcut = QShortcut(
                QKeySequence(key), self, context=Qt.ShortcutContext.WidgetWithChildrenShortcut
            )
            shortcut.activated.connect(slot)
            self.shortcuts.append(shortcut)
        # The open label menu takes digits itself: a popup leaves the focus where it was, so the
        # tab's own keys would otherwise still match.
        self.label_menu.aboutToShow.connect(lambda: self._keys_enabled(False))
        self.label_menu.aboutToHide.connect(lambda: self._keys_enabled(True))

    def _keys_enabled(self, enabled: bool) -> None:
        for shortcut in self.shortcuts:
            shortcut.setEnabled(enabled)

    # --- walking --------------------------------------------------------------------------------

    def start(self) -> None:
        """Walk the traces the trace list shows now, from the trace selected there."""
        db = self.context.db
        if db is None:
            self.walk = None
        else:
            trace_filter, order_by, descending, current, rowids = self.list_state()
            self.walk = ReviewWalk(db, trace_filter, order_by, descending, self.reviewer.author, rowids)
            self.walk.go_to(current)
        self._show_current()
        self.setFocus()

    def move(self, step: int) -> None:
        if self.walk is not None and self.walk.move(step):
            self._show_current()

    def next_unreviewed(self) -> None:
        if self.walk is None:
            return
        if self.walk.next_unreviewed():
            self._show_current()
        else:
            self._show_failure("Every trace here is reviewed.", error=False)

    def choose(self, name: str, given: Given | None) -> None:
        """Give `given` under `name` to the current trace (a key's action)."""
        if self.trace is not None:
            self.form.choose(name, given)

    def pick_label(self) -> None:
        """Offer every label of every set, numbered; the chosen one is given (or, if given, taken back)."""
        if self.trace is None:
            return
        sets = self.reviewer.label_sets()
        given = {name: buttons.value() for name, buttons in self.form.labels.items()}
        anchor = self.form.labels[sets[0].name] if sets and sets[0].name in self.form.labels else self.form
        self.label_menu.offer(sets, given, anchor.mapToGlobal(anchor.rect().bottomLeft()))

    def _label(self, name: str, label: str, on: bool) -> None:
        self.choose(name, Given(label=label) if on else None)

    def edit_comment(self) -> None:
        if self.trace is not None:
            self.form.comment.setFocus()
            self.form.comment.selectAll()

    def _give(self, name: str, given: Given | None) -> None:
        """Store one change to the current trace's review, then show what the store now holds."""
        if self.trace is None or self.walk is None:
            return
        error = self.reviewer.give(self.trace.trace_id, WHOLE_TRACE, {name: given}, tell_views=False)
        if error is None:
            self.failure.hide()
            self.walk.recount()
        else:
            self._show_failure(error)
        self._show_review()

    # --- showing --------------------------------------------------------------------------------

    def _show_current(self) -> None:
        walk, db = self.walk, self.context.db
        self.trace = None if walk is None or db is None else walk.trace()
        if self.trace is None or db is None:
            self.io = None
            self.empty.setText(
                "No store is open." if db is None else "No traces to review: the trace list shows none."
            )
            self.pages.setCurrentWidget(self.empty)
            self._show_progress()
            return
        self.pages.setCurrentWidget(self.pages.widget(0))
        self.io = trace_io(db, self.trace.trace_id)
        self.input.title = _from("Input", self.io.input_span)
        self.input.set_value(self.io.input, "No input recorded.")
        self.output.title = _from("Final output", self.io.output_span)
        self.output.set_value(self.io.output, "No output recorded, on the root span or any model call.")
        self.details.setText(_details(self.trace))
        self._show_review()

    def _show_review(self) -> None:
        """The parts that change with a review: the form, others' scores, badge and progress."""
        db, trace = self.context.db, self.trace
        if db is None or trace is None or self.walk is None:
            return
        self.form.set_label_sets(self.reviewer.label_sets())
        self.form.load(given_by(db, trace.trace_id, WHOLE_TRACE, self.reviewer.author))
        scores = [s for span_id, s in trace_scores(db, trace.trace_id) if span_id == WHOLE_TRACE]
        self.others.setText(others_html(scores, self.reviewer.author))
        badge = (
            f"&nbsp;&nbsp;{coloured('✓ reviewed', REVIEWED_COLOR, bold=False)}"
            if self.walk.is_reviewed()
            else f"&nbsp;&nbsp;{muted('not reviewed yet')}"
        )
        self.title.setText(
            f'<span style="font-size: 14pt"><b>{esc(trace.root_name or trace.trace_id)}</b></span>{badge}'
        )
        self._show_progress()

    def _show_progress(self) -> None:
        walk = self.walk
        self.reviewer_name.setText(self.reviewer.author)
        self.form_heading.setText(f"<b>Your review of this trace</b> {muted('as ' + self.reviewer.author)}")
        total = 0 if walk is None else len(walk)
        done = 0 if walk is None else walk.reviewed_count
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress_label.setText(f"<b>{display.count(done)}</b> of {display.count(total)} reviewed")
        position = "" if walk is None or not total else f"Trace {walk.position + 1:,} of {total:,}"
        self.position_label.setText(position)
        self.walk_label.setText("" if walk is None else muted(describe(walk)))

    def _show_failure(self, text: str, error: bool = True) -> None:
        self.failure.setText(coloured(text, ERROR_COLOR if error else REVIEWED_COLOR, bold=False))
        self.failure.show()

    def _reviewer_changed(self) -> None:
        """Another reviewer name, or edited label sets: progress and review are read again."""
        if self.walk is not None:
            self.walk.author = self.reviewer.author
            self.walk.recount()
        self._show_review()
        self._show_progress()

    def _open_in_traces(self) -> None:
        if self.trace is not None:
            self.open_trace.emit(self.trace.trace_id)

    # --- QtObserver and visibility --------------------------------------------------------------

    def on_store_loaded(self, context: QtTraceContext) -> None:
        """Another store: the walk starts again there (new traces in this one do not join it)."""
        if self.walk is not None and self.walk.db is not context.db:
            self.walk = None
            if self.isVisible():
                self.start()

    def on_store_closed(self) -> None:
        self.walk = None
        self._show_current()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.walk is None:
            self.start()

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self.reviewer.catch_up()


def describe(walk: ReviewWalk) -> str:
    """Which traces the walk holds and in which order, as the trace list was set when it started."""
    f = walk.trace_filter
    parts = [f"matching “{f.text}”" if f.text else "", "with errors" if f.errors_only else ""]
    parts += [f"using {f.model}" if f.model else ""]
    parts += ["" if f.start_ns is None else f"since {display.timestamp(f.start_ns)}"]
    title = next((c.title for c in COLUMNS if c.key == walk.order_by), walk.order_by)
    order = "descending" if walk.descending else "ascending"
    return f"{' '.join(p for p in parts if p) or 'all traces'} · by {title}, {order}"


def _from(title: str, span: Span | None) -> str:
    """A section title saying which span the payload came from when it is not the root."""
    if span is None or span.parent_id is None:
        return title
    return f"{title} (from model call “{span.name}”)"


def _details(trace: TraceRow) -> str:
    """The trace's start, latency, size, cost, models, errors and id, on one line."""
    plain = (
        display.timestamp(trace.start_ns),
        display.duration(trace.duration_ns),
        f"{display.count(trace.span_count)} spans",
        display.cost(trace.cost_usd, computed=bool(trace.cost_computed), unknown=bool(trace.cost_unknown)),
        ", ".join(trace.models),
    )
    parts = [esc(p) for p in plain if p]
    if trace.error_count:
        parts.append(coloured(f"{display.count(trace.error_count)} errors", ERROR_COLOR))
    parts.append(muted(trace.trace_id))
    return " · ".join(parts)
