"""Comparing two huge traces: `spanscope diff` against only reading both traces' spans.

    python benchmarks/bench_trace_diff.py [--spans 100000]

Writes two traces of about `--spans` spans each from different seeds (same shape of agent loops,
different steps), imports them into one store and, in one run, times:
- reading: `iter_spans` over both traces (every payload decoded), the floor any diff must pay;
- the diff: `diff_traces` (trees, payload texts, alignment, classification);
- alignment alone, on the two trees already built.

On the 2-core test machine, two traces of 100,000 spans (114,816 aligned rows): reading 3.06 s,
diff_traces 6.66 s (2.2x reading), alignment alone 0.99 s.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from big_trace import MAKE_TRACES
from spanscope.core.debugging.tree import TraceTree
from spanscope.core.diff.trace_diff import align, diff_traces
from spanscope.core.store import connect, import_file
from spanscope.core.store.queries import iter_spans, list_traces, trace_rows


def best(rounds: int, action) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spans", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="spanscope-bench-") as tmp:
        store = Path(tmp) / "store.db"
        for seed in (1, 2):
            path = Path(tmp) / f"trace{seed}.jsonl"
            subprocess.run(
                [
                    sys.executable,
                    str(MAKE_TRACES),
                    str(path),
                    "--spans",
                    str(args.spans),
                    "--seed",
                    str(seed),
                    "--spans-per-trace",
                    str(args.spans * 1000),
                    "--input-bytes",
                    "200",
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            import_file(store, path)
        db = connect(store, readonly=True)
        a, b = (t.trace_id for t in list_traces(db, order_by="span_count", descending=True, limit=2))
        read = best(args.rounds, lambda: [sum(1 for _ in iter_spans(db, t)) for t in (a, b)])
        diff = None

        def run() -> None:
            nonlocal diff
            diff = diff_traces(db, a, b)

        whole = best(args.rounds, run)
        trees = [TraceTree.build(trace_rows(db, t)) for t in (a, b)]
        aligning = best(args.rounds, lambda: align(*trees))
        print(
            f"traces: {diff.a.spans:,} and {diff.b.spans:,} spans; rows: {len(diff.rows):,} {diff.counts()}"
        )
        print(f"read both traces' spans: {read:.2f} s")
        print(f"diff_traces:             {whole:.2f} s ({whole / read:.1f}x reading)")
        print(f"align only:              {aligning:.2f} s")


if __name__ == "__main__":
    main()
