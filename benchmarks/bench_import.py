"""Import speed against the floor of just parsing the file, and the import's peak memory.

    python benchmarks/bench_import.py [--spans 100000] [--file TRACES.jsonl] [--rounds 2] [--stages]

Writes a realistic OTLP/JSON file with ../shared/bench/make_traces.py (unless --file is given),
then alternates, in one run: a bare `orjson.loads` of each line of the file, and a full
`spanscope` import of it into a fresh store (in a child process, so its peak RSS is its own).
Reports the best of each and their ratio; the machine is shared, so only the ratio is meaningful.
Each round also imports in one transaction (the periodic commits that let views show an import
while it runs switched off), for the ratio of the import's time with and without them.

--stages also imports with stages of the import switched off, one more each time (attribute
conventions, pricing, trace roll-ups, payload storage), to show what each costs and what the rest
costs without them. Those stores are incomplete: this measures, it is not a mode of the import.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parents[1]
MAKE_TRACES = REPO.parent / "shared" / "bench" / "make_traces.py"

#: Stages that --stages switches off, cumulatively, in this order.
STAGES = ("conventions", "pricing", "roll-ups", "payload")
#: Not a stage: the child only reads the spans, and stores nothing.
READ_ONLY = "store"
#: Not a stage: the writer commits after its first batch and at the end only, as before imports
#: committed as they went.
ONE_TRANSACTION = "commits"


def switch_off(stages: set[str]) -> None:
    """Replace the named import stages with no-ops, in this (child) process only."""
    from spanscope.core import conventions
    from spanscope.core.pricing import prices as pricing
    from spanscope.core.store import ingest, payload

    if "conventions" in stages:
        conventions.apply_fields = lambda span: 0
    if "pricing" in stages:
        pricing.SpanPricer.__call__ = lambda self, span: None
    if "roll-ups" in stages:
        ingest.finalize_traces = lambda conn, trace_ids: None
    if "payload" in stages:
        payload.pack = lambda documents: b"[]"
    if ONE_TRANSACTION in stages:
        ingest.COMMIT_INTERVAL_S = threading.TIMEOUT_MAX


def read_only(path: Path) -> float:
    """The format reader alone: every span read, normalized and dropped."""
    from spanscope.core.formats import Source
    from spanscope.core.formats.registry import detect
    from spanscope.core.interpreter import paused_gc

    start = time.perf_counter()
    with paused_gc():
        source = Source(path)
        for _span in detect(source).read(source, lambda done: None):
            pass
    return time.perf_counter() - start


def child(path: Path, store: Path, stages_off: set[str]) -> None:
    """One import, timed; prints its figures as JSON for the parent."""
    import resource

    from spanscope.core.store import import_file

    if READ_ONLY in stages_off:
        print(json.dumps({"seconds": read_only(path)}))
        return
    switch_off(stages_off)
    start = time.perf_counter()
    result = import_file(store, path)
    elapsed = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures = {
        "seconds": elapsed,
        "peak_mb": peak_mb,
        "outcome": str(result.outcome),
        "spans": result.spans_added,
        "store_mb": store.stat().st_size / 1e6,
    }
    print(json.dumps(figures))


def parse_only(path: Path) -> float:
    start = time.perf_counter()
    with path.open("rb") as f:
        for line in f:
            orjson.loads(line)
    return time.perf_counter() - start


def import_once(path: Path, workdir: Path, round_no: int, stages_off: tuple[str, ...] = ()) -> dict:
    store = workdir / f"store-{round_no}.db"
    command = [sys.executable, __file__, "--child", str(path), str(store), ",".join(stages_off)]
    out = subprocess.run(command, capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    if READ_ONLY in stages_off:
        return result
    for suffix in ("", "-wal", "-shm"):
        Path(f"{store}{suffix}").unlink(missing_ok=True)
    if result["outcome"] != "imported":
        raise SystemExit(f"the import did not succeed: {result}")
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spans", type=int, default=100_000)
    ap.add_argument("--file", type=Path)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--stages", action="store_true", help="also import with stages switched off")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        path, store, off = args.child
        child(Path(path), Path(store), set(filter(None, off.split(","))))
        return
    with tempfile.TemporaryDirectory(prefix="spanscope-bench-") as tmp:
        workdir = Path(tmp)
        path = args.file
        if path is None:
            path = workdir / "traces.jsonl"
            subprocess.run(
                [sys.executable, str(MAKE_TRACES), str(path), "--spans", str(args.spans)], check=True
            )
        size_mb = path.stat().st_size / 1e6
        variants = [STAGES[:n] for n in range(1, len(STAGES) + 1)] if args.stages else []
        parses, imports, at_once = [], [], []
        without: dict[tuple[str, ...], list[float]] = {v: [] for v in variants}
        reads: list[float] = []
        for round_no in range(args.rounds):
            parses.append(parse_only(path))
            if args.stages:
                reads.append(import_once(path, workdir, round_no, (READ_ONLY,))["seconds"])
            imports.append(import_once(path, workdir, round_no))
            at_once.append(import_once(path, workdir, round_no, (ONE_TRANSACTION,))["seconds"])
            for off in variants:
                without[off].append(import_once(path, workdir, round_no, off)["seconds"])
        best_parse = min(parses)
        best = min(imports, key=lambda r: r["seconds"])
        print(f"file: {path.name}, {size_mb:.0f} MB, {best['spans']:,} spans imported ({best['outcome']})")
        parse_rounds = ", ".join(f"{p:.3f}" for p in parses)
        print(f"bare orjson.loads per line: {best_parse:.3f} s (rounds: {parse_rounds})")
        rounds = ", ".join(f"{r['seconds']:.3f}" for r in imports)
        print(f"spanscope import:           {best['seconds']:.3f} s (rounds: {rounds})")
        print(f"ratio import / parse: {best['seconds'] / best_parse:.2f}x (target <= 2.0x)")
        once = ", ".join(f"{s:.3f}" for s in at_once)
        print(f"in one transaction:         {min(at_once):.3f} s (rounds: {once})")
        print(f"ratio committing as it goes / one transaction: {best['seconds'] / min(at_once):.3f}x")
        print(f"import peak RSS: {max(r['peak_mb'] for r in imports):.0f} MB (target < 600 MB)")
        print(f"store size: {best['store_mb']:.0f} MB ({best['store_mb'] / size_mb:.2f}x the file)")
        for off, seconds in without.items():
            label = f"without {', '.join(off)}:"
            print(f"  {label:52s} {min(seconds):.3f} s, {min(seconds) / best_parse:.2f}x")
        if reads:
            label = "reading the spans only, nothing stored:"
            print(f"  {label:52s} {min(reads):.3f} s, {min(reads) / best_parse:.2f}x")


if __name__ == "__main__":
    main()
