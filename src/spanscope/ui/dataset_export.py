"""Export Dataset: chosen spans written as a dataset file (core/datasets), from the span tree's
selection or the File menu (the current trace, the Search tab's query).

The dialog says how many spans the choice holds (counted on a worker), takes a format and a file,
and writes on a worker with progress and Cancel; the file takes its name only when complete.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from spanscope.core.datasets.export import Request, Summary, export_to_file
from spanscope.core.datasets.formats import FORMATS
from spanscope.core.datasets.records import Link
from spanscope.core.datasets.selection import Selection, SelectionError, SpanRef, count, prepare
from spanscope.core.model import Kind
from spanscope.core.search.index import IndexState
from spanscope.ui.context import QtTraceContext
from spanscope.ui.reference_answers import reference_answers
from spanscope.ui.screen_fit import fit_to_screen
from spanscope.ui.style import ERROR_COLOR, MUTED_COLOR
from spanscope.ui.workers import Policy, QtWorker, TaskState, thread_db

TITLE = "Export Dataset"
FORMAT_NAMES = {
    "jsonl": "Spanscope JSONL (input, expected, metadata, link)",
    "inspect": "Inspect AI samples (json_dataset)",
    "openai-evals": 'OpenAI Evals data source ({"item": …})',
}
FILE_FILTER = "JSON Lines (*.jsonl);;All files (*)"


@dataclass(frozen=True)
class Choice:
    """Spans the user may export, and how the dialog names them."""

    label: str
    selection: Selection


def span_choices(trace_id: str, span_id: str, span_name: str | None) -> list[Choice]:
    """The span tree's choices: the selected span, or the model calls of its trace."""
    return [
        Choice(f"The selected span ({span_name or span_id})", Selection(spans=(SpanRef(span_id, trace_id),))),
        Choice("The model calls of this trace", Selection(traces=(trace_id,))),
    ]


def window_choices(trace_id: str | None, query: str) -> list[Choice]:
    """The File menu's choices: the current trace's model calls, the Search tab's query, the store."""
    choices = []
    if trace_id is not None:
        choices.append(Choice("The model calls of the current trace", Selection(traces=(trace_id,))))
    if query.strip():
        choices.append(
            Choice(f"The spans the search “{query.strip()}” finds", Selection(filter=query.strip()))
        )
    choices.append(Choice("Every model call of the store", Selection(kind=Kind.LLM)))
    return choices


def _export(store: Path, request: Request, target: Path, state: TaskState) -> Summary:
    prepare(store, request.selection, IndexState(cancel_event=state.cancel_event))
    db = thread_db(store)
    with state.interrupting(db):
        return export_to_file(db, request, target, lambda: state.cancelled, lambda s: state.report(s.records))


