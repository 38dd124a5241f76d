"""Import speed against the floor of just parsing the file, and the import's peak memory.

    python benchmarks/bench_import.py [--spans 100000] [--file TRACES.jsonl] [--rounds 2]

Writes a realistic OTLP/JSON file with ../shared/bench/make_traces.py (unless --file is given),
then alternates, in one run: a bare `orjson.loads` of each line of the file, and a full
`spanscope` import of it into a fresh store (in a child process, so its peak RSS is its own).
Reports the best of each and their ratio; the machine is shared, so only the ratio is meaningful.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parents[1]
MAKE_TRACES = REPO.parent / "shared" / "bench" / "make_traces.py"

CHILD = """
import json, resource, sys, time
from pathlib import Path
from spanscope.core.store import import_file
start = time.perf_counter()
result = import_file(Path(sys.argv[2]), Path(sys.argv[1]))
elapsed = time.perf_counter() - start
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": elapsed, "peak_mb": peak_mb, "outcome": str(result.outcome),
                  "spans": result.spans_added, "store_mb": Path(sys.argv[2]).stat().st_size / 1e6}))
"""


def parse_only(path: Path) -> float:
    start = time.perf_counter()
    with path.open("rb") as f:
        for line in f:
            orjson.loads(line)
    return time.perf_counter() - start


def import_once(path: Path, workdir: Path, round_no: int) -> dict:
    store = workdir / f"store-{round_no}.db"
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(store)], capture_output=True, text=True, check=True
    )
    for suffix in ("", "-wal", "-shm"):
        Path(f"{store}{suffix}").unlink(missing_ok=True)
    result = json.loads(out.stdout)
    if result["outcome"] != "imported":
        raise SystemExit(f"the import did not succeed: {result}")
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spans", type=int, default=100_000)
    ap.add_argument("--file", type=Path)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="spanscope-bench-") as tmp:
        workdir = Path(tmp)
        path = args.file
        if path is None:
            path = workdir / "traces.jsonl"
            subprocess.run(
                [sys.executable, str(MAKE_TRACES), str(path), "--spans", str(args.spans)], check=True
            )
        size_mb = path.stat().st_size / 1e6
        parses, imports = [], []
        for round_no in range(args.rounds):
            parses.append(parse_only(path))
            imports.append(import_once(path, workdir, round_no))
        best_parse = min(parses)
        best = min(imports, key=lambda r: r["seconds"])
        print(f"file: {path.name}, {size_mb:.0f} MB, {best['spans']:,} spans imported ({best['outcome']})")
        parse_rounds = ", ".join(f"{p:.3f}" for p in parses)
        print(f"bare orjson.loads per line: {best_parse:.3f} s (rounds: {parse_rounds})")
        rounds = ", ".join(f"{r['seconds']:.3f}" for r in imports)
        print(f"spanscope import:           {best['seconds']:.3f} s (rounds: {rounds})")
        print(f"ratio import / parse: {best['seconds'] / best_parse:.2f}x (target <= 2.0x)")
        print(f"import peak RSS: {max(r['peak_mb'] for r in imports):.0f} MB (target < 600 MB)")
        print(f"store size: {best['store_mb']:.0f} MB ({best['store_mb'] / size_mb:.2f}x the file)")


if __name__ == "__main__":
    main()
