"""The OTLP JSON and console readers, on real files in every encoding and on hand-made edge cases.

Expected values come from the files themselves, read here with the standard library's json module,
so the readers are checked against an independent reading, not against themselves.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spanscope.core import conventions
from spanscope.core.formats import FormatError, Source, detect, otlp_console, otlp_json
from spanscope.core.formats.ids import normalize_id
from spanscope.core.formats.json_objects import split_objects
from spanscope.core.formats.registry import registry
from spanscope.core.model import Span, Status

JSON_ENCODINGS = (".otlp.jsonl", ".otlp.json", ".otlp-b64ids.json")
ALL_ENCODINGS = (*JSON_ENCODINGS, ".console.txt")
#: Each base name with its encodings and, from the fixtures README, (spans, traces, ERROR spans).
BASES: dict[str, tuple[tuple[str, ...], tuple[int, int, int]]] = {
    "openinference-openai/chain-and-session": (ALL_ENCODINGS, (25, 2, 2)),
    "openinference-langchain/rag-tools-session": (ALL_ENCODINGS, (18, 5, 1)),
    "otel-genai/latest-experimental-span-content": (ALL_ENCODINGS, (24, 2, 2)),
    "otel-genai/capture-content-true": ((".otlp.jsonl", ".console.txt"), (24, 2, 2)),
    "openllmetry/chain-and-session": (ALL_ENCODINGS, (25, 2, 2)),
    "langfuse-sdk/chain-and-session": (JSON_ENCODINGS, (25, 2, 2)),
}
FILES = [base + suffix for base, (suffixes, _) in BASES.items() for suffix in suffixes]
SPEC_FILES = ["otlp-spec/opentelemetry-proto-example-trace.json", "otlp-spec/jaeger-ui-otlp2jaeger-in.json"]
#: Console times are printed from float seconds with microseconds, so they may be off by about 1 µs.
CONSOLE_SLACK_NS = 2_000
T0 = 1_700_000_000_000_000_000
TRACE = "0af7651916cd43dd8448eb211c80319c"


@pytest.fixture(autouse=True)
def applied(monkeypatch: pytest.MonkeyPatch) -> list[Span]:
    """Record conventions.apply_fields calls instead of running it: spans hold exactly what the reader set."""
    seen: list[Span] = []
    monkeypatch.setattr(conventions, "apply_fields", seen.append)
    return seen


# --- an independent reading of the files --------------------------------------------------------


def ref_id(raw: str | None) -> str | None:
    """Hex if it looks like hex of an OTel id length, else base64; "" and all-zero mean none."""
    if not raw:
        return None
    text = raw.removeprefix("0x")
    hexed = (
        text.lower()
        if re.fullmatch(r"[0-9a-fA-F]{16}|[0-9a-fA-F]{32}", text)
        else base64.b64decode(text).hex()
    )
    return None if set(hexed) == {"0"} else hexed


def ref_value(value: dict[str, Any]) -> Any:
    ((kind, v),) = value.items()
    if kind == "intValue":
        return int(v)
    if kind == "doubleValue":
        return float(v)
    if kind == "arrayValue":
        return [ref_value(x) for x in v.get("values", [])]
    if kind == "kvlistValue":
        return ref_attrs(v.get("values", []))
    return v


def ref_attrs(pairs: list[dict[str, Any]]) -> dict[str, Any]:
    return {p["key"]: ref_value(p["value"]) for p in pairs}


REF_STATUS = {
    0: "unset",
    1: "ok",
    2: "error",
    "STATUS_CODE_OK": "ok",
    "STATUS_CODE_ERROR": "error",
    "STATUS_CODE_UNSET": "unset",
}
BLANKS = re.compile(r"\s*")
REF_KIND = {1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}


def ref_otlp(path: Path) -> list[dict[str, Any]]:
    """The spans of an OTLP JSON file as plain dicts in the reader's vocabulary."""
    text = path.read_text()
    docs = [json.loads(line) for line in text.splitlines()] if path.suffix == ".jsonl" else [json.loads(text)]
    return [
        ref_span(s, ref_attrs(rs.get("resource", {}).get("attributes", [])), ss["scope"])
        for doc in docs
        for rs in doc["resourceSpans"]
        for ss in rs["scopeSpans"]
        for s in ss["spans"]
    ]


