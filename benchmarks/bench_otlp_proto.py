"""Import speed of OTLP protobuf against the same spans as OTLP JSON.

    python benchmarks/bench_otlp_proto.py [--spans 100000] [--rounds 2]

Writes a realistic OTLP/JSON file with ../shared/bench/make_traces.py, converts each line to an
ExportTraceServiceRequest with the opentelemetry-proto package and writes the requests as the
Collector's file exporter does with `format: proto` (4-byte big-endian length, then the message).
Then alternates, in one run: reading each file (reader + semantic conventions, no store) and a full
import of each into a fresh store. Reports the best of each and the protobuf/JSON ratios; the
machine is shared, so only the ratios are meaningful.
"""

from __future__ import annotations

import argparse
import base64
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from spanscope.core.formats import Source
from spanscope.core.formats.registry import detect
from spanscope.core.store import import_file

REPO = Path(__file__).resolve().parents[1]
MAKE_TRACES = REPO.parent / "shared" / "bench" / "make_traces.py"
ID_KEYS = ("traceId", "spanId", "parentSpanId")


def to_proto_json(request: dict[str, Any]) -> dict[str, Any]:
    """OTLP JSON's hex ids as the base64 the generic protobuf JSON mapping expects."""
    for resource_spans in request["resourceSpans"]:
        for scope_spans in resource_spans["scopeSpans"]:
            for span in scope_spans["spans"]:
                for key in ID_KEYS:
                    if span.get(key):
                        span[key] = base64.b64encode(bytes.fromhex(span[key])).decode()
    return request


def convert(json_path: Path, proto_path: Path) -> None:
    with json_path.open("rb") as lines, proto_path.open("wb") as out:
        for line in lines:
            message = json_format.ParseDict(to_proto_json(orjson.loads(line)), ExportTraceServiceRequest())
            body = message.SerializeToString()
            out.write(len(body).to_bytes(4, "big") + body)


def read_only(path: Path) -> tuple[float, int]:
    source = Source(path)
    fmt = detect(source)
    start = time.perf_counter()
    count = sum(1 for _ in fmt.read(source, lambda _: None))
    return time.perf_counter() - start, count


def import_once(path: Path, store: Path) -> float:
    start = time.perf_counter()
    result = import_file(store, path)
    elapsed = time.perf_counter() - start
    assert result.problems == [] and result.spans_added, result
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--spans", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="spanscope-bench-") as tmp:
        work = Path(tmp)
        json_path, proto_path = work / "traces.jsonl", work / "traces.otlp.binpb"
        subprocess.run(
            [sys.executable, str(MAKE_TRACES), str(json_path), "--spans", str(args.spans)],
            check=True,
            capture_output=True,
        )
        convert(json_path, proto_path)
        best: dict[tuple[str, str], float] = {}
        counts = {}
        for round_no in range(args.rounds):
            for name, path in (("json", json_path), ("proto", proto_path)):
                seconds, counts[name] = read_only(path)
                best[name, "read"] = min(best.get((name, "read"), seconds), seconds)
                seconds = import_once(path, work / f"store-{name}-{round_no}.db")
                best[name, "import"] = min(best.get((name, "import"), seconds), seconds)
        assert counts["json"] == counts["proto"], counts
        print(f"{counts['json']:,} spans")
        for name, path in (("json", json_path), ("proto", proto_path)):
            print(
                f"{name:>5}: {path.stat().st_size / 1e6:8.1f} MB  read {best[name, 'read']:6.2f} s  "
                f"import {best[name, 'import']:6.2f} s"
            )
        for step in ("read", "import"):
            print(f"proto/json {step} time ratio: {best['proto', step] / best['json', step]:.2f}")


if __name__ == "__main__":
    main()
