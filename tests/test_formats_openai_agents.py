"""The OpenAI Agents SDK's own trace export, Python and JS, against figures read from the raw files."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spanscope.cli import main
from spanscope.core.formats import FormatError, Source, detect, openai_agents
from spanscope.core.model import Kind, Span, Status
from spanscope.core.store import Outcome, connect, import_file
from spanscope.core.store.queries import list_traces, resolve_span, resolve_trace_id
from spanscope.core.store.span_io import span_io

PYTHON = "openai-agents/travel-desk-native.traces-ingest.json"
JS_CHAT = "openai-agents-js/travel-desk-chat-completions.ingest.json"
JS_RESPONSES = "openai-agents-js/travel-desk-responses.ingest.json"
FILES = (PYTHON, JS_CHAT, JS_RESPONSES)
KINDS = {
    "agent": Kind.AGENT,
    "generation": Kind.LLM,
    "response": Kind.LLM,
    "function": Kind.TOOL,
    "handoff": Kind.TOOL,
    "guardrail": Kind.GUARDRAIL,
    "custom": Kind.CHAIN,
}
EPOCH = datetime.fromisoformat("1970-01-01T00:00:00+00:00")


class Raw:
    """The file as the SDK wrote it, read with json alone."""

    def __init__(self, path: Path) -> None:
        items = json.loads(path.read_text())["data"]
        self.traces = {i["id"]: i for i in items if i["object"] == "trace"}
        self.spans = [i for i in items if i["object"] == "trace.span"]
        self.by_id = {s["id"]: s for s in self.spans}

    def calls(self) -> list[dict[str, Any]]:
        return [s for s in self.spans if s["span_data"]["type"] in ("generation", "response")]

    def usage(self, call: dict[str, Any]) -> tuple[int, int] | None:
        """(input, output) of one model call: its own usage, the raw completion's in a generation's
        output, else its turn's when the turn holds only this call; all zero is unknown."""
        data = call["span_data"]
        raw = data.get("usage")
        if raw is None and data["type"] == "generation" and len(data.get("output") or []) == 1:
            raw = data["output"][0].get("usage")
        if raw is None:
            turn = self.by_id.get(call["parent_id"], {}).get("span_data", {})
            siblings = [c for c in self.calls() if c["parent_id"] == call["parent_id"]]
            if turn.get("name") == "turn" and len(siblings) == 1:
                raw = turn["data"].get("usage")
        if raw is None:
            return None
        found = (
            raw.get("input_tokens", raw.get("prompt_tokens")),
            raw.get("output_tokens", raw.get("completion_tokens")),
        )
        return None if found == (0, 0) else found

    def turn_sum(self) -> tuple[int, int]:
        turns = [s["span_data"]["data"] for s in self.spans if s["span_data"].get("name") == "turn"]
        usages = [t["usage"] for t in turns if t.get("usage")]
        return sum(u["input_tokens"] for u in usages), sum(u["output_tokens"] for u in usages)

    def trace_of(self, span_id: str) -> str:
        return self.by_id[span_id]["trace_id"]


def ns(text: str) -> int:
    delta = datetime.fromisoformat(text.replace("Z", "+00:00")) - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1000


def read(path: Path) -> tuple[dict[str, Span], list[str]]:
    source = Source(path)
    assert detect(source) is openai_agents.SPEC
    spans = list(openai_agents.read(source, lambda n: None))
    assert len({s.span_id for s in spans}) == len(spans)
    return {s.span_id: s for s in spans}, [str(p) for p in source.problems]


@pytest.fixture(params=FILES)
def name(request: pytest.FixtureRequest) -> str:
    return request.param


def test_every_span_and_trace_is_read_with_its_own_ids_times_and_parents(fixtures_dir, name):
    raw = Raw(fixtures_dir / name)
    spans, problems = read(fixtures_dir / name)
    assert problems == []
    assert set(spans) == set(raw.by_id) | set(raw.traces)
    for item in raw.spans:
        span = spans[item["id"]]
        assert span.trace_id == item["trace_id"]
        assert span.parent_id == (item["parent_id"] or item["trace_id"])
        assert (span.start_ns, span.end_ns) == (ns(item["started_at"]), ns(item["ended_at"]))
    for trace_id, trace in raw.traces.items():
        root, own = spans[trace_id], [s for s in raw.spans if s["trace_id"] == trace_id]
        assert (root.name, root.parent_id, root.kind) == (trace["workflow_name"], None, Kind.CHAIN)
        assert root.start_ns == min(ns(s["started_at"]) for s in own)
        assert root.end_ns == max(ns(s["ended_at"]) for s in own)
        sessions = {s.session_id for s in spans.values() if s.trace_id == trace_id}
        assert sessions == {trace["group_id"]}
        for key, value in (trace["metadata"] or {}).items():
            assert root.attributes[f"openai_agents.metadata.{key}"] == value