def ref_span(s: dict[str, Any], resource: dict[str, Any], scope: dict[str, Any]) -> dict[str, Any]:
    kind, status = s.get("kind", 0), s.get("status", {})
    return {
        "trace_id": ref_id(s["traceId"]),
        "span_id": ref_id(s["spanId"]),
        "parent_id": ref_id(s.get("parentSpanId")),
        "name": s["name"],
        "start_ns": int(s["startTimeUnixNano"]),
        "end_ns": int(s["endTimeUnixNano"]),
        "status": REF_STATUS[status.get("code", 0)],
        "status_message": status.get("message"),
        "source_kind": kind.removeprefix("SPAN_KIND_") if isinstance(kind, str) else REF_KIND[kind],
        "attributes": ref_attrs(s.get("attributes", [])),
        "events": [
            (e["name"], int(e["timeUnixNano"]), ref_attrs(e.get("attributes", [])))
            for e in s.get("events", [])
        ],
        "resource": resource,
        "scope": ref_scope(scope),
    }


def ref_scope(scope: dict[str, Any]) -> dict[str, Any]:
    found = {"name": scope["name"], "version": scope.get("version")}
    if scope.get("attributes"):
        found["attributes"] = ref_attrs(scope["attributes"])
    return found


def console_objects(path: Path) -> list[dict[str, Any]]:
    """The objects of a console file, split by the json module's own raw_decode."""
    text, decoder, out = path.read_text(), json.JSONDecoder(), []
    pos = BLANKS.match(text).end()
    while pos < len(text):
        obj, pos = decoder.raw_decode(text, pos)
        out.append(obj)
        pos = BLANKS.match(text, pos).end()
    return out


def got(span: Span) -> dict[str, Any]:
    return {
        "trace_id": span.trace_id,
        "span_id": span.span_id,
        "parent_id": span.parent_id,
        "name": span.name,
        "start_ns": span.start_ns,
        "end_ns": span.end_ns,
        "status": span.status.value,
        "status_message": span.status_message,
        "source_kind": span.source_kind,
        "attributes": span.attributes,
        "events": [(e.name, e.time_ns, e.attributes) for e in span.events],
        "resource": span.resource,
        "scope": span.scope,
    }


def base_of(name: str) -> str:
    folder, file = name.split("/")
    return f"{folder}/{file.split('.')[0]}"


def read(path: Path) -> tuple[list[Span], Source]:
    source = Source(path)
    spans = list(detect(source).read(source, lambda _: None))
    return spans, source


# --- real files ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FILES)
def test_fixture_is_detected_and_fully_read(fixtures_dir: Path, name: str, applied: list[Span]) -> None:
    spans, source = read(fixtures_dir / name)
    expected_format = otlp_console if name.endswith(".console.txt") else otlp_json
    assert detect(Source(fixtures_dir / name)) is expected_format.SPEC
    n_spans, n_traces, n_errors = BASES[base_of(name)][1]
    assert source.problems == []
    assert len(spans) == n_spans
    assert len({s.trace_id for s in spans}) == n_traces
    assert sum(s.status is Status.ERROR for s in spans) == n_errors
    assert list(map(id, applied)) == list(map(id, spans))  # conventions.apply_fields ran on each span once
    for span in spans:
        assert re.fullmatch(r"[0-9a-f]{32}", span.trace_id)
        assert re.fullmatch(r"[0-9a-f]{16}", span.span_id)
        assert span.parent_id is None or re.fullmatch(r"[0-9a-f]{16}", span.parent_id)
        assert span.end_ns is not None and span.start_ns <= span.end_ns
        assert span.start_ns > 1_700_000_000 * 10**9


@pytest.mark.parametrize("name", FILES)
def test_parents_resolve_within_their_trace(fixtures_dir: Path, name: str) -> None:
    spans, _ = read(fixtures_dir / name)
    known = {(s.trace_id, s.span_id) for s in spans}
    assert len(known) == len(spans)
    for span in spans:
        assert span.parent_id is None or (span.trace_id, span.parent_id) in known
    roots = Counter(s.trace_id for s in spans if s.parent_id is None)
    assert set(roots) == {s.trace_id for s in spans}


@pytest.mark.parametrize("name", [f for f in FILES if not f.endswith(".console.txt")] + SPEC_FILES)
def test_otlp_file_matches_an_independent_reading(fixtures_dir: Path, name: str) -> None:
    spans, source = read(fixtures_dir / name)
    expected = ref_otlp(fixtures_dir / name)
    assert source.problems == []
    assert [got(s) for s in spans] == expected


