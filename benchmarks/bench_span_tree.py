"""How the span tree copes with one huge trace, against the floor of just reading its rows.

    python benchmarks/bench_span_tree.py [--spans 100000] [--file F | --store S] [--rounds 3]

Writes one trace of `--spans` spans with ../shared/bench/make_traces.py (unless --file is given),
imports it into a temporary store, then measures in one run, with the panel shown offscreen:

- the bare `trace_rows` SELECT of that trace (the floor: the tree cannot show rows it has not read);
- first paint: from the trace being selected (on_trace_changed) to the tree painted (grab());
- expand all, to painted;
- the worst stall while scrolling through the expanded tree a page at a time, to the very end;
- collapsing then expanding the widest parent, each to painted (one block of rows removed, inserted).

Targets: first paint < 300 ms, no stall > 100 ms. The machine is shared: the ratios say more than the
absolute figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QApplication

from big_trace import add_arguments, big_trace, first_paint, painted
from spanscope.core.debugging.tree import TraceTree
from spanscope.core.store.queries import trace_rows
from spanscope.ui.context import QtTraceContext
from spanscope.ui.span_tree import QtSpanTreePanel


def best_of(rounds: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def scroll_through(app: QApplication, panel: QtSpanTreePanel) -> list[float]:
    """Page down to the end (fetching every batch on the way); seconds per page step."""
    bar = panel.view.verticalScrollBar()
    bar.setValue(0)
    app.processEvents()
    steps = []
    while True:
        before = (bar.value(), bar.maximum())
        start = time.perf_counter()
        bar.setValue(bar.value() + bar.pageStep())
        app.processEvents()
        panel.view.viewport().repaint()
        steps.append(time.perf_counter() - start)
        if (bar.value(), bar.maximum()) == before:
            return steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(ap)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QApplication([])
    with big_trace(args) as (store, trace_id, spans):
        report(app, store, trace_id, spans, args.rounds)


def report(app: QApplication, store: Path, trace_id: str, spans: int, rounds: int) -> None:
    context = QtTraceContext()
    context.open_store(store)
    select = best_of(rounds, lambda: trace_rows(context.db, trace_id))
    rows = trace_rows(context.db, trace_id)
    build = best_of(rounds, lambda: TraceTree.build(rows))
    load = best_of(rounds, lambda: TraceTree.build(trace_rows(context.db, trace_id)))
    panel = QtSpanTreePanel(context)
    panel.resize(1000, 700)
    panel.show()
    app.processEvents()
    first = first_paint(app, context, panel, trace_id, rounds)
    expand = painted(app, panel, panel.expand_all)
    steps = scroll_through(app, panel)
    worst = max(steps)
    tree = panel.model.tree
    widest = max(range(len(tree.rows)), key=lambda i: len(tree.children[i]))
    collapse = painted(app, panel, lambda: panel.model.collapse(widest))
    reopen = painted(app, panel, lambda: panel.model.expand(widest))
    print(f"trace {trace_id}: {spans:,} spans, {panel.view.verticalScrollBar().maximum():,} rows scrolled")
    print(f"bare SELECT (trace_rows):      {select * 1000:7.0f} ms")
    print(f"TraceTree.build:               {build * 1000:7.0f} ms")
    print(f"SELECT + build:                {load * 1000:7.0f} ms")
    ratio = f"{first / select:.2f}x the SELECT"
    print(f"first paint after selection:   {first * 1000:7.0f} ms  ({ratio}; target < 300 ms)")
    print(f"expand all, painted:           {expand * 1000:7.0f} ms")
    print(
        f"scroll: {len(steps):,} page steps, median {statistics.median(steps) * 1000:.1f} ms, "
        f"worst {worst * 1000:.0f} ms (target < 100 ms)"
    )
    wide = f"{len(tree.children[widest]):,} children"
    print(f"collapse / expand widest ({wide}): {collapse * 1000:.0f} / {reopen * 1000:.0f} ms")
    context.close_store()


if __name__ == "__main__":
    main()
