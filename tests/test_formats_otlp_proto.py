"""The OTLP protobuf reader: real request bodies against an independent reading of their JSON twins,
the Collector's length-prefixed layouts, compression, damaged files, and sniffing that never claims
a file of another format."""

from __future__ import annotations

import base64
import gzip
import json
import random
from pathlib import Path

import pytest
import zstandard
from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from spanscope.cli import main
from spanscope.core.formats import FormatError, Source, otlp_proto
from spanscope.core.formats.registry import detect
from spanscope.core.model import Span
from test_fixture_imports import BASES as CONVENTIONS
from test_fixture_imports import expected_usage, export, raw_spans
from test_formats_otlp import SPEC_FILES, got, ref_otlp

BASES = [
    "openinference-openai/chain-and-session",
    "openinference-langchain/rag-tools-session",
    "otel-genai/latest-experimental-span-content",
    "otel-genai/capture-content-true",
    "openllmetry/chain-and-session",
    "langfuse-sdk/chain-and-session",
]
TRACE = bytes.fromhex("0af7651916cd43dd8448eb211c80319c")
T0 = 1_700_000_000_000_000_000


def read(path: Path) -> tuple[list[Span], list[str]]:
    source = Source(path)
    assert detect(source) is otlp_proto.SPEC
    spans = list(otlp_proto.read(source, lambda _: None))
    return spans, [f"{p.where}: {p.reason}" for p in source.problems]


# --- real files ----------------------------------------------------------------------------------


@pytest.mark.parametrize("base", BASES)
def test_body_matches_an_independent_reading_of_its_json_twin(fixtures_dir: Path, base: str) -> None:
    spans, problems = read(fixtures_dir / f"{base}.otlp.binpb")
    assert problems == []
    assert [got(s) for s in spans] == ref_otlp(fixtures_dir / f"{base}.otlp.jsonl")


def test_gzipped_body_as_sent_on_the_wire(fixtures_dir: Path) -> None:
    base = fixtures_dir / "langfuse-sdk/chain-and-session"
    spans, problems = read(base.with_name(base.name + ".otlp.binpb.gz"))
    assert problems == []
    assert [got(s) for s in spans] == ref_otlp(base.with_name(base.name + ".otlp.jsonl"))


@pytest.mark.parametrize("base", BASES)
def test_import_end_to_end_gives_the_figures_of_the_source(fixtures_dir: Path, capsys, base: str) -> None:
    """Span and trace counts, parent links, kinds, errors and tokens per model, as `spanscope export`
    reports them, against the JSON twin read with the json module."""
    raw = raw_spans(fixtures_dir / base)
    spans = export(capsys, fixtures_dir / f"{base}.otlp.binpb")
    assert len(spans) == len(raw)
    assert len({s["trace_id"] for s in spans}) == len({s["traceId"] for s in raw})
    assert {s["span_id"]: s["parent_id"] for s in spans} == {
        s["spanId"]: s.get("parentSpanId") or None for s in raw
    }
    assert sum(s["status"] == "error" for s in spans) == sum(
        s.get("status", {}).get("code") == 2 for s in raw
    )
    usage: dict[str, list[int]] = {}
    for s in spans:
        if s["kind"] in ("LLM", "EMBEDDING") and s["model"]:
            totals = usage.setdefault(s["model"], [0, 0])
            totals[0] += s["input_tokens"] or 0
            totals[1] += s["output_tokens"] or 0
    assert {m: tuple(v) for m, v in usage.items()} == expected_usage(raw, CONVENTIONS[base])
    # Kinds and models come from semconv, checked on the JSON twin by test_fixture_imports.
    twin = {
        s["span_id"]: (s["kind"], s["model"]) for s in export(capsys, fixtures_dir / f"{base}.otlp.jsonl")
    }
    assert {s["span_id"]: (s["kind"], s["model"]) for s in spans} == twin


def test_no_other_fixture_is_taken_for_protobuf(fixtures_dir: Path) -> None:
    for path in sorted(fixtures_dir.rglob("*")):
        if path.is_file() and ".binpb" not in path.name:
            assert not otlp_proto.sniff(Source(path).head()), path


