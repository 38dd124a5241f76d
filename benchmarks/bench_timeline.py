"""How the timeline copes with one huge trace: opening it, and stepping the highlight through it.

    python benchmarks/bench_timeline.py [--spans 100000] [--file F | --store S] [--rounds 3] [--steps 200]

Writes one trace of `--spans` spans with ../shared/bench/make_traces.py (unless --file is given),
imports it into a temporary store, then measures with the panel shown offscreen at 1000x300:

- first paint: from the trace being selected (on_trace_changed) to the panel painted (grab());
- stepping: `--steps` highlight moves to the next span in tree order, each delivered by the context
  and painted, as when the user holds a key down in the span tree (the view pans now and then);
- jumping: `--steps` moves spread over the whole trace, each panning the view (all bars repainted).

The machine is shared: the ratio to the bare SELECT says more than the absolute figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from PySide6.QtWidgets import QApplication

from big_trace import add_arguments, big_trace, first_paint
from spanscope.core.store.queries import trace_rows
from spanscope.ui.context import QtTraceContext
from spanscope.ui.timeline import QtTimelinePanel


def moves(app: QApplication, context: QtTraceContext, span_ids: list[str]) -> list[float]:
    """Seconds per highlight move: the context delivers the span, the panel repaints what changed."""
    times = []
    for span_id in span_ids:
        start = time.perf_counter()
        context.select_span(span_id)
        app.processEvents()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(ap)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=200)
    args = ap.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QApplication([])
    with big_trace(args) as (store, trace_id, spans):
        report(app, store, trace_id, spans, args.rounds, args.steps)


def report(app: QApplication, store: Path, trace_id: str, spans: int, rounds: int, steps: int) -> None:
    context = QtTraceContext()
    context.open_store(store)
    start = time.perf_counter()
    trace_rows(context.db, trace_id)
    select = time.perf_counter() - start
    panel = QtTimelinePanel(context)
    panel.resize(1000, 300)
    panel.show()
    app.processEvents()
    first = first_paint(app, context, panel, trace_id, rounds)
    ids = trace_rows(context.db, trace_id).columns["span_id"]
    in_order = [ids[i] for i in panel.rows_in_order()]
    renders = panel.render_count
    steps_taken = moves(app, context, in_order[1 : steps + 1])
    jumps = moves(app, context, in_order[:: max(1, len(ids) // steps)][:steps])
    redraws = panel.render_count - renders
    print(f"trace {trace_id}: {spans:,} spans, {panel.bar_count():,} bars")
    print(f"bare SELECT (trace_rows):    {select * 1000:7.0f} ms")
    print(f"first paint after selection: {first * 1000:7.0f} ms  ({first / select:.2f}x the SELECT)")
    for label, times in (("steps to the next row", steps_taken), ("jumps across the trace", jumps)):
        print(
            f"{len(times)} {label}, each delivered and painted: {sum(times) * 1000:.0f} ms in all, "
            f"median {statistics.median(times) * 1000:.1f} ms, worst {max(times) * 1000:.1f} ms"
        )
    print(f"highlight redraws: {redraws} for {len(steps_taken) + len(jumps)} moves")
    context.close_store()


if __name__ == "__main__":
    main()