@pytest.mark.parametrize("name", [f for f in FILES if f.endswith(".console.txt")])
def test_console_file_matches_an_independent_reading(fixtures_dir: Path, name: str) -> None:
    spans, _ = read(fixtures_dir / name)
    objects = console_objects(fixtures_dir / name)
    assert len(spans) == len(objects)
    for span, obj in zip(spans, objects, strict=True):
        assert span.trace_id == obj["context"]["trace_id"].removeprefix("0x")
        assert span.span_id == obj["context"]["span_id"].removeprefix("0x")
        assert span.parent_id == ref_id(obj["parent_id"])
        assert span.name == obj["name"]
        assert span.source_kind == obj["kind"].removeprefix("SpanKind.")
        assert span.status.value == obj["status"]["status_code"].lower()
        assert span.status_message == obj["status"].get("description")
        assert span.attributes == obj["attributes"]
        assert span.resource == obj["resource"]["attributes"]
        assert [(e.name, e.attributes) for e in span.events] == [
            (e["name"], e["attributes"]) for e in obj["events"]
        ]


@pytest.mark.parametrize("base", list(BASES))
def test_all_encodings_of_a_base_give_the_same_spans(fixtures_dir: Path, base: str) -> None:
    suffixes = BASES[base][0]
    reference = [got(s) for s in read(fixtures_dir / (base + suffixes[0]))[0]]
    for suffix in suffixes[1:]:
        spans = [got(s) for s in read(fixtures_dir / (base + suffix))[0]]
        if suffix != ".console.txt":
            assert spans == reference, suffix
            continue
        # The console prints one span at a time, in end order, without scope and with µs times.
        expected = {s["span_id"]: s for s in reference}
        assert sorted(expected) == sorted(s["span_id"] for s in spans)
        for span in spans:
            want = expected[span["span_id"]]
            for key in ("start_ns", "end_ns"):
                assert abs(span.pop(key) - want.pop(key)) < CONSOLE_SLACK_NS
            for (name, time_ns, attrs), (want_name, want_time, want_attrs) in zip(
                span.pop("events"), want.pop("events"), strict=True
            ):
                assert (name, attrs) == (want_name, want_attrs)
                assert abs(time_ns - want_time) < CONSOLE_SLACK_NS
            assert span.pop("scope") == {}
            want.pop("scope")
            assert span == want


@pytest.mark.parametrize("base", [b for b in BASES if not b.startswith("langfuse-sdk/")])  # it records none
def test_exceptions_keep_type_message_and_stacktrace(fixtures_dir: Path, base: str) -> None:
    for suffix in BASES[base][0]:
        spans, _ = read(fixtures_dir / (base + suffix))
        exceptions = [e for s in spans for e in s.events if e.is_exception]
        assert exceptions, suffix
        for event in exceptions:
            assert event.exception_type and event.exception_message
            assert event.stacktrace and event.stacktrace.startswith("Traceback (most recent call last):")


def test_upper_case_hex_of_the_spec_example_is_normalized(fixtures_dir: Path) -> None:
    (span,) = read(fixtures_dir / "otlp-spec/opentelemetry-proto-example-trace.json")[0]
    assert (span.trace_id, span.span_id, span.parent_id) == (
        "5b8efff798038103d269b633813fc60c",
        "eee19b7ec3c1b174",
        "eee19b7ec3c1b173",
    )
    assert span.scope == {
        "name": "my.library",
        "version": "1.0.0",
        "attributes": {"my.scope.attribute": "some scope attribute"},
    }
    assert span.resource == {"service.name": "my.service"}
    assert span.source_kind == "SERVER"
    assert span.status is Status.UNSET


def test_gzipped_file_is_read_and_progress_is_on_disk_bytes(fixtures_dir: Path, tmp_path: Path) -> None:
    raw = (fixtures_dir / "openinference-openai/chain-and-session.otlp.jsonl").read_bytes()
    path = tmp_path / "traces.jsonl.gz"
    path.write_bytes(gzip.compress(raw))
    source, seen = Source(path), []
    spans = list(detect(source).read(source, seen.append))
    assert len(spans) == 25 and source.problems == []
    assert all(0 <= n <= path.stat().st_size for n in seen)


def test_resource_dict_is_shared_by_the_spans_of_a_resource(fixtures_dir: Path) -> None:
    for name in (
        "openinference-openai/chain-and-session.otlp.json",
        "openllmetry/chain-and-session.console.txt",
    ):
        spans, _ = read(fixtures_dir / name)
        assert len({id(s.resource) for s in spans}) == 1
        assert spans[0].resource["service.name"] == "travel-assistant"


# --- hand-made files --------------------------------------------------------------------------


