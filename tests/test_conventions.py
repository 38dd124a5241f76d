"""The attribute conventions on real spans written by the instrumentation libraries, and on hand-written
attributes.

Expected values are read straight from the raw OTLP JSON with the standard library, so the tests do not
share code with the mapping they check. The fixture spans are built here with a tiny flattener, without
the OTLP reader.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from raw_models import raw_model
from spanscope.core import conventions
from spanscope.core.conventions.messages import openai_chat
from spanscope.core.conventions.precedence import CONVENTIONS
from spanscope.core.model import Event, Kind, Span, Status, is_messages, message

OTLP_STATUS = {0: Status.UNSET, 1: Status.OK, 2: Status.ERROR}
PARIS = {"city": "Paris", "unit": "celsius", "step": 1}
Loaded = list[tuple[dict[str, Any], Span]]


def apply(span: Span) -> None:
    """A span as the store shows it: fields set at import, input and output derived on reading where
    the span has none of its own."""
    conventions.apply_fields(span)
    inputs, outputs = conventions.derived_io(span.attributes, span.events)
    span.input = inputs if span.input is None else span.input
    span.output = outputs if span.output is None else span.output


# --- loading real spans ------------------------------------------------------------------------


def _value(any_value: dict[str, Any]) -> Any:
    if "stringValue" in any_value:
        return any_value["stringValue"]
    if "intValue" in any_value:
        return int(any_value["intValue"])
    if "doubleValue" in any_value:
        return float(any_value["doubleValue"])
    if "boolValue" in any_value:
        return any_value["boolValue"]
    if "arrayValue" in any_value:
        return [_value(v) for v in any_value["arrayValue"].get("values", [])]
    return None


def _flat(key_values: list[dict[str, Any]] | None) -> dict[str, Any]:
    return {kv["key"]: _value(kv.get("value", {})) for kv in key_values or []}


def _span(raw: dict[str, Any], resource: dict[str, Any], scope: dict[str, Any]) -> Span:
    status = raw.get("status", {})
    return Span(
        trace_id=raw["traceId"],
        span_id=raw["spanId"],
        parent_id=raw.get("parentSpanId") or None,
        name=raw["name"],
        start_ns=int(raw["startTimeUnixNano"]),
        end_ns=int(raw["endTimeUnixNano"]),
        status=OTLP_STATUS[status.get("code", 0)],
        status_message=status.get("message"),
        attributes=_flat(raw.get("attributes")),
        events=[
            Event(e["name"], int(e["timeUnixNano"]), _flat(e.get("attributes")))
            for e in raw.get("events", [])
        ],
        resource=resource,
        scope=scope,
    )


def _load(path: Path) -> Loaded:
    """(raw attributes, span after apply) for every span of an OTLP JSON-lines file."""
    loaded = []
    for line in path.read_bytes().splitlines():
        for resource_spans in orjson.loads(line)["resourceSpans"]:
            resource = _flat(resource_spans.get("resource", {}).get("attributes"))
            for scope_spans in resource_spans["scopeSpans"]:
                for raw in scope_spans["spans"]:
                    span = _span(raw, resource, scope_spans.get("scope", {}))
                    apply(span)
                    loaded.append((_flat(raw.get("attributes")), span))
    return loaded


def _named(loaded: Loaded, name: str) -> list[tuple[dict[str, Any], Span]]:
    return [(attrs, span) for attrs, span in loaded if span.name == name]


@pytest.fixture(scope="module")
def oi_openai(fixtures_dir: Path) -> Loaded:
    return _load(fixtures_dir / "openinference-openai" / "chain-and-session.otlp.jsonl")


@pytest.fixture(scope="module")
def oi_langchain(fixtures_dir: Path) -> Loaded:
    return _load(fixtures_dir / "openinference-langchain" / "rag-tools-session.otlp.jsonl")


@pytest.fixture(scope="module")
def genai(fixtures_dir: Path) -> Loaded:
    return _load(fixtures_dir / "otel-genai" / "latest-experimental-span-content.otlp.jsonl")


@pytest.fixture(scope="module")
def openllmetry(fixtures_dir: Path) -> Loaded:
    return _load(fixtures_dir / "openllmetry" / "chain-and-session.otlp.jsonl")


@pytest.fixture(scope="module")
def langfuse(fixtures_dir: Path) -> Loaded:
    return _load(fixtures_dir / "langfuse-sdk" / "chain-and-session.otlp.jsonl")


# --- independent readings of the raw conventions -------------------------------------------------


def _oi_raw_messages(attrs: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    """llm.input_messages.N.<rest> grouped by N, in index order."""
    grouped: dict[int, dict[str, Any]] = {}
    for key, value in attrs.items():
        if key.startswith(prefix + "."):
            index, _, rest = key[len(prefix) + 1 :].partition(".")
            grouped.setdefault(int(index), {})[rest] = value
    return [grouped[i] for i in sorted(grouped)]


def _oi_expected(raw: dict[str, Any]) -> dict[str, Any]:
    calls = []
    for k in range(10):
        call = f"message.tool_calls.{k}.tool_call."
        if call + "id" in raw:
            arguments = json.loads(raw[call + "function.arguments"])
            calls.append(
                {"id": raw[call + "id"], "name": raw[call + "function.name"], "arguments": arguments}
            )
    content = raw.get("message.content")
    if content is None and "message.contents.0.message_content.text" in raw:
        content = raw["message.contents.0.message_content.text"]
    expected = message(raw["message.role"], content, calls, raw.get("message.tool_call_id"))
    if "message.name" in raw:
        expected["name"] = raw["message.name"]
    return expected


def _genai_expected(raw_json: str) -> list[dict[str, Any]]:
    """GenAI {role, parts} messages as normalized messages; tool responses become tool messages."""
    expected = []
    for item in json.loads(raw_json):
        parts = item["parts"]
        texts = [p["content"] for p in parts if p["type"] == "text"]
        calls = [
            {"id": p["id"], "name": p["name"], "arguments": p["arguments"]}
            for p in parts
            if p["type"] == "tool_call"
        ]
        if texts or calls:
            expected.append(message(item["role"], "\n".join(texts) or None, calls))
        for part in parts:
            if part["type"] == "tool_call_response":
                expected.append(message("tool", part["response"], tool_call_id=part["id"]))
    return expected


def _openai_expected(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        message(
            m["role"],
            m.get("content"),
            [
                {
                    "id": c["id"],
                    "name": c["function"]["name"],
                    "arguments": json.loads(c["function"]["arguments"]),
                }
                for c in m.get("tool_calls") or []
            ],
            m.get("tool_call_id"),
        )
        for m in messages
    ]


def _mime_value(attrs: dict[str, Any], key: str) -> Any:
    value = attrs.get(f"{key}.value")
    return json.loads(value) if attrs.get(f"{key}.mime_type") == "application/json" else value


# --- OpenInference (OpenAI SDK) ------------------------------------------------------------------


def test_openinference_openai_kind_model_usage(oi_openai: Loaded) -> None:
    assert len(oi_openai) == 25
    for attrs, span in oi_openai:
        assert span.kind == Kind(attrs["openinference.span.kind"])
        assert span.model == raw_model(attrs)
        assert span.provider == attrs.get("llm.system")
        assert span.input_tokens == attrs.get("llm.token_count.prompt")
        assert span.output_tokens == attrs.get("llm.token_count.completion")
        assert span.total_tokens == attrs.get("llm.token_count.total")
        assert span.cache_read_tokens == attrs.get("llm.token_count.prompt_details.cache_read")
        assert span.reasoning_tokens == attrs.get("llm.token_count.completion_details.reasoning")
        assert span.cache_write_tokens is None
        assert span.cost_usd is None
        assert span.service == "travel-assistant"
    assert sum(span.cache_read_tokens or 0 for _, span in oi_openai) == 176


def test_openinference_openai_messages(oi_openai: Loaded) -> None:
    llm_spans = [(attrs, span) for attrs, span in oi_openai if span.kind == Kind.LLM]
    assert len(llm_spans) == 9
    for attrs, span in llm_spans:
        assert is_messages(span.input)
        assert span.input == [_oi_expected(raw) for raw in _oi_raw_messages(attrs, "llm.input_messages")]
        raw_output = _oi_raw_messages(attrs, "llm.output_messages")
        assert span.output == ([_oi_expected(raw) for raw in raw_output] if raw_output else None)
    tool_round = next(span for attrs, span in llm_spans if "llm.input_messages.3.message.role" in attrs)
    assert tool_round.input[2]["tool_calls"][0]["arguments"] == PARIS
    assert tool_round.input[3]["role"] == "tool"
    assert tool_round.input[3]["tool_call_id"] == tool_round.input[2]["tool_calls"][0]["id"]
    assert json.loads(tool_round.input[3]["content"])["conditions"] == "light rain"


def test_openinference_openai_values_documents_session_errors(oi_openai: Loaded) -> None:
    for attrs, span in oi_openai:
        if span.kind not in (Kind.LLM, Kind.RETRIEVER):
            assert span.input == _mime_value(attrs, "input")
            assert span.output == _mime_value(attrs, "output")
        assert span.session_id == attrs.get("session.id")
        assert span.user_id == attrs.get("user.id")
    (attrs, retriever), *_ = _named(oi_openai, "retrieve_documents")
    assert retriever.output == [
        {
            "id": attrs[f"retrieval.documents.{i}.document.id"],
            "content": attrs[f"retrieval.documents.{i}.document.content"],
            "score": attrs[f"retrieval.documents.{i}.document.score"],
            "metadata": json.loads(attrs[f"retrieval.documents.{i}.document.metadata"]),
        }
        for i in range(2)
    ]
    assert sum(span.session_id == "sess-7f3a9c2e" for _, span in oi_openai) == 7
    errors = [span for _, span in oi_openai if span.status == Status.ERROR]
    assert {span.name for span in errors} == {"ChatCompletion", "call_backup_model"}
    assert all("500" in (span.status_message or "") for span in errors)


# --- OpenInference (LangChain) -------------------------------------------------------------------


def test_openinference_langchain(oi_langchain: Loaded) -> None:
    assert len(oi_langchain) == 18
    for attrs, span in oi_langchain:
        assert span.kind == Kind(attrs["openinference.span.kind"])
        assert span.provider == attrs.get("llm.provider")
        assert span.model == attrs.get("llm.model_name")
        assert span.input_tokens == attrs.get("llm.token_count.prompt")
        assert span.output_tokens == attrs.get("llm.token_count.completion")
        assert span.cache_read_tokens == attrs.get("llm.token_count.prompt_details.cache_read")
        assert span.session_id == attrs.get("session.id")
        if "llm.input_messages.0.message.role" in attrs:
            assert span.input == [_oi_expected(raw) for raw in _oi_raw_messages(attrs, "llm.input_messages")]
    assert {span.kind for _, span in oi_langchain} >= {Kind.PROMPT, Kind.RETRIEVER, Kind.TOOL, Kind.AGENT}
    (_, retriever), *_ = _named(oi_langchain, "VectorStoreRetriever")
    assert [doc["id"] for doc in retriever.output] == [None, None]
    assert retriever.output[0]["metadata"] == {"source": "kb/travel/museums.md"}
    tool_message = next(
        m for _, s in oi_langchain if s.kind == Kind.LLM for m in s.input if m["role"] == "tool"
    )
    assert tool_message["name"] == "get_weather"
    assert tool_message["tool_call_id"] == "call_6344fc3e6ec5916d38ca3447"
    (_, tool), *_ = _named(oi_langchain, "get_weather")
    assert tool.input == PARIS
    assert [span.status for _, span in oi_langchain].count(Status.ERROR) == 1


# --- OpenTelemetry GenAI -----------------------------------------------------------------------

GENAI_KINDS = {
    "chat": Kind.LLM,
    "embeddings": Kind.EMBEDDING,
    "retrieval": Kind.RETRIEVER,
    "execute_tool": Kind.TOOL,
    "invoke_agent": Kind.AGENT,
    "invoke_workflow": Kind.CHAIN,
}


def test_genai_kind_model_usage(genai: Loaded) -> None:
    assert len(genai) == 24
    for attrs, span in genai:
        operation = attrs.get("gen_ai.operation.name")
        assert span.kind == (GENAI_KINDS[operation] if operation else Kind.SPAN)
        assert span.model == attrs.get("gen_ai.response.model", attrs.get("gen_ai.request.model"))
        assert span.provider == attrs.get("gen_ai.provider.name")
        assert span.input_tokens == attrs.get("gen_ai.usage.input_tokens")
        assert span.output_tokens == attrs.get("gen_ai.usage.output_tokens")
        both = span.input_tokens is not None and span.output_tokens is not None
        assert span.total_tokens == (span.input_tokens + span.output_tokens if both else None)
        assert span.session_id == attrs.get("session.id")
    (_, agent), *_ = _named(genai, "invoke_agent weather_agent")
    assert (agent.kind, agent.model) == (Kind.AGENT, "gpt-4o")


def test_genai_messages_and_tools(genai: Loaded) -> None:
    with_messages = [(attrs, span) for attrs, span in genai if "gen_ai.input.messages" in attrs]
    assert len(with_messages) == 10
    for attrs, span in with_messages:
        assert span.input == _genai_expected(attrs["gen_ai.input.messages"])
        raw_output = attrs.get("gen_ai.output.messages")
        assert span.output == (_genai_expected(raw_output) if raw_output else None)
    tool_round = next(span for _, span in with_messages if span.input[-1]["role"] == "tool")
    call = tool_round.input[-2]["tool_calls"][0]
    assert call == {"id": "call_418a3559d387b349e7296e32", "name": "get_weather", "arguments": PARIS}
    assert tool_round.input[-1]["tool_call_id"] == call["id"]
    assert json.loads(tool_round.input[-1]["content"])["temperature"] == 17
    (attrs, tool), *_ = _named(genai, "execute_tool get_weather")
    assert tool.input == json.loads(attrs["gen_ai.tool.call.arguments"])
    assert tool.output == json.loads(attrs["gen_ai.tool.call.result"])
    (_, workflow), *_ = _named(genai, "invoke_workflow support_conversation")
    assert (workflow.session_id, workflow.user_id) == ("sess-7f3a9c2e", "user-1042")
    failed = [span for _, span in genai if span.kind == Kind.LLM and span.status == Status.ERROR]
    assert len(failed) == 1
    assert failed[0].output is None


# --- OpenLLMetry / Traceloop -------------------------------------------------------------------

TRACELOOP_KINDS = {"workflow": Kind.CHAIN, "task": Kind.CHAIN, "agent": Kind.AGENT, "tool": Kind.TOOL}


def test_openllmetry_kind_usage_session(openllmetry: Loaded) -> None:
    assert len(openllmetry) == 25
    for attrs, span in openllmetry:
        if "traceloop.span.kind" in attrs:
            assert span.kind == TRACELOOP_KINDS[attrs["traceloop.span.kind"]]
        else:
            assert span.kind == GENAI_KINDS[attrs["gen_ai.operation.name"]]
        assert span.model == attrs.get("gen_ai.response.model", attrs.get("gen_ai.request.model"))
        assert span.input_tokens == attrs.get("gen_ai.usage.input_tokens")
        assert span.output_tokens == attrs.get("gen_ai.usage.output_tokens")
        assert span.total_tokens == attrs.get("gen_ai.usage.total_tokens")
        assert span.cache_read_tokens == attrs.get("gen_ai.usage.cache_read.input_tokens")
        assert span.reasoning_tokens == attrs.get("gen_ai.usage.reasoning_tokens")
        assert span.session_id == attrs.get("traceloop.association.properties.session_id")
        assert span.user_id == attrs.get("traceloop.association.properties.user_id")
        if "gen_ai.input.messages" in attrs:
            assert span.input == _genai_expected(attrs["gen_ai.input.messages"])
    assert sum(span.cache_read_tokens or 0 for _, span in openllmetry) == 176
    assert sum(span.session_id == "sess-7f3a9c2e" for _, span in openllmetry) == 7


def test_openllmetry_entity_values(openllmetry: Loaded) -> None:
    for attrs, span in openllmetry:
        if "traceloop.entity.input" in attrs:
            assert span.input == json.loads(attrs["traceloop.entity.input"])
    (_, tool), *_ = _named(openllmetry, "get_weather.tool")
    assert tool.output == {"city": "Paris", "temperature": 17, "unit": "celsius", "conditions": "light rain"}
    (attrs, task), *_ = _named(openllmetry, "plan_answer.task")
    assert task.output == json.loads(attrs["traceloop.entity.output"])
    assert task.output.startswith("1. Retrieve")
    (_, empty), *_ = _named(openllmetry, "cache_read.task")
    assert empty.output is None
    calls = [
        m["tool_calls"] for _, s in openllmetry if is_messages(s.output) for m in s.output if m["tool_calls"]
    ]
    assert [c[0]["arguments"] for c in calls] == [{"city": "Paris", "unit": "celsius", "step": 1}]


# --- Langfuse OTel SDK -------------------------------------------------------------------------

LANGFUSE_KINDS = {
    "generation": Kind.LLM,
    "embedding": Kind.EMBEDDING,
    "span": Kind.SPAN,
    "chain": Kind.CHAIN,
    "agent": Kind.AGENT,
    "tool": Kind.TOOL,
    "retriever": Kind.RETRIEVER,
}


def _langfuse_usage(raw: str | None) -> tuple[Any, ...]:
    """(input, output, total, cache read, reasoning) from the raw OpenAI usage object Langfuse stored."""
    if raw is None:
        return (None,) * 5
    usage = json.loads(raw)
    if "prompt_tokens" in usage:
        cached = usage["prompt_tokens_details"]["cached_tokens"]
        reasoning = usage["completion_tokens_details"]["reasoning_tokens"]
        return usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"], cached, reasoning
    if "input_tokens" in usage:
        cached = usage["input_tokens_details"]["cached_tokens"]
        reasoning = usage["output_tokens_details"]["reasoning_tokens"]
        return usage["input_tokens"], usage["output_tokens"], usage["total_tokens"], cached, reasoning
    return usage["input"], None, None, None, None


def test_langfuse_kind_model_usage_cost(langfuse: Loaded) -> None:
    assert len(langfuse) == 25
    for attrs, span in langfuse:
        assert span.kind == LANGFUSE_KINDS[attrs["langfuse.observation.type"]]
        assert span.model == attrs.get("langfuse.observation.model.name")
        usage = _langfuse_usage(attrs.get("langfuse.observation.usage_details"))
        assert (
            span.input_tokens,
            span.output_tokens,
            span.total_tokens,
            span.cache_read_tokens,
            span.reasoning_tokens,
        ) == usage
        raw_cost = attrs.get("langfuse.observation.cost_details")
        assert span.cost_usd == (json.loads(raw_cost)["total"] if raw_cost else None)
        assert span.session_id == attrs.get("session.id")
        assert span.user_id == attrs.get("user.id")
    assert [span.cost_usd for _, span in langfuse if span.cost_usd is not None] == [0.0]
    assert sum(span.cache_read_tokens or 0 for _, span in langfuse) == 176


def test_langfuse_messages_and_values(langfuse: Loaded) -> None:
    for attrs, span in langfuse:
        raw_input = json.loads(attrs["langfuse.observation.input"])
        if span.kind == Kind.LLM:
            chat = raw_input["messages"] if isinstance(raw_input, dict) else raw_input
            assert span.input == _openai_expected(chat)
        else:
            assert span.input == raw_input
    (_, call), *_ = [(a, s) for a, s in langfuse if is_messages(s.output) and s.output[0]["tool_calls"]]
    assert call.output[0]["tool_calls"][0]["arguments"] == PARIS
    assert call.input[0]["role"] == "system"
    (_, tool), *_ = _named(langfuse, "get_weather")
    assert tool.output == {"city": "Paris", "temperature": 17, "unit": "celsius", "conditions": "light rain"}
    (_, warned), *_ = _named(langfuse, "verify_with_backup")
    assert (warned.status, warned.output) == (Status.UNSET, "unverified")


def test_langfuse_error_level_sets_status(langfuse: Loaded) -> None:
    errors = [(attrs, span) for attrs, span in langfuse if attrs.get("langfuse.observation.level") == "ERROR"]
    assert len(errors) == 2
    for attrs, span in errors:
        assert span.status == Status.ERROR
        unset = Span("t", "s", None, span.name, 0, attributes=dict(attrs))
        apply(unset)
        assert (unset.status, unset.status_message) == (
            Status.ERROR,
            attrs["langfuse.observation.status_message"],
        )


def test_attributes_are_never_modified(fixtures_dir: Path) -> None:
    path = fixtures_dir / "openinference-openai" / "chain-and-session.otlp.jsonl"
    for resource_spans in orjson.loads(path.read_bytes().splitlines()[0])["resourceSpans"]:
        for scope_spans in resource_spans["scopeSpans"]:
            for raw in scope_spans["spans"]:
                span = _span(raw, {}, {})
                apply(span)
                assert span.attributes == _flat(raw.get("attributes"))


# --- hand-written attribute sets ---------------------------------------------------------------


def _applied(attrs: dict[str, Any], events: list[Event] | None = None, **fields: Any) -> Span:
    span = Span("t", "s", None, "span", 0, attributes=attrs, events=events or [], **fields)
    apply(span)
    return span


def test_duplicate_conventions_are_not_added() -> None:
    span = _applied(
        {
            "openinference.span.kind": "LLM",
            "llm.token_count.prompt": 100,
            "gen_ai.usage.input_tokens": 100,
            "llm.token_count.completion": 20,
            "gen_ai.usage.output_tokens": 25,
            "gen_ai.usage.cache_read.input_tokens": 40,
            "langfuse.observation.usage_details": '{"input": 999, "output": 999}',
        }
    )
    assert (span.input_tokens, span.output_tokens, span.total_tokens) == (100, 20, 120)
    assert span.cache_read_tokens == 40


def test_old_genai_token_names_and_request_type() -> None:
    span = _applied(
        {
            "gen_ai.system": "openai",
            "gen_ai.request.model": "gpt-3.5-turbo",
            "gen_ai.usage.prompt_tokens": 12,
            "gen_ai.usage.completion_tokens": 5,
            "llm.usage.total_tokens": 17,
            "llm.request.type": "embedding",
        }
    )
    assert (span.kind, span.provider, span.model) == (Kind.EMBEDDING, "openai", "gpt-3.5-turbo")
    assert (span.input_tokens, span.output_tokens, span.total_tokens) == (12, 5, 17)


def test_model_with_usage_and_no_kind_is_an_llm_call() -> None:
    assert _applied({"gen_ai.request.model": "m", "gen_ai.usage.input_tokens": 3}).kind == Kind.LLM
    assert _applied({"gen_ai.request.model": "m"}).kind == Kind.SPAN
    chain = {"openinference.span.kind": "chain", "llm.model_name": "m", "llm.token_count.prompt": 1}
    assert _applied(chain).kind == Kind.CHAIN


def test_old_genai_content_events() -> None:
    prompt = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    completion = [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}
            ],
        }
    ]
    span = _applied(
        {"gen_ai.operation.name": "chat"},
        [
            Event("gen_ai.content.prompt", 1, {"gen_ai.prompt": json.dumps(prompt)}),
            Event("gen_ai.content.completion", 2, {"gen_ai.completion": json.dumps(completion)}),
        ],
    )
    assert span.input == [message("system", "Be brief."), message("user", "Hi")]
    assert span.output == [message("assistant", None, [{"id": "c1", "name": "f", "arguments": {"a": 1}}])]


def test_genai_message_events() -> None:
    events = [
        Event("gen_ai.system.message", 1, {"content": "Be brief."}),
        Event("gen_ai.user.message", 2, {"gen_ai.event.content": '{"content": "Weather?"}'}),
        Event("gen_ai.tool.message", 3, {"content": "17C", "id": "c1"}),
        Event("gen_ai.choice", 4, {"gen_ai.event.content": '{"message": {"content": "Mild."}, "index": 0}'}),
        Event("exception", 5, {"exception.type": "ValueError"}),
    ]
    span = _applied({"gen_ai.operation.name": "chat"}, events)
    assert span.input == [
        message("system", "Be brief."),
        message("user", "Weather?"),
        message("tool", "17C", tool_call_id="c1"),
    ]
    assert span.output == [message("assistant", "Mild.")]


def test_genai_system_instructions_and_multimodal_parts() -> None:
    span = _applied(
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.system_instructions": '[{"type": "text", "content": "Be brief."}]',
            "gen_ai.input.messages": json.dumps(
                [
                    {
                        "role": "user",
                        "parts": [
                            {"type": "text", "content": "What is this?"},
                            {"type": "uri", "modality": "image", "uri": "https://x/cat.png"},
                        ],
                    }
                ]
            ),
        }
    )
    assert span.input == [
        message("system", "Be brief."),
        message(
            "user", [{"type": "text", "text": "What is this?"}, {"type": "image", "url": "https://x/cat.png"}]
        ),
    ]


def test_openinference_multimodal_contents_and_cost() -> None:
    prefix = "llm.input_messages.0.message.contents"
    span = _applied(
        {
            "openinference.span.kind": "LLM",
            "llm.input_messages.0.message.role": "user",
            f"{prefix}.0.message_content.type": "text",
            f"{prefix}.0.message_content.text": "Describe",
            f"{prefix}.1.message_content.type": "image",
            f"{prefix}.1.message_content.image.image.url": "data:image/png;base64,AAA",
            "llm.cost.total": 0.0021,
        }
    )
    content = [{"type": "text", "text": "Describe"}, {"type": "image", "url": "data:image/png;base64,AAA"}]
    assert span.input == [message("user", content)]
    assert span.cost_usd == pytest.approx(0.0021)


def test_openllmetry_flattened_prompt_and_completion() -> None:
    span = _applied(
        {
            "llm.request.type": "chat",
            "gen_ai.prompt.0.role": "user",
            "gen_ai.prompt.0.content": "Weather in Paris?",
            "gen_ai.completion.0.role": "assistant",
            "gen_ai.completion.0.tool_calls.0.id": "c1",
            "gen_ai.completion.0.tool_calls.0.name": "get_weather",
            "gen_ai.completion.0.tool_calls.0.arguments": '{"city": "Paris"}',
            "traceloop.association.properties.session_id": "s-1",
        }
    )
    assert span.kind == Kind.LLM
    assert span.input == [message("user", "Weather in Paris?")]
    assert span.output == [
        message("assistant", None, [{"id": "c1", "name": "get_weather", "arguments": {"city": "Paris"}}])
    ]
    assert span.session_id == "s-1"


def test_anthropic_cache_on_top_is_folded_into_input() -> None:
    usage = {
        "input_tokens": 10,
        "cache_read_input_tokens": 200,
        "cache_creation_input_tokens": 30,
        "output_tokens": 7,
    }
    span = _applied(
        {"langfuse.observation.type": "generation", "langfuse.observation.usage_details": json.dumps(usage)}
    )
    assert (span.input_tokens, span.output_tokens, span.total_tokens) == (240, 7, 247)
    assert (span.cache_read_tokens, span.cache_write_tokens) == (200, 30)


def test_langfuse_own_usage_keys_and_cost_parts() -> None:
    usage = {"input": 50, "input_cache_read": 30, "output": 10, "output_reasoning": 4, "total": 94}
    span = _applied(
        {
            "langfuse.observation.usage_details": json.dumps(json.dumps(usage)),
            "langfuse.observation.cost_details": '{"input": 0.25, "output": 0.5}',
        }
    )
    assert (span.input_tokens, span.output_tokens, span.total_tokens) == (80, 14, 94)
    assert (span.cache_read_tokens, span.reasoning_tokens) == (30, 4)
    assert span.cost_usd == pytest.approx(0.75)


def test_numbers_as_strings_and_garbage() -> None:
    span = _applied(
        {
            "llm.token_count.prompt": "12",
            "llm.token_count.completion": "3.0",
            "llm.token_count.total": "lots",
            "gen_ai.usage.total_tokens": 15,
            "llm.token_count.prompt_details.cache_read": -4,
            "llm.token_count.completion_details.reasoning": True,
            "llm.cost.total": "NaN",
            "llm.model_name": ["not", "a", "name"],
            "gen_ai.request.model": "fallback-model",
            "session.id": {"nested": 1},
            "user.id": 42,
            "openinference.span.kind": ["LLM"],
            "input.value": '{"broken": ',
            "input.mime_type": "application/json",
        }
    )
    assert (span.input_tokens, span.output_tokens, span.total_tokens) == (12, 3, 15)
    assert (span.cache_read_tokens, span.reasoning_tokens, span.cost_usd) == (None, None, None)
    assert (span.model, span.session_id, span.user_id) == ("fallback-model", None, "42")
    assert span.input == '{"broken": '


def test_genai_error_type_marks_unset_status_and_reader_values_survive() -> None:
    span = _applied(
        {"gen_ai.operation.name": "chat", "error.type": "timeout"}, service="kept", model="kept-model"
    )
    assert (span.status, span.status_message) == (Status.ERROR, "timeout")
    assert (span.service, span.model) == ("kept", "kept-model")
    ok = _applied({"gen_ai.operation.name": "chat", "error.type": "timeout"}, status=Status.OK)
    assert ok.status == Status.OK


def test_every_field_follows_the_fixed_precedence_of_conventions() -> None:
    """OpenInference, then GenAI, then OpenLLMetry, then Langfuse: for values and error status too
    (Mastra, Pydantic AI, the Vercel AI SDK, Google ADK and MCP take their places between them; tested
    in their own files)."""
    names = [
        "OpenInference",
        "Mastra",
        "Pydantic AI",
        "OpenTelemetry GenAI",
        "Vercel AI SDK",
        "Google ADK",
        "MCP",
        "OpenLLMetry",
        "Langfuse",
    ]
    assert [c.name for c in CONVENTIONS] == names
    values = {
        "input.value": "oi",
        "tool_arguments": '"pydantic"',
        "gen_ai.tool.call.arguments": '"genai"',
        "gcp.vertex.agent.tool_call_args": '"adk"',
        "traceloop.entity.input": '"openllmetry"',
        "langfuse.observation.input": '"langfuse"',
    }
    for expected in ("oi", "pydantic", "genai", "adk", "openllmetry", "langfuse"):
        assert _applied(dict(values)).input == expected
        del values[next(iter(values))]
    both = {
        "langfuse.observation.level": "ERROR",
        "langfuse.observation.status_message": "from langfuse",
        "gen_ai.operation.name": "chat",
        "error.type": "from genai",
    }
    assert _applied(both).status_message == "from genai"


# --- fuzzing: apply never raises and never touches the attributes -------------------------------

FUZZ_KEYS = [
    "openinference.span.kind",
    "gen_ai.operation.name",
    "traceloop.span.kind",
    "llm.request.type",
    "langfuse.observation.type",
    "llm.model_name",
    "embedding.model_name",
    "gen_ai.response.model",
    "gen_ai.request.model",
    "langfuse.observation.model.name",
    "llm.provider",
    "llm.system",
    "gen_ai.provider.name",
    "gen_ai.system",
    "llm.token_count.prompt",
    "llm.token_count.completion",
    "llm.token_count.total",
    "llm.token_count.prompt_details.cache_read",
    "llm.token_count.prompt_details.cache_write",
    "llm.token_count.completion_details.reasoning",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.prompt_tokens",
    "gen_ai.usage.completion_tokens",
    "gen_ai.usage.total_tokens",
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.reasoning.output_tokens",
    "gen_ai.usage.cost",
    "llm.usage.total_tokens",
    "llm.cost.total",
    "llm.cost.prompt",
    "langfuse.observation.usage_details",
    "langfuse.observation.cost_details",
    "langfuse.observation.level",
    "langfuse.observation.status_message",
    "langfuse.observation.input",
    "langfuse.observation.output",
    "input.value",
    "input.mime_type",
    "output.value",
    "output.mime_type",
    "traceloop.entity.input",
    "traceloop.entity.output",
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.system_instructions",
    "gen_ai.prompt",
    "gen_ai.completion",
    "gen_ai.prompt.0.role",
    "gen_ai.prompt.0.content",
    "gen_ai.prompt.0.tool_calls.0.name",
    "gen_ai.completion.0.content",
    "llm.input_messages.0.message.role",
    "llm.input_messages.0.message.content",
    "llm.input_messages.0.message.name",
    "llm.input_messages.0.message.tool_call_id",
    "llm.input_messages.0.message.contents.0.message_content.type",
    "llm.input_messages.0.message.contents.0.message_content.text",
    "llm.input_messages.0.message.contents.0.message_content.image.image.url",
    "llm.input_messages.1.message.content",
    "llm.output_messages.0.message.role",
    "llm.output_messages.0.message.tool_calls.0.tool_call.id",
    "llm.output_messages.0.message.tool_calls.0.tool_call.function.name",
    "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments",
    "retrieval.documents.0.document.id",
    "retrieval.documents.0.document.content",
    "retrieval.documents.0.document.score",
    "retrieval.documents.0.document.metadata",
    "session.id",
    "user.id",
    "gen_ai.conversation.id",
    "traceloop.association.properties.session_id",
    "error.type",
    "pydantic_ai.all_messages",
    "all_messages_events",
    "events",
    "final_result",
    "tool_arguments",
    "tool_response",
    "gcp.vertex.agent.llm_request",
    "gcp.vertex.agent.llm_response",
    "gcp.vertex.agent.tool_call_args",
    "gcp.vertex.agent.tool_response",
    "gcp.vertex.agent.session_id",
]
PART_KEYS = [
    "role",
    "content",
    "parts",
    "type",
    "text",
    "id",
    "name",
    "arguments",
    "response",
    "result",
    "tool_calls",
    "function",
    "message",
    "messages",
    "modality",
    "uri",
    "image_url",
    "url",
    "input",
    "output",
    "total",
    "input_tokens",
    "prompt_tokens",
    "prompt_tokens_details",
    "cached_tokens",
    "toolUse",
    "toolResult",
    "function_call",
    "function_response",
    "contents",
    "config",
    "system_instruction",
    "event.name",
]
PART_TYPES = [
    "text",
    "tool_call",
    "tool_call_response",
    "image",
    "image_url",
    "uri",
    "blob",
    "tool_use",
    "tool_result",
    "reasoning",
    "LLM",
    "chat",
    "generation",
    "ERROR",
    "application/json",
]

leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(PART_TYPES)
)
json_values = st.recursive(
    leaves,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(PART_KEYS) | st.text(max_size=6), children, max_size=5)
    ),
    max_leaves=12,
)
#: Shaped like real message and part lists, so the deep paths are reached, with any value inside.
part_fields = (
    "text",
    "content",
    "id",
    "name",
    "arguments",
    "response",
    "modality",
    "uri",
    "image_url",
    "input",
)
parts = st.fixed_dictionaries(
    {"type": st.sampled_from(PART_TYPES)}, optional=dict.fromkeys(part_fields, leaves | json_values)
)
messages = st.fixed_dictionaries(
    {"role": leaves},
    optional={
        "parts": st.lists(parts, max_size=3),
        "content": leaves | st.lists(parts, max_size=3),
        "tool_calls": st.lists(json_values, max_size=2),
        "tool_call_id": leaves,
        "message": json_values,
    },
)
shaped = st.lists(messages, max_size=3) | messages | st.fixed_dictionaries({"messages": st.lists(messages)})
attribute_values = (
    leaves
    | st.lists(leaves, max_size=4)
    | json_values
    | json_values.map(json.dumps)
    | shaped.map(lambda value: json.dumps(value, default=str))
)
attribute_maps = st.dictionaries(st.sampled_from(FUZZ_KEYS), attribute_values, max_size=10)
event_names = st.sampled_from(
    [
        "gen_ai.user.message",
        "gen_ai.tool.message",
        "gen_ai.choice",
        "gen_ai.content.prompt",
        "gen_ai.client.inference.operation.details",
        "exception",
        "x",
    ]
)
event_lists = st.lists(
    st.builds(
        Event,
        event_names,
        st.none(),
        st.dictionaries(st.sampled_from(PART_KEYS + FUZZ_KEYS), attribute_values),
    ),
    max_size=3,
)


@settings(max_examples=200, deadline=None)
@given(attribute_maps, event_lists)
def test_apply_never_raises_and_never_touches_attributes(attrs: dict[str, Any], events: list[Event]) -> None:
    before = repr(attrs)
    span = _applied(attrs, events, resource={"service.name": attrs.get("session.id")})
    assert repr(span.attributes) == before
    assert isinstance(span.kind, Kind)
    for field in ("input_tokens", "output_tokens", "total_tokens", "cache_read_tokens", "cache_write_tokens"):
        value = getattr(span, field)
        assert value is None or (type(value) is int and value >= 0)
    assert span.cost_usd is None or math.isfinite(span.cost_usd)
    for field in ("model", "provider", "session_id", "user_id", "service"):
        assert getattr(span, field) is None or type(getattr(span, field)) is str
    raw_values = {"input.value", "output.value", "traceloop.entity.input", "traceloop.entity.output"}
    raw_values |= {"gen_ai.tool.call.arguments", "gen_ai.tool.call.result"}
    # Tool arguments and results, and an agent's final result, are shown as the values they are.
    raw_values |= {"tool_arguments", "tool_response", "final_result"}
    raw_values |= {"gcp.vertex.agent.tool_call_args", "gcp.vertex.agent.tool_response"}
    for value in (span.input, span.output):
        if is_messages(value) and not raw_values & attrs.keys():
            assert all(set(m) >= {"role", "content", "tool_calls", "tool_call_id"} for m in value)


def test_openinference_audio_dropped_from_its_messages_is_taken_from_the_request(fixtures_dir):
    """openinference-instrumentation-openai keeps text and images in llm.input_messages but drops an
    input_audio part; the request JSON in input.value still has it."""
    loaded = _load(fixtures_dir / "multimodal" / "image-audio-openinference.otlp.jsonl")
    for attrs, span in loaded:
        if span.kind is not Kind.LLM or "input.value" not in attrs:
            continue
        request = json.loads(attrs["input.value"])["messages"]
        assert len(span.input) == len(request)
        for shown, sent in zip(span.input, request, strict=True):
            sent_parts = sent.get("content") if isinstance(sent.get("content"), list) else []
            audio = [p for p in sent_parts if p["type"] == "input_audio"]
            shown_parts = shown["content"] if isinstance(shown["content"], list) else []
            assert [p for p in shown_parts if p.get("type") == "input_audio"] == audio
            images = [p["image_url"]["url"] for p in sent_parts if p["type"] == "image_url"]
            assert [p["url"] for p in shown_parts if p.get("type") == "image"] == images
    assert any(p.get("type") == "input_audio" for _, s in loaded if s.input for m in s.input
               for p in (m["content"] if isinstance(m["content"], list) else ()))  # fmt: skip


def test_anthropic_image_blocks_are_images():
    """Anthropic's image blocks carry the image in `source`: base64 with its media type, or a URL."""
    base64_source = {"type": "base64", "media_type": "image/png", "data": "iVBORw0K"}
    request = {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in these?"},
                    {"type": "image", "source": base64_source},
                    {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
                ],
            }
        ]
    }
    (shown,) = openai_chat(request, "user")
    assert [p for p in shown["content"] if p.get("type") == "image"] == [
        {"type": "image", "url": "data:image/png;base64,iVBORw0K"},
        {"type": "image", "url": "https://example.com/cat.jpg"},
    ]
