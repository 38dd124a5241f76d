"""Judge spans with an LLM: pick an evaluator, an endpoint and model, and what to judge (the selected
spans, the model calls of the selected traces, or what a search finds); Run judges them on a worker
(core/judge/run.py), with progress and Cancel; each result links to its span and to the judge's own
call. After a run the views are refreshed, so the scores show in the Scores tab, the trace list and
Compare models.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Qt
from PySide6.QtGui import QAction, QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from spanscope.core.endpoints.chat import EndpointError
from spanscope.core.endpoints.client import ModelClient, endpoint_for
from spanscope.core.endpoints.config import PRESETS, Endpoint, EndpointConfigError, read_endpoints
from spanscope.core.evaluation.reference_metrics import ReferenceMatcher
from spanscope.core.judge.evaluator import Evaluator, EvaluatorError, builtin_evaluators, load_evaluator
from spanscope.core.judge.run import JudgeArgs, Judgement, JudgeRun, Progress, is_judge_trace, run
from spanscope.core.judge.targets import DEFAULT_FILTER, Selection, select_in_traces, select_spans
from spanscope.core.search.index import IndexState, build_index
from spanscope.core.search.query import QuerySyntaxError, parse
from spanscope.core.store import connect
from spanscope.ui.context import QtTraceContext
from spanscope.ui.plain_tooltip import plain_tooltip
from spanscope.ui.reference_answers import reference_answers
from spanscope.ui.screen_fit import fit_to_screen
from spanscope.ui.style import ERROR_COLOR, MUTED_COLOR, ink
from spanscope.ui.workers import QtWorker, TaskState

TITLE = "Judge Spans"
SETTINGS_GROUP = "judge"
#: The evaluator first offered: it needs no reference answer, so it judges any span with an output.
DEFAULT_EVALUATOR = "helpfulness"
HEADERS = ("Span", "Trace", "Score", "Reasoning")
SPAN, TRACE, SCORE, REASONING = range(4)
#: The scopes a run can have, as the scope menu offers them.
SPANS, TRACES, SEARCH = "spans", "traces", "search"
#: The most selected traces a run takes (their model calls are capped by the limit anyway).
MAX_TRACES = 10_000


@dataclass(frozen=True)
class JudgeScope:
    """What the dialog was opened on: selected spans (trace id, span id) and selected traces."""

    spans: tuple[tuple[str, str], ...] = ()
    trace_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Request:
    """Everything a run needs, read from the widgets on the GUI thread."""

    store: Path
    scope: str
    scope_of: JudgeScope
    filter_text: str
    limit: int
    args: JudgeArgs


def _judging(request: _Request):
    """The worker's task: choose the spans (indexing first when the search has words), then judge them."""

    def task(state: TaskState) -> tuple[JudgeRun, Selection]:
        if request.scope == SEARCH and parse(request.filter_text).fts() is not None:
            build_index(request.store, IndexState(cancel_event=state.cancel_event))
        db = connect(request.store, readonly=True)
        try:
            judged = lambda trace_id: is_judge_trace(db, trace_id)  # noqa: E731
            if request.scope == SPANS:
                selection = Selection(list(request.scope_of.spans), False)
            elif request.scope == TRACES:
                traces = list(request.scope_of.trace_ids)
                selection = select_in_traces(db, judged, traces, limit=request.limit)
            else:
                selection = select_spans(db, judged, filter_text=request.filter_text, limit=request.limit)
        finally:
            db.conn.close()
        return run(replace(request.args, targets=selection.targets), state), selection

    return task


def _models(endpoint: Endpoint):
    def task(state: TaskState) -> list[str] | str:
        try:
            return ModelClient(endpoint).models()
        except EndpointError as exc:
            return str(exc)

    return task


