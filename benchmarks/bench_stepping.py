"""Holding "next step" down across a huge trace renders only the newest step.

    python benchmarks/bench_stepping.py [--spans 100000] [--file F | --store S] [--held 2000]

With the whole main window shown offscreen on one trace of `--spans` spans, in one run:
- a held key: `--held` next-step calls arrive before the event loop runs again (key repeat is faster
  than rendering); afterwards the panels must have rendered once, the newest step only;
- steps one at a time, each followed by the event loop: every step renders, and its time is the
  latency a user sees per key press.
Renders are counted by an observer registered on the shared context (every panel is told through
it) and by the timeline's own redraw counter.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from big_trace import add_arguments, big_trace
from spanscope.ui.context import QtObserver
from spanscope.ui.main_window import QtMainWindow


class SpanChanges(QtObserver):
    def __init__(self) -> None:
        self.count = 0
        self.last: str | None = None

    def on_span_changed(self, trace_id: str | None, span_id: str | None) -> None:
        self.count += 1
        self.last = span_id


def settle(app: QApplication) -> None:
    for _ in range(3):
        app.processEvents()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(ap)
    ap.add_argument("--held", type=int, default=2000, help="next-step calls while the key is held")
    ap.add_argument("--single", type=int, default=200, help="steps rendered one at a time")
    args = ap.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QApplication([])
    with big_trace(args) as (store, trace_id, spans), tempfile.TemporaryDirectory() as tmp:
        window = QtMainWindow(QSettings(str(Path(tmp) / "s.ini"), QSettings.Format.IniFormat))
        window.resize(1600, 1000)
        window.open_store(store)
        window.show()
        window.context.select_trace(trace_id)
        settle(app)
        probe = SpanChanges()
        window.context.register(probe)
        probe.count, timeline_before = 0, window.timeline.render_count

        start = time.perf_counter()
        for _ in range(args.held):
            window.stepping.step_next()
        settle(app)
        held_s = time.perf_counter() - start
        held_renders = probe.count
        timeline_renders = window.timeline.render_count - timeline_before
        rendered_newest = probe.last == window.stepping.cursor.step == window.context.span_id

        singles = []
        for _ in range(args.single):
            start = time.perf_counter()
            window.stepping.step_next()
            settle(app)
            singles.append(time.perf_counter() - start)

        print(f"trace {trace_id}: {spans:,} spans, main window 1600x1000 offscreen")
        print(f"held key: {args.held:,} steps in {held_s * 1000:.0f} ms")
        print(f"  context deliveries to panels: {held_renders} (target 1)")
        print(f"  timeline highlight redraws:   {timeline_renders} (target 1)")
        print(f"  the step rendered is the newest: {rendered_newest}")
        print(
            f"one step at a time: median {statistics.median(singles) * 1000:.1f} ms, "
            f"worst {max(singles) * 1000:.1f} ms over {args.single} steps"
        )
        window.close()


if __name__ == "__main__":
    main()
