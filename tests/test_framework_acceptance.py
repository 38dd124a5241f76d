"""Issue 16's acceptance for the 2026 captures no per-framework test gave these figures (the Agents
SDK through OpenInference, both multimodal captures, the spans of otel-genai-logs): every encoding
imports with the raw file's spans, traces, errors, model calls, tokens per model and trace roll-ups,
and each model call shows the messages the raw span holds. Expected figures and texts come from the
raw OTLP JSON read here."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest

import framework_traces as ft

#: A side of a model call as the raw span holds it: the message roles (None when the only content is
#: the raw `output.value`/`input.value`) and the strings that must be shown.
RawSide = tuple[list[str] | None, list[str]]

OI_TOKENS = ("llm.token_count.prompt", "llm.token_count.completion")
OI_MODEL = ("llm.model_name",)
OI_CACHE_READ = "llm.token_count.prompt_details.cache_read"
#: The keys of OpenInference's flattened messages whose values are shown text: contents, text and
#: image parts, tool calls and tool results (tool call arguments, JSON strings, are shown parsed).
OI_SHOWN = (
    ".message.content",
    ".message_content.text",
    ".message_content.image.image.url",
    ".tool_call.function.name",
    ".tool_call.id",
    ".message.tool_call_id",
)


def oi_model_calls(raw: list[ft.RawSpan]) -> list[ft.RawSpan]:
    """LLM spans. The README's openai-agents section: LLM is `response`/`generation` while the
    workflow, task, agent and turn spans are AGENT/CHAIN; in multimodal/ the LLM spans are the
    `ChatCompletion` calls under CHAIN app spans. So no wrapper is LLM, which is checked below."""
    return [s for s in raw if s.attrs.get("openinference.span.kind") == "LLM"]


def oi_side(span: ft.RawSpan, side: str) -> RawSide:
    """`side` is "input" or "output": `llm.{side}_messages.*`, else the raw `{side}.value`."""
    prefix = f"llm.{side}_messages."
    keys = [k for k in span.attrs if k.startswith(prefix)]
    if keys:
        count = 1 + max(int(k[len(prefix) :].split(".")[0]) for k in keys)
        roles = [span.attrs[f"{prefix}{n}.message.role"] for n in range(count)]
        arguments = [k for k in keys if k.endswith(".tool_call.function.arguments")]
        return roles, [span.attrs[k] for k in keys if k.endswith(OI_SHOWN)] + [
            ft.texts(json.loads(span.attrs[k])) for k in arguments
        ]
    value = span.attrs.get(f"{side}.value")
    return None, [] if value is None else [ft.texts(json.loads(value))]


def genai_side(span: ft.RawSpan, side: str) -> RawSide:
    """`gen_ai.{side}.messages` (parts format). The README's multimodal section: openai-v2 records a
    user message whose content is a list of parts as `parts: []`; string messages, tool calls and tool
    results are kept, so those are what must be shown."""
    value = span.attrs.get(f"gen_ai.{side}.messages")
    if value is None:
        return None, []
    messages = json.loads(value)
    shown = {
        "text": ("content",),
        "tool_call": ("name", "id", "arguments"),
        "tool_call_response": ("response", "id"),
    }
    return [m["role"] for m in messages], [
        ft.texts(part[key]) for m in messages for part in m["parts"] for key in shown[part["type"]]
    ]


@dataclass(frozen=True)
class Capture:
    base: str
    encodings: tuple[str, ...]
    model_calls: Callable[[list[ft.RawSpan]], list[ft.RawSpan]]
    model_keys: tuple[str, ...]
    token_keys: tuple[str, str]
    side: Callable[[ft.RawSpan, str], RawSide]
    cache_read_key: str | None = None


ALL_ENCODINGS = ("otlp.binpb", "otlp.json", "otlp.jsonl")


def openinference(base: str) -> Capture:
    return Capture(
        base,
        ALL_ENCODINGS,
        oi_model_calls,
        OI_MODEL,
        OI_TOKENS,
        oi_side,
        "llm.token_count.prompt_details.cache_read",
    )


CAPTURES = [
    openinference("openai-agents/travel-desk-openinference"),
    openinference("multimodal/image-audio-openinference"),
    # The README: chat spans carry `gen_ai.operation.name=chat`; the app spans only a conversation id.
    Capture(
        "multimodal/image-audio-openai-v2",
        ("otlp.binpb", "otlp.jsonl"),
        ft.operation("chat"),
        ft.GENAI_MODEL,
        ft.GENAI_TOKENS,
        genai_side,
    ),
    # The README: 6 chat spans (`gen_ai.operation.name=chat`), the only ones with usage; the messages
    # are only in the log records, so the spans alone show none (with the logs: test_otlp_logs.py).
    Capture(
        "otel-genai-logs/agent-tools-event-only",
        ALL_ENCODINGS,
        ft.operation("chat"),
        ft.GENAI_MODEL,
        ft.GENAI_TOKENS,
        genai_side,
    ),
]
CASES = [(c, e) for c in CAPTURES for e in c.encodings]


def test_the_table_holds_every_encoding_of_each_capture(fixtures_dir):
    for capture in CAPTURES:
        folder, name = capture.base.split("/")
        files = [p.name for p in ft.spans_files(fixtures_dir / folder) if p.name.startswith(f"{name}.")]
        assert sorted(files) == sorted(f"{name}.{e}" for e in capture.encodings)


@pytest.mark.parametrize(("capture", "encoding"), CASES, ids=[f"{c.base}.{e}" for c, e in CASES])
def test_imports_with_the_raw_figures_and_messages(fixtures_dir, tmp_path, capture, encoding):
    raw, result = ft.loaded(tmp_path, fixtures_dir / f"{capture.base}.{encoding}")
    calls = capture.model_calls(raw)
    parents = {s.span: s.parent for s in raw}
    call_ids = {s.span for s in calls}
    for call in calls:
        parent = parents[call.span]
        while parent in parents:
            assert parent not in call_ids, "a model call wraps another: the selection would double count"
            parent = parents[parent]
    ft.check_structure(result, raw, calls, capture.token_keys)
    assert ft.stored_usage(result) == ft.usage_by_model(calls, capture.model_keys, capture.token_keys)
    if capture.cache_read_key:
        for trace_id, trace in result.traces.items():
            mine = [s.attrs for s in calls if s.trace == trace_id]
            cached = [int(a[capture.cache_read_key]) for a in mine if capture.cache_read_key in a]
            assert trace.cache_read_tokens == (sum(cached) if cached else None), trace.root_name
    for call in calls:
        for side, shown in zip(("input", "output"), result.io[call.span], strict=True):
            roles, strings = capture.side(call, side)
            if roles is None and not strings:
                assert shown is None, (call.name, side, "nothing in the raw span, nothing shown")
                continue
            if roles is not None:
                assert [m["role"] for m in shown] == roles, (call.name, side)
            for text in strings:
                assert text in ft.texts(shown), (call.name, side, text[:80])


def test_openai_v2_shows_a_user_message_of_parts_as_the_empty_message_it_recorded(fixtures_dir, tmp_path):
    raw, result = ft.loaded(tmp_path, fixtures_dir / "multimodal/image-audio-openai-v2.otlp.jsonl")
    emptied = 0
    calls = ft.operation("chat")(raw)
    for call in calls:
        messages = json.loads(call.attrs["gen_ai.input.messages"])
        shown = result.io[call.span][0]
        for message, shown_message in zip(messages, shown, strict=True):
            if not message["parts"]:
                emptied += 1
                assert shown_message["content"] is None and not shown_message["tool_calls"]
    assert emptied >= len(calls), "each call was sent a user message with an image or audio part"
