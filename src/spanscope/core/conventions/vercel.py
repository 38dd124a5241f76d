"""The Vercel AI SDK's own `ai.*` telemetry: `experimental_telemetry` of ai 3-6 and the
`LegacyOpenTelemetry` integration of ai 7 (its `OpenTelemetry` integration writes gen_ai.*, read by
the GenAI convention; only its `agent_step` operation is named here).

The model call is the `do*` span (`ai.generateText.doGenerate`, `ai.streamText.doStream`, ...); the
`ai.generateText` / `ai.streamText` / ... spans around it repeat usage (the total, or in ai 4 the last
step's), so they are agents, never model calls. Usage is `ai.usage.inputTokens`/`outputTokens` (ai 5
on, cached and reasoning tokens included) or `promptTokens`/`completionTokens` (ai 3-4); a usage the
SDK did not get is written as NaN (null in OTLP JSON) and stays unknown."""

from __future__ import annotations

from typing import Any

from spanscope.core.conventions.base import Convention, Source, TimeUnit, json_source, kind_table
from spanscope.core.conventions.messages import vercel_messages, vercel_tool_calls
from spanscope.core.conventions.parse import Getter, Message, loads
from spanscope.core.model import Kind, message

_WRAPPERS = ("ai.generateText", "ai.streamText", "ai.generateObject", "ai.streamObject")
_KINDS = {
    **dict.fromkeys(_WRAPPERS, Kind.AGENT),
    "ai.generateText.doGenerate": Kind.LLM,
    "ai.streamText.doStream": Kind.LLM,
    "ai.generateObject.doGenerate": Kind.LLM,
    "ai.streamObject.doStream": Kind.LLM,
    "ai.embed": Kind.CHAIN,
    "ai.embedMany": Kind.CHAIN,
    "ai.embed.doEmbed": Kind.EMBEDDING,
    "ai.embedMany.doEmbed": Kind.EMBEDDING,
    "ai.toolCall": Kind.TOOL,
}


def _prompt(value: Any) -> list[Message] | None:
    """A wrapper's `ai.prompt`: {system?, prompt: text | messages?, messages?}."""
    prompt = loads(value)
    if not isinstance(prompt, dict):
        return None
    out: list[Message] = []
    system = prompt.get("system")
    if type(system) is str:
        out.append(message("system", system))
    given = prompt.get("messages")
    if given is None:
        given = prompt.get("prompt")
    if type(given) is str:
        out.append(message("user", given))
    elif isinstance(given, list):
        out.extend(vercel_messages(given) or ())
    return out or None


def _input(attrs: dict[str, Any], get: Getter, found: int) -> list[Message] | None:
    raw = get("ai.prompt.messages")
    if raw is not None:
        messages = vercel_messages(raw)
        if messages is not None:
            return messages
    raw = get("ai.prompt")
    return None if raw is None else _prompt(raw)


def _output(attrs: dict[str, Any], get: Getter, found: int) -> list[Message] | None:
    """The response as one assistant message: text (or the generated object), then tool calls."""
    text = get("ai.response.text")
    if text is None:
        text = get("ai.response.object")
    raw_calls = get("ai.response.toolCalls")
    calls = vercel_tool_calls(raw_calls) if raw_calls is not None else []
    if type(text) is not str and not calls:
        return None
    return [message("assistant", text if type(text) is str and (text or not calls) else None, calls)]


CONVENTION = Convention(
    name="Vercel AI SDK",
    kinds=(
        ("ai.operationId", kind_table(_KINDS)),
        ("gen_ai.operation.name", {"agent_step": Kind.CHAIN}),
    ),
    model=("ai.response.model", "ai.model.id"),
    provider=("ai.model.provider",),
    session=("ai.telemetry.metadata.sessionId",),
    user=("ai.telemetry.metadata.userId",),
    tokens={
        "input_tokens": ("ai.usage.inputTokens", "ai.usage.promptTokens", "ai.usage.tokens"),
        "output_tokens": ("ai.usage.outputTokens", "ai.usage.completionTokens"),
        "total_tokens": ("ai.usage.totalTokens",),
        "cache_read_tokens": ("ai.usage.inputTokenDetails.cacheReadTokens", "ai.usage.cachedInputTokens"),
        "cache_write_tokens": ("ai.usage.inputTokenDetails.cacheWriteTokens",),
        "reasoning_tokens": ("ai.usage.outputTokenDetails.reasoningTokens", "ai.usage.reasoningTokens"),
    },
    chat_input=(Source(("ai.prompt.messages", "ai.prompt"), _input),),
    chat_output=(Source(("ai.response.text", "ai.response.object", "ai.response.toolCalls"), _output),),
    value_input=(json_source("ai.toolCall.args"), json_source("ai.value"), json_source("ai.values")),
    value_output=(json_source("ai.toolCall.result"),),
    # `ai.stream.msToFirstChunk` is the name of ai 3; later versions write `ai.response.*`.
    ttft=(
        ("ai.response.msToFirstChunk", TimeUnit.MILLISECONDS),
        ("ai.stream.msToFirstChunk", TimeUnit.MILLISECONDS),
    ),
)