class QtJudgeDialog(QDialog):
    """The evaluator, endpoint, model and scope above; Run, progress and Cancel; the results below."""

    def __init__(
        self,
        context: QtTraceContext,
        scope: JudgeScope,
        parent: QWidget | None = None,
        settings: QSettings | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(TITLE)
        self.context, self.settings = context, settings
        self.result: JudgeRun | None = None
        self.worker = QtWorker("Judge", self, progress_interval_s=0.1)
        self.models_worker = QtWorker("Listing models", self)
        self._evaluators: list[Evaluator] = []
        self._saved: list[Endpoint] = []
        self._build()
        self._fill_evaluators()
        self._fill_endpoints()
        self._restore()
        self.set_scope(scope)
        self._connect()
        fit_to_screen(self, 980, 660)

    # --- building ---------------------------------------------------------------------------------

    def _build(self) -> None:
        self.evaluator_choice = QComboBox()
        self.evaluator_file = QPushButton("Other File…")
        self.evaluator_file.setToolTip("An evaluator of your own: a TOML file (see the README)")
        self.evaluator_note = self._plain_label(muted=True)
        self.endpoint_choice = QComboBox(editable=True)
        self.endpoint_choice.lineEdit().setPlaceholderText("a saved endpoint or a base URL")
        self.model_choice = QComboBox(editable=True)
        self.model_choice.lineEdit().setPlaceholderText("the judge model")
        self.list_models = QPushButton("List Models")
        self.list_models.setToolTip("Ask the endpoint which models it offers")
        self.scope_choice = QComboBox()
        self.filter_edit = QLineEdit(placeholderText=DEFAULT_FILTER)
        self.filter_edit.setToolTip("The search syntax: words, kind:llm, model:gpt-4*, status:error, ...")
        self.limit = QSpinBox(minimum=1, maximum=10_000, value=100, prefix="at most ", suffix=" spans")
        self.concurrency = QSpinBox(minimum=1, maximum=64, value=4, suffix=" at a time")
        self.run_button = QPushButton("Run")
        self.run_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel", enabled=False)
        self.progress = QProgressBar(textVisible=True)
        self.progress.setFormat("%v of %m")
        self.status = self._plain_label()
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setHorizontalHeaderLabels(HEADERS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        for column in (SPAN, TRACE, SCORE):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(REASONING, QHeaderView.ResizeMode.Stretch)
        self.open_span = QPushButton("Open Span", enabled=False)
        self.open_span.setToolTip("Show the judged span in the Traces view (or double-click its row)")
        self.open_judge = QPushButton("Open Judge Call", enabled=False)
        self.open_judge.setToolTip("Show the judge's own call: its prompt, answer, tokens and cost")
        self.close_button = QPushButton("Close")

        evaluator_row = QHBoxLayout()
        evaluator_row.addWidget(self.evaluator_choice, 1)
        evaluator_row.addWidget(self.evaluator_file)
        model_row = QHBoxLayout()
        model_row.addWidget(self.model_choice, 1)
        model_row.addWidget(self.list_models)
        scope_row = QHBoxLayout()
        scope_row.addWidget(self.scope_choice)
        scope_row.addWidget(self.filter_edit, 1)
        scope_row.addWidget(self.limit)
        scope_row.addWidget(self.concurrency)
        evaluator_box = QVBoxLayout()
        evaluator_box.setSpacing(2)
        evaluator_box.addLayout(evaluator_row)
        evaluator_box.addWidget(self.evaluator_note)
        form = QFormLayout()
        form.addRow("Evaluator", evaluator_box)
        form.addRow("Endpoint", self.endpoint_choice)
        form.addRow("Model", model_row)
        form.addRow("Judge", scope_row)
        run_row = QHBoxLayout()
        run_row.addWidget(self.run_button)
        run_row.addWidget(self.cancel_button)
        run_row.addWidget(self.progress, 1)
        links = QHBoxLayout()
        links.addWidget(self.open_span)
        links.addWidget(self.open_judge)
        links.addStretch(1)
        links.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(run_row)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 1)
        layout.addLayout(links)

    @staticmethod
    def _plain_label(muted: bool = False) -> QLabel:
        label = QLabel(wordWrap=True, textFormat=Qt.TextFormat.PlainText)
        if muted:
            label.setStyleSheet(f"color: {MUTED_COLOR};")
        return label

    def _connect(self) -> None:
        self.evaluator_choice.currentIndexChanged.connect(self._show_evaluator)
        self.evaluator_file.clicked.connect(self._pick_file)
        self.list_models.clicked.connect(self._ask_models)
        self.scope_choice.currentIndexChanged.connect(self._show_scope)
        self.run_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.worker.cancel)
        self.close_button.clicked.connect(self.reject)
        self.worker.progress.connect(self._on_progress)
        self.worker.finished.connect(self._on_finished)
        self.worker.failed.connect(self._on_failed)
        self.models_worker.finished.connect(self._on_models)
        self.table.itemSelectionChanged.connect(self._update_links)
        self.table.itemDoubleClicked.connect(lambda _item: self.open_selected_span())
        self.open_span.clicked.connect(self.open_selected_span)
        self.open_judge.clicked.connect(self.open_selected_judge)

    def _fill_evaluators(self) -> None:
        self._evaluators = builtin_evaluators()
        for evaluator in self._evaluators:
            self.evaluator_choice.addItem(f"{evaluator.name}  ({evaluator.score.describe()})")
        names = [e.name for e in self._evaluators]
        self.evaluator_choice.setCurrentIndex(
            names.index(DEFAULT_EVALUATOR) if DEFAULT_EVALUATOR in names else 0
        )
        self._show_evaluator()

    def _fill_endpoints(self) -> None:
        try:
            self._saved = read_endpoints()
        except EndpointConfigError as exc:
            self._saved = []
            self._say(f"Saved endpoints not read: {exc}", error=True)
        names = {e.name for e in self._saved}
        for endpoint in [*self._saved, *(p for p in PRESETS if p.name not in names)]:
            self.endpoint_choice.addItem(endpoint.name)
            self.endpoint_choice.setItemData(
                self.endpoint_choice.count() - 1, endpoint.base_url, Qt.ItemDataRole.ToolTipRole
            )

    def set_scope(self, scope: JudgeScope) -> None:
        """What to judge: the choices the selection allows, the narrowest first."""
        self.scope_of = scope
        self.scope_choice.blockSignals(True)
        self.scope_choice.clear()
        n, t = len(scope.spans), len(scope.trace_ids)
        if n:
            self.scope_choice.addItem("the selected span" if n == 1 else f"the {n:,} selected spans", SPANS)
        if t:
            traces = "this trace" if t == 1 else f"the {t:,} selected traces"
            self.scope_choice.addItem(f"the model calls of {traces}", TRACES)
        self.scope_choice.addItem("the spans a search finds:", SEARCH)
        self.scope_choice.blockSignals(False)
        self._show_scope()

    # --- what the widgets say ---------------------------------------------------------------------

    def evaluator(self) -> Evaluator:
        return self._evaluators[self.evaluator_choice.currentIndex()]

    def _show_evaluator(self) -> None:
        if self.evaluator_choice.currentIndex() < 0:
            return
        e = self.evaluator()
        needs = " Judges only spans with a reference answer." if e.needs_reference else ""
        self.evaluator_note.setText(
            f"{e.description or e.name} — {e.score.describe()}, from {e.origin}.{needs}"
        )

    def _pick_file(self) -> None:
        name, _ = QFileDialog.getOpenFileName(
            self, "Evaluator file", "", "Evaluators (*.toml);;All files (*)"
        )
        if name:
            self.add_evaluator_file(Path(name))

    def add_evaluator_file(self, path: Path) -> bool:
        """Read an evaluator file and choose it; a bad file is said in the status line."""
        try:
            evaluator = load_evaluator(path)
        except EvaluatorError as exc:
            self._say(str(exc), error=True)
            return False
        self._evaluators.append(evaluator)
        self.evaluator_choice.addItem(f"{evaluator.name}  ({path.name})")
        self.evaluator_choice.setCurrentIndex(self.evaluator_choice.count() - 1)
        self._say("")
        return True

    def _show_scope(self) -> None:
        self.filter_edit.setEnabled(self.scope_choice.currentData() == SEARCH)
        self.limit.setEnabled(self.scope_choice.currentData() != SPANS)

    def endpoint(self) -> Endpoint:
        """The endpoint named or typed; EndpointError when it is neither saved nor a URL."""
        return endpoint_for(self.endpoint_choice.currentText().strip(), [*self._saved, *PRESETS])

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setStyleSheet(f"color: {ERROR_COLOR};" if error else "")
        self.status.setText(text)

    # --- models -------------------------------------------------------------------------------------

    def _ask_models(self) -> None:
        try:
            endpoint = self.endpoint()
        except EndpointError as exc:
            self._say(str(exc), error=True)
            return
        self.list_models.setEnabled(False)
        self._say(f"Asking {endpoint.base_url} for its models…")
        self.models_worker.start(_models(endpoint))

    def _on_models(self, found: list[str] | str) -> None:
        self.list_models.setEnabled(True)
        if isinstance(found, str):
            self._say(found, error=True)
            return
        typed = self.model_choice.currentText()
        self.model_choice.clear()
        self.model_choice.addItems(found)
        self.model_choice.setEditText(typed or (found[0] if found else ""))
        self._say(f"{len(found):,} models offered.")

    # --- running ------------------------------------------------------------------------------------

    def request(self) -> _Request | None:
        """The run the widgets describe, or None (said in the status line) when something is missing."""
        if self.context.store_path is None:
            self._say("Open a store first: the scores are stored in it.", error=True)
            return None
        model = self.model_choice.currentText().strip()
        if not model:
            self._say("Name the judge model (List Models asks the endpoint).", error=True)
            return None
        scope = self.scope_choice.currentData()
        filter_text = self.filter_edit.text().strip() or DEFAULT_FILTER
        try:
            endpoint = self.endpoint()
            if scope == SEARCH:
                parse(filter_text)
        except EndpointError as exc:
            self._say(str(exc), error=True)
            return None
        except QuerySyntaxError as exc:
            self._say(f"The search cannot be read: {exc}", error=True)
            return None
        matcher = ReferenceMatcher(reference_answers(self.context).entries)
        args = JudgeArgs(
            self.context.store_path,
            self.evaluator(),
            endpoint,
            model,
            [],
            self.concurrency.value(),
            matcher.reference,
        )
        return _Request(self.context.store_path, scope, self.scope_of, filter_text, self.limit.value(), args)

    def start(self) -> None:
        request = self.request()
        if request is None:
            return
        self._remember()
        self.result = None
        self.table.setRowCount(0)
        self.progress.setRange(0, 0)
        self._running(True)
        self._say(f"Judging with {request.args.model} at {request.args.endpoint.base_url}…")
        self.worker.start(_judging(request))

    def _running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        for widget in (self.evaluator_choice, self.evaluator_file, self.endpoint_choice, self.model_choice):
            widget.setEnabled(not running)

    def _on_progress(self, progress: object) -> None:
        if isinstance(progress, Progress):
            self.progress.setRange(0, max(progress.total, 1))
            self.progress.setValue(progress.done)

    def _on_finished(self, outcome: tuple[JudgeRun, Selection]) -> None:
        result, selection = outcome
        self._running(False)
        self.show_result(result, selection.more)
        if result.scored:
            self.context.refresh()

    def _on_failed(self, message: str) -> None:
        self._running(False)
        self.progress.setRange(0, 1)
        self._say(f"The run failed: {message}", error=True)

    def show_result(self, result: JudgeRun, more: bool = False) -> None:
        self.result = result
        self.progress.setRange(0, max(len(result.judgements), 1))
        self.progress.setValue(len(result.judgements))
        self.table.setRowCount(len(result.judgements))
        for row, judgement in enumerate(result.judgements):
            self._fill_row(row, judgement)
        lines = [result.summary() if result.judgements else "Nothing matched: no span was judged."]
        if more:
            lines.append(f"More spans match: only the first {self.limit.value():,} were judged.")
        if result.cancelled:
            lines.append("Cancelled: the spans judged before are stored.")
        if result.stopped:
            lines.append(f"Stopped: {result.stopped}")
        self._say("\n".join(lines), error=bool(result.stopped))
        self._update_links()

    def _fill_row(self, row: int, j: Judgement) -> None:
        span = QTableWidgetItem(f"{j.span_name}  {j.span_id}")
        trace = QTableWidgetItem(j.trace_id[:16])
        trace.setToolTip(j.trace_id)
        if j.score is not None:
            score = QTableWidgetItem(j.score.display_value())
            text = j.score.comment or ""
        else:
            score = QTableWidgetItem("failed")
            score.setForeground(QBrush(QColor(ink(ERROR_COLOR))))
            text = j.problem or ""
        first = next(iter(text.strip().splitlines()), "")
        reasoning = QTableWidgetItem(first)
        reasoning.setToolTip(plain_tooltip(text) or "")
        span.setToolTip(plain_tooltip(j.span_name) or "")
        for column, item in ((SPAN, span), (TRACE, trace), (SCORE, score), (REASONING, reasoning)):
            self.table.setItem(row, column, item)

    # --- links ----------------------------------------------------------------------------------------

    def selected(self) -> Judgement | None:
        rows = self.table.selectionModel().selectedRows()
        if self.result is None or not rows:
            return None
        return self.result.judgements[rows[0].row()]

    def _update_links(self) -> None:
        j = self.selected()
        self.open_span.setEnabled(j is not None)
        self.open_judge.setEnabled(j is not None and j.judge_trace_id is not None)

    def open_selected_span(self) -> None:
        j = self.selected()
        if j is not None:
            self.context.open_span(j.trace_id, j.span_id)

    def open_selected_judge(self) -> None:
        j = self.selected()
        if j is not None and j.judge_trace_id is not None:
            self.context.show_trace(j.judge_trace_id)

    # --- settings and closing ----------------------------------------------------------------------

    def _restore(self) -> None:
        if self.settings is None:
            return
        self.settings.beginGroup(SETTINGS_GROUP)
        endpoint, model = self.settings.value("endpoint", ""), self.settings.value("model", "")
        evaluator = self.settings.value("evaluator", "")
        self.settings.endGroup()
        if endpoint:
            self.endpoint_choice.setEditText(str(endpoint))
        self.model_choice.setEditText(str(model))
        names = [e.name for e in self._evaluators]
        if evaluator in names:
            self.evaluator_choice.setCurrentIndex(names.index(evaluator))

    def _remember(self) -> None:
        if self.settings is None:
            return
        self.settings.beginGroup(SETTINGS_GROUP)
        self.settings.setValue("endpoint", self.endpoint_choice.currentText().strip())
        self.settings.setValue("model", self.model_choice.currentText().strip())
        self.settings.setValue("evaluator", self.evaluator().name)
        self.settings.endGroup()

    def reject(self) -> None:
        """Closing stops a run under way (what it stored stays)."""
        self.worker.cancel()
        super().reject()