class QtDatasetExportDialog(QDialog):
    """Which spans, which format, which file; Export writes it on a worker, Cancel stops it."""

    def __init__(self, context: QtTraceContext, choices: list[Choice], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(TITLE)
        self.context = context
        self.store = context.store_path
        self.spans = QComboBox(self)
        for choice in choices:
            self.spans.addItem(choice.label, choice)
        self.count_label = QLabel(self)
        self.count_label.setStyleSheet(f"color: {MUTED_COLOR};")
        self.format = QComboBox(self)
        for name in FORMATS:
            self.format.addItem(FORMAT_NAMES[name], name)
        self.path = QLineEdit(self)
        self.path.setPlaceholderText("Choose where to write the dataset")
        self.browse = QPushButton("Choose…", self)
        self.browse.clicked.connect(self._choose_file)
        where = QHBoxLayout()
        where.addWidget(self.path, 1)
        where.addWidget(self.browse)
        form = QFormLayout()
        form.addRow("Spans:", self.spans)
        form.addRow("", self.count_label)
        form.addRow("Format:", self.format)
        form.addRow("File:", where)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 0)
        self.progress.hide()
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        for label in (self.count_label, self.message):  # they quote queries and file names
            label.setTextFormat(Qt.TextFormat.PlainText)
        self.buttons = QDialogButtonBox(self)
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.export_button.clicked.connect(self.export)
        self.close_button.clicked.connect(self._close_or_cancel)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        self.counter = QtWorker("Counting spans for the dataset", self, Policy.LATEST)
        self.counter.finished.connect(self._on_counted)
        self.counter.failed.connect(lambda text: self.count_label.setText(text))
        self.writer = QtWorker("Exporting a dataset", self, Policy.QUEUE, progress_interval_s=0.1)
        self.writer.progress.connect(lambda n: self._say(f"Writing {self._target_name()}… {n:,} records"))
        self.writer.finished.connect(self._on_written)
        self.writer.failed.connect(self._on_failed)
        self.spans.currentIndexChanged.connect(self._count)
        self.summary: Summary | None = None
        fit_to_screen(self, 620, 260)
        self._count()

    @property
    def choice(self) -> Choice:
        return self.spans.currentData()

    def _count(self) -> None:
        self.count_label.setText("Counting spans…")
        if self.store is not None:
            store, selection = self.store, self.choice.selection
            self.counter.start(lambda state: _counted(store, selection, state))

    def _on_counted(self, found: int | str) -> None:
        if isinstance(found, str):
            self.count_label.setText(found)
        else:
            self.count_label.setText(f"{found:,} span{'' if found == 1 else 's'}")

    def _choose_file(self) -> None:
        start = self.path.text() or str(Path.home() / f"dataset-{self.format.currentData()}.jsonl")
        name, _ = QFileDialog.getSaveFileName(self, TITLE, start, FILE_FILTER)
        if name:
            self.path.setText(name)

    def export(self) -> None:
        """Write the chosen spans to the file (the button)."""
        if self.store is None:
            return self._say("No store is open.", error=True)
        if not self.path.text().strip():
            return self._say("Choose a file to write the dataset to.", error=True)
        target = Path(self.path.text().strip()).expanduser()
        if not target.parent.is_dir():
            return self._say(f"{target.parent} is not a folder that exists.", error=True)
        request = Request(
            self.choice.selection,
            self.format.currentData(),
            Link(str(self.store), ("--db", str(self.store))),
            reference_answers(self.context).entries,
        )
        store = self.store
        self._running(True)
        self._say(f"Writing {target.name}…")
        self.writer.start(lambda state: _export(store, request, target, state))

    def _target_name(self) -> str:
        return Path(self.path.text().strip()).name

    def _running(self, running: bool) -> None:
        self.progress.setVisible(running)
        for widget in (self.export_button, self.spans, self.format, self.path, self.browse):
            widget.setEnabled(not running)
        self.close_button.setText("Cancel" if running else "Close")

    def _on_written(self, summary: Summary) -> None:
        self._running(False)
        self.summary = summary
        target = self.path.text().strip()
        if summary.cancelled:
            self._say("Cancelled: the file was not written.")
        elif summary.records == 0:
            why = summary.text() if summary.spans else "the choice holds no span"
            self._say(f"No records: {why}. The file was not written.", error=True)
        else:
            self._say(f"{summary.text()}, written to {target}.")

    def _on_failed(self, text: str) -> None:
        self._running(False)
        self._say(f"The dataset was not written: {text}", error=True)

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setStyleSheet(f"color: {ERROR_COLOR};" if error else "")
        self.message.setText(text)

    def _close_or_cancel(self) -> None:
        if self.writer.busy:
            self.writer.cancel()
        else:
            self.reject()

    def done(self, result: int) -> None:
        self.counter.cancel()
        self.writer.cancel()
        super().done(result)


def _counted(store: Path, selection: Selection, state: TaskState) -> int | str:
    """The selection's span count (the search index brought up to date first if its filter searches
    text), or why it cannot be counted (a bad query)."""
    try:
        prepare(store, selection, IndexState(cancel_event=state.cancel_event))
        db = thread_db(store)
        with state.interrupting(db):
            return count(db, selection)
    except SelectionError as exc:
        return str(exc)


def open_dataset_export(parent: QWidget, context: QtTraceContext, choices: list[Choice]) -> None:
    """Show the dialog (modeless: the app stays usable while a large export runs)."""
    if context.store_path is None or not choices:
        return
    dialog = QtDatasetExportDialog(context, choices, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