def otlp_span(span_id: str, parent: str | None = None, **fields: Any) -> dict[str, Any]:
    span = {
        "traceId": TRACE,
        "spanId": span_id,
        "name": f"span-{span_id[-2:]}",
        "kind": 1,
        "startTimeUnixNano": str(T0 + 1_000),
        "endTimeUnixNano": str(T0 + 2_000),
        "attributes": [],
        "status": {},
    }
    if parent is not None:
        span["parentSpanId"] = parent
    span.update(fields)
    return span


def request(
    *spans: dict[str, Any], scope_key: str = "scopeSpans", top: str = "resourceSpans"
) -> dict[str, Any]:
    scope = "instrumentationLibrary" if scope_key == "instrumentationLibrarySpans" else "scope"
    return {
        top: [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]},
                scope_key: [{scope: {"name": "tests", "version": "1"}, "spans": list(spans)}],
            }
        ]
    }


def write(tmp_path: Path, content: str | bytes, name: str = "traces.json") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def jsonl(*docs: dict[str, Any] | str) -> str:
    return "".join((d if isinstance(d, str) else json.dumps(d)) + "\n" for d in docs)


def read_otlp(path: Path) -> tuple[list[Span], list[str]]:
    source = Source(path)
    assert detect(source) is otlp_json.SPEC
    spans = list(otlp_json.read(source, lambda _: None))
    return spans, [f"{p.where}: {p.reason}" for p in source.problems]


def test_concatenated_documents_pretty_or_not_with_or_without_newlines(tmp_path: Path) -> None:
    docs = [request(otlp_span(f"{i:016x}")) for i in range(1, 5)]
    text = (
        json.dumps(docs[0], indent=2)
        + json.dumps(docs[1])
        + "\n\n"
        + json.dumps(docs[2], indent=4)
        + json.dumps(docs[3])
    )
    spans, problems = read_otlp(write(tmp_path, text))
    assert [s.span_id for s in spans] == [f"{i:016x}" for i in range(1, 5)]
    assert problems == []


def test_compact_documents_run_together_on_one_line_of_json_lines(tmp_path: Path) -> None:
    a, b, c = (json.dumps(request(otlp_span(f"{i:016x}"))) for i in (1, 2, 3))
    spans, problems = read_otlp(write(tmp_path, f"{a}\n{b}{c}\n", "t.jsonl"))
    assert [s.span_id for s in spans] == [f"{i:016x}" for i in (1, 2, 3)]
    assert problems == []


@pytest.mark.parametrize(
    ("trace", "span", "parent"),
    [
        (base64.b64encode(bytes.fromhex(TRACE)).decode(), "AAAAAAAAAAE=", "AAAAAAAAAAI="),
        ("0x" + TRACE, "0x0000000000000001", "0x0000000000000002"),
        (TRACE.upper(), "0000000000000001", "0000000000000002"),
        (base64.urlsafe_b64encode(bytes.fromhex(TRACE)).decode().rstrip("="), "AAAAAAAAAAE", "AAAAAAAAAAI"),
    ],
    ids=["base64", "0x", "upper", "base64url-unpadded"],
)
def test_id_encodings_become_lowercase_hex(tmp_path: Path, trace: str, span: str, parent: str) -> None:
    doc = request(otlp_span(span, parent, traceId=trace))
    (got_span,), problems = read_otlp(write(tmp_path, json.dumps(doc)))
    assert (got_span.trace_id, got_span.span_id, got_span.parent_id) == (
        TRACE,
        "0" * 15 + "1",
        "0" * 15 + "2",
    )
    assert problems == []


@pytest.mark.parametrize("parent", ["", "0000000000000000", "AAAAAAAAAAA=", None])
def test_empty_missing_or_zero_parent_is_a_root(tmp_path: Path, parent: str | None) -> None:
    (span,), _ = read_otlp(write(tmp_path, json.dumps(request(otlp_span("00000000000000aa", parent)))))
    assert span.parent_id is None


