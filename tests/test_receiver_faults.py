"""The receiver under faults, fed by the real OpenTelemetry SDK exporter: every span acknowledged is
stored (signals right after a burst, a full disk), a bad span is rejected alone, every connection of
a thousand at once is answered, and a token is required when one is set."""

from __future__ import annotations

import http.client
import resource
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path

import orjson
import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otlp import request, span
from spanscope.cli.commands.serve import _loopback_only
from spanscope.core.receiver import OtlpReceiver
from spanscope.core.store import connect
from spanscope.core.store.live import SpanSink

BATCHES, BATCH_SPANS = 40, 500


def made_spans(count: int, end_ns: int | None = None) -> list[ReadableSpan]:
    """`count` finished spans made by the SDK, in traces of 50; `end_ns` sets the last one's end."""
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("tests.faults")
    for t in range(0, count, 50):
        with tracer.start_as_current_span(f"request {t}"):
            for c in range(min(50, count - t) - 1):
                with tracer.start_as_current_span("chat") as child:
                    child.set_attribute("gen_ai.request.model", "gpt-4o-mini")
                    child.set_attribute("gen_ai.usage.input_tokens", c)
    finished = list(memory.get_finished_spans())
    if end_ns is not None:
        last = tracer.start_span("the span that ends at the end of time")
        last.end(end_time=end_ns)
        finished.append(last)
    provider.shutdown()
    return finished


def stored_ids(store: Path) -> set[str]:
    db = connect(store, readonly=True)
    try:
        return {row[0] for row in db.execute("SELECT span_id FROM spans")}
    finally:
        db.conn.close()


def hex_ids(spans: Sequence[ReadableSpan]) -> set[str]:
    return {f"{s.context.span_id:016x}" for s in spans}


class Serve:
    """`spanscope serve` in its own process on a free loopback port."""

    def __init__(self, store: Path, *args: str, limit_file_bytes: int | None = None) -> None:
        command = [sys.executable, "-m", "spanscope.cli", "serve", "--db", str(store), "--port", "0", *args]

        def limit() -> None:  # files grow no further: writes fail as on a full disk
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_file_bytes, limit_file_bytes))

        self.process = subprocess.Popen(
            command, stderr=subprocess.PIPE, text=True, preexec_fn=None if limit_file_bytes is None else limit
        )
        self.first_line = self.process.stderr.readline()
        assert "listening on" in self.first_line, self.first_line + self.process.stderr.read()
        self.url = self.first_line.split()[2]
        self.port = int(self.url.split(":")[2].split("/")[0])

    def stop(self, number: int = signal.SIGTERM) -> tuple[int, str]:
        self.process.send_signal(number)
        rest = self.process.stderr.read()  # to its end: the process has exited
        return self.process.wait(30), rest


def export_all(url: str, batches: list[list[ReadableSpan]], at_first_answer: Callable[[], object]) -> list:
    """Export each batch on its own exporter and thread, all at once; call `at_first_answer` once the
    first is acknowledged (then end the exporters' retries). The results in batch order."""
    # Long enough to hear every answer made (a request answered after the client gave up would be
    # stored but not acknowledged).
    exporters = [OTLPSpanExporter(endpoint=url, timeout=5) for _ in batches]
    results: list = [None] * len(batches)
    first = threading.Event()

    def export(i: int) -> None:
        results[i] = exporters[i].export(batches[i])
        if results[i] is SpanExportResult.SUCCESS:
            first.set()

    threads = [threading.Thread(target=export, args=(i,)) for i in range(len(batches))]
    for thread in threads:
        thread.start()
    first.wait(30)
    at_first_answer()
    for exporter in exporters:
        exporter.shutdown()  # retrying a stopped receiver would only end in failure later
    for thread in threads:
        thread.join(30)
    return results


def acknowledged(batches: list[list[ReadableSpan]], results: list) -> set[str]:
    return {
        span_id
        for batch, result in zip(batches, results, strict=True)
        if result is SpanExportResult.SUCCESS
        for span_id in hex_ids(batch)
    }


@pytest.fixture(scope="module")
def burst() -> list[list[ReadableSpan]]:
    spans = made_spans(BATCHES * BATCH_SPANS)
    return [spans[i : i + BATCH_SPANS] for i in range(0, len(spans), BATCH_SPANS)]


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=["TERM", "HUP", "INT"])
def test_a_signal_right_after_a_burst_stores_exactly_the_acknowledged_spans(tmp_path, burst, number):
    store = tmp_path / "live.db"
    serve = Serve(store)
    stopped: list[tuple[int, str]] = []
    results = export_all(serve.url, burst, lambda: stopped.append(serve.stop(number)))
    ((code, said),) = stopped
    ok = acknowledged(burst, results)
    assert len(ok) > 0
    assert stored_ids(store) == ok  # nothing acknowledged is lost, nothing stored was refused
    assert code == 0 and f"{len(ok):,} spans in" in said and "Traceback" not in said


