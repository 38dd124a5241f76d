"""Replay with Another Model: the chosen traces' model calls run again on an endpoint and model of the
user's choice (core/replay/batch.py on a QtWorker), with a progress bar, Cancel, the failures in plain
text, then the way to what it is for: Compare models with both models checked, and the Compare Traces
window on an original and its replay."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from spanscope.core.endpoints.chat import EndpointError
from spanscope.core.endpoints.config import Endpoint, EndpointConfigError, read_endpoints
from spanscope.core.presentation import display
from spanscope.core.replay.batch import (
    Outcome,
    Progress,
    ReplayArgs,
    ReplayError,
    Totals,
    run_id,
    totals,
)
from spanscope.core.replay.batch import run as replay
from spanscope.core.store import connect
from spanscope.core.store.db import Database
from spanscope.core.store.lookups import root_name
from spanscope.core.store.trace_query import TraceFilter, fetch_rows, sorted_trace_ids
from spanscope.ui.context import QtTraceContext, View
from spanscope.ui.judge_dialog import selected_traces
from spanscope.ui.screen_fit import fit_to_screen
from spanscope.ui.style import ERROR_COLOR, MUTED_COLOR
from spanscope.ui.workers import Policy, QtWorker, TaskState

MAX_CONCURRENCY = 32
DEFAULT_CONCURRENCY = 4
PROGRESS_INTERVAL_S = 0.1


def listed_traces(db: Database, trace_filter: TraceFilter) -> list[str]:
    """The traces a trace-list filter lists, oldest first."""
    return [row.trace_id for row in fetch_rows(db, sorted_trace_ids(db, trace_filter)) if row is not None]


@dataclass(frozen=True)
class _Done:
    """What the worker hands back: the outcome with what the dialog shows of it, or why it could not
    start."""

    outcome: Outcome | None = None
    error: str | None = None
    names: dict[str, str | None] | None = None
    before: Totals | None = None
    after: Totals | None = None


def _replay_task(args: ReplayArgs, trace_filter: TraceFilter | None) -> Callable[[TaskState], _Done]:
    def task(state: TaskState) -> _Done:
        if trace_filter is not None:
            db = connect(args.store, readonly=True)
            try:
                chosen = listed_traces(db, trace_filter)
            finally:
                db.conn.close()
            if not chosen:
                return _Done(error="The trace list shows no traces.")
            # The run is the list's filter's, so Run again goes on with it whatever the list came to hold.
            run = run_id(args.endpoint, args.model, f"trace list {trace_filter!r}")
            run_args = dataclasses.replace(args, traces=tuple(chosen), run=run)
        else:
            run_args = args
        try:
            outcome = replay(run_args, state)
        except ReplayError as exc:
            return _Done(error=str(exc))
        db = connect(args.store, readonly=True)
        try:
            names = {r.original: root_name(db, r.original) for r in outcome.replayed}
            before = totals(db, [r.original for r in outcome.replayed])
            after = totals(db, [r.replay for r in outcome.replayed])
        finally:
            db.conn.close()
        return _Done(outcome, names=names, before=before, after=after)

    return task


def _offered_models(endpoint: Endpoint) -> tuple[list[str], str | None]:
    """On a worker: the endpoint's models, or why they could not be listed."""
    from spanscope.core.endpoints.client import ModelClient  # on use: openai takes 0.5 s to import

    try:
        return ModelClient(endpoint).models(), None
    except EndpointError as exc:
        return [], str(exc)