def test_enum_names_numbers_and_int64_as_json_numbers(tmp_path: Path) -> None:
    spans = [
        otlp_span(
            "0000000000000001",
            kind="SPAN_KIND_CLIENT",
            status={"code": "STATUS_CODE_ERROR", "message": "boom"},
        ),
        otlp_span(
            "0000000000000002", kind=3, status={"code": 1}, startTimeUnixNano=T0, endTimeUnixNano=T0 + 5
        ),
        otlp_span("0000000000000003", kind="SPAN_KIND_SERVER", status={"code": "STATUS_CODE_OK"}),
        otlp_span("0000000000000004", kind=0, status={"code": 0}),
        otlp_span("0000000000000005", status={"code": 7}),
    ]
    del spans[4]["kind"]
    got_spans, problems = read_otlp(write(tmp_path, json.dumps(request(*spans))))
    assert problems == []
    assert [(s.source_kind, s.status, s.status_message) for s in got_spans] == [
        ("CLIENT", Status.ERROR, "boom"),
        ("CLIENT", Status.OK, None),
        ("SERVER", Status.OK, None),
        (None, Status.UNSET, None),
        (None, Status.UNSET, None),
    ]
    assert (got_spans[1].start_ns, got_spans[1].end_ns) == (T0, T0 + 5)


def test_any_value_kinds_become_native_values(tmp_path: Path) -> None:
    attrs = [
        {"key": "s", "value": {"stringValue": "x"}},
        {"key": "i", "value": {"intValue": "9007199254740993"}},
        {"key": "n", "value": {"intValue": 42}},
        {"key": "d", "value": {"doubleValue": 0.5}},
        {"key": "nan", "value": {"doubleValue": "NaN"}},
        {"key": "inf", "value": {"doubleValue": "-Infinity"}},
        {"key": "b", "value": {"boolValue": True}},
        {"key": "bytes", "value": {"bytesValue": "AAEC"}},
        {"key": "arr", "value": {"arrayValue": {"values": [{"stringValue": "a"}, {"intValue": "1"}]}}},
        {"key": "kv", "value": {"kvlistValue": {"values": [{"key": "k", "value": {"boolValue": False}}]}}},
        {"key": "empty", "value": {}},
    ]
    (span,), _ = read_otlp(
        write(tmp_path, json.dumps(request(otlp_span("0000000000000001", attributes=attrs))))
    )
    a = span.attributes
    assert a["nan"] != a["nan"] and a["inf"] == float("-inf")
    del a["nan"], a["inf"]
    assert a == {
        "s": "x",
        "i": 9007199254740993,
        "n": 42,
        "d": 0.5,
        "b": True,
        "bytes": "AAEC",
        "arr": ["a", 1],
        "kv": {"k": False},
        "empty": None,
    }


def test_events_resource_and_scope(tmp_path: Path) -> None:
    event = {
        "timeUnixNano": str(T0 + 1_500),
        "name": "exception",
        "attributes": [{"key": "exception.type", "value": {"stringValue": "ValueError"}}],
    }
    (span,), _ = read_otlp(
        write(tmp_path, json.dumps(request(otlp_span("0000000000000001", events=[event]))))
    )
    (ev,) = span.events
    assert (ev.name, ev.time_ns, ev.exception_type) == ("exception", T0 + 1_500, "ValueError")
    assert span.resource == {"service.name": "svc"}
    assert span.scope == {"name": "tests", "version": "1"}


def test_old_instrumentation_library_spans(tmp_path: Path) -> None:
    doc = request(otlp_span("0000000000000001"), scope_key="instrumentationLibrarySpans")
    (span,), _ = read_otlp(write(tmp_path, json.dumps(doc, indent=2)))
    assert span.scope == {"name": "tests", "version": "1"}


def test_tempo_batches(tmp_path: Path) -> None:
    doc = request(
        otlp_span("AAAAAAAAAAE=", traceId=base64.b64encode(bytes.fromhex(TRACE)).decode()), top="batches"
    )
    (span,), _ = read_otlp(write(tmp_path, json.dumps(doc)))
    assert (span.trace_id, span.span_id) == (TRACE, "0000000000000001")


@pytest.mark.parametrize("end", [None, "0", 0])
def test_span_without_end_time_is_running(tmp_path: Path, end: Any) -> None:
    span = otlp_span("0000000000000001")
    if end is None:
        del span["endTimeUnixNano"]
    else:
        span["endTimeUnixNano"] = end
    (got_span,), problems = read_otlp(write(tmp_path, json.dumps(request(span))))
    assert got_span.end_ns is None and got_span.duration_ns is None and problems == []


def test_malformed_line_is_skipped_with_its_line_number(tmp_path: Path) -> None:
    good = [request(otlp_span(f"{i:016x}")) for i in range(1, 5)]
    text = jsonl(
        good[0], good[1], '{"resourceSpans": [{"scopeSpans": [', "not json at all", good[2], "", good[3]
    )
    spans, problems = read_otlp(write(tmp_path, text, "t.jsonl"))
    assert [s.span_id for s in spans] == [f"{i:016x}" for i in range(1, 5)]
    assert [p.split(":")[0] for p in problems] == ["line 3", "line 4"]


