"""The Problems panel: files that failed and records that were skipped, readable, never a traceback."""

from __future__ import annotations

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHeaderView, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from spanscope.core.store import FileResult, Outcome
from spanscope.ui.style import ERROR_COLOR, ink

#: Skipped records listed per file; the rest are summarized in one row.
MAX_ROWS_PER_FILE = 500


class QtProblemsPanel(QWidget):
    COLUMNS = ("File", "Where", "Problem")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = QTableWidget(0, len(self.COLUMNS), self)
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.table.setColumnWidth(0, 260)
        self.table.setColumnWidth(1, 110)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)

    @property
    def count(self) -> int:
        return self.table.rowCount()

    def add_result(self, result: FileResult) -> int:
        """List what went wrong with one file; returns how many rows were added."""
        rows: list[tuple[str, str, str]] = []
        if result.outcome in (Outcome.FAILED, Outcome.CANCELLED):
            rows.append((result.path.name, "whole file", result.error or str(result.outcome)))
        for problem in result.problems[:MAX_ROWS_PER_FILE]:
            rows.append((result.path.name, problem.where, problem.reason))
        if len(result.problems) > MAX_ROWS_PER_FILE:
            more = len(result.problems) - MAX_ROWS_PER_FILE
            rows.append((result.path.name, "", f"... and {more:,} more skipped records"))
        for values in rows:
            row = self.table.rowCount()
            self.table.insertRow(row)
            for column, text in enumerate(values):
                item = QTableWidgetItem(text)
                item.setToolTip(str(result.path) if column == 0 else text)
                if column == 2 and result.outcome is Outcome.FAILED:
                    item.setForeground(QColor(ink(ERROR_COLOR)))
                self.table.setItem(row, column, item)
        return len(rows)

    def clear(self) -> None:
        self.table.setRowCount(0)
