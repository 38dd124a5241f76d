"""POST /v1/logs: log records from the real OpenTelemetry SDK's OTLP/HTTP log exporter, joined to the
spans of the same run, and the same error handling as /v1/traces."""

from __future__ import annotations

import gzip
import http.client
import json

import pytest
from opentelemetry._logs import LogRecord as SdkLogRecord
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from spanscope.core.receiver import OtlpReceiver
from spanscope.core.store import connect
from spanscope.core.store.logs import log_counts
from spanscope.core.store.queries import get_span

QUESTION = "Which gate does the zeppelin leave from?"
ANSWER = "Gate 7, at dawn."


def _post(receiver: OtlpReceiver, body: bytes, content_type: str, **headers: str) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", receiver.port, timeout=10)
    conn.request("POST", "/v1/logs", body, {"Content-Type": content_type, **headers})
    return conn.getresponse()


@pytest.mark.parametrize("compression", [Compression.NoCompression, Compression.Gzip])
def test_sdk_log_records_give_their_span_its_messages(served, compression):
    receiver, _, store = served
    resource = Resource.create({"service.name": "agent-app"})
    loggers = LoggerProvider(resource=resource)
    loggers.add_log_record_processor(
        BatchLogRecordProcessor(OTLPLogExporter(endpoint=receiver.logs_address, compression=compression))
    )
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=receiver.address)))
    logger = loggers.get_logger("tests.genai")
    with tracer_provider.get_tracer("tests.genai").start_as_current_span("chat gpt-4o") as span:
        span.set_attribute("gen_ai.operation.name", "chat")
        context = span.get_span_context()
        for name, body in (
            ("gen_ai.user.message", {"role": "user", "content": QUESTION}),
            ("gen_ai.choice", {"index": 0, "message": {"role": "assistant", "content": ANSWER}}),
        ):
            logger.emit(
                SdkLogRecord(
                    trace_id=context.trace_id,
                    span_id=context.span_id,
                    trace_flags=context.trace_flags,
                    body=body,
                    attributes={"event.name": name},
                )
            )
    loggers.shutdown()  # logs first: they wait for their span
    db = connect(store, readonly=True)
    assert log_counts(db) == (2, 2)
    assert receiver.stats().logs_accepted == 2
    tracer_provider.shutdown()
    assert log_counts(db) == (2, 0)
    shown = get_span(db, f"{context.trace_id:032x}", f"{context.span_id:016x}")
    assert [(m["role"], m["content"]) for m in shown.input] == [("user", QUESTION)]
    assert [(m["role"], m["content"]) for m in shown.output] == [("assistant", ANSWER)]


def test_json_logs_gzip_and_partial_success(served):
    receiver, _, store = served
    good = {"observedTimeUnixNano": "1700000000000000000", "body": {"stringValue": "hello"}}
    bad = {"traceId": "not-an-id", "observedTimeUnixNano": "1"}
    request = {"resourceLogs": [{"scopeLogs": [{"logRecords": [good, bad]}]}]}
    answer = _post(
        receiver,
        gzip.compress(json.dumps(request).encode()),
        "application/json",
        **{"Content-Encoding": "gzip"},
    )
    assert answer.status == 200
    assert json.loads(answer.read())["partialSuccess"]["rejectedLogRecords"] == "1"
    assert log_counts(connect(store, readonly=True)) == (1, 1)


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"\x0a\xff\xff\xff", "application/x-protobuf", 400),
        (b"{}", "text/plain", 415),
    ],
)
def test_bad_logs_requests_are_refused(served, body, content_type, status):
    receiver = served[0]
    answer = _post(receiver, body, content_type)
    assert answer.status == status
    answer.read()
    assert receiver.stats().bad_requests == 1