def test_truncated_first_line_does_not_lose_the_rest(tmp_path: Path) -> None:
    good = [json.dumps(request(otlp_span(f"{i:016x}"))) for i in (1, 2)]
    spans, problems = read_otlp(
        write(tmp_path, good[0][:40] + "\n" + good[0] + "\n" + good[1] + "\n", "t.jsonl")
    )
    assert [s.span_id for s in spans] == ["0000000000000001", "0000000000000002"]
    assert len(problems) == 1 and problems[0].startswith("line 1:")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"traceId": ""}, "traceId missing"),
        ({"spanId": None}, "spanId"),
        ({"traceId": "xyz"}, "bad traceId"),
        ({"spanId": "00000000000001"}, "bad spanId"),
        ({"parentSpanId": "nothex-nothex!!"}, "bad parentSpanId"),
        ({"startTimeUnixNano": "soon"}, "startTimeUnixNano"),
        ({"startTimeUnixNano": None}, "startTimeUnixNano"),
        ({"attributes": [{"key": "n", "value": {"intValue": "many"}}]}, "intValue"),
    ],
)
def test_bad_span_is_skipped_and_its_neighbours_kept(
    tmp_path: Path, change: dict[str, Any], reason: str
) -> None:
    bad = otlp_span("00000000000000bb")
    for key, val in change.items():
        if val is None:
            del bad[key]
        else:
            bad[key] = val
    doc = request(otlp_span("0000000000000001"), bad, otlp_span("0000000000000003"))
    text = jsonl(request(otlp_span("0000000000000009")), doc)
    spans, problems = read_otlp(write(tmp_path, text, "t.jsonl"))
    assert [s.span_id for s in spans] == ["0000000000000009", "0000000000000001", "0000000000000003"]
    assert len(problems) == 1
    assert problems[0].startswith("line 2: span 2:") and reason in problems[0]


def test_garbage_file_is_named_short_and_with_what_it_begins_with(tmp_path: Path) -> None:
    """Where to read the formats, not a 1,000-character list of them."""
    with pytest.raises(FormatError) as err:
        detect(Source(write(tmp_path, b"\x00\x01garbage, not a trace {]\n" * 50)))
    message = str(err.value)
    assert f"({len(registry())} tried, listed by `spanscope import --help`)" in message
    assert message.endswith("begins with the bytes 00 01 67 61 72 62 61 67 65 2c 20 6e (binary, not text)")
    assert otlp_json.SPEC.description not in message and len(message) < 250
    with pytest.raises(FormatError) as err:
        detect(Source(write(tmp_path, b'{"resourceMetrics": [{"resource": {}}]}\n' * 50)))
    metrics = '{"resourceMetrics": [{"resource": {}}]}'
    assert str(err.value).endswith(f"""it begins with '{metrics} {metrics[:20]}…'""")


def test_empty_file_is_a_format_error(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="empty"):
        detect(Source(write(tmp_path, b"")))
    with pytest.raises(FormatError):
        list(otlp_json.read(Source(write(tmp_path, b"")), lambda _: None))


def test_nothing_readable_is_a_format_error_with_the_first_problem(tmp_path: Path) -> None:
    path = write(tmp_path, jsonl(request(otlp_span("zz"))), "t.jsonl")
    with pytest.raises(FormatError, match="bad spanId"):
        list(otlp_json.read(Source(path), lambda _: None))


def test_sniff_tells_the_formats_apart() -> None:
    otlp = json.dumps(request(otlp_span("0000000000000001")), indent=2).encode()
    tempo = json.dumps(request(otlp_span("0000000000000001"), top="batches")).encode()
    console = b'{\n    "name": "x",\n    "context": {\n        "trace_id": "0x' + TRACE.encode() + b'",'
    tricky = console + b'\n "attributes": {"v": "{\\"resourceSpans\\": []}"}'
    assert otlp_json.sniff(otlp) and otlp_json.sniff(tempo) and not otlp_console.sniff(otlp)
    assert otlp_console.sniff(console) and otlp_console.sniff(tricky)
    assert not otlp_json.sniff(console) and not otlp_json.sniff(tricky)
    assert not otlp_json.sniff(b'{"batches": [], "other": 1}')
    assert not otlp_json.sniff(b'[{"resourceSpans": []}]')


