"""One huge trace in a store, and paint timing: shared by the tree, timeline and stepping benchmarks."""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from PySide6.QtWidgets import QApplication, QWidget

from spanscope.core.store import connect, import_file
from spanscope.core.store.queries import list_traces

MAKE_TRACES = Path(__file__).resolve().parents[2] / "shared" / "bench" / "make_traces.py"


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--spans", type=int, default=100_000)
    ap.add_argument("--file", type=Path, help="an OTLP/JSON file to use instead of writing one")
    ap.add_argument("--store", type=Path, help="a store to use as is (its largest trace)")


def make_file(path: Path, spans: int) -> None:
    """One trace of `spans` spans: make_traces draws each trace's size from an exponential with mean
    --spans-per-trace, so a mean far above `spans` makes the first trace take the whole budget."""
    command = [sys.executable, str(MAKE_TRACES), str(path), "--spans", str(spans)]
    subprocess.run(
        [*command, "--spans-per-trace", str(spans * 1000), "--input-bytes", "200"],
        check=True,
        stdout=subprocess.DEVNULL,
    )


@contextlib.contextmanager
def big_trace(args: argparse.Namespace) -> Iterator[tuple[Path, str, int]]:
    """(store, trace id, span count) of the largest trace, written and imported unless given."""
    with tempfile.TemporaryDirectory(prefix="spanscope-bench-") as tmp:
        store = args.store
        if store is None:
            source = args.file or Path(tmp) / "trace.jsonl"
            if args.file is None:
                make_file(source, args.spans)
            store = Path(tmp) / "store.db"
            import_file(store, source)
        db = connect(store, readonly=True)
        [trace] = list_traces(db, order_by="span_count", descending=True, limit=1)
        db.conn.close()
        yield store, trace.trace_id, trace.span_count


def painted(app: QApplication, widget: QWidget, action: Callable[[], object]) -> float:
    """Seconds from `action` until the widget has handled its events and painted."""
    start = time.perf_counter()
    action()
    app.processEvents()
    widget.grab()
    return time.perf_counter() - start


def first_paint(app: QApplication, context, widget: QWidget, trace_id: str, rounds: int) -> float:
    """Best time from selecting the trace to `widget` painted, reading and building the tree anew
    each round (a refresh is "new data arrived", which drops the context's shared tree)."""
    times = []
    for _ in range(rounds):
        context.select_trace(None)
        context.refresh()
        app.processEvents()
        times.append(painted(app, widget, lambda: context.select_trace(trace_id)))
    return min(times)