def test_kinds_names_and_errors_follow_the_span_data(fixtures_dir, name):
    raw = Raw(fixtures_dir / name)
    spans, _ = read(fixtures_dir / name)
    for item in raw.spans:
        span, data = spans[item["id"]], item["span_data"]
        assert span.kind is KINDS[data["type"]], item["id"]
        if data["type"] in ("agent", "function", "guardrail", "custom"):
            assert span.name == data["name"]
        elif data["type"] == "handoff":
            assert span.name == f"Handoff: {data['from_agent']} → {data['to_agent']}"
            assert span.attributes["openai_agents.to_agent"] == data["to_agent"]
        if data["type"] == "guardrail":
            assert span.attributes["openai_agents.triggered"] is data["triggered"]
        if item["error"] is None:
            assert span.status is not Status.ERROR
        else:
            assert span.status is Status.ERROR and span.status_message.startswith(item["error"]["message"])
    errors = [s for s in spans.values() if s.status is Status.ERROR]
    assert len(errors) == sum(1 for s in raw.spans if s["error"]) == 4


def test_only_model_calls_carry_tokens_counted_once(fixtures_dir, name):
    raw = Raw(fixtures_dir / name)
    spans, _ = read(fixtures_dir / name)
    calls = raw.calls()
    assert {s.span_id for s in spans.values() if s.kind is Kind.LLM} == {c["id"] for c in calls}
    assert all(s.input_tokens is None for s in spans.values() if s.kind is not Kind.LLM)
    per_model: dict[str | None, list[int]] = defaultdict(lambda: [0, 0])
    for call in calls:
        span, usage = spans[call["id"]], raw.usage(call)
        assert span.model == call["span_data"].get("model")
        assert (span.input_tokens, span.output_tokens) == (usage or (None, None)), call["id"]
        if usage:
            per_model[span.model][0] += usage[0]
            per_model[span.model][1] += usage[1]
    read_per_model: dict[str | None, list[int]] = defaultdict(lambda: [0, 0])
    for span in spans.values():
        if span.input_tokens is not None:
            read_per_model[span.model][0] += span.input_tokens
            read_per_model[span.model][1] += span.output_tokens
    assert read_per_model == per_model
    # The turns repeat the calls' usage: counting calls once gives the same sums as the turns.
    assert tuple(map(sum, zip(*per_model.values(), strict=True))) == raw.turn_sum()


def test_a_streamed_call_without_usage_has_unknown_tokens_not_zero(fixtures_dir):
    raw = Raw(fixtures_dir / PYTHON)
    spans, _ = read(fixtures_dir / PYTHON)
    zeros = [c for c in raw.calls() if (c["span_data"].get("usage") or {}).get("input_tokens") == 0]
    assert len(zeros) == 1 and zeros[0]["span_data"]["usage"]["output_tokens"] == 0
    span = spans[zeros[0]["id"]]
    assert (span.input_tokens, span.output_tokens, span.total_tokens) == (None, None, None)
    assert span.output[0]["content"] == zeros[0]["span_data"]["output"][0]["output"][0]["content"][0]["text"]


def test_model_calls_and_tools_carry_their_input_and_output(fixtures_dir, name):
    raw = Raw(fixtures_dir / name)
    spans, _ = read(fixtures_dir / name)
    for item in raw.spans:
        span, data = spans[item["id"]], item["span_data"]
        if data["type"] == "generation":
            assert [m["role"] for m in span.input] == [m["role"] for m in data["input"]]
            assert [m["content"] for m in span.input] == [m.get("content") for m in data["input"]]
            if "output" not in data:
                assert span.output is None and span.status is Status.ERROR
                continue
            out = data["output"][0]
            if "choices" in out:
                out = out["choices"][0]["message"]
            if out.get("object") == "response":
                out = {"content": out["output"][0]["content"][0]["text"]}
            assert span.output[0]["role"] == "assistant"
            assert span.output[0]["content"] == out["content"]
            calls = [c["function"]["name"] for c in out.get("tool_calls") or ()]
            assert [c["name"] for c in span.output[0]["tool_calls"]] == calls
        elif data["type"] == "response":
            assert span.input is None and span.output is None  # the export holds only the response id
        elif data["type"] == "function":
            assert span.input == json.loads(data["input"])
            try:
                result = json.loads(data["output"])
            except json.JSONDecodeError:
                result = data["output"]  # a tool's text result (a Python repr, a sentence)
            assert span.output == result


