"""The Vercel AI SDK's telemetry, every generation: v7's GenAI integration, its legacy `ai.*` integration
and v4's `experimental_telemetry`, imported end to end and checked against the raw captures read here.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from raw_otlp import Capture, RawSpan, captured, check_figures, tokens
from spanscope.core import conventions
from spanscope.core.model import Kind, Span, Status

FILES = [
    "vercel-ai-sdk/travel-app.otlp-http.json",
    "vercel-ai-sdk/travel-app.otlp.binpb",
    "vercel-ai-sdk/travel-app-legacy.otlp-http.json",
    "vercel-ai-sdk/travel-app-legacy.otlp.binpb",
    "vercel-ai-sdk-v4/packing-advisor.otlp-http.json",
    "vercel-ai-sdk-v4/packing-advisor.otlp.binpb",
]
#: The model calls of the legacy telemetry, by their operation id.
DO_CALLS = ("ai.generateText.doGenerate", "ai.streamText.doStream", "ai.generateObject.doGenerate")


def is_model_call(s: RawSpan) -> bool:
    return s.attrs.get("ai.operationId") in DO_CALLS or s.attrs.get("gen_ai.operation.name") == "chat"


def usage(s: RawSpan) -> tuple[str | None, int | None, int | None]:
    a = s.attrs
    if "ai.operationId" in a:
        model = a.get("ai.response.model") or a.get("ai.model.id")
        used = (
            a.get("ai.usage.inputTokens", a.get("ai.usage.promptTokens")),
            a.get("ai.usage.outputTokens", a.get("ai.usage.completionTokens")),
        )
    else:
        model = a.get("gen_ai.response.model") or a.get("gen_ai.request.model")
        used = (a.get("gen_ai.usage.input_tokens"), a.get("gen_ai.usage.output_tokens"))
    return model, tokens(used[0]), tokens(used[1])


@pytest.fixture(params=FILES)
def capture(request, fixtures_dir: Path, tmp_path: Path) -> Capture:
    return captured(fixtures_dir / request.param, tmp_path)


def test_figures_are_the_model_calls_only(capture) -> None:
    """Wrappers repeat usage (v4: the last step's only): traces sum over the do* / chat spans."""
    check_figures(capture, is_model_call, usage)


def test_wrappers_steps_and_tools_have_their_kinds(capture) -> None:
    raw, spans, _ = capture
    for s in raw:
        operation = s.attrs.get("ai.operationId") or s.attrs.get("gen_ai.operation.name")
        expected = {
            "ai.generateText": Kind.AGENT,
            "ai.streamText": Kind.AGENT,
            "ai.generateObject": Kind.AGENT,
            "invoke_agent": Kind.AGENT,
            "agent_step": Kind.CHAIN,
            "ai.toolCall": Kind.TOOL,
            "execute_tool": Kind.TOOL,
        }.get(operation, Kind.LLM)
        assert spans[s.span_id].kind == expected, s.name


def _texts(content: Any) -> str:
    """A raw AI SDK message's text: the content string or its text parts."""
    if isinstance(content, str):
        return content
    return "\n".join(p["text"] for p in content if p.get("type") == "text")


def test_legacy_model_calls_show_prompt_and_response(capture) -> None:
    raw, spans, _ = capture
    legacy = [s for s in raw if s.attrs.get("ai.operationId") in DO_CALLS]
    for s in legacy:
        span = spans[s.span_id]
        prompt = json.loads(s.attrs["ai.prompt.messages"])
        shown = [m for m in span.input if m["role"] != "tool"]
        assert [m["role"] for m in shown] == [m["role"] for m in prompt if m["role"] != "tool"]
        for sent, got in zip([m for m in prompt if m["role"] != "tool"], shown, strict=True):
            if sent["role"] != "assistant":
                assert got["content"] == _texts(sent["content"])
        results = [p for m in prompt if m["role"] == "tool" for p in m["content"]]
        assert [m["tool_call_id"] for m in span.input if m["role"] == "tool"] == [
            p["toolCallId"] for p in results
        ]
        text = s.attrs.get("ai.response.text") or s.attrs.get("ai.response.object")
        calls = json.loads(s.attrs.get("ai.response.toolCalls", "[]"))
        if s.status == 2:
            assert span.output is None
            continue
        (answer,) = span.output
        assert answer["content"] == (text or None)
        assert [(c["id"], c["name"]) for c in answer["tool_calls"]] == [
            (c["toolCallId"], c["toolName"]) for c in calls
        ]
    assert legacy or not any("ai.operationId" in s.attrs for s in raw)


def test_legacy_tool_calls_and_wrappers(capture) -> None:
    raw, spans, _ = capture
    for s in raw:
        span = spans[s.span_id]
        if s.attrs.get("ai.operationId") == "ai.toolCall":
            assert span.input == json.loads(s.attrs["ai.toolCall.args"])
            assert span.output == json.loads(s.attrs["ai.toolCall.result"])
        elif "ai.prompt" in s.attrs:
            prompt = json.loads(s.attrs["ai.prompt"])
            texts = [m["content"] for m in span.input]
            if "system" in prompt:
                assert texts[0] == prompt["system"]
            last = prompt["prompt"] if "prompt" in prompt else prompt["messages"][-1]["content"]
            assert texts[-1] == last
            assert span.model == s.attrs["ai.model.id"]


def test_genai_model_calls_show_prompt_and_response(capture) -> None:
    raw, spans, _ = capture
    for s in raw:
        if s.attrs.get("gen_ai.operation.name") != "chat":
            continue
        span = spans[s.span_id]
        given = json.loads(s.attrs["gen_ai.input.messages"])
        user = [p["content"] for m in given if m["role"] == "user" for p in m["parts"] if p["type"] == "text"]
        assert [m["content"] for m in span.input if m["role"] == "user"] == user
        if "gen_ai.output.messages" in s.attrs:
            parts = json.loads(s.attrs["gen_ai.output.messages"])[0]["parts"]
            text = [p["content"] for p in parts if p["type"] == "text"]
            assert [m["content"] for m in span.output if m["content"]] == text


def test_unknown_usage_stays_unknown(fixtures_dir: Path, tmp_path: Path) -> None:
    """v4 without include_usage: NaN tokens (null in JSON) are unknown, not 0, and the call still counts."""
    for name in ("packing-advisor.otlp-http.json", "packing-advisor.otlp.binpb"):
        path = fixtures_dir / "vercel-ai-sdk-v4" / name
        raw, spans, _ = captured(path, tmp_path / name)
        unknown = [s for s in raw if is_model_call(s) and s.status != 2 and usage(s)[1] is None]
        assert unknown
        for s in unknown:
            span = spans[s.span_id]
            assert span.kind == Kind.LLM
            assert (span.input_tokens, span.output_tokens, span.total_tokens) == (None, None, None)


def test_telemetry_metadata_user(capture) -> None:
    raw, spans, _ = capture
    for s in raw:
        assert spans[s.span_id].user_id == s.attrs.get("ai.telemetry.metadata.userId")


# --- hand-written attributes ---------------------------------------------------------------------


def derived(attrs: dict[str, Any]) -> Span:
    span = Span("t", "s", None, "x", 0, attributes=attrs)
    conventions.apply_fields(span)
    span.input, span.output = conventions.derived_io(attrs, [])
    return span


def test_message_parts_of_every_shape() -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image", "image": "https://example.com/a.png"},
                {"type": "image", "image": "iVBORw0KGgo=", "mediaType": "image/png"},
                {"type": "file", "data": "JVBERi0=", "mediaType": "application/pdf", "filename": "a.pdf"},
                {"type": "file", "data": "R0lGOD==", "mimeType": "image/gif"},
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "reasoning", "text": "thinking"},
                {"type": "tool-call", "toolCallId": "c1", "toolName": "f", "input": {"x": 1}},
                {"type": "tool-call", "toolCallId": "c2", "toolName": "g", "args": {"y": 2}},
            ],
        },
        {
            "role": "tool",
            "content": [
                {"type": "tool-result", "toolCallId": "c1", "output": {"type": "text", "value": "one"}},
                {"type": "tool-result", "toolCallId": "c2", "result": {"ok": True}},
                {"type": "tool-result", "toolCallId": "c3", "output": {"type": "error-text", "value": "bad"}},
            ],
        },
    ]
    span = derived(
        {"ai.operationId": "ai.generateText.doGenerate", "ai.prompt.messages": json.dumps(messages)}
    )
    system, user, assistant, *tools = span.input
    assert system["content"] == "Be brief."
    assert user["content"] == [
        {"type": "text", "text": "What is this?"},
        {"type": "image", "url": "https://example.com/a.png"},
        {"type": "image", "url": "data:image/png;base64,iVBORw0KGgo="},
        messages[1]["content"][3],
        {"type": "image", "url": "data:image/gif;base64,R0lGOD=="},
    ]
    assert assistant["content"] == [{"type": "reasoning", "text": "thinking"}]
    assert [(c["id"], c["name"], c["arguments"]) for c in assistant["tool_calls"]] == [
        ("c1", "f", {"x": 1}),
        ("c2", "g", {"y": 2}),
    ]
    assert [(m["role"], m["tool_call_id"], m["content"]) for m in tools] == [
        ("tool", "c1", "one"),
        ("tool", "c2", '{"ok":true}'),
        ("tool", "c3", "bad"),
    ]