# --- hand-made requests --------------------------------------------------------------------------


def request(*span_numbers: int, trace: bytes = TRACE) -> ExportTraceServiceRequest:
    """One resource and scope holding a chain of spans: span n is the child of span n - 1."""
    message = ExportTraceServiceRequest()
    resource_spans = message.resource_spans.add()
    attribute = resource_spans.resource.attributes.add()
    attribute.key, attribute.value.string_value = "service.name", "svc"
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = "tests"
    for n in span_numbers:
        span = scope_spans.spans.add()
        span.trace_id, span.span_id = trace, n.to_bytes(8, "big")
        if n > 1:
            span.parent_span_id = (n - 1).to_bytes(8, "big")
        span.name, span.kind = f"step {n}", 3
        span.start_time_unix_nano, span.end_time_unix_nano = T0 + n, T0 + 100 + n
        for key, value in (("model", "gpt-4o"), ("big", "x" * 200)):
            kv = span.attributes.add()
            kv.key, kv.value.string_value = key, value
    return message


def records(*messages: ExportTraceServiceRequest | bytes, compress: bool = False) -> bytes:
    """The Collector file exporter's layout: each record a 4-byte big-endian length and the bytes."""
    out = b""
    for message in messages:
        body = message if isinstance(message, bytes) else message.SerializeToString()
        if compress:
            body = zstandard.ZstdCompressor().compress(body)
        out += len(body).to_bytes(4, "big") + body
    return out


def ids(spans: list[Span]) -> list[int]:
    return [int(s.span_id, 16) for s in spans]


def write(tmp_path: Path, data: bytes, name: str = "traces.binpb") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_body_fields(tmp_path: Path) -> None:
    message = request(1, 2)
    span = message.resource_spans[0].scope_spans[0].spans[0]
    span.status.code, span.status.message = 2, "boom"
    event = span.events.add()
    event.name, event.time_unix_nano = "exception", T0 + 5
    for key, setter in (
        ("int", lambda v: setattr(v, "int_value", 7)),
        ("float", lambda v: setattr(v, "double_value", 0.5)),
        ("bool", lambda v: setattr(v, "bool_value", True)),
        ("bytes", lambda v: setattr(v, "bytes_value", b"\x00\x01")),
        ("list", lambda v: v.array_value.values.add().CopyFrom(_string("a"))),
        ("map", lambda v: v.kvlist_value.values.add(key="k").value.CopyFrom(_string("b"))),
    ):
        setter(event.attributes.add(key=key).value)
    (first, second), problems = read(write(tmp_path, message.SerializeToString()))
    assert problems == []
    assert (first.trace_id, first.span_id, first.parent_id) == (TRACE.hex(), "0000000000000001", None)
    assert second.parent_id == "0000000000000001"
    assert (first.name, first.source_kind, first.start_ns, first.end_ns) == (
        "step 1",
        "CLIENT",
        T0 + 1,
        T0 + 101,
    )
    assert (first.status.value, first.status_message) == ("error", "boom")
    assert first.resource == {"service.name": "svc"} and first.scope == {"name": "tests", "version": None}
    assert first.events[0].attributes == {
        "int": 7,
        "float": 0.5,
        "bool": True,
        "bytes": "AAE=",
        "list": ["a"],
        "map": {"k": "b"},
    }
    assert first.service == "svc"


def _string(text: str) -> AnyValue:
    return AnyValue(string_value=text)


@pytest.mark.parametrize("compress", [False, True], ids=["proto", "zstd-per-record"])
def test_length_prefixed_records(tmp_path: Path, compress: bool) -> None:
    data = records(request(1, 2), request(3), request(4, 5), compress=compress)
    spans, problems = read(write(tmp_path, data))
    assert ids(spans) == [1, 2, 3, 4, 5] and problems == []


def test_zstd_records_holding_json(tmp_path: Path) -> None:
    """The Collector's legacy `format: json` with `compression: zstd` frames JSON the same way."""
    lines = [json_format.MessageToJson(request(n)).encode() for n in (1, 2)]
    spans, problems = read(write(tmp_path, records(*lines, compress=True)))
    assert len(spans) == 2 and problems == []


