"""Offscreen renderings of the app: `spanscope screenshot` (one PNG of the main window) and
`python -m spanscope.ui.screenshot DIR` (`make screenshots`: every main tab and the Compare Traces
window of the demo, at each size, light and dark).

Each rendering runs on an offscreen screen exactly the size of the window, so windows and dialogs
that size themselves to their screen do so as on a real screen of that size."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from spanscope.core.resources import demo_traces
from spanscope.core.store import Outcome, connect, import_file
from spanscope.core.store.queries import list_traces, resolve_span, resolve_trace_id, trace_rows

#: How long the window is given to settle after a change before it is grabbed, at the least and at most
#: (background work ends it early once every worker is idle).
SETTLE_S, SETTLE_MAX_S = 0.3, 20.0
#: The sizes and colour schemes `make screenshots` renders.
SIZES = ((1280, 720), (1920, 1080))
SCHEMES = ("light", "dark")
#: What the Search tab is shown searching for, and the demo trace the Compare Traces window opens on.
DEMO_SEARCH = "hotel"
DEMO_DIFF_TRACE = "support_turn"
MODULE = "spanscope.ui.screenshot"


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


def _first_trace_named(store: Path, name: str) -> str | None:
    db = connect(store, readonly=True)
    try:
        return next((t.trace_id for t in list_traces(db) if t.root_name == name), None)
    finally:
        db.conn.close()


def _offscreen_screen(size: tuple[int, int], folder: Path) -> None:
    """Run Qt offscreen on one screen of `size`, unless a QApplication (or a platform other than
    plain offscreen) was chosen already."""
    from PySide6.QtWidgets import QApplication

    if QApplication.instance() is not None or os.environ.get("QT_QPA_PLATFORM", "offscreen") != "offscreen":
        return
    width, height = size
    screen = {"name": "screenshot", "x": 0, "y": 0, "width": width, "height": height}
    config = folder / "screen.json"
    config.write_text(json.dumps({"screens": [{**screen, "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}))
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={config}"


def _settle(window) -> None:
    """Let the window take its layout and finish its background work."""
    from PySide6.QtWidgets import QApplication

    from spanscope.ui.workers import QtWorker

    start = time.monotonic()
    while time.monotonic() - start < SETTLE_MAX_S:
        QApplication.processEvents()
        busy = any(w.busy for w in window.findChildren(QtWorker))
        if not busy and time.monotonic() - start >= SETTLE_S:
            break
        time.sleep(0.01)
    QApplication.processEvents()


def _save(widget, out: Path) -> Path:
    if not widget.grab().save(str(out)):
        raise OSError(f"{out}: could not write the PNG")
    return out


@contextmanager
def shown_window(store: Path, size: tuple[int, int], scheme: str | None) -> Iterator:
    """The main window on `store`, shown at `size` with fresh settings, closed afterwards."""
    with tempfile.TemporaryDirectory(prefix="spanscope-shot-") as tmp:
        _offscreen_screen(size, Path(tmp))
        from PySide6.QtCore import QSettings, Qt
        from PySide6.QtWidgets import QApplication

        from spanscope.ui.app import application
        from spanscope.ui.main_window import QtMainWindow
        from spanscope.ui.style import ColorScheme

        application(ColorScheme(scheme) if scheme else None)
        window = QtMainWindow(QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat))
        window.setWindowState(Qt.WindowState.WindowNoState)
        window.resize(*size)
        window.open_store(store)
        window.show()
        try:
            yield window
        finally:
            window.close()
            QApplication.processEvents()


def screenshot(
    store: Path,
    out: Path,
    trace: str | None,
    span: str | None,
    size: tuple[int, int],
    scheme: str | None = None,
) -> Path:
    """The main window on `store` with `trace` and `span` selected (see default_selection), as a PNG."""
    trace_id, span_id = default_selection(store, trace, span)
    with shown_window(store, size, scheme) as window:
        window.context.select_trace(trace_id)
        window.context.select_span(span_id)
        _settle(window)
        return _save(window, out)


def _views(window, store: Path) -> dict[str, Callable[[], object]]:
    """Each view `make screenshots` renders, by file name: how to bring it forward. The last one,
    Compare Traces, returns its own window."""
    from spanscope.ui.context import View

    def search() -> None:
        window.context.show_view(View.SEARCH)
        window.search.query.setText(DEMO_SEARCH)
        _settle(window)  # the search index is built when the tab first shows
        window.search.run_search()

    def compare_traces():
        window.context.show_view(View.TRACES)
        window.context.select_trace(_first_trace_named(store, DEMO_DIFF_TRACE))
        return window.compare_traces()

    return {
        "traces": lambda: window.context.show_view(View.TRACES),
        "dashboard": lambda: window.context.show_view(View.DASHBOARD),
        "compare-models": lambda: window.context.show_view(View.COMPARE),
        "review": lambda: window.context.show_view(View.REVIEW),
        "search": search,
        "compare-traces": compare_traces,
    }


def render_all(store: Path, folder: Path, size: tuple[int, int], scheme: str) -> list[Path]:
    """Every view of `_views` at `size` in `scheme`, as folder/VIEW-WxH-SCHEME.png."""
    written = []
    trace_id, span_id = default_selection(store, None, None)
    with shown_window(store, size, scheme) as window:
        window.context.select_trace(trace_id)
        window.context.select_span(span_id)
        _settle(window)
        for name, bring_forward in _views(window, store).items():
            shown = bring_forward() or window
            _settle(window)
            written.append(_save(shown, folder / f"{name}-{size[0]}x{size[1]}-{scheme}.png"))
            if shown is not window:
                shown.close()
    return written


def demo_store(folder: Path) -> Path:
    """The bundled demo imported into a store in `folder`."""
    store = folder / "demo.db"
    result = import_file(store, demo_traces())
    if result.outcome is not Outcome.IMPORTED:
        raise OSError(f"{demo_traces()}: {result.error or result.outcome}")
    return store


def render_demo(folder: Path) -> list[Path]:
    """Every view of the demo at every size of SIZES, light and dark, into `folder`. Each size and
    scheme renders in a process of its own: Qt's screen and palette are set once per process."""
    folder.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.gettempdir()) / "spanscope-screenshots"  # the status bar shows its path
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    try:
        store = demo_store(scratch)
        for width, height in SIZES:
            for scheme in SCHEMES:
                argv = [str(folder), "--one", str(store), f"{width}x{height}", scheme]
                subprocess.run([sys.executable, "-m", MODULE, *argv], check=True, env=_offscreen_env())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return sorted(folder.glob("*.png"))


def _offscreen_env() -> dict[str, str]:
    return {**os.environ, "QT_QPA_PLATFORM": "offscreen"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m spanscope.ui.screenshot",
        description="Render every main tab and the Compare Traces window of the demo, at "
        + " and ".join(f"{w}x{h}" for w, h in SIZES)
        + ", light and dark, as PNGs in DIR.",
    )
    parser.add_argument("folder", metavar="DIR", type=Path)
    parser.add_argument("--one", nargs=3, metavar=("STORE", "WxH", "SCHEME"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        store, size, scheme = args.one
        width, height = (int(v) for v in size.split("x"))
        written = render_all(Path(store), args.folder, (width, height), scheme)
    else:
        written = render_demo(args.folder)
    for path in written:
        print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
