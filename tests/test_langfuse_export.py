"""The Langfuse export reader, on the real UI trace downloads and on hand-made exports of each shape.

Expected figures are read from the downloads here with json, independently of the reader and of
semconv.
"""

from __future__ import annotations

import contextlib
import json
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spanscope.cli import main
from spanscope.core.formats import FormatError, Source, langfuse_export
from spanscope.core.formats.registry import detect
from spanscope.core.model import Kind, Score, ScoreFor, Span, Status
from spanscope.core.store import connect
from spanscope.core.store.queries import get_span, list_traces, trace_scores

DOWNLOADS = ("openai-agents-2025-09-30.trace.json", "langgraph-python-2025-08-22.trace.json")
KINDS = {
    "GENERATION": "LLM",
    "SPAN": "SPAN",
    "EVENT": "SPAN",
    "AGENT": "AGENT",
    "TOOL": "TOOL",
    "CHAIN": "CHAIN",
    "RETRIEVER": "RETRIEVER",
    "EMBEDDING": "EMBEDDING",
    "EVALUATOR": "EVALUATOR",
    "GUARDRAIL": "GUARDRAIL",
}
TRACE = "0123456789abcdef0123456789abcdef"


def read(path: Path) -> tuple[list[Span | ScoreFor], list[str]]:
    source = Source(path)
    assert detect(source) is langfuse_export.SPEC, path
    spans = list(langfuse_export.read(source, lambda n: None))
    return spans, [str(p) for p in source.problems]


