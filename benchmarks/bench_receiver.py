"""Live capture against file import, for the same spans, in one run.

    python benchmarks/bench_receiver.py [--traces 2000] [--children 25] [--connections 4]

1. The sender alone: the real OpenTelemetry SDK makes traces * (children + 1) spans and writes each
   export batch (512 spans) as the OTLP/HTTP exporter encodes it, to a Collector-style protobuf
   file. Making spans in the SDK costs about as much as storing them, so this caps figure 2; so does
   the same program exporting over HTTP to a receiver that reads each request and answers 200 at once.
2. SDK -> `spanscope serve`: the same program with the SDK's OTLP/HTTP protobuf exporter (one
   connection, one batch at a time, each answered once committed), from the first span made to the
   last batch acknowledged.
3. Raw POST -> `spanscope serve`: the file's batches POSTed as they are, on `--connections`
   keep-alive connections, from the first request to the last answer: the receiver's own pace.
4. `import_file` of that file (what `spanscope import` runs), timed in this process.

Every run checks that the store holds each span exactly once. Reports spans/s and live/import ratios.
"""

from __future__ import annotations

import argparse
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from spanscope.core.store import connect, import_file

SDK_SENDER = textwrap.dedent(
    """
    import struct, sys, time
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    class FileExporter(SpanExporter):
        def __init__(self, path):
            self.out = open(path, "wb")
        def export(self, spans):
            body = encode_spans(spans).SerializeToString()
            self.out.write(struct.pack(">I", len(body)) + body)
            return SpanExportResult.SUCCESS
        def shutdown(self):
            self.out.close()

    target, traces, children = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    queue = traces * (children + 1)
    # A path: write the batches to that file; a URL: export them to that receiver.
    if target.startswith("http"):
        exporter = OTLPSpanExporter(endpoint=target)
    else:
        exporter = FileExporter(target)
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter, max_queue_size=queue, max_export_batch_size=512))
    tracer = provider.get_tracer("burst")
    began = time.perf_counter()
    for t in range(traces):
        with tracer.start_as_current_span(f"invoke_agent {t % 7}") as root:
            root.set_attribute("gen_ai.operation.name", "invoke_agent")
            for c in range(children):
                with tracer.start_as_current_span("chat gpt-4o-mini") as span:
                    span.set_attribute("gen_ai.operation.name", "chat")
                    span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
                    span.set_attribute("gen_ai.usage.input_tokens", 200 + c)
                    span.set_attribute("gen_ai.usage.output_tokens", 20)
                    part = '{"type": "text", "content": "question %d"}' % c
                    span.set_attribute("gen_ai.input.messages", '[{"role": "user", "parts": [%s]}]' % part)
    provider.shutdown()
    print(time.perf_counter() - began)
    """
)

NULL_RECEIVER = textwrap.dedent(
    """
    import sys
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()
    """
)

