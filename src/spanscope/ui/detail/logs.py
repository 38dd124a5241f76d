"""A span's OTLP log records (severity, time, event name, body, attributes) as plain text: record
bodies are whatever the traced app logged, so they are never shown as rich text."""

from __future__ import annotations

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QPlainTextEdit, QWidget

from spanscope.core.model import LogRecord
from spanscope.core.presentation import display
from spanscope.core.presentation.content import TextBudget, compact, pretty


def logs_text(records: list[LogRecord], budget: TextBudget | None = None) -> str:
    """The records in time order, each a heading line, its body and its attributes."""
    budget = budget or TextBudget()
    blocks = []
    for record in records:
        severity = record.severity_text or (
            f"severity {record.severity_number}" if record.severity_number else ""
        )
        heading = "  ".join(
            part
            for part in (display.timestamp(record.time_ns), severity, record.event_name or "(no event name)")
            if part
        )
        lines = [heading]
        if record.body is not None:
            lines.append(budget.take(record.body if isinstance(record.body, str) else pretty(record.body)))
        lines += [f"  {key} = {budget.take(compact(value))}" for key, value in record.attributes.items()]
        blocks.append("\n".join(lines))
    if budget.truncated:
        blocks.append("[cut short: the records hold more text than is shown here]")
    return "\n\n".join(blocks)


class QtLogsView(QPlainTextEdit):
    """Read-only plain text of a span's log records."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, readOnly=True)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        font = QFont(self.font())
        font.setStyleHint(QFont.StyleHint.Monospace)
        self.setFont(font)

    def set_logs(self, records: list[LogRecord]) -> None:
        self.setPlainText(logs_text(records))
