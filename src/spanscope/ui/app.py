"""Starting the desktop app: `spanscope [FILE_OR_STORE...]`."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from pyqtgraph.util.garbage_collector import GarbageCollector
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from spanscope import __version__
from spanscope.core.resources import APP_ID, demo_traces
from spanscope.core.store import connect, default_store_path, is_store
from spanscope.ui.style import ColorScheme, app_icon, apply_color_scheme, chosen_color_scheme


def application(scheme: ColorScheme | None = None) -> QApplication:
    """The QApplication, showing `scheme` (by default the one the user chose)."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Spanscope")
    app.setOrganizationName("Spanscope")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(APP_ID)  # Wayland matches the window to the .desktop entry and its icon
    app.setWindowIcon(app_icon())
    apply_color_scheme(app, scheme or chosen_color_scheme(QSettings("Spanscope", "Spanscope")))
    collect_garbage_on_gui_thread()
    return app


_collector: GarbageCollector | None = None


def collect_garbage_on_gui_thread() -> None:
    """Turn Python's automatic cycle collection off and collect on the GUI thread on a timer.

    The collector otherwise runs in whichever thread happens to allocate, so a worker can free a
    cycle holding Qt objects (pyqtgraph items are full of cycles): Qt then deadlocks or crashes.
    Seen in the tests: a dashboard job's thread freeing a graphics item held the lock that the GUI
    thread, deleting a menu, needed, while waiting for the GIL that the GUI thread held.
    Needs the QApplication; calling it again does nothing."""
    global _collector
    if _collector is None:
        _collector = GarbageCollector(interval=1.0)


def prepare_window(sources: Sequence[str], scratch: Path):
    """A main window showing `sources`; with none, the demo traces in a scratch store.

    Trace files go into the user's own store, so opening them again is instant; stores are shown
    as they are.
    """
    from spanscope.ui.main_window import QtMainWindow

    window = QtMainWindow()
    paths = [Path(s) for s in sources]
    missing = [p for p in paths if not p.exists()]
    paths = [p for p in paths if p.exists()]
    if not paths:
        store = scratch / "demo.db"
        files = [demo_traces()] if not missing else []
    elif any(is_store(p) for p in paths):
        store = next(p for p in paths if is_store(p))
        files = [p for p in paths if not is_store(p)]
    else:
        store, files = default_store_path(), paths
    connect(store).conn.close()
    window.open_store(store)
    if files:
        window.import_files(files)
    for path in missing:
        window.report_missing(path)
    return window


def run_app(sources: Sequence[str]) -> int:
    app = application()
    with tempfile.TemporaryDirectory(prefix="spanscope-") as scratch:
        window = prepare_window(sources, Path(scratch))
        window.show()
        return app.exec()