def _many(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def _titled(title: str, widget: QWidget) -> QWidget:
    """`widget` under a heading, hidden until there is something to show."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(QLabel(title))
    layout.addWidget(widget, 1)
    box.hide()
    return box


def _side(t: Totals) -> str:
    cost = display.cost(t.cost_usd, computed=t.computed, unknown=t.unknown)
    return f"{display.count(t.input_tokens)} in, {display.count(t.output_tokens)} out, {cost}"


class QtReplayBatchDialog(QDialog):
    """Chosen traces (the selected ones, or all the trace list shows), an endpoint, a model and how
    many calls at a time; Run, then Compare models / Open diff."""

    #: Compare models asked for, with these models checked (the originals' and the replay's).
    compare_requested = Signal(list)
    #: Open diff asked for: (original trace, replay trace).
    diff_requested = Signal(str, str)

    def __init__(
        self,
        context: QtTraceContext,
        selected: list[str],
        listed: tuple[TraceFilter, int] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        """`selected`: the selected traces; `listed`: the trace list's filter and how many it shows."""
        super().__init__(parent)
        self.setWindowTitle("Replay with another model")
        self.context, self.selected, self.listed = context, selected, listed
        self.outcome: Outcome | None = None
        self._models: list[str] = []
        self.worker = QtWorker("Replay", self, Policy.QUEUE, progress_interval_s=PROGRESS_INTERVAL_S)
        self.worker.progress.connect(self._on_progress)
        self.worker.finished.connect(self._on_finished)
        self.worker.failed.connect(self._on_failed)
        self.models_worker = QtWorker("Cannot list the endpoint's models", self, Policy.LATEST)
        self.models_worker.finished.connect(self._models_listed)
        self._build()
        fit_to_screen(self, 760, 640)

    def _build(self) -> None:
        self.use_selected = QRadioButton(f"The selected traces ({len(self.selected):,})")
        shown = 0 if self.listed is None else self.listed[1]
        self.use_listed = QRadioButton(f"All traces the trace list shows ({shown:,})")
        self.use_selected.setEnabled(bool(self.selected))
        self.use_listed.setEnabled(shown > 0)
        (self.use_selected if self.selected else self.use_listed).setChecked(True)
        self.endpoint = QComboBox(editable=True)
        self.endpoint.lineEdit().setPlaceholderText("http://localhost:11434/v1 or a saved endpoint's name")
        with contextlib.suppress(EndpointConfigError):  # said when Run resolves the endpoint
            self.endpoint.addItems([e.name for e in read_endpoints()])
        self.model = QComboBox(editable=True)
        self.model.lineEdit().setPlaceholderText("the model to run the calls on")
        self.list_button = QPushButton("List models")
        self.list_button.setToolTip("Ask the endpoint which models it offers")
        self.list_button.clicked.connect(self.list_models)
        model_row = QHBoxLayout()
        model_row.addWidget(self.model, 1)
        model_row.addWidget(self.list_button)
        self.concurrency = QSpinBox(minimum=1, maximum=MAX_CONCURRENCY, value=DEFAULT_CONCURRENCY)
        self.concurrency.setToolTip("How many calls run at the same time")
        form = QFormLayout()
        form.addRow("Traces", self.use_selected)
        form.addRow("", self.use_listed)
        form.addRow("Endpoint", self.endpoint)
        form.addRow("Model", model_row)
        form.addRow("Calls at a time", self.concurrency)
        note = QLabel(
            "Each LLM call's recorded input is sent to the model; each trace's replay is stored as a new "
            "trace linked to its original. A trace with a failed call is not stored: Run again retries it.",
            wordWrap=True,
        )
        note.setStyleSheet(f"color: {MUTED_COLOR};")
        self.bar = QProgressBar(textVisible=True)
        self.bar.setFormat("%v of %m calls")
        self.bar.hide()
        self.status = QLabel(wordWrap=True, textFormat=Qt.TextFormat.PlainText)
        self.failures = QPlainTextEdit(readOnly=True)
        self.failures_box = _titled("Failed, not stored (Run again retries them):", self.failures)
        self.notes = QPlainTextEdit(readOnly=True)
        self.notes_box = _titled("Sent otherwise than recorded (what a request could not carry):", self.notes)
        self.pairs = QListWidget()
        self.pairs_box = _titled("Replayed (double-click one to compare it with its original):", self.pairs)
        self.run_button = QPushButton("Run", default=True)
        self.cancel_button = QPushButton("Cancel", enabled=False)
        self.compare_button = QPushButton("Compare models", enabled=False)
        self.diff_button = QPushButton("Open diff", enabled=False)
        self.close_button = QPushButton("Close")
        self.run_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.worker.cancel)
        self.compare_button.clicked.connect(self.compare_models)
        self.diff_button.clicked.connect(self.open_diff)
        self.close_button.clicked.connect(self.close)
        self.pairs.itemDoubleClicked.connect(lambda _item: self.open_diff())
        buttons = QHBoxLayout()
        for button in (self.run_button, self.cancel_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        for button in (self.compare_button, self.diff_button, self.close_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.bar)
        layout.addWidget(self.status)
        layout.addWidget(self.pairs_box, 1)
        layout.addWidget(self.failures_box, 1)
        layout.addWidget(self.notes_box, 1)
        layout.addStretch(0)
        layout.addLayout(buttons)

    def _show_error(self, text: str) -> None:
        self.status.setStyleSheet(f"color: {ERROR_COLOR};")
        self.status.setText(text)

    def _endpoint(self) -> Endpoint | None:
        """The endpoint typed or chosen; None (and why shown) when there is none such."""
        spec = self.endpoint.currentText().strip()
        if not spec:
            self._show_error("Give an endpoint: a base URL or a saved endpoint's name.")
            return None
        from spanscope.core.endpoints.client import endpoint_for  # on use: openai takes 0.5 s to import

        try:
            return endpoint_for(spec)
        except EndpointError as exc:
            self._show_error(str(exc))
            return None

    def list_models(self) -> None:
        """Ask the endpoint for its models (the one call made before Run, and only when asked)."""
        endpoint = self._endpoint()
        if endpoint is None:
            return
        self.status.setStyleSheet("")
        self.status.setText(f"Asking {endpoint.base_url} for its models…")
        self.list_button.setEnabled(False)
        self.models_worker.start(lambda _state: _offered_models(endpoint))

    def _models_listed(self, found: tuple[list[str], str | None]) -> None:
        self.list_button.setEnabled(True)
        models, error = found
        if error is not None:
            self._show_error(error)
            return
        typed = self.model.currentText()
        self.model.clear()
        self.model.addItems(models)
        self.model.setCurrentText(typed or (models[0] if models else ""))
        self.status.setText(f"{_many(len(models), 'model')} offered")

    def _args(self) -> ReplayArgs | None:
        store: Path | None = self.context.store_path
        if store is None:
            self._show_error("Open a store first.")
            return None
        model = self.model.currentText().strip()
        if not model:
            self._show_error("Give the model to run the calls on.")
            return None
        endpoint = self._endpoint()
        if endpoint is None:
            return None
        traces = tuple(self.selected) if self.use_selected.isChecked() else ()
        return ReplayArgs(store, endpoint, model, traces=traces, concurrency=self.concurrency.value())

    def start(self) -> None:
        """Run the replay on the worker; the form is locked until it ends."""
        args = self._args()
        if args is None:
            return
        trace_filter = None if self.use_selected.isChecked() or self.listed is None else self.listed[0]
        self.outcome = None
        self.status.setStyleSheet("")
        self.status.setText("Starting…")
        self.failures.clear()
        self.failures_box.hide()
        self.notes.clear()
        self.notes_box.hide()
        self.pairs.clear()
        self.pairs_box.hide()
        self.bar.setRange(0, 0)
        self.bar.show()
        self._set_running(True)
        self.worker.start(_replay_task(args, trace_filter))

    def _set_running(self, running: bool) -> None:
        for widget in (self.use_selected, self.use_listed, self.endpoint, self.model, self.list_button):
            widget.setEnabled(not running)
        self.concurrency.setEnabled(not running)
        if not running:
            self.use_selected.setEnabled(bool(self.selected))
            self.use_listed.setEnabled(self.listed is not None and self.listed[1] > 0)
        self.run_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.compare_button.setEnabled(False)
        self.diff_button.setEnabled(False)

    def _on_progress(self, value: object) -> None:
        if not isinstance(value, Progress):
            return
        self.bar.setRange(0, max(1, value.calls_total))
        self.bar.setValue(value.calls_done)
        failed = f", {value.traces_failed:,} failed" if value.traces_failed else ""
        self.status.setText(f"{value.traces_stored:,} of {value.traces_total:,} traces stored{failed}")

    def _on_failed(self, text: str) -> None:
        self._set_running(False)
        self.bar.hide()
        self._show_error(text)

    def _on_finished(self, done: _Done) -> None:
        self._set_running(False)
        if done.error is not None or done.outcome is None:
            self.bar.hide()
            self._show_error(done.error or "The replay did not run.")
            return
        outcome = self.outcome = done.outcome
        if outcome.replayed:
            self.context.refresh()
        self.status.setStyleSheet(f"color: {ERROR_COLOR};" if outcome.stopped else "")
        self.status.setText(self._summary(done))
        self._list_failures(outcome)
        self._list_pairs(done)
        if done.before is not None and done.after is not None:
            self._models = list(dict.fromkeys(done.before.models + done.after.models))
        self.compare_button.setEnabled(bool(outcome.replayed))
        self.diff_button.setEnabled(bool(outcome.replayed))
        self.run_button.setText("Run again")

    def _summary(self, done: _Done) -> str:
        outcome = done.outcome
        assert outcome is not None
        replayed = _many(len(outcome.replayed), "trace")
        lines = [f"Run {outcome.run}: {replayed} replayed ({_many(outcome.calls, 'call')})"]
        if outcome.already:
            lines[0] += f", {len(outcome.already):,} replayed before in this run"
        if outcome.failures:
            lines[0] += f", {len({f.trace_id for f in outcome.failures}):,} failed"
        if outcome.cancelled:
            lines.append("Cancelled: the traces whose calls all answered are stored, the others are not.")
        if outcome.stopped:
            lines.append(f"Stopped: {outcome.stopped}")
        lines += [f"Skipped {trace_id}: {why}" for trace_id, why in outcome.skipped]
        if done.before is not None and done.after is not None and outcome.replayed:
            lines.append(f"Original: {_side(done.before)}")
            lines.append(f"Replay ({outcome.model}): {_side(done.after)}")
        return "\n".join(lines)

    def _list_failures(self, outcome: Outcome) -> None:
        if outcome.failures:
            lines = []
            for f in outcome.failures:
                where = f"trace {f.trace_id}" + (f", span {f.span_id}" if f.span_id else "")
                lines.append(f"{where}: {f.message}")
            self.failures.setPlainText("\n".join(lines))
            self.failures_box.show()
        if outcome.notes:
            lines = [f"trace {n.trace_id}, span {n.span_id}: {n.text}" for n in outcome.notes]
            self.notes.setPlainText("\n".join(lines))
            self.notes_box.show()

    def _list_pairs(self, done: _Done) -> None:
        outcome = done.outcome
        assert outcome is not None
        names = done.names or {}
        current = None
        for r in outcome.replayed:
            name = names.get(r.original) or ""
            text = f"{name}  {r.original[:12]} → {r.replay[:12]}  ({_many(r.calls, 'call')})".strip()
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, (r.original, r.replay))
            self.pairs.addItem(item)
            if r.original == self.context.trace_id:
                current = item
        if outcome.replayed:
            self.pairs.setCurrentItem(current or self.pairs.item(0))
            self.pairs_box.show()

    def compare_models(self) -> None:
        self.compare_requested.emit(self._models)
        self.context.show_view(View.COMPARE)

    def open_diff(self) -> None:
        item = self.pairs.currentItem()
        if item is None:
            return
        original, replayed = item.data(Qt.ItemDataRole.UserRole)
        self.diff_requested.emit(original, replayed)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.worker.cancel()
        self.models_worker.cancel()
        self.worker.wait(5000)
        self.models_worker.wait(5000)
        super().closeEvent(event)


def open_replay_batch(window: Any) -> QtReplayBatchDialog:
    """The dialog for the main window's trace list (its selected traces, or all it shows): Compare
    models opens with the replayed models checked, Open diff opens the Compare Traces window."""
    panel = window.trace_list
    listed = (panel.current_filter(), panel.model.rowCount())
    selected = selected_traces(panel.view, panel.model.trace_id_at)
    dialog = QtReplayBatchDialog(window.context, selected, listed, window)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.compare_requested.connect(window.compare.set_chosen)
    dialog.diff_requested.connect(window.compare_traces)
    dialog.show()
    return dialog
