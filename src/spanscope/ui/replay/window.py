"""The Replay window: one recorded model call's request, editable, sent to an endpoint and model the
user picks; the answer streams in beside the original, then both are word-diffed with their figures,
and the replay is stored as a trace linked to the original span (a "replay of" it).

Nothing goes over the network until the user presses Run or asks the endpoint for its models. A
failed call shows its message in a banner and stores nothing; Cancel stops the stream and stores
nothing."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSplitter, QVBoxLayout, QWidget

from spanscope.core.endpoints.config import Endpoint
from spanscope.core.model import Kind, Span
from spanscope.core.replay.recorded import RecordedCall, recorded_call
from spanscope.core.store.queries import NotFound, get_span
from spanscope.ui.context import QtTraceContext
from spanscope.ui.costs import prices
from spanscope.ui.detail.html import esc, muted
from spanscope.ui.replay.compare_html import Figures, completion_answer, recorded_answer
from spanscope.ui.replay.corner import QtReplayCorner
from spanscope.ui.replay.endpoint_picker import NoEndpoint, QtEndpointPicker, offered_endpoints
from spanscope.ui.replay.messages import InvalidMessage
from spanscope.ui.replay.request_editor import QtRequestEditor
from spanscope.ui.replay.result_view import QtReplayResult
from spanscope.ui.replay.tasks import Failed, Replayed, Stopped, replay
from spanscope.ui.replay.tools_editor import InvalidTools
from spanscope.ui.screen_fit import fit_to_screen
from spanscope.ui.style import MUTED_COLOR
from spanscope.ui.workers import Policy, QtWorker

#: The streamed text is shown at most this often (more would only re-lay the view out for nothing).
STREAM_INTERVAL_S = 0.05
#: The request's share of the window's width.
REQUEST_SHARE = 0.45
#: The model of a request whose span names none, until the user names one.
NO_MODEL = ""


def _recorded(span: Span) -> RecordedCall:
    """The call as recorded; a span that names no model gets none, and a note asking for one."""
    try:
        return recorded_call(span)
    except ValueError as exc:
        call = recorded_call(span, "?")
        call.request.model = NO_MODEL
        call.notes.insert(0, str(exc))
        return call


#: Settings keys of the last replay's endpoint (as shown in the picker) and model.
LAST_ENDPOINT, LAST_MODEL = "replay/endpoint", "replay/model"


class QtReplayWindow(QWidget):
    """Replays the LLM span (trace_id, span_id) of the context's store. `endpoints` are offered in the
    endpoint picker (by default the saved ones and the presets). With `settings`, the endpoint and
    model of the last replay that ran are chosen again (their names only; nothing is asked of them)."""

    def __init__(
        self,
        context: QtTraceContext,
        trace_id: str,
        span_id: str,
        endpoints: list[Endpoint] | None = None,
        parent: QWidget | None = None,
        settings: QSettings | None = None,
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.context, self.trace_id, self.span_id = context, trace_id, span_id
        self.settings = settings
        #: The store the call is in, which its replays go into (whatever store the app opens later).
        self.store_path = context.store_path
        self.span: Span | None = None
        #: The last replay stored from this window (its trace and span ids).
        self.stored: tuple[str, str] | None = None
        fit_to_screen(self, 1400, 900)
        problem = ""
        if endpoints is None:
            endpoints, problem = offered_endpoints()
        self.job = QtWorker("Replay", self, Policy.QUEUE, progress_interval_s=STREAM_INTERVAL_S)
        self.job.progress.connect(self._on_text)
        self.job.finished.connect(self._on_done)
        self.job.failed.connect(self._on_crash)
        self.header = QLabel(textFormat=Qt.TextFormat.RichText, wordWrap=True)
        self.notes = QLabel(textFormat=Qt.TextFormat.PlainText, wordWrap=True)
        self.notes.setStyleSheet(f"color: {MUTED_COLOR}")
        self.notes.setToolTip("What of the recorded call the request could not carry over")
        self.notes.hide()
        self._cancelling = False
        self.replays = QtReplayCorner(context)
        self.replays.button.hide()
        self.editor = QtRequestEditor()
        self.picker = QtEndpointPicker(endpoints)
        self.run_button = QPushButton("Run")
        self.run_button.setToolTip("Send the request as edited (Ctrl+Enter)")
        self.run_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the call: nothing of it is stored")
        self.result = QtReplayResult()
        self.open_button = QPushButton("Open replay trace")
        self.open_button.setToolTip(
            "Show the stored replay in the main window, to step, compare or search it"
        )
        self.stored_label = QLabel(textFormat=Qt.TextFormat.PlainText)
        self._build_layout()
        self.run_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(self.cancel)
        self.open_button.clicked.connect(self.open_replay)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(keys), self, activated=self.run)
        self.open_button.setEnabled(False)
        self._load()
        self._set_running(False)
        if problem:
            self.picker._say(problem, error=True)

    def _build_layout(self) -> None:
        top = QHBoxLayout()
        top.addWidget(self.header, 1)
        top.addWidget(self.replays)
        actions = QHBoxLayout()
        actions.addWidget(self.picker.status, 1)
        actions.addWidget(self.cancel_button)
        actions.addWidget(self.run_button)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 4, 0)
        left_layout.addWidget(self.notes)
        left_layout.addWidget(self.editor, 1)
        left_layout.addWidget(self.picker)
        left_layout.addLayout(actions)
        below = QHBoxLayout()
        below.addWidget(self.stored_label, 1)
        below.addWidget(self.open_button)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(4, 0, 0, 0)
        right_layout.addWidget(self.result, 1)
        right_layout.addLayout(below)
        split = QSplitter(Qt.Orientation.Horizontal, childrenCollapsible=False)
        split.addWidget(left)
        split.addWidget(right)
        share = int(self.width() * REQUEST_SHARE)
        split.setSizes([share, self.width() - share])
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(split, 1)

    # --- the recorded call ------------------------------------------------------------------------

    def _load(self) -> None:
        db = self.context.db
        try:
            if db is None:
                raise NotFound("no store is open")
            span = get_span(db, self.trace_id, self.span_id)
            if span.kind is not Kind.LLM:
                raise NotFound(f"it is a {span.kind.value} span, not a model call")
        except NotFound as exc:
            self.setWindowTitle("Replay")
            self.header.setText(muted(f"Cannot replay span {self.span_id}: {exc}"))
            return
        self.span = span
        self.setWindowTitle(f"Replay — {span.name}")
        model = f" &nbsp;·&nbsp; {muted(span.model)}" if span.model else ""
        self.header.setText(
            f"Replay of <b>{esc(span.name)}</b>{model} &nbsp;·&nbsp; "
            + muted(f"trace {self.trace_id[:12]}, span {self.span_id}")
        )
        call = _recorded(span)
        self.editor.set_request(call.request)
        self.picker.set_model(call.request.model)
        last = self._last_choice()
        if last is not None:
            self.picker.endpoint_box.setEditText(last[0])
            self.picker.set_model(last[1])
        self.notes.setText("\n".join(call.notes))
        self.notes.setVisible(bool(call.notes))
        self.result.set_original(recorded_answer(span.output), Figures.of(span, prices().book))
        self.replays.set_span(span)

    def _last_choice(self) -> tuple[str, str] | None:
        """The endpoint and model of the last replay that ran, when remembered."""
        if self.settings is None:
            return None
        endpoint, model = self.settings.value(LAST_ENDPOINT), self.settings.value(LAST_MODEL)
        if isinstance(endpoint, str) and endpoint and isinstance(model, str) and model:
            return endpoint, model
        return None

    # --- running ----------------------------------------------------------------------------------

    def run(self) -> None:
        """Send the request as edited (nothing happens while a call runs)."""
        if self.job.busy or self.span is None:
            return
        store = self.store_path
        try:
            if store is None:
                raise NoEndpoint("No store is open to keep the replay in")
            endpoint = self.picker.endpoint()
            model = self.picker.model()
            if not model:
                raise NoEndpoint("Name the model to ask (or press List models)")
            request = self.editor.request(model)
        except (NoEndpoint, InvalidMessage, InvalidTools) as exc:
            self.result.show_banner(str(exc))
            return
        self.result.started()
        self.stored_label.setText(f"Asking {model} at {endpoint.base_url}…")
        self._set_running(True)
        self._cancelling = False
        self.job.start(replay(store, endpoint, request, (self.trace_id, self.span_id)))

    def cancel(self) -> None:
        if self.job.busy:
            self.stored_label.setText("Cancelling…")
            self._cancelling = True
            self.job.cancel()

    def _set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running and self.span is not None)
        self.cancel_button.setEnabled(running)

    def _on_text(self, text: object) -> None:
        if isinstance(text, str) and not self._cancelling:
            self.result.stream(text)

    def _on_done(self, outcome: Replayed | Failed | Stopped) -> None:
        self._set_running(False)
        if isinstance(outcome, Failed):
            self.result.show_banner(outcome.message)
            self.result.stopped("No answer. Nothing was stored.")
            self.stored_label.setText("")
        elif isinstance(outcome, Stopped):
            self.result.stopped("Cancelled: nothing was stored.")
            self.stored_label.setText("Cancelled")
        else:
            span = outcome.span
            self.result.finished(completion_answer(outcome.completion), Figures.of(span, prices().book))
            self.stored = (span.trace_id, span.span_id)
            if self.settings is not None:
                self.settings.setValue(LAST_ENDPOINT, self.picker.endpoint_box.currentText().strip())
                self.settings.setValue(LAST_MODEL, self.picker.model())
            self.stored_label.setText(f"Stored as trace {span.trace_id[:12]}")
            self.open_button.setEnabled(True)
            if self._store_shown():
                self.context.refresh()
                self.replays.set_span(self.span)

    def _on_crash(self, text: str) -> None:
        """An unexpected failure (also in the status bar): the window is usable again."""
        self._set_running(False)
        self.result.show_banner(text)
        self.result.stopped("No answer. Nothing was stored.")
        self.stored_label.setText("")

    # --- navigating -------------------------------------------------------------------------------

    def _store_shown(self) -> bool:
        """The app still shows the store the call came from."""
        return self.context.store_path == self.store_path

    def open_replay(self) -> None:
        if self.stored is None:
            return
        if not self._store_shown():
            self.result.show_banner(f"The replay is in {self.store_path}: open that store to see it")
            return
        self._open(*self.stored)

    def _open(self, trace_id: str, span_id: str) -> None:
        self.context.open_span(trace_id, span_id)
        if self.parentWidget() is not None:
            self.parentWidget().window().activateWindow()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.job.cancel()
        self.job.wait(2000)
        self.picker.stop()
        super().closeEvent(event)

    def keyPressEvent(self, event: Any) -> None:
        if event.key() == Qt.Key.Key_Escape and self.job.busy:
            self.cancel()
            return
        super().keyPressEvent(event)
