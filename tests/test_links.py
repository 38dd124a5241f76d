"""OTLP span links are kept in every OTLP encoding, stored, and shown among a span's attributes."""

from __future__ import annotations

import base64

import orjson
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from otlp import TRACE, request, span, value, write_jsonl
from spanscope.core.formats import Source
from spanscope.core.formats.registry import detect
from spanscope.core.presentation.content import attribute_rows
from spanscope.core.store import connect, import_file
from spanscope.core.store.queries import get_span

LINKED_TRACE, LINKED_SPAN = "5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174"
BATCH = "00000000000000b1"


def linked_request(trace_id: str = LINKED_TRACE, span_id: str = LINKED_SPAN) -> dict:
    batch = span(BATCH, name="summarize batch")
    batch["links"] = [
        {"traceId": trace_id, "spanId": span_id, "attributes": [{"key": "reason", "value": value("input")}]},
        {"traceId": "not an id", "spanId": LINKED_SPAN},
    ]
    return request(batch)


def b64(hex_id: str) -> str:
    """An id as the protobuf JSON mapping writes bytes."""
    return base64.b64encode(bytes.fromhex(hex_id)).decode()


def read(path):
    source = Source(path)
    return list(detect(source).read(source, lambda _: None))


def test_json_links_keep_their_ids_attributes_and_an_unreadable_id_as_given(tmp_path):
    (batch,) = read(write_jsonl(tmp_path / "a.jsonl", linked_request()))
    assert batch.links == [
        {"trace_id": LINKED_TRACE, "span_id": LINKED_SPAN, "attributes": {"reason": "input"}},
        {"trace_id": "not an id", "span_id": LINKED_SPAN, "attributes": {}},
    ]


def test_base64_link_ids_become_hex(tmp_path):
    (batch,) = read(write_jsonl(tmp_path / "b.jsonl", linked_request(b64(LINKED_TRACE), b64(LINKED_SPAN))))
    assert (batch.links[0]["trace_id"], batch.links[0]["span_id"]) == (LINKED_TRACE, LINKED_SPAN)


def test_protobuf_links_are_read_like_json_ones(tmp_path):
    message = linked_request(b64(LINKED_TRACE), b64(LINKED_SPAN))
    (batch,) = message["resourceSpans"][0]["scopeSpans"][0]["spans"]
    batch["links"].pop()  # protobuf ids are bytes: there is no unreadable text id to keep
    batch["traceId"], batch["spanId"] = b64(TRACE), b64(BATCH)
    path = tmp_path / "c.binpb"
    path.write_bytes(json_format.ParseDict(message, ExportTraceServiceRequest()).SerializeToString())
    (read_back,) = read(path)
    assert read_back.links == [
        {"trace_id": LINKED_TRACE, "span_id": LINKED_SPAN, "attributes": {"reason": "input"}}
    ]


def test_console_links_are_read(tmp_path):
    record = {
        "name": "summarize batch",
        "context": {"trace_id": f"0x{TRACE}", "span_id": f"0x{BATCH}", "trace_state": "[]"},
        "kind": "SpanKind.INTERNAL",
        "parent_id": None,
        "start_time": "2026-11-20T09:00:00.000000Z",
        "end_time": "2026-11-20T09:00:01.000000Z",
        "status": {"status_code": "UNSET"},
        "attributes": {},
        "events": [],
        "links": [
            {"context": {"trace_id": f"0x{LINKED_TRACE}", "span_id": f"0x{LINKED_SPAN}"}, "attributes": {}}
        ],
        "resource": {"attributes": {"service.name": "batch"}, "schema_url": ""},
    }
    path = tmp_path / "console.txt"
    path.write_bytes(orjson.dumps(record, option=orjson.OPT_INDENT_2) + b"\n")
    (batch,) = read(path)
    assert batch.links == [{"trace_id": LINKED_TRACE, "span_id": LINKED_SPAN, "attributes": {}}]


def test_links_are_stored_and_shown_among_the_attributes(tmp_path):
    store = tmp_path / "s.db"
    import_file(store, write_jsonl(tmp_path / "a.jsonl", linked_request()))
    batch = get_span(connect(store, readonly=True), TRACE, BATCH)
    assert batch.links[0]["span_id"] == LINKED_SPAN
    rows = dict(attribute_rows(batch))
    assert rows["link.0.trace_id"] == LINKED_TRACE and rows["link.0.attributes.reason"] == "input"