RAW_SENDER = textwrap.dedent(
    """
    import http.client, struct, sys, threading, time
    port, path, connections = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    data = open(path, "rb").read()
    bodies, pos = [], 0
    while pos < len(data):
        (size,) = struct.unpack(">I", data[pos:pos + 4])
        bodies.append(data[pos + 4:pos + 4 + size])
        pos += 4 + size
    failures = []

    def send(mine):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for body in mine:
            conn.request("POST", "/v1/traces", body, {"Content-Type": "application/x-protobuf"})
            answer = conn.getresponse()
            answer.read()
            if answer.status != 200:
                failures.append(answer.status)
        conn.close()

    threads = [threading.Thread(target=send, args=(bodies[i::connections],)) for i in range(connections)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(time.perf_counter() - began, len(failures))
    """
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Serve:
    """`spanscope serve` in its own process, on a free port, into `store`."""

    def __init__(self, store: Path) -> None:
        self.store = store
        self.port = free_port()
        command = [
            sys.executable,
            "-m",
            "spanscope.cli",
            "serve",
            "--db",
            str(store),
            "--port",
            str(self.port),
        ]
        self.process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
        first = self.process.stderr.readline()
        if "listening on" not in first:
            raise SystemExit(f"spanscope serve did not start: {first}{self.process.stderr.read()}")
        self.url = f"http://127.0.0.1:{self.port}/v1/traces"

    def stop(self, expected: int) -> str:
        """Stop it as a service manager would (SIGTERM), check the store, return its summary."""
        self.process.send_signal(signal.SIGTERM)
        _, rest = self.process.communicate(timeout=60)
        check_store(self.store, expected, "spanscope serve")
        return rest.strip().splitlines()[-1]


def check_store(store: Path, expected: int, what: str) -> None:
    db = connect(store, readonly=True)
    stored, distinct = db.execute("SELECT count(*), count(DISTINCT span_id) FROM spans").fetchone()
    db.conn.close()
    if (stored, distinct) != (expected, expected):
        raise SystemExit(
            f"{what}: lost or duplicated spans: sent {expected}, stored {stored} ({distinct} distinct)"
        )


def run(*command: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", *command], capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(done.stderr)
    return done.stdout.split()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--traces", type=int, default=2000)
    ap.add_argument("--children", type=int, default=25)
    ap.add_argument("--connections", type=int, default=4, help="raw POST connections at once (default 4)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each; the best is reported (default 3)")
    args = ap.parse_args()
    spans = args.traces * (args.children + 1)
    sizes = (str(args.traces), str(args.children))
    best: dict[str, float] = {}
    summaries: dict[str, str] = {}

    def keep(name: str, seconds: float, summary: str = "") -> None:
        if seconds < best.get(name, float("inf")):
            best[name], summaries[name] = seconds, summary

    with tempfile.TemporaryDirectory(prefix="spanscope-bench-") as tmp:
        work = Path(tmp)
        copy = work / "burst.binpb"
        for attempt in range(args.repeat):
            # Each round in the same order, so a busy moment of the machine falls on all alike.
            keep("sender alone (SDK, no receiver)", float(run(SDK_SENDER, str(copy), *sizes)[0]))

            null = subprocess.Popen([sys.executable, "-c", NULL_RECEIVER], stdout=subprocess.PIPE, text=True)
            url = f"http://127.0.0.1:{null.stdout.readline().strip()}/v1/traces"
            keep("SDK exporter -> a receiver storing nothing", float(run(SDK_SENDER, url, *sizes)[0]))
            null.kill()
            null.wait()

            serve = Serve(work / f"sdk{attempt}.db")
            seconds = float(run(SDK_SENDER, serve.url, *sizes)[0])
            keep("SDK exporter -> spanscope serve", seconds, serve.stop(spans))

            for connections in sorted({1, args.connections}):
                serve = Serve(work / f"raw{connections}-{attempt}.db")
                seconds, failures = run(RAW_SENDER, str(serve.port), str(copy), str(connections))
                if int(failures):
                    raise SystemExit(f"raw POST: {failures} requests not answered 200")
                keep(f"raw POST x{connections} -> spanscope serve", float(seconds), serve.stop(spans))

            begin = time.perf_counter()
            result = import_file(work / f"imported{attempt}.db", copy)
            keep("import_file of the same spans", time.perf_counter() - begin)
            if result.spans_added != spans:
                raise SystemExit(f"the file import added {result.spans_added} of {spans} spans")
        batches = len(list(_bodies(copy)))

    print(f"{spans:,} spans in {args.traces:,} traces, {batches} requests of up to 512 (the SDK's protobuf)")
    print(f"best of {args.repeat}; every live run stored each span once and was stopped with SIGTERM")
    imported = best["import_file of the same spans"]
    for name, seconds in best.items():
        ratio = f"{imported / seconds:.2f}x import" if "serve" in name else ""
        print(f"  {name:<44} {seconds:6.2f} s {spans / seconds:9,.0f} spans/s  {ratio}")
        if summaries[name]:
            print(f"      serve said: {summaries[name]}")
    sdk = best["SDK exporter -> spanscope serve"] / best["SDK exporter -> a receiver storing nothing"]
    print(f"the SDK exporter to spanscope serve takes {sdk:.2f}x its time to a receiver that stores nothing")


def _bodies(path: Path):
    data = path.read_bytes()
    pos = 0
    while pos < len(data):
        (size,) = struct.unpack(">I", data[pos : pos + 4])
        yield data[pos + 4 : pos + 4 + size]
        pos += 4 + size


if __name__ == "__main__":
    main()