def seconds(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


# --- the real downloads ----------------------------------------------------------------------------


def ref_usage(observations: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """Tokens per model: Langfuse's input/output plus their input_*/output_* detail counts."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for o in observations:
        usage = o.get("usageDetails") or {}
        if o["type"] != "GENERATION" or not usage:
            continue
        for side, index in (("input", 0), ("output", 1)):
            totals[o["model"]][index] += usage[side] + sum(
                v for k, v in usage.items() if k.startswith(side + "_")
            )
    return {model: (i, o) for model, (i, o) in totals.items()}


@pytest.mark.parametrize("name", DOWNLOADS)
def test_every_download_reads_with_the_right_figures(fixtures_dir, name):
    path = fixtures_dir / "langfuse-export" / name
    data = json.loads(path.read_text())
    trace, observations = data["trace"], data["observations"]
    spans, problems = read(path)
    assert problems == []
    assert len(spans) == len(observations)
    assert {s.trace_id for s in spans} == {trace["id"]}
    by_id = {s.span_id: s for s in spans}
    usage: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for o in observations:
        span = by_id[o["id"]]
        assert span.parent_id == o["parentObservationId"]
        assert span.kind == KINDS[o["type"]] and span.source_kind == o["type"]
        assert span.name == o["name"] and span.model == o["model"]
        assert (span.status == Status.ERROR) == (o["level"] == "ERROR")
        # The download's latency is in seconds (the reader uses start and end times).
        assert span.duration_ns / 1e9 == pytest.approx(o["latency"], abs=1e-3)
        assert span.duration_ns / 1e9 == pytest.approx(seconds(o["startTime"], o["endTime"]), abs=1e-6)
        if o["costDetails"]:
            assert span.cost_usd == pytest.approx(o["costDetails"]["total"])
        if span.input_tokens is not None:
            usage[span.model][0] += span.input_tokens
            usage[span.model][1] += span.output_tokens
    assert {m: tuple(v) for m, v in usage.items()} == ref_usage(observations)
    root = next(s for s in spans if s.parent_id is None)
    assert root.duration_ns / 1e9 == pytest.approx(trace["latency"], abs=1e-3)
    scores = trace["scores"]
    assert len(scores) == 2
    assert sorted(
        (s.name, s.value, s.comment, s.source, s.key, s.trace_level) for s in root.scores
    ) == sorted((s["name"], s["value"], s["comment"], s["source"], s["id"], True) for s in scores)
    assert sum(len(s.scores) for s in spans) == len(scores)


def test_tool_calls_in_langchain_messages_are_kept(fixtures_dir):
    path = fixtures_dir / "langfuse-export/langgraph-python-2025-08-22.trace.json"
    raw = {o["id"]: o for o in json.loads(path.read_text())["observations"]}
    spans, _ = read(path)
    calls = [
        (span.span_id, call)
        for span in spans
        if span.kind == Kind.LLM
        for call in span.output[0]["tool_calls"]
    ]
    assert calls
    for span_id, call in calls:
        sent = json.loads(raw[span_id]["output"])["additional_kwargs"]["tool_calls"]
        assert {"id": call["id"], "name": call["name"]} in [
            {"id": c["id"], "name": c["function"]["name"]} for c in sent
        ]
        assert isinstance(call["arguments"], dict)


def test_detected_for_exactly_the_langfuse_exports(fixtures_dir):
    """Downloads and the SDK's scores request are Langfuse exports; OTLP (the Langfuse SDK's own
    spans included), LangSmith and every other fixture are not."""
    for path in sorted(p for p in fixtures_dir.rglob("*") if p.is_file()):
        ours = "langfuse-export" in path.parts or path.name.endswith("api_public_scores.0002.json")
        assert langfuse_export.sniff(Source(path).head()) == ours, path


SDK_SCORES = "langfuse-sdk/chain-and-session.api_public_scores.0002.json"
SDK_SPANS = "langfuse-sdk/chain-and-session.otlp.json"


def expected_score(raw: dict[str, Any]) -> tuple:
    """A score of the SDK's request as stored, read from the JSON: its span ('' for the trace),
    name, number or label, comment and id."""
    value = raw["value"]
    number, label = (None, value) if isinstance(value, str) else (float(value), None)
    return (raw.get("observationId") or "", raw["name"], number, label, raw.get("comment"), raw["id"])


@pytest.mark.parametrize("scores_first", [False, True], ids=["spans-then-scores", "scores-then-spans"])
def test_the_sdk_scores_request_scores_the_sdk_spans_in_either_order(
    fixtures_dir, tmp_path, capsys, scores_first
):
    scores_file, spans_file = fixtures_dir / SDK_SCORES, fixtures_dir / SDK_SPANS
    raw = json.loads(scores_file.read_text())
    store = tmp_path / "s.db"
    for path in (scores_file, spans_file) if scores_first else (spans_file, scores_file):
        assert main(["import", str(path), "--db", str(store)]) == 0
    printed = capsys.readouterr().err
    traces = {r["traceId"] for r in raw}
    assert (
        f"{scores_file}: {len(raw)} scores ({len(raw)} new) in {len(traces)} traces [langfuse-export]"
        in printed
    )
    db = connect(store, readonly=True)
    for trace_id in traces:
        stored = sorted(
            (span_id, s.name, s.value, s.label, s.comment, s.key) for span_id, s in trace_scores(db, trace_id)
        )
        assert stored == sorted(expected_score(r) for r in raw if r["traceId"] == trace_id)
    for r in raw:
        if r.get("observationId"):  # the span it rates is one of the SDK's spans, and shows it
            span = get_span(db, r["traceId"], r["observationId"])
            assert [s.key for s in span.scores if not s.trace_level] == [r["id"]]
    summaries = {t.trace_id: t.scores for t in list_traces(db)}
    assert len(summaries) == 2  # the fixture's two traces, one of them rated
    for trace_id in traces:
        parts = sorted(
            f"{r['name']} {r['value']}" if isinstance(r["value"], str) else f"{r['name']} {r['value']:.3g}"
            for r in raw
            if r["traceId"] == trace_id
        )
        assert summaries[trace_id] == ", ".join(parts)
    assert [v for k, v in summaries.items() if k not in traces] == [None]


def test_scores_read_again_add_nothing(fixtures_dir, tmp_path, capsys):
    store = tmp_path / "s.db"
    copy = tmp_path / "scores-copy.json"
    copy.write_bytes((fixtures_dir / SDK_SCORES).read_bytes())
    for path in (fixtures_dir / SDK_SPANS, fixtures_dir / SDK_SCORES, fixtures_dir / SDK_SCORES, copy):
        assert main(["import", str(path), "--db", str(store)]) == 0
    printed = capsys.readouterr().err
    assert f"{fixtures_dir / SDK_SCORES}: already imported" in printed
    assert f"{copy}: 2 scores (0 new) in 1 traces" in printed
    assert connect(store, readonly=True).execute("SELECT count(*) FROM scores").fetchone()[0] == 2


def test_a_list_of_scores_from_the_api_reads_as_scores_for_their_traces(tmp_path):
    scores = [
        {"id": "a", "traceId": TRACE, "name": "quality", "value": 1, "dataType": "NUMERIC", "source": "EVAL"},
        {
            "id": "b",
            "traceId": TRACE,
            "observationId": "obs",
            "name": "tone",
            "value": "calm",
            "comment": "ok",
        },
        {"id": "c", "traceId": None, "name": "lost", "value": 1},
    ]
    for body in ({"data": scores, "meta": {"page": 1}}, {"data": scores}):
        path = write(tmp_path, body)
        read_back, problems = read(path)
        assert read_back == [
            ScoreFor(TRACE, None, Score("quality", 1.0, source="EVAL", key="a", trace_level=True)),
            ScoreFor(TRACE, "obs", Score("tone", label="calm", comment="ok", key="b")),
        ]
        assert problems == [f"{path}:line 1 data[3]: score 'lost' names no trace (traceId)"]


# --- hand-made exports of each shape ------------------------------------------------------------


def observation(obs_id: str, parent: str | None = None, **fields: Any) -> dict[str, Any]:
    return {
        "id": obs_id,
        "traceId": TRACE,
        "type": "SPAN",
        "name": obs_id,
        "parentObservationId": parent,
        "startTime": "2025-01-01T00:00:00.000Z",
        "endTime": "2025-01-01T00:00:01.500Z",
        **fields,
    }


def write(tmp_path: Path, value: Any, name: str = "export.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(value))
    return path


def test_newer_download_with_observations_and_scores(tmp_path):
    generation = observation(
        "gen",
        "root",
        type="GENERATION",
        model="gpt-4o",
        level="ERROR",
        statusMessage="rate limited",
        usageDetails={"input": 10, "input_cache_read": 5, "output": 7, "total": 22},
        costDetails={"input": 0.01, "output": 0.02},
        input='[{"role": "user", "content": "hi"}]',
    )
    scores = [
        {
            "id": "s1",
            "traceId": TRACE,
            "observationId": None,
            "name": "helpful",
            "value": 0.5,
            "dataType": "NUMERIC",
            "source": "API",
        },
        {
            "id": "s2",
            "traceId": TRACE,
            "observationId": "gen",
            "name": "tone",
            "value": 0,
            "stringValue": "calm",
            "dataType": "CATEGORICAL",
            "source": "ANNOTATION",
            "comment": "ok",
        },
        {"id": "s3", "traceId": TRACE, "observationId": "elsewhere", "name": "lost", "value": 1},
    ]
    path = write(tmp_path, {"observations": [observation("root"), generation], "scores": scores})
    spans, problems = read(path)
    by_id = {s.span_id: s for s in spans}
    gen = by_id["gen"]
    assert (gen.kind, gen.status, gen.status_message) == (Kind.LLM, Status.ERROR, "rate limited")
    assert (gen.input_tokens, gen.output_tokens, gen.cache_read_tokens) == (15, 7, 5)
    assert gen.cost_usd == pytest.approx(0.03)
    assert gen.input == [{"role": "user", "content": "hi", "tool_calls": [], "tool_call_id": None}]
    assert [(s.name, s.label, s.comment, s.trace_level) for s in gen.scores] == [
        ("tone", "calm", "ok", False)
    ]
    assert [(s.name, s.value, s.trace_level) for s in by_id["root"].scores] == [("helpful", 0.5, True)]
    assert problems == []
    assert by_id["elsewhere"] == ScoreFor(TRACE, "elsewhere", Score("lost", 1.0, key="s3"))


def test_public_api_trace_carries_session_and_user_to_its_spans(tmp_path):
    trace = {
        "id": TRACE,
        "timestamp": "2025-01-01T00:00:00.000Z",
        "name": "chat",
        "sessionId": "sess-1",
        "userId": "user-1",
        "tags": ["a"],
        "latency": 1500,
        "htmlPath": "/project/p/traces/x",
        "observations": [observation("root"), observation("ev", "root", type="EVENT", endTime=None)],
        "scores": [],
    }
    spans, problems = read(write(tmp_path, trace))
    assert problems == []
    assert {(s.span_id, s.session_id, s.user_id) for s in spans} == {
        ("root", "sess-1", "user-1"),
        ("ev", "sess-1", "user-1"),
    }
    event = next(s for s in spans if s.span_id == "ev")
    assert event.end_ns == event.start_ns and event.attributes["langfuse.trace.tags"] == ["a"]


def test_list_answers_and_arrays_of_observations(tmp_path):
    running = observation("run", endTime=None)
    api = observation(
        "b",
        "run",
        type="GENERATION",
        model="m",
        usageDetails={},
        promptTokens=3,
        completionTokens=4,
        totalTokens=7,
        calculatedTotalCost=0.5,
    )
    listed, _ = read(write(tmp_path, {"data": [running, api], "meta": {"page": 1}}))
    assert {s.span_id: s.end_ns for s in listed}["run"] is None
    generation = next(s for s in listed if s.span_id == "b")
    assert (generation.input_tokens, generation.output_tokens, generation.total_tokens) == (3, 4, 7)
    assert (generation.cost_usd, generation.kind, generation.parent_id) == (0.5, Kind.LLM, "run")
    array, _ = read(write(tmp_path, [observation("a"), observation("b", "a")], name="array.json"))
    assert {s.span_id: s.parent_id for s in array} == {"a": None, "b": "a"}


def test_a_malformed_jsonl_line_is_reported_and_the_rest_read(tmp_path):
    path = tmp_path / "observations.jsonl"
    path.write_text(
        json.dumps(observation("a"))
        + "\n"
        + '{"id": "b", "traceId": \n'
        + json.dumps(observation("c", "a"))
        + "\n"
    )
    spans, problems = read(path)
    assert {s.span_id for s in spans} == {"a", "c"}
    assert len(problems) == 1 and ":line 2:" in problems[0]


def test_cli_imports_and_prints_the_tree(fixtures_dir, tmp_path, capsys):
    path = fixtures_dir / "langfuse-export/openai-agents-2025-09-30.trace.json"
    data = json.loads(path.read_text())
    store = str(tmp_path / "store.db")
    assert main(["import", str(path), "--db", store]) == 0
    assert "[langfuse-export]" in capsys.readouterr().err
    assert main(["tree", "--db", store, data["trace"]["id"][:8]]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"trace {data['trace']['id']}: {len(data['observations'])} spans"
    depth = {o["id"]: 0 for o in data["observations"] if o["parentObservationId"] is None}
    while len(depth) < len(data["observations"]):
        for o in data["observations"]:
            if o["parentObservationId"] in depth:
                depth[o["id"]] = depth[o["parentObservationId"]] + 1
    for line in lines[1:]:
        span_id = line.rsplit("#", 1)[1]
        assert line.startswith(
            "  " * depth[span_id] + next(o["name"] for o in data["observations"] if o["id"] == span_id)
        )
    generations = [line for line in lines if "[LLM]" in line]
    assert len(generations) == 2 and all("gpt-4.1-2025-04-14" in line and "$" in line for line in generations)


# --- any record shape: read or reported, never a traceback ----------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
START = "2025-01-01T00:00:00.000Z"
FIELDS = {
    "id": st.sampled_from(["a", "b"]) | JSON,
    "traceId": st.sampled_from([TRACE]) | JSON,
    "type": st.sampled_from(list(KINDS)) | JSON,
    "startTime": st.sampled_from([START, "x"]) | JSON,
    "timestamp": st.sampled_from([START]) | JSON,
    "parentObservationId": st.sampled_from(["a", "b"]) | JSON,
    "observationId": st.sampled_from(["a", "b"]) | JSON,
    **dict.fromkeys(
        (
            "endTime",
            "name",
            "level",
            "statusMessage",
            "model",
            "usageDetails",
            "costDetails",
            "usage",
            "promptTokens",
            "calculatedTotalCost",
            "totalCost",
            "input",
            "output",
            "metadata",
            "value",
            "stringValue",
            "dataType",
            "sessionId",
            "userId",
            "tags",
            "htmlPath",
            "meta",
            "modelParameters",
        ),
        JSON,
    ),
}
RECORD = st.fixed_dictionaries({}, optional=FIELDS)
NESTED = st.fixed_dictionaries(
    {},
    optional={
        "trace": RECORD | JSON,
        "observations": st.lists(RECORD, max_size=3) | JSON,
        "scores": st.lists(RECORD, max_size=3) | JSON,
        "data": st.lists(RECORD, max_size=3) | JSON,
        "meta": JSON,
    },
)


@settings(max_examples=150, deadline=None)
@given(st.lists(RECORD | NESTED | JSON, min_size=1, max_size=4))
def test_records_of_any_shape_are_read_or_reported(tmp_path_factory, records):
    path = tmp_path_factory.mktemp("fuzz") / "export.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    with contextlib.suppress(FormatError):
        list(langfuse_export.read(Source(path), lambda n: None))