class QtJudgeLauncher(QObject):
    """Opens the window's one judge dialog, from a menu or a view's context menu; one per context
    (found with `judge_launcher`), holding the settings the dialog remembers its choices in."""

    def __init__(self, context: QtTraceContext) -> None:
        super().__init__(context)
        self.context = context
        self.settings: QSettings | None = None
        self.dialog: QtJudgeDialog | None = None

    def open(self, scope: JudgeScope, window: QWidget) -> QtJudgeDialog:
        """Show the dialog on `scope` (a run under way keeps its own)."""
        if self.dialog is None:
            self.dialog = QtJudgeDialog(self.context, scope, window, self.settings)
            self.dialog.destroyed.connect(self._forget)
        elif not self.dialog.worker.busy:
            self.dialog.set_scope(scope)
        self.dialog.show()
        self.dialog.raise_()
        self.dialog.activateWindow()
        return self.dialog

    def _forget(self) -> None:
        self.dialog = None

    def current_scope(self) -> JudgeScope:
        """The context's current span and trace."""
        trace_id, span_id = self.context.trace_id, self.context.span_id
        spans = ((trace_id, span_id),) if trace_id is not None and span_id is not None else ()
        return JudgeScope(spans, (trace_id,) if trace_id is not None else ())

    def open_current(self, window: QWidget) -> QtJudgeDialog:
        return self.open(self.current_scope(), window)

    def action(self, window: QWidget) -> QAction:
        """The menu action: judge the current span, its trace's model calls, or a search's spans."""
        action = QAction("&Judge Spans…", window)
        action.setToolTip("Score spans with an LLM judge against a model endpoint")
        action.triggered.connect(lambda: self.open_current(window))
        return action


def judge_launcher(context: QtTraceContext, settings: QSettings | None = None) -> QtJudgeLauncher:
    """The context's launcher, made on first use; `settings` (the window's) kept once given."""
    found = context.findChild(QtJudgeLauncher)
    launcher = found if found is not None else QtJudgeLauncher(context)
    if settings is not None:
        launcher.settings = settings
    return launcher


def selected_traces(view: QAbstractItemView, trace_id_at: Callable[[int], str | None]) -> list[str]:
    """The traces of a view's selected rows in display order, the first MAX_TRACES of them (read
    from the selection's ranges: a shift-click over a million rows makes no million index objects)."""
    ranges = sorted((r.top(), r.bottom()) for r in view.selectionModel().selection())
    rows: set[int] = set()
    for top, bottom in ranges:
        rows.update(range(top, min(bottom + 1, top + MAX_TRACES)))
    ids = (trace_id_at(row) for row in sorted(rows)[:MAX_TRACES])
    return [t for t in ids if t is not None]
