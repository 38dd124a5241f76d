"""The detail panel's Logs tab: a span's OTLP log records as plain text, hidden when it has none."""

from __future__ import annotations

from spanscope.core.model import LogRecord, Span
from spanscope.ui.detail.panel import LOGS_TAB

HOSTILE = "<b>not bold</b> <img src='http://x/y.png'>"


def _span(logs: list[LogRecord]) -> Span:
    return Span("t" * 32, "s" * 16, None, "chat", 1_000_000_000, 2_000_000_000, logs=logs)


def test_logs_tab_lists_records_as_plain_text_and_hides_when_there_are_none(qtbot, panel):
    records = [
        LogRecord("t" * 32, "s" * 16, 1_500_000_000, 9, "INFO", "app.note", HOSTILE, {"k": "v"}),
        LogRecord("t" * 32, "s" * 16, 1_600_000_000, None, None, None, {"role": "user", "content": "hi"}),
    ]
    panel.set_span(_span(records))
    assert panel.tabs.isTabVisible(LOGS_TAB)
    assert panel.tabs.tabText(LOGS_TAB) == "Logs (2)"
    text = panel.logs.toPlainText()
    assert HOSTILE in text  # shown as typed: the view is plain text, no markup is interpreted
    assert "INFO" in text and "app.note" in text and "k = v" in text and '"content": "hi"' in text
    assert text.index("app.note") < text.index('"content": "hi"')

    panel.set_span(_span([]))
    assert not panel.tabs.isTabVisible(LOGS_TAB)
    assert panel.logs.toPlainText() == ""