def test_progress_reaches_the_end_of_the_file(tmp_path: Path) -> None:
    docs = [request(*(otlp_span(f"{i:08x}{j:08x}") for j in range(50))) for i in range(200)]
    path = write(tmp_path, jsonl(*docs), "t.jsonl")
    seen: list[int] = []
    spans = list(otlp_json.read(Source(path), seen.append))
    assert len(spans) == 10_000
    assert seen and seen == sorted(seen) and seen[-1] == path.stat().st_size


# --- console ------------------------------------------------------------------------------------


def console_span(span_id: str, **fields: Any) -> dict[str, Any]:
    span: dict[str, Any] = {
        "name": "step",
        "context": {"trace_id": "0x" + TRACE, "span_id": "0x" + span_id, "trace_state": "[]"},
        "kind": "SpanKind.CLIENT",
        "parent_id": None,
        "start_time": "2026-11-27T04:51:14.047757Z",
        "end_time": "2026-11-27T04:51:14.469547Z",
        "status": {"status_code": "UNSET"},
        "attributes": {"n": 1},
        "events": [],
        "links": [],
        "resource": {"attributes": {"service.name": "svc"}, "schema_url": ""},
    }
    span.update(fields)
    return span


def read_console(path: Path) -> tuple[list[Span], list[str]]:
    source = Source(path)
    assert detect(source) is otlp_console.SPEC
    spans = list(otlp_console.read(source, lambda _: None))
    return spans, [f"{p.where}: {p.reason}" for p in source.problems]


def console_text(*spans: dict[str, Any]) -> str:
    return "".join(json.dumps(s, indent=4) + "\n" for s in spans)


def test_console_fields(tmp_path: Path) -> None:
    event = {
        "name": "exception",
        "timestamp": "2026-11-27T04:51:14.100000Z",
        "attributes": {"exception.type": "E"},
    }
    spans = [
        console_span(
            "0000000000000001", status={"status_code": "ERROR", "description": "bad"}, events=[event]
        ),
        console_span("0000000000000002", parent_id="0x0000000000000001", end_time=None),
    ]
    (first, second), problems = read_console(write(tmp_path, console_text(*spans), "c.txt"))
    assert problems == []
    assert (first.trace_id, first.span_id, first.parent_id) == (TRACE, "0000000000000001", None)
    assert (first.status, first.status_message, first.source_kind) == (Status.ERROR, "bad", "CLIENT")
    assert first.start_ns == 1_795_755_074_047_757_000 and first.end_ns == 1_795_755_074_469_547_000
    assert first.events[0].time_ns == 1_795_755_074_100_000_000 and first.events[0].exception_type == "E"
    assert (second.parent_id, second.end_ns) == ("0000000000000001", None)
    assert first.attributes == {"n": 1} and first.resource == {"service.name": "svc"}
    assert second.resource is first.resource


def test_console_python_nan_and_infinity_are_read(tmp_path: Path) -> None:
    text = console_text(console_span("0000000000000001", attributes={"x": 1})).replace('"x": 1', '"x": NaN')
    (span,), problems = read_console(write(tmp_path, text, "c.txt"))
    assert span.attributes["x"] != span.attributes["x"] and problems == []


def test_console_bad_object_is_skipped_with_its_line(tmp_path: Path) -> None:
    good = console_text(console_span("0000000000000001"))
    bad = console_text(console_span("0000000000000002", start_time="yesterday"))
    broken = good.replace('"name": "step",', '"name": "step" oops,')
    text = good + bad + broken + console_text(console_span("0000000000000004"))
    lines = good.count("\n")
    spans, problems = read_console(write(tmp_path, text, "c.txt"))
    assert [s.span_id for s in spans] == ["0000000000000001", "0000000000000004"]
    assert [p.split(":")[0] for p in problems] == [f"line {lines + 1}", f"line {2 * lines + 1}"]
    assert "yesterday" in problems[0]


def test_console_compact_objects_one_per_line(tmp_path: Path) -> None:
    text = "".join(json.dumps(console_span(f"{i:016x}")) + "\n" for i in (1, 2))
    spans, _ = read_console(write(tmp_path, text, "c.jsonl"))
    assert [s.span_id for s in spans] == ["0000000000000001", "0000000000000002"]


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("1970-01-01T00:00:00Z", 0),
        ("2026-11-27T04:51:14.047757Z", 1_795_755_074_047_757_000),
        ("2026-11-27T04:51:14.123456789Z", 1_795_755_074_123_456_789),
        ("2026-11-27T06:51:14.5+02:00", 1_795_755_074_500_000_000),
        ("2026-11-27T04:51:14", 1_795_755_074_000_000_000),
    ],
)
def test_iso_times_convert_exactly(text: str, ns: int) -> None:
    assert otlp_console.iso_ns(text) == ns


