"""Opening a 20,000-span trace from a team's Phoenix server, against what Phoenix's own API needs to
return it.

    python benchmarks/bench_remote_fetch.py [--spans 20000] [--database sqlite|postgresql] [--rounds 3]

Starts a real `phoenix serve` (installed by tests/phoenix_server.py into a cached venv; PostgreSQL
from tests/postgres_server.py), feeds it one trace of `--spans` spans through OpenTelemetry's
OTLP/HTTP exporter and waits until Phoenix has stored them all (not timed). Then, in each round:
(a) Phoenix's own REST API alone: every page of the trace's spans, 1,000 a page, read and decoded;
(b) Spanscope's fetch (the same pages, annotations, each span made a Spanscope span);
(c) (b) and storing it into a fresh cache store, as File › Connect to Server's Open does.
Ratios b/a and c/a are printed per round and as medians: the machine is shared.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from phoenix_server import PhoenixServer
from postgres_server import PostgresServer
from spanscope.core.remote.base import ServerURL
from spanscope.core.remote.cache import CacheStore, open_cached_trace
from spanscope.core.remote.phoenix import PhoenixClient

PROJECT = "bench"
QUERY = "query($t: String!) { getTraceByOtelId(traceId: $t) { numSpans } }"


def feed(base_url: str, spans: int) -> str:
    """One trace of `spans` spans (a root and its children, every seventh an LLM call); its id."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.name": "bench", "openinference.project.name": PROJECT})
    provider = TracerProvider(resource=resource)
    exporter = OTLPSpanExporter(endpoint=f"{base_url}/v1/traces")
    provider.add_span_processor(
        BatchSpanProcessor(exporter, max_export_batch_size=1000, max_queue_size=40_000)
    )
    tracer = provider.get_tracer("spanscope-bench")
    with tracer.start_as_current_span("agent", attributes={"openinference.span.kind": "AGENT"}) as root:
        trace_id = format(root.get_span_context().trace_id, "032x")
        for i in range(spans - 1):
            kind = "LLM" if i % 7 == 0 else "TOOL"
            attributes = {
                "openinference.span.kind": kind,
                "llm.token_count.prompt": i,
                "input.value": f"step {i}",
            }
            with tracer.start_as_current_span(f"step {i}", attributes=attributes):
                pass
    provider.force_flush()
    provider.shutdown()
    return trace_id


def wait_until_stored(base_url: str, trace_id: str, spans: int) -> None:
    deadline = time.monotonic() + 600
    while True:
        body = httpx.post(
            f"{base_url}/graphql", json={"query": QUERY, "variables": {"t": trace_id}}, timeout=60
        )
        found = ((body.json().get("data") or {}).get("getTraceByOtelId") or {}).get("numSpans")
        if found == spans:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"Phoenix stored {found} of {spans} spans in 10 minutes")
        time.sleep(1)


def rest_alone(base_url: str, trace_id: str) -> int:
    """Every page of the trace's spans from Phoenix's REST API, decoded; the spans read."""
    params = {"trace_id": trace_id, "limit": 1000, "sort": "start_time", "order": "asc"}
    read = 0
    with httpx.Client(base_url=base_url, timeout=120) as http:
        while True:
            body = http.get(f"/v1/projects/{PROJECT}/spans", params=params).json()
            read += len(body["data"])
            if not body.get("next_cursor"):
                return read
            params["cursor"] = body["next_cursor"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=20_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        database_url = None
        if args.database == "postgresql":
            database_url = stack.enter_context(PostgresServer()).url("phoenix")
        server = stack.enter_context(PhoenixServer(database_url=database_url))
        started = time.perf_counter()
        trace_id = feed(server.base_url, args.spans)
        wait_until_stored(server.base_url, trace_id, args.spans)
        print(
            f"phoenix on {args.database}: fed {args.spans:,} spans in {time.perf_counter() - started:.0f} s"
        )
        url = ServerURL("phoenix", server.base_url)
        client = PhoenixClient(url)
        rest_alone(server.base_url, trace_id)  # untimed: the server's caches warm for both
        rows = []
        for number in range(args.rounds):
            started = time.perf_counter()
            assert rest_alone(server.base_url, trace_id) == args.spans
            api_s = time.perf_counter() - started
            started = time.perf_counter()
            client.fetch_trace(trace_id)
            fetch_s = time.perf_counter() - started
            cache = CacheStore(Path(tmp) / f"cache-{number}.db", url, None)
            started = time.perf_counter()
            open_cached_trace(client, trace_id, cache)
            open_s = time.perf_counter() - started
            rows.append((api_s, fetch_s, open_s))
            print(
                f"round {number + 1}: Phoenix's API alone {api_s:.2f} s; fetch {fetch_s:.2f} s "
                f"({fetch_s / api_s:.2f}x); fetch and store {open_s:.2f} s ({open_s / api_s:.2f}x)"
            )
        api_s, fetch_s, open_s = (statistics.median(column) for column in zip(*rows, strict=True))
        print(
            f"medians: API {api_s:.2f} s, fetch {fetch_s:.2f} s = {fetch_s / api_s:.2f}x, "
            f"fetch and store {open_s:.2f} s = {open_s / api_s:.2f}x"
        )


if __name__ == "__main__":
    main()