def test_handoffs_and_guardrails_say_what_happened(fixtures_dir, name):
    """A handoff's input and output are the agents it goes from and to; a guardrail's output whether
    it tripped, the same through the store as the detail panel reads it."""
    raw = Raw(fixtures_dir / name)
    spans, _ = read(fixtures_dir / name)
    handoffs = [s for s in raw.spans if s["span_data"]["type"] == "handoff"]
    guardrails = [s for s in raw.spans if s["span_data"]["type"] == "guardrail"]
    assert handoffs and guardrails
    for item in handoffs:
        data = item["span_data"]
        assert (spans[item["id"]].input, spans[item["id"]].output) == (data["from_agent"], data["to_agent"])
    for item in guardrails:
        assert spans[item["id"]].output == {"triggered": item["span_data"]["triggered"]}


def test_a_handoff_read_back_from_the_store(fixtures_dir, tmp_path):
    raw = Raw(fixtures_dir / PYTHON)
    (handoff,) = [s for s in raw.spans if s["span_data"]["type"] == "handoff"]
    import_file(tmp_path / "store.db", fixtures_dir / PYTHON)
    db = connect(tmp_path / "store.db", readonly=True)
    data = handoff["span_data"]
    assert span_io(db, handoff["trace_id"], handoff["id"]) == (data["from_agent"], data["to_agent"])