# --- shared helpers -----------------------------------------------------------------------------


def test_normalize_id_rejects_wrong_lengths_and_alphabets() -> None:
    assert normalize_id("AAAAAAAAAAE=", 8) == "0000000000000001"
    assert normalize_id("0XTdYEkdIt4=", 8) == "d174dd60491d22de"  # base64 that starts like 0x-hex
    assert normalize_id("0xD174DD60491D22DE", 8) == "d174dd60491d22de"
    for raw in ("", "0x", "abc", "g" * 16, "A" * 20, "0" * 32):
        with pytest.raises(ValueError):
            normalize_id(raw, 8)


@pytest.mark.parametrize("chunk", [1, 2, 7, 1 << 20])
def test_splitter_handles_any_chunking(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    from spanscope.core.formats import json_objects

    monkeypatch.setattr(json_objects, "CHUNK", chunk)
    data = b'\xef\xbb\xbf{"a": "}{\\"\\\\"}\n{\n  "b": {"c": [1, {}]}\n}junk\n{"d": 1}{"e": 2\n{"f": 3}\n'
    problems: list[tuple[int, str]] = []
    reader = iter([data[i : i + chunk] for i in range(0, len(data), chunk)] + [b""])
    found = split_objects(lambda _: next(reader, b""), lambda line, reason: problems.append((line, reason)))
    objects = [(line, bytes(obj)) for line, obj in found]
    assert objects == [
        (1, b'{"a": "}{\\"\\\\"}'),
        (2, b'{\n  "b": {"c": [1, {}]}\n}'),
        (5, b'{"d": 1}'),
        (6, b'{"f": 3}'),
    ]
    assert [line for line, _ in problems] == [4, 5]  # the junk, then the object left open


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='{}[]"\\\n :,ab\u00e9'),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(alphabet='{}"ab'), inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(
    docs=st.lists(
        st.dictionaries(st.text(alphabet='{}"\\ab'), JSON_VALUES, max_size=4), min_size=1, max_size=5
    ),
    indent=st.sampled_from([None, 0, 2, 4]),
    separator=st.sampled_from(["", "\n", " \n\n", "\r\n"]),
    chunk=st.integers(1, 40),
)
def test_splitter_finds_exactly_the_documents(
    docs: list[dict[str, Any]], indent: int | None, separator: str, chunk: int
) -> None:
    from spanscope.core.formats import json_objects

    texts = [json.dumps(d, indent=indent).encode() for d in docs]
    data = separator.join(t.decode() for t in texts).encode()
    pieces = iter([data[i : i + chunk] for i in range(0, len(data), chunk)])
    problems: list[tuple[int, str]] = []
    original, json_objects.CHUNK = json_objects.CHUNK, chunk
    try:
        found = list(split_objects(lambda _: next(pieces, b""), lambda *p: problems.append(p)))
    finally:
        json_objects.CHUNK = original
    assert [bytes(obj) for _, obj in found] == texts
    assert problems == []
    starts = [sum(len(t) + len(separator) for t in texts[:i]) for i in range(len(texts))]
    assert [line for line, _ in found] == [data[:at].count(b"\n") + 1 for at in starts]


@pytest.mark.parametrize("chunk", [64, 4096])
@pytest.mark.parametrize(
    "name",
    [
        "openinference-openai/chain-and-session.otlp.json",
        "openinference-openai/chain-and-session.console.txt",
    ],
)
def test_small_chunks_read_the_same_spans(
    fixtures_dir: Path, monkeypatch: pytest.MonkeyPatch, name: str, chunk: int
) -> None:
    from spanscope.core.formats import json_objects

    expected = [got(s) for s in read(fixtures_dir / name)[0]]
    monkeypatch.setattr(json_objects, "CHUNK", chunk)
    spans, source = read(fixtures_dir / name)
    assert [got(s) for s in spans] == expected and source.problems == []


def test_gzipped_concatenated_documents(fixtures_dir: Path, tmp_path: Path) -> None:
    raw = (fixtures_dir / "openinference-openai/chain-and-session.otlp.json").read_bytes()
    path = write(tmp_path, gzip.compress(raw + raw), "twice.json.gz")
    spans, problems = read_otlp(path)
    assert len(spans) == 50 and problems == []