def test_a_full_disk_gets_503_and_every_acknowledged_span_is_stored(tmp_path, burst):
    store = tmp_path / "live.db"
    connect(store).conn.close()
    # Room for the store as made and a few batches in its write-ahead log, not for 20,000 spans.
    serve = Serve(store, limit_file_bytes=store.stat().st_size + 3 * 1024 * 1024)
    results: list[SpanExportResult] = []
    for batch in burst:  # one batch at a time, as the SDK's batch processor sends, until 3 are refused
        exporter = OTLPSpanExporter(endpoint=serve.url, timeout=1.5)  # one retry after Retry-After: 1
        results.append(exporter.export(batch))
        exporter.shutdown()
        if results.count(SpanExportResult.FAILURE) == 3:
            break
    conn = http.client.HTTPConnection("127.0.0.1", serve.port, timeout=10)
    body = orjson.dumps(request(span("00000000000000f1")))
    conn.request("POST", "/v1/traces", body, {"Content-Type": "application/json"})
    answer = conn.getresponse()
    refusal = orjson.loads(answer.read())
    code, said = serve.stop()
    ok = acknowledged(burst[: len(results)], results)
    assert 0 < len(ok) < len(results) * BATCH_SPANS
    assert stored_ids(store) == ok
    assert answer.status == 503 and answer.getheader("Retry-After") == "1"
    assert "cannot be written" in refusal["message"]
    assert code == 0 and "refused while the store could not take them" in said


def test_a_span_ending_at_the_end_of_time_is_stored_or_rejected_alone(served, burst):
    receiver, _, store = served
    spans = made_spans(5, end_ns=2**64 - 1)
    odd = f"{spans[-1].context.span_id:016x}"
    other_client: list[SpanExportResult] = []
    beside = threading.Thread(
        target=lambda: other_client.append(OTLPSpanExporter(endpoint=receiver.address).export(burst[0]))
    )
    beside.start()
    conn = http.client.HTTPConnection("127.0.0.1", receiver.port, timeout=10)
    conn.request(
        "POST",
        "/v1/traces",
        encode_spans(spans).SerializeToString(),
        {"Content-Type": "application/x-protobuf"},
    )
    answer = conn.getresponse()
    partial = ExportTraceServiceResponse.FromString(answer.read()).partial_success
    beside.join(30)
    have = stored_ids(store)
    assert answer.status == 200 and other_client == [SpanExportResult.SUCCESS]
    assert hex_ids(spans[:-1]) | hex_ids(burst[0]) <= have
    assert_stored_or_rejected_alone(odd, have, partial.rejected_spans, partial.error_message)


def test_an_int_value_beyond_int64_is_stored_or_rejected_alone(served):
    receiver, _, store = served
    huge = span("00000000000000e1", name="huge")
    huge["attributes"] = [{"key": "n", "value": {"intValue": "99999999999999999999"}}]
    good = [span(f"00000000000000d{i}", name="good") for i in range(5)]
    conn = http.client.HTTPConnection("127.0.0.1", receiver.port, timeout=10)
    conn.request(
        "POST", "/v1/traces", orjson.dumps(request(*good, huge)), {"Content-Type": "application/json"}
    )
    answer = conn.getresponse()
    partial = orjson.loads(answer.read()).get("partialSuccess", {})
    have = stored_ids(store)
    assert answer.status == 200 and {s["spanId"] for s in good} <= have
    assert_stored_or_rejected_alone(
        "00000000000000e1", have, int(partial.get("rejectedSpans", 0)), partial.get("errorMessage", "")
    )


def assert_stored_or_rejected_alone(span_id: str, have: set[str], rejected: int, message: str) -> None:
    """Readers may keep an out-of-range value (as text, flagged); if the store still refuses the span,
    it alone is rejected and the answer names it."""
    if span_id in have:
        assert rejected == 0
    else:
        assert rejected == 1 and span_id in message


def test_a_body_nested_too_deeply_gets_400_with_a_message(served):
    receiver = served[0]
    depth = 20_000
    value = '{"kvlistValue":{"values":[{"key":"k","value":' * depth + '{"stringValue":"x"}' + "}]}}" * depth
    body = (
        '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c",'
        '"spanId":"00000000000000c1","name":"deep","startTimeUnixNano":"1","attributes":[{"key":"d","value":'
        + value
        + "}]}]}]}]}"
    )
    conn = http.client.HTTPConnection("127.0.0.1", receiver.port, timeout=10)
    conn.request("POST", "/v1/traces", body.encode(), {"Content-Type": "application/json"})
    answer = conn.getresponse()
    assert answer.status == 400 and "nested deeper" in orjson.loads(answer.read())["message"]


