"""Settings > Model prices: edit the user's price overrides, then show every cost priced with them.

The entries, their checks and the atomic write are core's (price_overrides); this dialog is a table
over them. Saving reloads the app's price book, prices the open store's model calls again on a
worker thread, then tells every view (trace list, span tree, stepping strip, Usage tab).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from spanscope.core.pricing.overrides import (
    RATE_FIELDS,
    WRITTEN_FILE,
    OverrideEntry,
    problems,
    read_entries,
    save_entries,
)
from spanscope.core.pricing.prices import PriceFileError
from spanscope.core.store.finalize import reprice_store
from spanscope.core.user_files import config_dir
from spanscope.ui.context import QtTraceContext
from spanscope.ui.costs import prices
from spanscope.ui.screen_fit import fit_to_screen
from spanscope.ui.style import ERROR_COLOR, MUTED_COLOR
from spanscope.ui.workers import QtWorker

HEADERS = ("Model pattern", "Provider (optional)", *(f"{label} $/1M" for label in RATE_FIELDS.values()))
PATTERN, PROVIDER = 0, 1


class QtPriceSettingsDialog(QDialog):
    """A table of override entries: add, remove, edit; Save checks them and writes the file."""

    #: The file was written (its path).
    saved = Signal(object)

    def __init__(self, parent: QWidget | None = None, folder: Path | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Model prices")
        self.folder = folder or config_dir()
        self.table = QTableWidget(0, len(HEADERS), self)
        self.table.setHorizontalHeaderLabels(HEADERS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(PATTERN, QHeaderView.ResizeMode.Stretch)
        intro = QLabel(
            "Prices for models genai-prices lacks (self-hosted, fine-tuned) or that you pay differently "
            "for; they win over the package's. A pattern is a model name or a glob such as "
            "<code>my-llama-*</code>. Prices are $ per million tokens; leave a cell empty for none.",
            wordWrap=True,
        )
        self.file_label = QLabel(
            wordWrap=True, textInteractionFlags=Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self.file_label.setStyleSheet(f"color: {MUTED_COLOR};")
        self.error_label = QLabel(wordWrap=True, textFormat=Qt.TextFormat.PlainText)
        self.error_label.setStyleSheet(f"color: {ERROR_COLOR};")
        self.error_label.hide()
        self.add_button = QPushButton("Add")
        self.add_button.clicked.connect(lambda: self.add_row(OverrideEntry("")))
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Remove the selected rows")
        self.remove_button.clicked.connect(self.remove_selected)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        row_buttons = QHBoxLayout()
        row_buttons.addWidget(self.add_button)
        row_buttons.addWidget(self.remove_button)
        row_buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addLayout(row_buttons)
        layout.addWidget(self.error_label)
        layout.addWidget(self.file_label)
        layout.addWidget(self.buttons)
        fit_to_screen(self, 860, 420)
        self._load()

    def _load(self) -> None:
        target = self.folder / WRITTEN_FILE
        try:
            entries, read_from = read_entries(self.folder)
        except PriceFileError as exc:
            entries, read_from = [], None
            self._show_problems([f"{exc}", "Saving replaces that file."])
        for entry in entries:
            self.add_row(entry)
        note = f"Saves to {target}"
        if read_from is not None and read_from != target:
            note += f" (read from {read_from}; the saved file is read in its place from then on)"
        self.file_label.setText(note)

    def add_row(self, entry: OverrideEntry) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        values = [entry.pattern, entry.provider or "", *(getattr(entry, k) for k in RATE_FIELDS)]
        for column, value in enumerate(values):
            item = QTableWidgetItem(
                "" if value is None else f"{value:g}" if isinstance(value, float) else value
            )
            if column > PROVIDER:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(row, column, item)
        if not entry.pattern:
            self.table.setCurrentCell(row, PATTERN)
            self.table.editItem(self.table.item(row, PATTERN))

    def remove_selected(self) -> None:
        for row in sorted({i.row() for i in self.table.selectedIndexes()}, reverse=True):
            self.table.removeRow(row)

    def entries(self) -> tuple[list[OverrideEntry], list[str]]:
        """The rows as entries, and the cells that are not numbers (named by row and column)."""
        entries, found = [], []
        for row in range(self.table.rowCount()):
            pattern, provider = self._text(row, PATTERN), self._text(row, PROVIDER)
            rates: dict[str, float | None] = {}
            for column, (key, label) in enumerate(RATE_FIELDS.items(), PROVIDER + 1):
                text = self._text(row, column).removeprefix("$")
                try:
                    rates[key] = float(text) if text else None
                except ValueError:
                    where = f"Row {row + 1}" + (f" ({pattern})" if pattern else "")
                    found.append(f"{where}: {label}: {text!r} is not a number")
                    rates[key] = None
            entries.append(OverrideEntry(pattern, provider or None, **rates))
        return entries, found

    def save(self) -> None:
        """Write the file if every row is usable; otherwise list what to fix and keep the dialog open."""
        entries, found = self.entries()
        found += problems(entries)
        if found:
            self._show_problems(found)
            return
        try:
            path = save_entries(entries, self.folder)
        except OSError as exc:
            self._show_problems([f"Cannot write {self.folder / WRITTEN_FILE}: {exc}"])
            return
        self.saved.emit(path)
        self.accept()

    def _text(self, row: int, column: int) -> str:
        item = self.table.item(row, column)
        return item.text().strip() if item is not None else ""

    def _show_problems(self, found: list[str]) -> None:
        self.error_label.setText("\n".join(found))
        self.error_label.show()


def apply_prices(context: QtTraceContext, report: Callable[[str], None]) -> QtWorker | None:
    """After the overrides changed: reload the book, price the open store's model calls again on a
    worker thread, then have every view show the new costs; `report` gets a status bar line (a
    failure goes to the app's worker error reporter)."""
    prices().reload()
    if context.store_path is None:
        prices().changed.emit()
        return None
    store, book = context.store_path, prices().book
    worker = QtWorker("Cannot price the store again", context)

    def priced(traces: int) -> None:
        context.refresh()
        report(f"Prices applied: {traces:,} traces priced again")

    def done() -> None:
        prices().changed.emit()
        worker.deleteLater()

    worker.finished.connect(priced)
    worker.idle.connect(done)
    worker.start(lambda _state: reprice_store(store, book))
    return worker


def edit_prices(parent: QWidget, context: QtTraceContext, report: Callable[[str], None]) -> None:
    """Settings > Model prices: the dialog, and on save the new prices applied everywhere."""
    dialog = QtPriceSettingsDialog(parent)
    dialog.saved.connect(lambda _path: apply_prices(context, report))
    dialog.exec()
