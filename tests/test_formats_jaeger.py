"""The Jaeger JSON reader, on the Jaeger UI's own fixtures (figures read here from the raw JSON with
the json module) and on small hand-made files for the edge cases."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from spanscope.cli import main
from spanscope.core.formats import FormatError, Source, jaeger, otlp_json, otlp_proto
from spanscope.core.formats.registry import detect
from spanscope.core.model import Span, Status

FIXTURES = ["jaeger/genaiTestTrace.json", "jaeger/oltp2jaeger-multi-out.json"]


def raw_traces(path: Path) -> list[dict[str, Any]]:
    document = json.loads(path.read_text())
    return document.get("data", [document])


def tags(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {t["key"]: t["value"] for t in items}


def read(path: Path) -> tuple[list[Span], list[str]]:
    source = Source(path)
    assert detect(source) is jaeger.SPEC
    spans = list(jaeger.read(source, lambda _: None))
    return spans, [f"{p.where}: {p.reason}" for p in source.problems]


def export(capsys, path: Path) -> list[dict[str, Any]]:
    assert main(["export", str(path)]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_imports_with_the_figures_of_the_source(fixtures_dir: Path, capsys, name: str) -> None:
    traces = raw_traces(fixtures_dir / name)
    raw = [(trace, s) for trace in traces for s in trace["spans"]]
    spans = export(capsys, fixtures_dir / name)
    assert len(spans) == len(raw)
    assert len({s["trace_id"] for s in spans}) == len(traces)
    parents = {
        s["spanID"]: next((r["spanID"] for r in s["references"] if r["refType"] == "CHILD_OF"), None)
        for _, s in raw
    }
    assert {s["span_id"]: s["parent_id"] for s in spans} == parents
    assert not any(s["orphan"] for s in spans)
    services = {s["spanID"]: trace["processes"][s["processID"]]["serviceName"] for trace, s in raw}
    assert {s["span_id"]: s["service"] for s in spans} == services
    errors = {s["spanID"] for _, s in raw if tags(s["tags"]).get("error") is True}
    assert {s["span_id"] for s in spans if s["status"] == "error"} == errors
    usage: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for _, s in raw:
        t = tags(s["tags"])
        if t.get("gen_ai.operation.name") == "chat":
            usage[t["gen_ai.response.model"]][0] += t["gen_ai.usage.input_tokens"]
            usage[t["gen_ai.response.model"]][1] += t["gen_ai.usage.output_tokens"]
    got: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for s in spans:
        if s["kind"] == "LLM":
            got[s["model"]][0] += s["input_tokens"]
            got[s["model"]][1] += s["output_tokens"]
    assert got == usage
    operations = Counter(tags(s["tags"]).get("gen_ai.operation.name") for _, s in raw)
    kinds = Counter(s["kind"] for s in spans)
    assert kinds["LLM"] == operations["chat"] and kinds["TOOL"] == operations["execute_tool"]
    assert kinds["AGENT"] == operations["invoke_agent"]


@pytest.mark.parametrize("name", FIXTURES)
def test_fields_of_each_span_match_the_raw_json(fixtures_dir: Path, name: str) -> None:
    spans, problems = read(fixtures_dir / name)
    assert problems == []
    raw = [s for trace in raw_traces(fixtures_dir / name) for s in trace["spans"]]
    for span, s in zip(spans, raw, strict=True):
        assert (span.trace_id, span.span_id, span.name) == (s["traceID"], s["spanID"], s["operationName"])
        assert span.start_ns == s["startTime"] * 1000
        assert span.end_ns == (s["startTime"] + s["duration"]) * 1000
        assert span.attributes == tags(s["tags"])
        assert span.source_kind == tags(s["tags"])["span.kind"].upper()
        assert [(e.name, e.time_ns) for e in span.events] == [
            (tags(log["fields"]).get("event", "log"), log["timestamp"] * 1000) for log in s["logs"]
        ]


def test_the_envelope_trace_lists_and_tree_from_the_cli(fixtures_dir: Path, capsys) -> None:
    path = fixtures_dir / "jaeger/oltp2jaeger-multi-out.json"
    assert main(["tree", str(path), "c620759e"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "trace c620759e5d60fafb8ee0922b30e06bc6: 4 spans"
    assert [line.split("  [")[0] for line in lines[1:]] == ["main", "  info", "    ohboy.do", "    ohboy.do"]


def test_no_other_fixture_is_taken_for_jaeger(fixtures_dir: Path) -> None:
    for path in sorted(fixtures_dir.rglob("*")):
        if path.is_file() and path.parent.name != "jaeger":
            assert not jaeger.sniff(Source(path).head()), path
    for name in FIXTURES:
        head = Source(fixtures_dir / name).head()
        assert not otlp_json.sniff(head) and not otlp_proto.sniff(head)


# --- hand-made files -----------------------------------------------------------------------------

TRACE = "0af7651916cd43dd8448eb211c80319c"


def jspan(span_id: str, parent: str | None = None, **fields: Any) -> dict[str, Any]:
    span: dict[str, Any] = {
        "traceID": TRACE,
        "spanID": span_id,
        "operationName": f"op-{span_id}",
        "references": [{"refType": "CHILD_OF", "traceID": TRACE, "spanID": parent}] if parent else [],
        "startTime": 1_700_000_000_000_000,
        "duration": 1500,
        "tags": [],
        "logs": [],
        "processID": "p1",
    }
    span.update(fields)
    return span


def document(*spans: dict[str, Any], processes: dict[str, Any] | None = None) -> dict[str, Any]:
    trace = {"traceID": TRACE, "spans": list(spans), "processes": processes or {"p1": {"serviceName": "svc"}}}
    return {"data": [trace], "total": 0, "limit": 0, "offset": 0, "errors": None}


def write(tmp_path: Path, content: Any, name: str = "trace.json") -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_span_with_a_missing_process_is_kept_without_a_service(tmp_path: Path) -> None:
    doc = document(jspan("0000000000000001"), jspan("0000000000000002", "0000000000000001", processID="p9"))
    (root, child), problems = read(write(tmp_path, doc))
    assert problems == []
    assert (root.resource, child.resource) == ({"service.name": "svc"}, {})
    assert child.parent_id == root.span_id


def test_bad_spans_are_skipped_with_their_place_and_reason(tmp_path: Path) -> None:
    doc = document(
        jspan("0000000000000001"),
        jspan("0000000000000002", startTime=None),
        jspan("not-hex"),
        jspan("0000000000000004", duration="long"),
        jspan("0000000000000005"),
    )
    spans, problems = read(write(tmp_path, doc))
    assert [s.span_id for s in spans] == ["0000000000000001", "0000000000000005"]
    assert problems[0] == "line 1, trace 1, span 2: startTime missing"
    assert problems[1] == "line 1, trace 1, span 3: bad spanID 'not-hex': not up to 32 hex digits"
    assert problems[2].startswith("line 1, trace 1, span 4: Expected `int | null`, got `str`")


def test_references_typed_tags_logs_and_short_ids(tmp_path: Path) -> None:
    follows = {"refType": "FOLLOWS_FROM", "traceID": "af7651916cd43dd8448eb211c80319c", "spanID": "1"}
    child = jspan(
        "2",
        references=[follows],
        tags=[
            {"key": "n", "type": "int64", "value": "12345678901234567"},
            {"key": "f", "type": "float64", "value": 0.5},
            {"key": "b", "type": "bool", "value": "true"},
            {"key": "span.kind", "type": "string", "value": "client"},
            {"key": "otel.status_code", "type": "string", "value": "ERROR"},
            {"key": "otel.status_description", "type": "string", "value": "boom"},
            {"key": "otel.scope.name", "type": "string", "value": "lib"},
        ],
        logs=[{"timestamp": 1_700_000_000_000_100, "fields": [{"key": "event", "value": "exception"}]}],
        traceID="af7651916cd43dd8448eb211c80319c",
    )
    (root, span), problems = read(write(tmp_path, document(jspan("1", traceID=TRACE[1:]), child)))
    assert problems == []
    assert (span.trace_id, span.span_id, span.parent_id) == (TRACE, "0000000000000002", "0000000000000001")
    assert root.trace_id == TRACE
    assert (span.attributes["n"], span.attributes["f"], span.attributes["b"]) == (
        12345678901234567,
        0.5,
        True,
    )
    assert (span.source_kind, span.status, span.status_message) == ("CLIENT", Status.ERROR, "boom")
    assert span.scope == {"name": "lib", "version": None}
    assert [(e.name, e.time_ns, e.attributes) for e in span.events] == [
        ("exception", 1_700_000_000_000_100_000, {})
    ]


def test_bare_traces_one_per_line(tmp_path: Path) -> None:
    first = document(jspan("0000000000000001"))["data"][0]
    second = {**document(jspan("0000000000000002"))["data"][0], "traceID": TRACE}
    text = json.dumps(first) + "\n" + json.dumps(second) + "\n"
    spans, problems = read(write(tmp_path, text, "traces.jsonl"))
    assert [s.span_id for s in spans] == ["0000000000000001", "0000000000000002"] and problems == []


def test_truncated_file_is_a_clear_format_error(tmp_path: Path) -> None:
    text = json.dumps(document(jspan("0000000000000001")), indent=2)
    path = write(tmp_path, text[: len(text) // 2])
    with pytest.raises(FormatError, match=r"no span could be read .*line 1: JSON object not closed"):
        read(path)


def test_import_reports_the_skipped_span_and_keeps_the_rest(tmp_path: Path, capsys) -> None:
    path = write(tmp_path, document(jspan("0000000000000001"), jspan("0000000000000002", startTime=None)))
    assert main(["import", str(path), "--db", str(tmp_path / "store.db")]) == 1
    err = capsys.readouterr().err
    assert "1 spans (1 new) in 1 traces [jaeger-json]" in err
    assert "trace.json:line 1, trace 1, span 2: startTime missing" in err
