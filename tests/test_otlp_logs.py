"""OTLP logs on the real captures: every encoding read, records stored and joined to their spans in
either import order, GenAI message records giving each model call its input and output, and search
finding words that only the records hold. Every expected figure is read from the raw files here."""

from __future__ import annotations

import gzip
import json
import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import zstandard
from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from spanscope.cli import main
from spanscope.core.formats import Source
from spanscope.core.formats.registry import detect
from spanscope.core.model import LogRecord
from spanscope.core.search.find import search
from spanscope.core.search.index import build_index
from spanscope.core.store import Outcome, connect, import_file
from spanscope.core.store.documents import shown_io
from spanscope.core.store.logs import log_counts, unattached_logs
from spanscope.core.store.queries import get_span
from spanscope.core.store.span_io import trace_io

GENAI = "otel-genai-logs/agent-tools-event-only"
PYDANTIC = "pydantic-ai/agent-session-v1-logs"
ADK = "google-adk/travel-agent-v2-default"
ENCODINGS = (".otlp-logs.json", ".otlp-logs.jsonl", ".otlp-logs.binpb")
EVENT_ROLES = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
}


# --- the raw files, read without our readers ------------------------------------------------------


def value(any_value: dict[str, Any]) -> Any:
    """An OTLP JSON AnyValue as plain Python (int64 text as int)."""
    if "kvlistValue" in any_value:
        return {kv["key"]: value(kv.get("value", {})) for kv in any_value["kvlistValue"].get("values", [])}
    if "arrayValue" in any_value:
        return [value(v) for v in any_value["arrayValue"].get("values", [])]
    if "intValue" in any_value:
        return int(any_value["intValue"])
    for key in ("stringValue", "doubleValue", "boolValue", "bytesValue"):
        if key in any_value:
            return any_value[key]
    return None


def raw_records(fixtures_dir: Path, base: str) -> list[dict[str, Any]]:
    """The log records of the pretty JSON file, in file order, with attributes and body as values."""
    data = json.loads((fixtures_dir / f"{base}.otlp-logs.json").read_text())
    found = []
    for resource_logs in data["resourceLogs"]:
        for scope_logs in resource_logs["scopeLogs"]:
            for r in scope_logs["logRecords"]:
                attributes = {kv["key"]: value(kv["value"]) for kv in r.get("attributes", [])}
                found.append(
                    {
                        "trace_id": r.get("traceId") or None,
                        "span_id": r.get("spanId") or None,
                        "event": r.get("eventName") or attributes.get("event.name"),
                        "attributes": attributes,
                        "body": value(r.get("body", {})),
                    }
                )
    return found


