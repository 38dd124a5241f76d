"""Review mode on a million traces: starting a walk, each key (store the review, count progress,
show the trace), leaving the tab (the trace list catches up), and exporting the reviews.

    python benchmarks/bench_review.py [--traces 1000000] [--reviews 2000] [--store PATH]

Uses the synthetic store of bench_trace_list.py (trace roll-ups only; built once and reused from the
temp dir), copied so the reviews written here never leak into other benchmarks. Target: no key
slower than 100 ms on the GUI thread.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QTabWidget

from bench_trace_list import ms, store_for
from spanscope.core.review.annotations import RATING, WHOLE_TRACE, Given, annotate
from spanscope.core.review.export import write_csv, write_jsonl
from spanscope.core.review.session import ReviewWalk
from spanscope.core.store import connect
from spanscope.core.store.trace_query import TraceFilter, fetch_rows, sorted_trace_ids
from spanscope.ui.context import QtTraceContext, View
from spanscope.ui.review import QtReview
from spanscope.ui.trace_list import QtTraceListPanel

TARGET_MS = 100.0
KEYS = 50


def seed_reviews(store: Path, count: int) -> None:
    """`count` earlier reviews spread over the store, by the reviewer the keys will give as."""
    db = connect(store, readonly=True)
    rowids = sorted_trace_ids(db, TraceFilter())
    step = max(1, len(rowids) // count)
    ids = [t.trace_id for t in fetch_rows(db, rowids[::step][:count])]
    db.conn.close()
    for i, trace_id in enumerate(ids):
        annotate(store, trace_id, WHOLE_TRACE, "bench", {RATING: Given(1 + i % 5)})


def summary(times: list[float]) -> str:
    return f"median {statistics.median(times):.1f} ms, max {max(times):.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=1_000_000)
    parser.add_argument("--reviews", type=int, default=2000, help="reviews already in the store")
    parser.add_argument("--store", type=Path)
    args = parser.parse_args()
    source = store_for(args.traces, args.store)
    with tempfile.TemporaryDirectory(prefix="spanscope-bench-review-") as tmp:
        store = Path(shutil.copy(source, Path(tmp) / "store.db"))
        started = time.perf_counter()
        seed_reviews(store, args.reviews)
        seeded = time.perf_counter() - started
        print(
            f"{args.traces:,} traces; {args.reviews:,} reviews written one by one in {seeded:.1f} s "
            f"({seeded / args.reviews * 1000:.1f} ms each, a connection and transaction per review)"
        )

        db = connect(store, readonly=True)
        walk_ms = ms(lambda: ReviewWalk(db, TraceFilter(), "start_ns", True, "bench"))
        filtered_ms = ms(lambda: ReviewWalk(db, TraceFilter(errors_only=True), "cost_usd", True, "bench"))
        print(f"start a walk: all traces {walk_ms:.0f} ms, errors only by cost {filtered_ms:.0f} ms")

        app = QApplication.instance() or QApplication([])
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
        settings.setValue("review/author", "bench")
        context = QtTraceContext()
        context.open_store(store)
        window = QTabWidget()
        trace_list = QtTraceListPanel(context)
        window.addTab(trace_list, "Traces")
        review = QtReview(context, settings, window)
        window.addTab(review.make_tab(trace_list), "Review")
        views = {View.TRACES: trace_list, View.REVIEW: review.tab}
        context.view_requested.connect(lambda view: window.setCurrentWidget(views[view]))
        window.resize(1400, 900)
        window.show()
        app.processEvents()
        start_ms = ms(lambda: (review.start(), app.processEvents()))
        tab = review.tab
        rate, move = [], []
        for i in range(KEYS):
            rate.append(ms(lambda n=i: (tab.choose(RATING, Given(float(1 + n % 5))), app.processEvents())))
            move.append(ms(lambda: (tab.move(1), app.processEvents())))
        print(f"review tab: start {start_ms:.0f} ms; a rating key {summary(rate)}; J {summary(move)}")
        print(f"  progress after {KEYS} keys: {tab.progress_label.text()}")
        leave_ms = ms(lambda: (window.setCurrentIndex(0), app.processEvents()))
        print(f"leaving the tab (the trace list re-reads the store): {leave_ms:.0f} ms")

        jsonl_ms = ms(lambda: write_jsonl(db, io.BytesIO()))
        csv_ms = ms(lambda: write_csv(db, io.StringIO()))
        print(f"export {args.reviews + KEYS:,} reviews: JSONL {jsonl_ms:.0f} ms, CSV {csv_ms:.0f} ms")
        worst = max(max(rate), max(move))
        print(
            f"worst key {worst:.1f} ms: {'within' if worst <= TARGET_MS else 'OVER'} "
            f"the {TARGET_MS:.0f} ms target"
        )
        window.close()
        context.close_store()
        db.conn.close()


if __name__ == "__main__":
    main()
