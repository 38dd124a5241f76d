"""Reference answers attached to the open store for the session: a JSONL file of expected answers
(core.reference_metrics.load_references) that the user picks from Review ▸ Attach Reference Answers….

The Compare models tab and the detail panel's Scores tab use it besides the references the source
holds. One holder per context, found with `reference_answers(context)`; the file is remembered per
store in the settings and attached again when that store is opened.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox, QWidget

from spanscope.core.evaluation.reference_metrics import (
    Reference,
    ReferenceEntry,
    ReferenceFileError,
    ReferenceMatcher,
    load_references,
)
from spanscope.core.model import Span
from spanscope.ui.context import QtObserver, QtTraceContext

SETTINGS_KEY = "reference_files"
FILE_FILTER = "JSON Lines (*.jsonl *.ndjson *.json);;All files (*)"
TITLE = "Attach Reference Answers"


class QtReferenceAnswers(QObject, QtObserver):
    """The attached file of the open store (if any), its entries, and a matcher over them."""

    #: Another file was attached (or none is): whatever shows metrics computes them again.
    changed = Signal()

    def __init__(self, context: QtTraceContext) -> None:
        super().__init__(context)
        self.context = context
        self.settings: QSettings | None = None
        self.path: Path | None = None
        self.entries: tuple[ReferenceEntry, ...] = ()
        #: Why the file remembered for this store could not be attached again, if it could not.
        self.problem: str | None = None
        self._matcher = ReferenceMatcher(())
        self._store: Path | None = None
        context.register(self)

    def reference(self, span: Span) -> Reference | None:
        """The span's reference: the attached file's, else its source's."""
        return self._matcher.reference(span)

    def attach(self, path: Path) -> int:
        """Load `path` for the open store and remember it; returns how many answers it holds.
        Raises ReferenceFileError (naming the file and line) and leaves the current file attached."""
        entries = load_references(Path(path))
        self._set(Path(path), tuple(entries), None)
        self._remember(str(Path(path).resolve()))
        return len(entries)

    def detach(self) -> None:
        """Use the source's references only, now and when the store is opened again."""
        self._set(None, (), None)
        self._remember(None)

    def use_settings(self, settings: QSettings) -> None:
        self.settings = settings
        self._restore()

    # QtObserver

    def on_store_loaded(self, context: QtTraceContext) -> None:
        store = context.store_path.resolve() if context.store_path is not None else None
        if store != self._store:
            self._store = store
            self._restore()

    def on_store_closed(self) -> None:
        self._store = None
        if self.path is not None or self.problem is not None:
            self._set(None, (), None)

    # Inside

    def _remembered(self) -> dict[str, str]:
        value = self.settings.value(SETTINGS_KEY, {}) if self.settings is not None else {}
        return dict(value) if isinstance(value, dict) else {}

    def _remember(self, name: str | None) -> None:
        if self.settings is None or self._store is None:
            return
        remembered = self._remembered()
        if name is None:
            remembered.pop(str(self._store), None)
        else:
            remembered[str(self._store)] = name
        self.settings.setValue(SETTINGS_KEY, remembered)

    def _restore(self) -> None:
        name = self._remembered().get(str(self._store)) if self._store is not None else None
        if name is None:
            if self.path is not None or self.problem is not None:
                self._set(None, (), None)
            return
        try:
            self._set(Path(name), tuple(load_references(Path(name))), None)
        except ReferenceFileError as exc:
            self._set(None, (), f"The reference answers attached before were not read again: {exc}")

    def _set(self, path: Path | None, entries: tuple[ReferenceEntry, ...], problem: str | None) -> None:
        self.path, self.entries, self.problem = path, entries, problem
        self._matcher = ReferenceMatcher(entries)
        self.changed.emit()


def reference_answers(context: QtTraceContext) -> QtReferenceAnswers:
    """The context's holder, made on first use (every panel of one window shares it)."""
    found = context.findChild(QtReferenceAnswers)
    return found if found is not None else QtReferenceAnswers(context)


def attach_file(window: QWidget, holder: QtReferenceAnswers, path: Path) -> bool:
    """Attach `path` and say so in the window's status bar; a bad file is explained in a message box."""
    try:
        count = holder.attach(path)
    except ReferenceFileError as exc:
        QMessageBox.warning(window, TITLE, f"The reference answers were not attached.\n\n{exc}")
        return False
    if isinstance(window, QMainWindow):
        window.statusBar().showMessage(
            f"{count:,} reference answers from {path.name} attached to this store: "
            "the Compare models tab and the Scores tab use them",
            10000,
        )
    return True


def keep_or_detach(window: QWidget, holder: QtReferenceAnswers) -> bool:
    """With a file attached already: True to pick another, False when it was detached or nothing
    is to be done."""
    box = QMessageBox(
        QMessageBox.Icon.Question, TITLE, f"{holder.path} is attached to this store.", parent=window
    )
    another = box.addButton("Attach Another…", QMessageBox.ButtonRole.AcceptRole)
    detach = box.addButton("Detach", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    if box.clickedButton() is detach:
        holder.detach()
        if isinstance(window, QMainWindow):
            window.statusBar().showMessage("Reference answers detached: the sources' own are used", 8000)
    return box.clickedButton() is another


def attach_action(context: QtTraceContext, settings: QSettings, window: QWidget) -> QAction:
    """The menu action: pick a JSONL file of reference answers for the open store."""
    holder = reference_answers(context)
    holder.use_settings(settings)
    action = QAction("Attach Re&ference Answers…", window)
    action.setToolTip(
        "A JSON Lines file of expected answers ({input or trace_id/span_id, expected}) to score "
        "outputs against: exact match, token F1, ROUGE-L, BLEU"
    )

    def ask() -> None:
        if context.store_path is None:
            QMessageBox.information(window, TITLE, "Open a store first: the answers are attached to it.")
            return
        if holder.path is not None and not keep_or_detach(window, holder):
            return
        start = str(holder.path.parent) if holder.path is not None else str(settings.value("last_dir", ""))
        name, _ = QFileDialog.getOpenFileName(window, "Attach reference answers", start, FILE_FILTER)
        if name:
            attach_file(window, holder, Path(name))

    action.triggered.connect(ask)
    return action