def by_span(records: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    spans: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for record in records:
        spans.setdefault((record["trace_id"], record["span_id"]), []).append(record)
    return spans


def imported(store: Path, *paths: Path) -> list:
    results = [import_file(store, path) for path in paths]
    assert all(r.outcome is Outcome.IMPORTED for r in results), [r.error for r in results]
    return results


def texts(value: Any) -> list[str]:
    """Every string in a value, in order."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for v in value.values() for t in texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in texts(v)]
    return []


# --- reading ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("base", [GENAI, PYDANTIC, ADK])
@pytest.mark.parametrize("suffix", ENCODINGS)
def test_every_encoding_reads_every_record_with_its_ids_and_event(fixtures_dir, base, suffix):
    raw = raw_records(fixtures_dir, base)
    source = Source(fixtures_dir / f"{base}{suffix}")
    spec = detect(source)
    assert spec.name == ("otlp-logs-proto" if suffix.endswith("binpb") else "otlp-logs-json")
    records = list(spec.read(source, lambda done: None))
    assert not source.problems
    assert all(isinstance(r, LogRecord) for r in records)
    assert [(r.trace_id, r.span_id, r.event_name) for r in records] == [
        (x["trace_id"], x["span_id"], x["event"]) for x in raw
    ]
    assert [r.attributes for r in records] == [x["attributes"] for x in raw]
    assert [r.body for r in records] == [x["body"] for x in raw]
    assert all(r.time_ns for r in records)  # observedTimeUnixNano when timeUnixNano is unset


def test_the_protobuf_body_holds_what_the_json_holds(fixtures_dir):
    raw = raw_records(fixtures_dir, PYDANTIC)
    request = ExportLogsServiceRequest.FromString((fixtures_dir / f"{PYDANTIC}.otlp-logs.binpb").read_bytes())
    count = sum(len(s.log_records) for r in request.resource_logs for s in r.scope_logs)
    assert count == len(raw) == 34


def reencoded(fixtures_dir: Path, tmp_path: Path, how: str) -> Path:
    """The Pydantic AI logs request written as another tool would: protobuf JSON (base64 ids, enum
    names), gzip, or the Collector's length-prefixed records (twice: protobuf, then JSON in zstd)."""
    body = (fixtures_dir / f"{PYDANTIC}.otlp-logs.binpb").read_bytes()
    path = tmp_path / f"logs.{how}"
    if how == "protobuf-json":
        request = ExportLogsServiceRequest.FromString(body)
        path.write_text(json_format.MessageToJson(request))
    elif how == "gzip":
        path.write_bytes(gzip.compress((fixtures_dir / f"{PYDANTIC}.otlp-logs.jsonl").read_bytes()))
    else:
        frame = zstandard.ZstdCompressor().compress(
            (fixtures_dir / f"{PYDANTIC}.otlp-logs.jsonl").read_bytes()
        )
        path.write_bytes(b"".join(len(r).to_bytes(4, "big") + r for r in (body, frame)))
    return path


@pytest.mark.parametrize("how", ["protobuf-json", "gzip", "collector-records"])
def test_other_encodings_read_the_same_records(fixtures_dir, tmp_path, how):
    raw = raw_records(fixtures_dir, PYDANTIC)
    source = Source(reencoded(fixtures_dir, tmp_path, how))
    records = list(detect(source).read(source, lambda done: None))
    assert not source.problems
    times = 2 if how == "collector-records" else 1
    assert [(r.trace_id, r.span_id, r.event_name, r.body) for r in records] == times * [
        (x["trace_id"], x["span_id"], x["event"], x["body"]) for x in raw
    ]


@pytest.mark.parametrize("base", [GENAI, PYDANTIC, ADK])
@pytest.mark.parametrize("suffix", [".otlp.json", ".otlp.jsonl", ".otlp.binpb"])
def test_span_files_beside_them_are_still_read_as_traces(fixtures_dir, base, suffix):
    assert detect(Source(fixtures_dir / f"{base}{suffix}")).name in ("otlp-json", "otlp-proto")


# --- storing and joining, in either order ----------------------------------------------------------


def genai_expected(record: dict[str, Any]) -> tuple[list, list]:
    """(input, output) of an operation-details record, projected to (role, texts, call ids, results):
    a tool result's text is its response."""

    def project(messages: list[dict[str, Any]] | None) -> list:
        found = []
        for m in messages or []:
            parts = m.get("parts") or []
            found.append(
                (
                    m["role"],
                    [p["content"] for p in parts if p.get("type") == "text"],
                    [p["id"] for p in parts if p.get("type") == "tool_call"],
                    [(p["id"], p.get("response")) for p in parts if p.get("type") == "tool_call_response"],
                )
            )
        return found

    attributes = record["attributes"]
    return project(attributes.get("gen_ai.input.messages")), project(attributes.get("gen_ai.output.messages"))


def shown_projection(messages: list[dict[str, Any]] | None) -> tuple[list, list, list]:
    """(role and text of each message with text, tool call ids, tool result ids) of shown messages."""
    said = [
        (m["role"], m["content"]) for m in messages or [] if isinstance(m["content"], str) and m["content"]
    ]
    calls = [c["id"] for m in messages or [] for c in m["tool_calls"]]
    results = [m["tool_call_id"] for m in messages or [] if m["tool_call_id"]]
    return said, calls, results


def expected_projection(messages: list) -> tuple[list, list, list]:
    said = []
    for role, parts, _, results in messages:
        said += [(role, text) for text in parts]
        said += [("tool", response) for _, response in results if isinstance(response, str) and response]
    calls = [i for _, _, ids, _ in messages for i in ids]
    results = [i for _, _, _, found in messages for i, _ in found]
    return said, calls, results


def check_genai(db, raw: list[dict[str, Any]]) -> None:
    assert raw
    for record in raw:
        span = get_span(db, record["trace_id"], record["span_id"])
        assert span.name.startswith("chat ")
        expected_in, expected_out = genai_expected(record)
        assert shown_projection(span.input) == expected_projection(expected_in)
        assert shown_projection(span.output) == expected_projection(expected_out)
        assert (span.output is None) == (not expected_out)  # the failed call has no output


ORDERS = {
    "spans then logs": (".otlp.binpb", ".otlp-logs.json"),
    "logs then spans": (".otlp-logs.binpb", ".otlp.jsonl"),
}


@pytest.mark.parametrize("order", ORDERS)
def test_genai_operation_details_give_each_chat_span_its_messages(fixtures_dir, tmp_path, order):
    store = tmp_path / "store.db"
    imported(store, *(fixtures_dir / f"{GENAI}{suffix}" for suffix in ORDERS[order]))
    raw = raw_records(fixtures_dir, GENAI)
    db = connect(store, readonly=True)
    check_genai(db, raw)
    assert log_counts(db) == (len(raw), 0)


def pydantic_expected(records: list[dict[str, Any]]) -> tuple[list, list]:
    """(role, content) of the input messages and the tool call ids of the choice, from the bodies."""
    inputs, outputs = [], []
    for r in records:
        body = r["body"]
        if r["event"] == "gen_ai.choice":
            outputs.append(body["message"])
        else:
            inputs.append((EVENT_ROLES[r["event"]], body))
    return inputs, outputs


def test_per_message_records_give_each_chat_span_its_messages_logs_first(fixtures_dir, tmp_path):
    store = tmp_path / "store.db"
    (alone,) = imported(store, fixtures_dir / f"{PYDANTIC}.otlp-logs.jsonl")
    raw = raw_records(fixtures_dir, PYDANTIC)
    assert alone.logs_only and (alone.logs_read, alone.logs_added, alone.logs_waiting) == (34, 34, 34)
    db = connect(store, readonly=True)
    assert len(unattached_logs(db)) == 34
    assert {r.event_name for r in unattached_logs(db, raw[0]["trace_id"])} <= set(EVENT_ROLES) | {
        "gen_ai.choice"
    }
    (spans,) = imported(store, fixtures_dir / f"{PYDANTIC}.otlp.binpb")
    assert spans.spans_added == 18
    assert log_counts(db) == (34, 0) and not unattached_logs(db)
    for (trace_id, span_id), records in by_span(raw).items():
        span = get_span(db, trace_id, span_id)
        assert span.name.startswith("chat ") and len(span.logs) == len(records)
        inputs, outputs = pydantic_expected(records)
        assert [m["role"] for m in span.input] == [role for role, _ in inputs]
        for shown, (role, body) in zip(span.input, inputs, strict=True):
            if role == "tool":
                assert shown["tool_call_id"] == body["id"]
            if isinstance(body.get("content"), str):
                assert shown["content"] == body["content"]
            assert [c["id"] for c in shown["tool_calls"]] == [c["id"] for c in body.get("tool_calls", [])]
        (choice,) = outputs
        (answer,) = span.output
        assert [c["id"] for c in answer["tool_calls"]] == [c["id"] for c in choice.get("tool_calls", [])]
        if isinstance(choice.get("content"), str):
            assert answer["content"] == choice["content"]
        # every consumer reads the same rule: span_io as the span read
        assert trace_io(db, trace_id)[span_id] == (span.input, span.output)


def test_reimporting_the_same_records_adds_nothing(fixtures_dir, tmp_path):
    store = tmp_path / "store.db"
    copy = tmp_path / "again.jsonl"
    shutil.copy(fixtures_dir / f"{PYDANTIC}.otlp-logs.jsonl", copy)
    imported(store, fixtures_dir / f"{PYDANTIC}.otlp-logs.json")
    (again,) = imported(store, copy)
    (proto,) = imported(store, fixtures_dir / f"{PYDANTIC}.otlp-logs.binpb")
    assert again.logs_read == proto.logs_read == 34
    assert again.logs_added == proto.logs_added == 0
    assert import_file(store, copy).outcome is Outcome.ALREADY
    assert log_counts(connect(store, readonly=True)).kept == 34


def test_records_without_content_leave_model_calls_without_messages(fixtures_dir, tmp_path):
    raw = raw_records(fixtures_dir, ADK)
    assert not any(k.startswith(("gen_ai.input", "gen_ai.output")) for r in raw for k in r["attributes"])
    store = tmp_path / "store.db"
    imported(store, fixtures_dir / f"{ADK}.otlp-logs.json", fixtures_dir / f"{ADK}.otlp.json")
    db = connect(store, readonly=True)
    assert log_counts(db) == (len(raw), 0)
    for record in raw:
        span = get_span(db, record["trace_id"], record["span_id"])
        assert span.name.startswith("generate_content") and len(span.logs) == 1
        assert span.logs[0].attributes == record["attributes"]
        assert span.input is None and span.output is None


def test_native_input_and_output_win_over_log_records():
    record = LogRecord("t" * 32, "s" * 16, 1, event_name="gen_ai.user.message", body={"content": "from logs"})
    assert shown_io({"v": 2, "input": "native", "output": "out"}, logs=[record]) == ("native", "out")
    inputs, outputs = shown_io({"v": 2, "attributes": {}}, logs=[record])
    assert [(m["role"], m["content"]) for m in inputs] == [("user", "from logs")] and outputs is None


# --- search -----------------------------------------------------------------------------------------


def word_only_in_logs(fixtures_dir: Path) -> str:
    """A word of a message in the log records that the spans file does not hold anywhere."""
    spans_text = (fixtures_dir / f"{GENAI}.otlp.json").read_text().lower()
    for record in raw_records(fixtures_dir, GENAI):
        for text in texts(record["attributes"].get("gen_ai.input.messages")):
            for word in re.findall(r"[A-Za-z]{5,}", text):
                if word.lower() not in spans_text:
                    return word
    raise AssertionError("no word of the messages is missing from the spans file")


@pytest.mark.parametrize("order", ["indexed before the logs came", "logs first"])
def test_search_finds_a_word_only_log_records_hold(fixtures_dir, tmp_path, order):
    word = word_only_in_logs(fixtures_dir)
    spans, logs = fixtures_dir / f"{GENAI}.otlp.json", fixtures_dir / f"{GENAI}.otlp-logs.jsonl"
    store = tmp_path / "store.db"
    if order == "logs first":
        imported(store, logs, spans)
    else:
        imported(store, spans)
        build_index(store)
        assert search(connect(store, readonly=True), word).count == 0
        imported(store, logs)
    build_index(store)
    result = search(connect(store, readonly=True), word)
    raw = raw_records(fixtures_dir, GENAI)
    holding = {
        (r["trace_id"], r["span_id"])
        for r in raw
        if any(word in t for t in texts(r["attributes"].get("gen_ai.input.messages")))
    }
    assert {(hit.trace_id, hit.span_id) for hit in result.hits} == holding
    assert all(word in hit.snippet for hit in result.hits)


def test_traces_lists_the_records_of_no_stored_span_by_trace_and_service(fixtures_dir, capsys):
    records = raw_records(fixtures_dir, GENAI)
    service = next(
        value(a["value"])
        for a in json.loads((fixtures_dir / f"{GENAI}.otlp-logs.json").read_text())["resourceLogs"][0][
            "resource"
        ]["attributes"]
        if a["key"] == "service.name"
    )
    assert main(["traces", str(fixtures_dir / f"{GENAI}.otlp-logs.jsonl")]) == 0
    err = capsys.readouterr().err
    assert f"{len(records):,} log records belong to no span in the store (yet):" in err
    for trace_id, count in Counter(r["trace_id"] for r in records).items():
        assert f"  {count:,} of trace {trace_id}, service {service}" in err.splitlines()