@pytest.mark.parametrize("whole", ["gzip", "zstd"])
def test_whole_file_compression(tmp_path: Path, whole: str) -> None:
    data = records(request(1), request(2))
    packed = gzip.compress(data) if whole == "gzip" else zstandard.ZstdCompressor().compress(data)
    spans, problems = read(write(tmp_path, packed, f"traces.binpb.{whole}"))
    assert ids(spans) == [1, 2] and problems == []
    body = request(1, 2, 3).SerializeToString()
    packed = gzip.compress(body) if whole == "gzip" else zstandard.ZstdCompressor().compress(body)
    spans, problems = read(write(tmp_path, packed, f"body.binpb.{whole}"))
    assert ids(spans) == [1, 2, 3] and problems == []


def test_truncated_body_keeps_the_complete_spans(tmp_path: Path) -> None:
    body = request(*range(1, 11)).SerializeToString()
    cut = len(body) * 3 // 4
    spans, problems = read(write(tmp_path, body[:cut]))
    assert ids(spans) == list(range(1, len(spans) + 1)) and 5 <= len(spans) < 10
    (problem,) = problems
    assert problem.startswith("byte ") and "cut short inside a span, which was dropped" in problem


def test_truncated_last_record_keeps_the_earlier_records_and_its_complete_spans(tmp_path: Path) -> None:
    data = records(request(1, 2), request(*range(3, 13)))
    spans, problems = read(write(tmp_path, data[: len(data) - 300]))
    assert ids(spans)[:2] == [1, 2] and 6 < len(spans) < 12
    assert problems[0].startswith("record 2 (byte ")
    assert "length prefix says" in problems[0] and "cut short or the prefix is wrong" in problems[0]
    assert "cut short inside a span" in problems[1]


@pytest.mark.parametrize("delta", [40, -40, 5_000], ids=["too-long", "too-short", "past-the-end"])
def test_wrong_length_prefix_loses_at_most_that_record(tmp_path: Path, delta: int) -> None:
    first, second, third = (request(*range(n, n + 3)).SerializeToString() for n in (1, 4, 7))
    wrong = (len(second) + delta).to_bytes(4, "big") + second
    data = records(first) + wrong + records(third)
    spans, problems = read(write(tmp_path, data))
    got_ids = ids(spans)
    assert got_ids[:3] == [1, 2, 3] and got_ids[-3:] == [7, 8, 9]
    assert problems and all(p.startswith("record 2 (byte ") for p in problems)
    assert len(got_ids) == len(set(got_ids))


def test_bad_span_is_skipped_with_its_record_and_number(tmp_path: Path) -> None:
    message = request(1, 2, 3)
    message.resource_spans[0].scope_spans[0].spans[1].trace_id = b"\x01\x02"
    first = records(request(9))
    spans, problems = read(write(tmp_path, first + records(message)))
    assert ids(spans) == [9, 1, 3]
    assert problems == [f"record 2 (byte {len(first)}): span 2: bad traceId: 2 bytes, not 16"]


def test_files_without_spans_are_format_errors(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="empty"):
        detect(Source(write(tmp_path, b"")))
    empty = ExportTraceServiceRequest()
    empty.resource_spans.add().scope_spans.add()
    with pytest.raises(FormatError, match="not a trace file in any known format"):
        detect(Source(write(tmp_path, empty.SerializeToString())))


def test_progress_reaches_the_end_of_the_file_on_disk(tmp_path: Path) -> None:
    path = write(tmp_path, gzip.compress(records(*(request(n) for n in range(1, 50)))), "t.binpb.gz")
    seen: list[int] = []
    source = Source(path)
    assert len(list(otlp_proto.read(source, seen.append))) == 49
    assert seen == sorted(seen) and seen[-1] == path.stat().st_size


# --- sniffing ------------------------------------------------------------------------------------