def test_usage_keys_of_each_generation() -> None:
    v6 = derived(
        {
            "ai.operationId": "ai.streamText.doStream",
            "ai.model.id": "m",
            "ai.usage.inputTokens": 10,
            "ai.usage.outputTokens": 4,
            "ai.usage.inputTokenDetails.cacheReadTokens": 6,
            "ai.usage.inputTokenDetails.cacheWriteTokens": 2,
            "ai.usage.outputTokenDetails.reasoningTokens": 1,
        }
    )
    assert (v6.kind, v6.model, v6.input_tokens, v6.output_tokens, v6.total_tokens) == (
        Kind.LLM,
        "m",
        10,
        4,
        14,
    )
    assert (v6.cache_read_tokens, v6.cache_write_tokens, v6.reasoning_tokens) == (6, 2, 1)
    v5 = derived({"ai.usage.cachedInputTokens": 3, "ai.usage.reasoningTokens": 2, "ai.usage.totalTokens": 9})
    assert (v5.cache_read_tokens, v5.reasoning_tokens, v5.total_tokens) == (3, 2, 9)
    nan = derived({"ai.operationId": "ai.generateText.doGenerate", "ai.usage.promptTokens": math.nan})
    assert (nan.kind, nan.input_tokens) == (Kind.LLM, None)
    embed = derived({"ai.operationId": "ai.embed.doEmbed", "ai.usage.tokens": 7, "ai.values": ['"sunny"']})
    assert (embed.kind, embed.input_tokens, embed.input) == (Kind.EMBEDDING, 7, ['"sunny"'])
    user = derived({"ai.telemetry.metadata.userId": "u-1", "ai.telemetry.metadata.sessionId": "s-1"})
    assert (user.user_id, user.session_id) == ("u-1", "s-1")


