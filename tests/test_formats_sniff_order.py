"""Why each `after` of the formats is there: for every one, a file of the earlier format that the
later format's sniffer claims too, which detection must give to the earlier one."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from spanscope.core.formats import Source, detect, registry
from spanscope.core.formats.zip_members import ZIP_MAGIC

RUN = {"id": "7f0c0a52-5d1e-4b57-9a7e-2f1c8d8e1a01", "run_type": "chain", "status": "success"}
OBSERVATION = {"id": "o1", "traceId": "t1", "type": "SPAN", "startTime": "2025-01-01T00:00:00Z"}
CONSOLE = {"name": "call", "context": {"trace_id": "0x" + "1" * 32, "span_id": "0x" + "2" * 16}}
AGENTS_SPAN = {
    "object": "trace.span",
    "id": "span_" + "1" * 24,
    "trace_id": "trace_" + "2" * 32,
    "parent_id": None,
    "started_at": "2025-01-01T00:00:00.000Z",
    "ended_at": "2025-01-01T00:00:01.000Z",
    "error": None,
}
EVAL_LOG = {"version": 2, "status": "success", "eval": {"run_id": "r1", "task_id": "t1"}}
#: What other formats' sniffers look for, as nested JSON may hold it.
OTLP_KEYS = {"resourceSpans": []}
JAEGER_KEYS = {"traceID": "abc", "spanID": "def"}
CONSOLE_KEYS = {"context": {"trace_id": "0x1"}}
INSPECT_KEYS = {"version": 2, "status": "x", "eval": {"task_id": "t"}}
ZIPKIN_KEYS = {"traceId": "abc", "localEndpoint": {}}


def doc(value: object) -> bytes:
    return json.dumps(value).encode()


def eval_log(metadata: dict) -> bytes:
    """An Inspect eval log whose eval metadata is `metadata`."""
    return doc({**EVAL_LOG, "eval": {**EVAL_LOG["eval"], "metadata": metadata}})


def agents_body(data: dict) -> bytes:
    """An Agents SDK ingest body whose one span is a custom span holding `data`."""
    return doc({"data": [{**AGENTS_SPAN, "span_data": {"type": "custom", "name": "c", "data": data}}]})


def otlp_request() -> bytes:
    """A protobuf request body with one span, as the OTLP protobuf sniffer requires."""
    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id, span.span_id, span.start_time_unix_nano, span.name = b"\x01" * 16, b"\x02" * 8, 1, "s"
    return request.SerializeToString()


def eval_zip_walking_as_protobuf() -> bytes:
    """An Inspect .eval zip whose local header reads as protobuf: its version field's two bytes are
    the tag and length of a field that skips the rest of the header, then the member is a request."""
    name, body = b"samples/1_epoch_1.json", otlp_request()
    skipped = struct.calcsize("<HHHHIIIHH") + len(name)
    header = struct.pack(
        "<4sBBHHHHIIIHH", ZIP_MAGIC, 0x62, skipped, 0, 0, 0, 0, 0, len(body), len(body), len(name), 0
    )
    return header + name + body


def multipart_walking_as_protobuf() -> bytes:
    """A LangSmith multipart body whose boundary reads as protobuf in the same way."""
    part = b'\r\nContent-Disposition: form-data; name="post.' + RUN["id"].encode() + b'"\r\n\r\n'
    skipped = ord("x")
    return b"--12bx" + b"q" * (skipped - len(part)) + part + otlp_request()


#: (earlier format, later format): a file of the earlier one that the later one's sniffer claims.
WITNESSES = {
    ("langsmith", "otlp-json"): doc({**RUN, "inputs": OTLP_KEYS}),
    ("langfuse-export", "otlp-json"): doc({**OBSERVATION, "input": OTLP_KEYS}),
    ("otel-console", "otlp-json"): doc({**CONSOLE, "attributes": {"resourceSpans": ["a"]}}),
    ("inspect-eval", "otlp-json"): eval_log(OTLP_KEYS),
    ("langsmith", "jaeger-json"): doc({**RUN, "inputs": JAEGER_KEYS}),
    ("langfuse-export", "jaeger-json"): doc({**OBSERVATION, "input": JAEGER_KEYS}),
    ("otel-console", "jaeger-json"): doc({**CONSOLE, "attributes": JAEGER_KEYS}),
    ("inspect-eval", "jaeger-json"): eval_log(JAEGER_KEYS),
    ("langsmith", "zipkin-json"): doc([{**RUN, "inputs": ZIPKIN_KEYS}]),
    ("langfuse-export", "zipkin-json"): doc([{**OBSERVATION, "metadata": ZIPKIN_KEYS}]),
    ("langsmith", "otel-console"): doc({**RUN, "inputs": CONSOLE_KEYS}),
    ("langfuse-export", "otel-console"): doc({**OBSERVATION, "input": CONSOLE_KEYS}),
    ("inspect-eval", "otel-console"): doc(
        {**EVAL_LOG, "eval": {**EVAL_LOG["eval"], "metadata": CONSOLE_KEYS}}
    ),
    ("langsmith", "inspect-eval"): doc({**RUN, "inputs": INSPECT_KEYS}),
    ("langfuse-export", "inspect-eval"): doc({**OBSERVATION, "input": INSPECT_KEYS}),
    ("openai-agents", "otlp-json"): agents_body(OTLP_KEYS),
    ("openai-agents", "jaeger-json"): agents_body(JAEGER_KEYS),
    ("openai-agents", "otel-console"): agents_body(CONSOLE_KEYS),
    ("openai-agents", "inspect-eval"): agents_body(INSPECT_KEYS),
    ("inspect-eval", "otlp-proto"): eval_zip_walking_as_protobuf(),
    ("langsmith", "otlp-proto"): multipart_walking_as_protobuf(),
}


@pytest.mark.parametrize(("earlier", "later"), list(WITNESSES))
def test_a_file_both_sniffers_claim_goes_to_the_earlier_format(
    tmp_path: Path, earlier: str, later: str
) -> None:
    path = tmp_path / "file"
    path.write_bytes(WITNESSES[earlier, later])
    source = Source(path)
    specs = {spec.name: spec for spec in registry()}
    assert specs[earlier].claims(source, source.head()) and specs[later].claims(source, source.head())
    assert earlier in specs[later].after and detect(source).name == earlier