def test_sniff_tells_bodies_and_records_apart_and_refuses_other_signals() -> None:
    body = request(1, 2).SerializeToString()
    assert otlp_proto.layout(body) == otlp_proto.BODY
    assert otlp_proto.layout(records(request(1))) == otlp_proto.RECORDS
    assert otlp_proto.layout(records(request(1), compress=True)) == otlp_proto.RECORDS
    logs = ExportLogsServiceRequest()
    log = logs.resource_logs.add().scope_logs.add().log_records.add()
    log.time_unix_nano, log.trace_id, log.span_id = T0, TRACE, b"\x01" * 8
    metrics = ExportMetricsServiceRequest()
    metric = metrics.resource_metrics.add().scope_metrics.add().metrics.add()
    metric.name, metric.description = "sixteen-chars-xx", "8 chars."
    metric.gauge.data_points.add().as_int = 1
    for other in (logs, metrics):
        data = other.SerializeToString()
        assert otlp_proto.layout(data) is None and otlp_proto.layout(records(data)) is None


def test_sniff_never_claims_text_or_random_bytes() -> None:
    as_json = json_format.MessageToJson(request(1, 2)).encode()
    for text in (as_json, b"\n" + as_json, b"[" + as_json + b"]", b"hello\n" * 100, b"\x00\x00\x00\x05hello"):
        assert not otlp_proto.sniff(text)
    rng = random.Random(7)
    for _ in range(2000):
        noise = rng.randbytes(rng.randrange(1, 400))
        assert not otlp_proto.sniff(noise)
        assert not otlp_proto.sniff(b"\x0a" + noise)


def test_trace_list_and_tree_from_the_cli_match_the_json_twin(fixtures_dir: Path, capsys) -> None:
    base = fixtures_dir / "openinference-openai/chain-and-session"
    outputs = []
    for suffix in (".otlp.binpb", ".otlp.jsonl"):
        path = str(base) + suffix
        assert main(["traces", path]) == 0
        listing = capsys.readouterr().out
        trace_ids = [line.split()[2] for line in listing.splitlines()[1:]]
        assert len(trace_ids) == 2
        trees = []
        for trace_id in trace_ids:
            assert main(["tree", path, trace_id]) == 0
            trees.append(capsys.readouterr().out)
        outputs.append((listing, trees))
    assert outputs[0] == outputs[1]
    assert outputs[0][1][0].startswith(f"trace {trace_ids[0]}: 18 spans\nanswer_question  [CHAIN]")


def test_a_received_body_is_decoded_without_a_file() -> None:
    """What an OTLP/HTTP receiver does with a POST body: parse_request, then spans_from_request."""
    body = request(1, 2, 3).SerializeToString()
    problems: list[str] = []
    request_ = otlp_proto.parse_request(body[:-20], lambda at, reason: problems.append(f"{at}: {reason}"))
    spans = list(otlp_proto.spans_from_request(request_, problems.append))
    assert ids(spans) == [1, 2] and len(problems) == 1 and "cut short inside a span" in problems[0]
    assert spans[1].parent_id == spans[0].span_id and spans[0].service == "svc"


@pytest.mark.parametrize("name", SPEC_FILES)
def test_spec_examples_encoded_as_protobuf_read_as_their_json(
    fixtures_dir: Path, tmp_path: Path, name: str
) -> None:
    """The OTLP spec's example (upper-case hex ids) and jaeger-ui's OTLP input, marshalled with the
    proto package, give the spans an independent reading of the JSON gives."""
    document = json.loads((fixtures_dir / name).read_text())
    for resource_spans in document["resourceSpans"]:
        for scope_spans in resource_spans["scopeSpans"]:
            for span in scope_spans["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if span.get(key):  # OTLP JSON ids are hex; protobuf JSON's bytes are base64
                        span[key] = base64.b64encode(bytes.fromhex(span[key])).decode()
    message = json_format.ParseDict(document, ExportTraceServiceRequest())
    spans, problems = read(write(tmp_path, message.SerializeToString()))
    assert problems == [] and spans
    assert [got(s) for s in spans] == ref_otlp(fixtures_dir / name)
