"""A bad value is a bad record, not a bad file or batch: the values of issue 18 that dropped whole
files (an end time of 2^64-1, an intValue of twenty digits, a Zipkin timestamp of 2^64, a LangSmith
output holding 2^64), each put into a real capture. The file imports, the spoiled span is kept with
the value as text (or skipped alone when it has no start the store can hold), the change is noted
in the span's `spanscope.problems` attribute and reported as a problem naming the file."""

from __future__ import annotations

import json
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from otlp import request, span
from raw_otlp import raw_spans
from spanscope.core.model import Span
from spanscope.core.store import connect, import_file
from spanscope.core.store.ingest import FileResult, Outcome
from spanscope.core.store.live import SpanSink
from spanscope.core.store.queries import iter_spans
from spanscope.core.store.storable import PROBLEMS_ATTRIBUTE

U64_MAX = (1 << 64) - 1
OTLP = "openllmetry/chain-and-session.otlp.json"


def stored_spans(store: Path) -> dict[str, Span]:
    db = connect(store, readonly=True)
    try:
        return {s.span_id: s for s in iter_spans(db)}
    finally:
        db.conn.close()


def problems(result: FileResult) -> list[str]:
    return [str(p) for p in result.problems]


def test_an_end_time_of_2_64_minus_1_keeps_the_file_and_the_span_without_its_end(tmp_path: Path) -> None:
    path = tmp_path / "two.jsonl"
    bad = span("00000000000000a1", end=None)
    bad["endTimeUnixNano"] = str(U64_MAX)
    path.write_text(json.dumps(request(bad)) + "\n" + json.dumps(request(span("00000000000000a2"))) + "\n")
    result = import_file(tmp_path / "store.db", path)
    assert result.outcome is Outcome.IMPORTED and result.spans_added == 2
    spans = stored_spans(tmp_path / "store.db")
    assert spans["00000000000000a1"].end_ns is None and spans["00000000000000a2"].end_ns is not None
    note = spans["00000000000000a1"].attributes[PROBLEMS_ATTRIBUTE]
    assert any(str(U64_MAX) in n and "end time" in n for n in note)
    assert any(str(path) in p and "00000000000000a1" in p and str(U64_MAX) in p for p in problems(result))


def test_an_int_value_of_twenty_digits_is_kept_as_text(tmp_path: Path, fixtures_dir: Path) -> None:
    document = json.loads((fixtures_dir / OTLP).read_text())
    first = document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    first["attributes"].append({"key": "huge", "value": {"intValue": "99999999999999999999"}})
    path = tmp_path / "huge.json"
    path.write_text(json.dumps(document))
    result = import_file(tmp_path / "store.db", path)
    assert result.outcome is Outcome.IMPORTED
    assert result.spans_added == len(raw_spans(fixtures_dir / OTLP))
    kept = stored_spans(tmp_path / "store.db")[first["spanId"]]
    assert kept.attributes["huge"] == "99999999999999999999"
    assert any("99999999999999999999" in n for n in kept.attributes[PROBLEMS_ATTRIBUTE])


def test_a_zipkin_timestamp_of_2_64_skips_that_span_alone(tmp_path: Path, fixtures_dir: Path) -> None:
    spans = json.loads((fixtures_dir / "zipkin/yelp.json").read_text())
    spans[0]["timestamp"] = 1 << 64
    path = tmp_path / "zipkin.json"
    path.write_text(json.dumps(spans))
    clean = import_file(tmp_path / "clean.db", fixtures_dir / "zipkin/yelp.json")
    result = import_file(tmp_path / "store.db", path)
    assert result.outcome is Outcome.IMPORTED and result.spans_added == clean.spans_added - 1
    assert any(str(1 << 64) in p and "start time" in p for p in problems(result))