def test_wrapper_with_usage_and_model_is_no_model_call() -> None:
    wrapper = derived({"ai.operationId": "ai.generateText", "ai.model.id": "m", "ai.usage.promptTokens": 5})
    assert (wrapper.kind, wrapper.input_tokens) == (Kind.AGENT, 5)


# --- fuzzing: the AI SDK's, Mastra's and MCP's keys never make a span fail --------------------------

FUZZ_KEYS = [
    "ai.operationId",
    "ai.model.id",
    "ai.model.provider",
    "ai.response.model",
    "ai.prompt",
    "ai.prompt.messages",
    "ai.response.text",
    "ai.response.object",
    "ai.response.toolCalls",
    "ai.toolCall.args",
    "ai.toolCall.result",
    "ai.value",
    "ai.values",
    "ai.usage.inputTokens",
    "ai.usage.promptTokens",
    "ai.usage.outputTokens",
    "ai.usage.totalTokens",
    "ai.usage.cachedInputTokens",
    "ai.telemetry.metadata.userId",
    "mastra.span.type",
    "mastra.model_step.input",
    "mastra.model_step.output",
    "mastra.model_generation.input",
    "mastra.agent_run.input",
    "mastra.agent_run.output",
    "mastra.model_chunk.output",
    "gen_ai.response.finish_reasons",
    "gen_ai.system_instructions",
    "gen_ai.operation.name",
    "error.message",
    "mcp.method.name",
    "mcp.session.id",
    "mcp.response.value",
]
leaves = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
part = st.fixed_dictionaries(
    {"type": st.sampled_from(["text", "tool-call", "tool-result", "image", "file", "reasoning", "x"])},
    optional=dict.fromkeys(
        ["text", "toolCallId", "toolName", "input", "args", "result", "output", "image", "data", "mediaType"],
        leaves | st.dictionaries(st.sampled_from(["type", "value"]), leaves),
    ),
)
ai_message = st.fixed_dictionaries({"role": leaves, "content": leaves | st.lists(part, max_size=3)})
shaped = st.lists(ai_message, max_size=3) | st.fixed_dictionaries(
    {}, optional={"messages": st.lists(ai_message), "system": leaves, "prompt": leaves, "text": leaves}
)
values = leaves | st.lists(leaves, max_size=3) | shaped | shaped.map(lambda v: json.dumps(v, default=str))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(FUZZ_KEYS), values, max_size=8), st.sampled_from(list(Status)))
def test_never_raises_on_attribute_content(attrs: dict[str, Any], status: Status) -> None:
    before = repr(attrs)
    span = Span("t", "s", None, "x", 0, status=status, attributes=attrs)
    conventions.apply_fields(span)
    conventions.derived_io(attrs, [])
    assert repr(attrs) == before
    assert span.input_tokens is None or (type(span.input_tokens) is int and span.input_tokens >= 0)
    assert span.model is None or type(span.model) is str