def test_a_response_object_and_input_items_when_the_sdk_exports_them(tmp_path):
    response = {
        "object": "response",
        "model": "gpt-4o-2024-08-06",
        "output": [
            {"type": "reasoning", "summary": []},
            {
                "type": "function_call",
                "call_id": "c1",
                "name": "get_weather",
                "arguments": '{"city": "Paris"}',
            },
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Sunny."}]},
        ],
        "usage": {"input_tokens": 12, "output_tokens": 7, "output_tokens_details": {"reasoning_tokens": 3}},
    }
    items = [
        "hi",
        [
            {"role": "user", "content": [{"type": "input_text", "text": "Weather?"}]},
            {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
        ],
    ]
    spans = []
    for number, given_input in enumerate(items):
        data = {"type": "response", "response_id": "r", "_input": given_input, "_response": response}
        spans.append(span_item(f"span_{number}", None, data))
    spans, problems = read(body(tmp_path, [trace_item(), *spans]))
    assert problems == []
    first, second = spans["span_0"], spans["span_1"]
    assert first.input == [{"role": "user", "content": "hi", "tool_calls": [], "tool_call_id": None}]
    assert [m["role"] for m in second.input] == ["user", "tool"] and second.input[1]["tool_call_id"] == "c1"
    assert (first.model, first.name, first.input_tokens, first.output_tokens, first.reasoning_tokens) == (
        "gpt-4o-2024-08-06",
        "gpt-4o-2024-08-06",
        12,
        7,
        3,
    )
    assert first.output[0]["tool_calls"] == [
        {"id": "c1", "name": "get_weather", "arguments": {"city": "Paris"}}
    ]
    assert first.output[1]["content"] == "Sunny."


# --- the store and the CLI ------------------------------------------------------------------------


def test_imported_traces_roll_up_the_model_calls(fixtures_dir, name, tmp_path):
    raw = Raw(fixtures_dir / name)
    store = tmp_path / "store.db"
    result = import_file(store, fixtures_dir / name)
    assert result.outcome is Outcome.IMPORTED and result.format == "openai-agents"
    db = connect(store)
    rows = {t.trace_id: t for t in list_traces(db)}
    assert set(rows) == set(raw.traces)
    for trace_id, trace in raw.traces.items():
        row, own = rows[trace_id], [s for s in raw.spans if s["trace_id"] == trace_id]
        calls = [c for c in raw.calls() if c["trace_id"] == trace_id]
        known = [u for u in map(raw.usage, calls) if u]
        assert (row.root_name, row.session_id, row.span_count) == (
            trace["workflow_name"],
            trace["group_id"],
            len(own) + 1,
        )
        assert row.error_count == sum(1 for s in own if s["error"])
        assert (row.input_tokens, row.output_tokens) == (
            (sum(u[0] for u in known), sum(u[1] for u in known)) if known else (None, None)
        )
        models = {c["span_data"]["model"] for c in calls if c["span_data"].get("model")}
        assert set(row.models) == models
        priced = any(raw.usage(c) and c["span_data"].get("model") for c in calls)
        assert (row.cost_usd is not None) is priced
        assert resolve_trace_id(db, trace_id[:12]) == trace_id
    call = next(c for c in raw.calls() if c["span_data"]["type"] == "generation" or raw.usage(c))
    assert resolve_span(db, call["id"][:14]) == (call["trace_id"], call["id"])
    inputs, _ = span_io(db, call["trace_id"], call["id"])
    assert (inputs is not None) is (call["span_data"]["type"] == "generation")
    for tool in (s for s in raw.spans if s["span_data"]["type"] == "function"):
        inputs, outputs = span_io(db, tool["trace_id"], tool["id"])
        assert inputs == json.loads(tool["span_data"]["input"]) and outputs is not None


def test_cli_tree_shows_the_trace_as_the_sdk_does(fixtures_dir, tmp_path, capsys):
    path = fixtures_dir / PYTHON
    raw = Raw(path)
    trace_id, trace = next(iter(raw.traces.items()))
    own = [s for s in raw.spans if s["trace_id"] == trace_id]
    store = str(tmp_path / "store.db")
    assert main(["import", str(path), "--db", store]) == 0
    capsys.readouterr()
    assert main(["tree", "--db", store, trace_id[:10]]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"trace {trace_id}: {len(own) + 1} spans"
    assert lines[1].startswith(trace["workflow_name"]) and lines[1].endswith(f"#{trace_id}")
    parents = {s["id"]: s["parent_id"] or trace_id for s in own}
    depth = {trace_id: 0}
    while len(depth) < len(own) + 1:
        depth |= {span: depth[parent] + 1 for span, parent in parents.items() if parent in depth}
    for line in lines[2:]:
        span_id = line.rsplit("#", 1)[1]
        assert line.startswith("  " * depth[span_id]) and not line.startswith("  " * depth[span_id] + " ")
    handoff = next(s["span_data"] for s in own if s["span_data"]["type"] == "handoff")
    assert any(f"Handoff: {handoff['from_agent']} → {handoff['to_agent']}" in line for line in lines)


# --- layouts and bad records ----------------------------------------------------------------------


def trace_item(trace_id: str = "trace_" + "a" * 32, **fields: Any) -> dict[str, Any]:
    return {
        "object": "trace",
        "id": trace_id,
        "workflow_name": "wf",
        "group_id": "g1",
        "metadata": None,
        **fields,
    }


def span_item(span_id: str, parent: str | None, data: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "object": "trace.span",
        "id": span_id,
        "trace_id": "trace_" + "a" * 32,
        "parent_id": parent,
        "started_at": "2026-01-01T00:00:00.000Z",
        "ended_at": "2026-01-01T00:00:01.000Z",
        "span_data": data,
        "error": None,
        **fields,
    }


def body(tmp_path: Path, items: list[Any]) -> Path:
    path = tmp_path / "body.json"
    path.write_text(json.dumps({"data": items}))
    return path


def test_several_bodies_concatenated_or_one_item_per_line_read_the_same(fixtures_dir, tmp_path):
    items = json.loads((fixtures_dir / PYTHON).read_text())["data"]
    whole, _ = read(fixtures_dir / PYTHON)
    half = len(items) // 2
    bodies = tmp_path / "bodies.jsonl"
    bodies.write_text(json.dumps({"data": items[:half]}) + "\n" + json.dumps({"data": items[half:]}) + "\n")
    lines = tmp_path / "items.jsonl"
    lines.write_text("".join(json.dumps(i) + "\n" for i in items))
    pretty = tmp_path / "pretty.json"
    pretty.write_text(
        json.dumps({"data": items[:half]}, indent=2) + json.dumps({"data": items[half:]}, indent=2)
    )
    for path in (bodies, lines, pretty):
        spans, problems = read(path)
        assert problems == [] and spans == whole, path


def test_a_turns_usage_goes_to_its_only_call_never_to_two(tmp_path):
    usage = {"input_tokens": 10, "output_tokens": 5}
    turn = {"type": "custom", "name": "turn", "data": {"sdk_span_type": "turn", "usage": usage}}
    items = [
        trace_item(),
        span_item("span_one", "span_turn1", {"type": "response", "response_id": "r1"}),
        span_item("span_turn1", None, turn),
        span_item("span_two", "span_turn2", {"type": "response", "response_id": "r2"}),
        span_item("span_three", "span_turn2", {"type": "response", "response_id": "r3"}),
        span_item("span_turn2", None, turn),
    ]
    spans, problems = read(body(tmp_path, items))
    assert problems == []
    assert (spans["span_one"].input_tokens, spans["span_one"].output_tokens) == (10, 5)
    assert spans["span_two"].input_tokens is None and spans["span_three"].input_tokens is None
    assert spans["span_turn1"].input_tokens is None


def test_bad_records_are_reported_and_the_rest_read(tmp_path):
    items = [
        trace_item(),
        trace_item("trace_" + "b" * 32),
        span_item("span_ok", None, {"type": "agent", "name": "a"}),
        span_item("span_time", None, {"type": "agent", "name": "a"}, started_at="yesterday"),
        span_item("span_usage", None, {"type": "response", "usage": {"input_tokens": "many"}}),
        span_item("span_data", None, ["not", "an", "object"]),
        {"object": "something else"},
        "text",
    ]
    spans, problems = read(body(tmp_path, items))
    assert set(spans) == {"span_ok", "trace_" + "a" * 32}
    assert len(problems) == 6
    assert any("span_time" in p and "started_at" in p for p in problems)
    assert any("span_usage" in p and "input_tokens" in p for p in problems)
    assert any("trace_" + "b" * 32 in p and "no spans" in p for p in problems)


def test_a_file_without_any_span_is_a_format_error(tmp_path):
    path = body(tmp_path, [{"object": "trace.span", "id": "s", "trace_id": "t"}])
    with pytest.raises(FormatError, match=r"no span could be read .*span 's': started_at missing"):
        list(openai_agents.read(Source(path), lambda n: None))


# --- mutated real files: read or reported, never a traceback or a lost file -----------------------

#: Keys of the nested objects the SDK writes (usage, messages, errors), so replaced values look real.
NESTED_KEYS = (
    "input_tokens",
    "output_tokens",
    "prompt_tokens",
    "role",
    "content",
    "choices",
    "message",
    "error",
)
VALUES = st.one_of(
    st.sampled_from([None, "", 0, -1, "x", [], {}, "2026-13-40T00:00:00Z"]),
    st.text(max_size=8),
    st.integers(),
    st.lists(st.text(max_size=3) | st.integers(), max_size=2),
    st.dictionaries(
        st.sampled_from(NESTED_KEYS), st.integers() | st.text(max_size=3) | st.none(), max_size=3
    ),
)
ITEM_KEYS = (
    "id",
    "trace_id",
    "parent_id",
    "started_at",
    "ended_at",
    "span_data",
    "error",
    "object",
    "group_id",
)
DATA_KEYS = (
    "type",
    "name",
    "input",
    "output",
    "usage",
    "model",
    "data",
    "from_agent",
    "triggered",
    "response",
)


@st.composite
def mutations(draw: st.DrawFn) -> list[tuple[int, str, str, Any]]:
    count = draw(st.integers(1, 3))
    return [
        (
            draw(st.integers(0, 10_000)),
            draw(st.sampled_from(("item", "span_data", "usage"))),
            draw(st.sampled_from(ITEM_KEYS + DATA_KEYS)),
            draw(VALUES),
        )
        for _ in range(count)
    ]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(file=st.sampled_from(FILES), changes=mutations())
def test_mutated_fixtures_are_read_or_reported(fixtures_dir, tmp_path_factory, file, changes):
    items = json.loads((fixtures_dir / file).read_text())["data"]
    touched = set()
    for index, where, key, value in changes:
        item = items[index % len(items)]
        touched.add(index % len(items))
        target = item
        if where != "item" and isinstance(item.get("span_data"), dict):
            target = item["span_data"]
            if where == "usage" and isinstance(target.get("usage"), dict):
                target = target["usage"]
        target[key] = value
    path = tmp_path_factory.mktemp("fuzz") / "body.json"
    path.write_text(json.dumps({"data": items}))
    spans = {s.span_id for s in openai_agents.read(Source(path), lambda n: None)}
    intact = {i["id"] for n, i in enumerate(items) if n not in touched and i["object"] == "trace.span"}
    assert intact <= spans
