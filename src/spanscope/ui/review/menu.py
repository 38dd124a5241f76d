"""The Review menu: review mode, annotating the selected span or trace, label sets, and export."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox, QWidget

from spanscope.core.review.annotations import WHOLE_TRACE
from spanscope.core.review.export import export_file
from spanscope.ui.review.annotate_dialog import open_annotate_dialog
from spanscope.ui.review.label_sets_dialog import QtLabelSetsDialog
from spanscope.ui.review.reviewer import QtReviewer

EXPORT_FILTERS = {"jsonl": "JSON Lines (*.jsonl)", "csv": "CSV (*.csv)"}


class QtReviewMenu(QMenu):
    def __init__(self, reviewer: QtReviewer, start_review: Callable[[], None], window: QWidget) -> None:
        super().__init__("&Review", window)
        self.reviewer = reviewer
        self.window_ = window
        context = reviewer.context
        self.start_action = self._add("Start &Review Mode", start_review, "Ctrl+R")
        self.start_action.setIconText("Review")
        self.start_action.setToolTip(
            "Review mode (Ctrl+R): rate the trace list's traces one by one from the keyboard"
        )
        self._add(
            "&Annotate Span…",
            lambda: open_annotate_dialog(reviewer, context.trace_id, context.span_id, window),
            "Ctrl+E",
        )
        self._add(
            "Annotate &Trace…",
            lambda: open_annotate_dialog(reviewer, context.trace_id, WHOLE_TRACE, window),
            "Ctrl+Shift+E",
        )
        self.addSeparator()
        self._add("&Label Sets…", self.edit_label_sets)
        self._add("&Export Annotations…", self.export_dialog)

    def _add(self, text: str, slot: Callable[[], object], shortcut: str | None = None) -> QAction:
        action = QAction(text, self.window_)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def edit_label_sets(self) -> None:
        if self.reviewer.context.store_path is None:
            QMessageBox.information(
                self.window_, "Label Sets", "Open a store first: label sets are kept in it."
            )
            return
        dialog = QtLabelSetsDialog(self.reviewer, self.window_)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def export_dialog(self) -> None:
        db = self.reviewer.context.db
        if db is None:
            QMessageBox.information(self.window_, "Export Annotations", "Open a store first.")
            return
        name, chosen = QFileDialog.getSaveFileName(
            self.window_,
            "Export annotations",
            str(Path.home() / "annotations.jsonl"),
            ";;".join(EXPORT_FILTERS.values()),
        )
        if not name:
            return
        path = Path(name)
        fmt = "csv" if path.suffix.lower() == ".csv" or chosen == EXPORT_FILTERS["csv"] else "jsonl"
        self.export_to(path, fmt)

    def export_to(self, path: Path, fmt: str) -> None:
        """Write every annotation of the open store to `path`, and say how many (or why not)."""
        db = self.reviewer.context.db
        if db is None:
            return
        try:
            count = export_file(db, path, fmt)
        except OSError as exc:
            QMessageBox.warning(self.window_, "Export Annotations", f"{path}: {exc.strerror or exc}")
            return
        QMessageBox.information(
            self.window_, "Export Annotations", f"{count:,} annotations written to {path}."
        )