def test_a_langsmith_output_holding_2_64_keeps_every_run(tmp_path: Path, fixtures_dir: Path) -> None:
    source = fixtures_dir / "langsmith-runs/capture-batch/runs.jsonl"
    runs = [json.loads(line) for line in source.read_text().splitlines() if line.strip()]
    runs[0]["outputs"] = {"answer": 1 << 64}
    path = tmp_path / "runs.jsonl"
    path.write_text("".join(json.dumps(run) + "\n" for run in runs))
    result = import_file(tmp_path / "store.db", path)
    assert result.outcome is Outcome.IMPORTED
    assert result.spans_added == len({run["id"] for run in runs})
    kept = stored_spans(tmp_path / "store.db")[runs[0]["id"]]
    assert kept.output == {"answer": str(1 << 64)}
    assert any("outputs" in n or "output" in n for n in kept.attributes[PROBLEMS_ATTRIBUTE])


def test_a_protobuf_span_ending_at_2_64_minus_1_is_stored_with_the_rest(
    tmp_path: Path, fixtures_dir: Path
) -> None:
    body = ExportTraceServiceRequest()
    body.ParseFromString((fixtures_dir / "openllmetry/chain-and-session.otlp.binpb").read_bytes())
    spans = [s for rs in body.resource_spans for ss in rs.scope_spans for s in ss.spans]
    spans[3].end_time_unix_nano = U64_MAX
    path = tmp_path / "spans.binpb"
    path.write_bytes(body.SerializeToString())
    result = import_file(tmp_path / "store.db", path)
    assert result.outcome is Outcome.IMPORTED and result.spans_added == len(spans)
    assert stored_spans(tmp_path / "store.db")[spans[3].span_id.hex()].end_ns is None


def test_the_live_sink_stores_a_batch_holding_unstorable_values(tmp_path: Path) -> None:
    """The receiver's write path (live.py) shares batches.py: a span with values the store cannot
    hold is stored with them as text or unset, and one with no storable start is refused alone."""
    store = tmp_path / "live.db"
    sink = SpanSink(store, "otlp-http://test")
    good = [Span("1" * 32, f"{n:016x}", None, f"good {n}", 1_700_000_000_000_000_000) for n in range(1, 300)]
    bad = Span("1" * 32, "b" * 16, None, "bad", 1_700_000_000_000_000_000, end_ns=U64_MAX)
    bad.input_tokens = 1 << 70
    bad.attributes = {"nested": {"value": 1 << 80}, "text": "lone \ud800 surrogate"}
    unplaceable = Span("1" * 32, "c" * 16, None, "no start", U64_MAX)
    try:
        receipt = sink.store([*good[:150], bad, unplaceable, *good[150:]])
    finally:
        sink.close()
    assert receipt.stored == len(good) + 1
    assert (
        len(receipt.rejected) == 1 and "c" * 16 in receipt.rejected[0] and str(U64_MAX) in receipt.rejected[0]
    )
    spans = stored_spans(store)
    assert len(spans) == len(good) + 1
    kept = spans["b" * 16]
    assert kept.end_ns is None and kept.input_tokens is None
    assert kept.attributes["nested"] == {"value": str(1 << 80)}
    assert kept.attributes["text"] == "lone \ufffd surrogate"
    assert len(kept.attributes[PROBLEMS_ATTRIBUTE]) == 4


def test_a_log_record_beyond_int64_is_kept_without_its_time(tmp_path: Path, fixtures_dir: Path) -> None:
    """2^63 fits orjson (unsigned 64-bit) but not SQLite: the insert binds it again as unset."""
    source = fixtures_dir / "otel-genai-logs/agent-tools-event-only.otlp-logs.json"
    document = json.loads(source.read_text())
    records = [r for rl in document["resourceLogs"] for sl in rl["scopeLogs"] for r in sl["logRecords"]]
    records[0]["observedTimeUnixNano"] = str(1 << 63)
    records[1]["body"] = {"intValue": str(1 << 70)}
    path = tmp_path / "logs.json"
    path.write_text(json.dumps(document))
    result = import_file(tmp_path / "store.db", path)
    assert result.outcome is Outcome.IMPORTED and result.logs_added == len(records)
    found = problems(result)
    assert any(f"its time_ns {1 << 63} is beyond 64 bits" in p and records[0]["spanId"] in p for p in found)
    assert any(str(1 << 70) in p and "kept as text" in p for p in found)
