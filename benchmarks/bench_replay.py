"""Replaying traces with another model: what Spanscope adds around the model calls.

    python benchmarks/bench_replay.py [--spans 20000] [--concurrency 4]

Writes a yardstick file (../shared/bench/make_traces.py), imports it, and starts the tests' local
OpenAI-compatible server (streaming its answers with no pause, so the endpoint costs as little as
it can). Then, in one
run, (a) replays every LLM call of every trace with `core/replay/batch.run` — recorded requests
read from the store, calls N at a time, each trace mirrored and stored whole — and (b) sends the
same requests bare through the same client, N at a time, storing nothing. The ratio a/b is the
cost of reading, mirroring and storing per call; with a real model, whose answers take seconds,
it shrinks toward 1.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from openai_server import OpenAICompatibleServer
from spanscope.core.endpoints.client import ModelClient
from spanscope.core.endpoints.config import Endpoint
from spanscope.core.model import Kind
from spanscope.core.replay.batch import ReplayArgs, ReplayState, run
from spanscope.core.replay.recorded import recorded_request
from spanscope.core.store import connect, import_file
from spanscope.core.store.queries import iter_spans

MAKE_TRACES = Path(__file__).resolve().parents[2] / "shared" / "bench" / "make_traces.py"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        traces = folder / "traces.jsonl"
        subprocess.run(
            [sys.executable, str(MAKE_TRACES), str(traces), "--spans", str(args.spans)], check=True
        )
        store = folder / "store.db"
        import_file(store, traces)
        db = connect(store, readonly=True)
        calls = [s for s in iter_spans(db) if s.kind is Kind.LLM and s.input is not None]
        trace_ids = tuple(sorted({s.trace_id for s in calls}))
        with OpenAICompatibleServer(chunk_delay_s=0) as server:
            endpoint = Endpoint("bench", server.base_url, max_retries=0)
            start = time.perf_counter()
            outcome = run(
                ReplayArgs(store, endpoint, "local-small", traces=trace_ids, concurrency=args.concurrency),
                ReplayState(),
            )
            replayed_s = time.perf_counter() - start
            requests = [recorded_request(s, "local-small") for s in calls]
            client = ModelClient(endpoint)
            start = time.perf_counter()
            with ThreadPoolExecutor(args.concurrency) as pool:
                list(pool.map(client.complete, requests))
            bare_s = time.perf_counter() - start
    print(
        f"{len(trace_ids):,} traces, {len(calls):,} LLM calls ({outcome.calls:,} replayed in "
        f"{len(outcome.replayed):,} traces, {len(outcome.failures)} failures), concurrency {args.concurrency}"
    )
    print(
        f"replay run (read, call, mirror, store): {replayed_s:.2f} s "
        f"= {replayed_s / len(calls) * 1000:.2f} ms/call"
    )
    print(
        f"bare client calls, nothing stored:      {bare_s:.2f} s = {bare_s / len(calls) * 1000:.2f} ms/call"
    )
    print(f"ratio: {replayed_s / bare_s:.2f}x")


if __name__ == "__main__":
    main()
