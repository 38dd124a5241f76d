"""Live capture under load: a burst of spans from another process through the OTLP/HTTP receiver.

    python benchmarks/bench_receiver.py [--traces 2000] [--children 25]

A sender process (the real OpenTelemetry SDK with its OTLP/HTTP protobuf exporter, batches of 512)
sends traces * (children + 1) spans as fast as it can, then stops by itself. The same spans are also
written, as the exporter encodes them, to a Collector-style protobuf file. The sender is also timed
alone (no exporter): creating spans in the SDK is itself a large part of the time. Reports spans/s from the
first span sent to the last one stored, checks that the store holds every span exactly once, and
compares with `import_file` of that file, both measured in this run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from spanscope.core.receiver import OtlpReceiver
from spanscope.core.store import connect, import_file
from spanscope.core.store.live import SpanSink

SENDER = textwrap.dedent(
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

    endpoint, copy, traces, children = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    provider = TracerProvider()
    queue = traces * (children + 1)
    # "-": only the file copy, to time the sender on its own
    if endpoint != "-":
        exporter = OTLPSpanExporter(endpoint=endpoint)
        batches = BatchSpanProcessor(exporter, max_queue_size=queue, max_export_batch_size=512)
        provider.add_span_processor(batches)
    provider.add_span_processor(BatchSpanProcessor(FileExporter(copy), max_queue_size=queue))
    tracer = provider.get_tracer("burst")
    print(time.time(), flush=True)
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
    """
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--traces", type=int, default=2000)
    ap.add_argument("--children", type=int, default=25)
    args = ap.parse_args()
    expected = args.traces * (args.children + 1)
    with tempfile.TemporaryDirectory(prefix="spanscope-bench-") as tmp:
        work = Path(tmp)
        store, copy = work / "live.db", work / "burst.binpb"
        sink = SpanSink(store, "otlp-http://bench")
        receiver = OtlpReceiver(sink, port=0)
        receiver.start()
        sender = subprocess.run(
            [sys.executable, "-c", SENDER, receiver.address, str(copy), str(args.traces), str(args.children)],
            capture_output=True,
            text=True,
            check=True,
        )
        started = float(sender.stdout.split()[0])
        if not sink.flush(timeout=600):
            raise SystemExit("the sink did not store everything within 10 minutes")
        live_s = time.time() - started
        receiver.stop()
        sink.close()
        db = connect(store, readonly=True)
        stored, distinct = db.execute("SELECT count(*), count(DISTINCT span_id) FROM spans").fetchone()
        if (stored, distinct) != (expected, expected) or receiver.stats().bad_requests:
            raise SystemExit(
                f"lost or duplicated spans: sent {expected}, stored {stored} ({distinct} distinct)"
            )
        alone = subprocess.run(
            [
                sys.executable,
                "-c",
                SENDER,
                "-",
                str(work / "alone.binpb"),
                str(args.traces),
                str(args.children),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        sender_s = time.time() - float(alone.stdout.split()[0])
        begin = time.perf_counter()
        result = import_file(work / "imported.db", copy)
        import_s = time.perf_counter() - begin
        if result.spans_added != expected:
            raise SystemExit(f"the file import added {result.spans_added} of {expected} spans")
    print(f"spans sent: {expected:,} from another process (SDK OTLP/HTTP protobuf, batches of 512)")
    print(f"received and stored: {stored:,}, each once; {receiver.stats().requests:,} requests")
    print(f"live: {live_s:.2f} s, {expected / live_s:,.0f} spans/s (first span created -> last stored)")
    print(f"the sender alone (no receiver, same spans): {sender_s:.2f} s, {expected / sender_s:,.0f} spans/s")
    print(
        f"import of the same spans from a protobuf file: {import_s:.2f} s, {expected / import_s:,.0f} spans/s"
    )
    print(f"ratio live / import: {live_s / import_s:.2f}x")


if __name__ == "__main__":
    main()
