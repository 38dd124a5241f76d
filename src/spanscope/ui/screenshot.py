"""`spanscope screenshot`: the main window rendered offscreen with a trace and span selected."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from spanscope.core.store import connect
from spanscope.core.store.queries import list_traces, resolve_span, resolve_trace_id, trace_rows

#: How long the window may take to settle after a selection before it is grabbed.
SETTLE_S = 0.3


def default_selection(store: Path, trace: str | None, span: str | None) -> tuple[str | None, str | None]:
    """The trace and span to show: as given (ids or unique prefixes), else the first trace with an
    error (or the first trace) and its first error span (or its root)."""
    db = connect(store, readonly=True)
    try:
        if span is not None:
            return resolve_span(db, span, trace)
        if trace is not None:
            trace_id = resolve_trace_id(db, trace)
        else:
            traces = list_traces(db)
            with_errors = [t for t in traces if t.error_count]
            trace_id = (with_errors or traces)[0].trace_id if traces else None
        if trace_id is None:
            return trace_id, None
        rows = trace_rows(db, trace_id)
        errors = [r for r in rows if r["status"] == "error"]
        return trace_id, (errors or rows)[0]["span_id"] if rows else None
    finally:
        db.conn.close()


def screenshot(store: Path, out: Path, trace: str | None, span: str | None, size: tuple[int, int]) -> Path:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from spanscope.ui.app import application
    from spanscope.ui.main_window import QtMainWindow

    trace_id, span_id = default_selection(store, trace, span)
    app = application()
    with tempfile.TemporaryDirectory(prefix="spanscope-shot-") as tmp:
        window = QtMainWindow(QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat))
        window.resize(*size)
        window.open_store(store)
        window.show()
        window.context.select_trace(trace_id)
        window.context.select_span(span_id)
        deadline = time.monotonic() + SETTLE_S
        while time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.01)
        if not window.grab().save(str(out)):
            raise OSError(f"{out}: could not write the PNG")
        window.close()
        QApplication.processEvents()
    return out