def test_a_thousand_simultaneous_connections_are_all_answered_and_stored(served):
    receiver, _, store = served
    count = 1000
    clients = [socket.create_connection(("127.0.0.1", receiver.port), timeout=20) for _ in range(count)]
    try:
        for i, client in enumerate(clients):
            body = orjson.dumps(request(span(f"{i + 1:016x}")))
            client.sendall(
                b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
        statuses = []
        for client in clients:
            answer = http.client.HTTPResponse(client)
            answer.begin()
            answer.read()
            statuses.append(answer.status)
    finally:
        for client in clients:
            client.close()
    assert statuses == [200] * count
    assert len(stored_ids(store)) == count


@pytest.fixture
def guarded(tmp_path) -> Iterator[tuple[OtlpReceiver, Path]]:
    store = tmp_path / "live.db"
    sink = SpanSink(store, "otlp-http://test")
    receiver = OtlpReceiver(sink, port=0, token="s3cret-token")
    receiver.start()
    yield receiver, store
    receiver.stop()
    sink.close()


def test_a_token_is_required_on_every_request_when_set(guarded, burst):
    receiver, store = guarded
    without = OTLPSpanExporter(endpoint=receiver.address, timeout=1)
    wrong = OTLPSpanExporter(endpoint=receiver.address, timeout=1, headers={"Authorization": "Bearer guess"})
    right = OTLPSpanExporter(endpoint=receiver.address, headers={"Authorization": "Bearer s3cret-token"})
    assert without.export(burst[0]) is SpanExportResult.FAILURE
    assert wrong.export(burst[0]) is SpanExportResult.FAILURE
    assert stored_ids(store) == set()
    assert right.export(burst[1]) is SpanExportResult.SUCCESS
    assert stored_ids(store) == hex_ids(burst[1])
    conn = http.client.HTTPConnection("127.0.0.1", receiver.port, timeout=10)
    conn.request("GET", "/v1/traces")
    answer = conn.getresponse()
    assert answer.status == 401 and answer.getheader("WWW-Authenticate", "").startswith("Bearer")
    assert "bearer token" in orjson.loads(answer.read())["message"]
    assert receiver.stats().unauthorized == 3


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("::1", True), ("0.0.0.0", False)])
def test_only_loopback_hosts_count_as_this_machine_only(host, loopback):
    assert _loopback_only(host) is loopback


def test_serve_on_every_interface_warns_and_takes_its_token_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SPANSCOPE_TOKEN", "from-the-environment")
    serve = Serve(tmp_path / "live.db", "--host", "0.0.0.0")
    try:
        conn = http.client.HTTPConnection("127.0.0.1", serve.port, timeout=10)
        conn.request("POST", "/v1/traces", b"{}", {"Content-Type": "application/json"})
        refused = conn.getresponse().status
        conn = http.client.HTTPConnection("127.0.0.1", serve.port, timeout=10)
        headers = {"Content-Type": "application/json", "Authorization": "Bearer from-the-environment"}
        conn.request("POST", "/v1/traces", b"{}", headers)
        served = conn.getresponse().status
    finally:
        code, said = serve.stop()
    assert (refused, served) == (401, 200)
    assert "warning: any machine that can reach 0.0.0.0" in said and "unencrypted" in said
    assert code == 0 and "1 requests without the token (401)" in said


@pytest.mark.slow
def test_a_long_soak_of_signals_and_bursts_loses_nothing(tmp_path):
    """Ten serve processes in a row on one store, each stopped by a signal mid-burst of new spans."""
    store = tmp_path / "live.db"
    expected: set[str] = set()
    for round_number in range(10):
        spans = made_spans(BATCHES * BATCH_SPANS)
        batches = [spans[i : i + BATCH_SPANS] for i in range(0, len(spans), BATCH_SPANS)]
        serve = Serve(store)
        number = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)[round_number % 3]
        expected |= acknowledged(batches, export_all(serve.url, batches, partial(serve.stop, number)))
        assert stored_ids(store) == expected


def test_serve_on_a_store_it_cannot_write_says_so_without_a_traceback(tmp_path):
    store = tmp_path / "live.db"
    connect(store).conn.close()
    command = [sys.executable, "-m", "spanscope.cli", "serve", "--db", str(store), "--port", "0"]

    def no_file_may_grow() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (1, 1))

    done = subprocess.run(command, capture_output=True, text=True, timeout=30, preexec_fn=no_file_may_grow)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"spanscope: {store}") and "listening" not in done.stderr
