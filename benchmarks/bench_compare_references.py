"""The Compare models tab on a store without references: does reading reference metrics slow it?

    python benchmarks/bench_compare_references.py [--calls 100000] [--rounds 5]

Uses the dashboard benchmark's synthetic store (benchmarks/dashboard_store.py: counted LLM calls, no
Inspect log, no expectations), opens the tab offscreen at 1600x1000 and times "refresh" (what a filter
change or an import does) until the side-by-side table is drawn, two ways in alternate rounds:
- without: the references job is not submitted (the tab as it was before reference metrics);
- with: as shipped, the job submitted and finding, by its cheap check, that there are none.
Also timed alone: the cheap check, and the means when a file of references is attached (then every
span is read; that result arrives after the table, which does not wait for it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import orjson
from PySide6.QtWidgets import QApplication

from dashboard_store import store_for
from spanscope.core.evaluation.model_references import may_have_references, reference_means
from spanscope.core.evaluation.reference_metrics import load_references
from spanscope.core.store import connect
from spanscope.ui.context import QtTraceContext
from spanscope.ui.dashboard.compare_tab import QtCompareTab


def until(app: QApplication, done) -> None:
    while not done():
        app.processEvents()
        time.sleep(0.0005)


def timed_refresh(app: QApplication, tab: QtCompareTab) -> float:
    """Seconds from refresh() to the table drawn, and the references job (if any) finished too."""
    drawn = tab.draw_count
    started = time.perf_counter()
    tab.refresh()
    until(app, lambda: tab.draw_count > drawn)
    elapsed = time.perf_counter() - started
    tab.references_job.wait()
    app.processEvents()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    store = store_for(args.calls)
    app = QApplication.instance() or QApplication([])
    context = QtTraceContext()
    context.open_store(store)
    tab = QtCompareTab(context)
    tab.resize(1600, 1000)
    tab.show()
    until(app, lambda: tab.draw_count > 0)
    submit = tab.references_job.start_reads
    times: dict[str, list[float]] = {"without": [], "with": []}
    for _ in range(args.rounds):
        for way in ("without", "with"):
            tab.references_job.start_reads = submit if way == "with" else (lambda *a, **k: 0)
            times[way].append(timed_refresh(app, tab))
    tab.references_job.start_reads = submit
    spans = connect(store, readonly=True).execute("SELECT count(*) FROM spans").fetchone()[0]
    print(f"store: {store} ({spans:,} spans), {args.rounds} rounds each, medians")
    without, with_ = statistics.median(times["without"]), statistics.median(times["with"])
    print(f"  refresh to table drawn, without the references job: {without * 1000:8.1f} ms")
    print(f"  refresh to table drawn, with it (none found):       {with_ * 1000:8.1f} ms")
    print(f"  ratio with / without: {with_ / without:.3f}")

    db = connect(store, readonly=True)
    checks = []
    for _ in range(20):
        started = time.perf_counter()
        assert not may_have_references(db)
        checks.append(time.perf_counter() - started)
    print(f"  the cheap check alone: {statistics.median(checks) * 1000:.2f} ms")
    trace_ids = [t for (t,) in db.execute("SELECT trace_id FROM traces LIMIT 1000")]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "refs.jsonl"
        lines = (orjson.dumps({"trace_id": t, "expected": "yes"}) + b"\n" for t in trace_ids)
        path.write_bytes(b"".join(lines))
        entries = load_references(path)
        started = time.perf_counter()
        found = reference_means(db, entries)
        elapsed = time.perf_counter() - started
    print(
        f"  with a file of {len(entries):,} references attached: means over {found.spans:,} spans "
        f"in {elapsed:.2f} s (every span read; off the GUI thread, after the table)"
    )
    context.close_store()


if __name__ == "__main__":
    main()
