"""How long `spanscope check` takes over a store, against importing the same file (measured in one run).

    python benchmarks/bench_check.py [--spans 100000]

Rules that read only scalar columns cost a tree build per trace and a pass over its spans; a rule on
`output` also reads each span's payload; cost_usd with a price book also prices unreported calls.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from spanscope.core.evaluation.assertions import check, parse_rule
from spanscope.core.pricing.prices import PriceBook
from spanscope.core.store import connect, import_file

MAKE_TRACES = Path(__file__).resolve().parents[2] / "shared" / "bench" / "make_traces.py"

RULE_SETS = {
    "scalar": [
        'count(status == "error") == 0',
        "max(latency_ms) < 8000",
        'p95(latency_ms where kind == "LLM") < 3000',
        "all: sum(input_tokens) > 0",
    ],
    "payload": ['all(output not contains "As an AI")'],
    "cost": ["sum(cost_usd) < 0.5", "all: sum(cost_usd) < 100"],
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--spans", type=int, default=100_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        source, store = Path(tmp) / "traces.jsonl", Path(tmp) / "store.db"
        subprocess.run(
            [sys.executable, str(MAKE_TRACES), str(source), "--spans", str(args.spans)], check=True
        )
        began = time.perf_counter()
        import_file(store, source)
        imported = time.perf_counter() - began
        db = connect(store, readonly=True)
        print(f"{args.spans:,} spans: import {imported:.2f} s")
        for name, texts in RULE_SETS.items():
            rules = [parse_rule(t) for t in texts]
            began = time.perf_counter()
            report = check(db, rules, PriceBook())
            took = time.perf_counter() - began
            print(
                f"check {name:8} {len(rules)} rules on {report.traces:,} traces: {took:.2f} s "
                f"({args.spans / took:,.0f} spans/s, {took / imported:.2f}x the import)"
            )


if __name__ == "__main__":
    main()
