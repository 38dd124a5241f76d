"""OpenLLMetry / Traceloop: flattened `gen_ai.prompt.{i}.*` / `gen_ai.completion.{i}.*` messages (and
the unflattened JSON `gen_ai.prompt` older instrumentations wrote), `traceloop.entity.input/output`,
`traceloop.span.kind`, `llm.request.type`, association properties for session and user. Its model,
provider and most token keys are GenAI's, read by that convention."""

from __future__ import annotations

from itertools import count
from typing import Any

from spanscope.core.conventions.base import Convention, Source, kind_table
from spanscope.core.conventions.messages import ToolResult, emit, openai_list, role, split_parts, tool_call
from spanscope.core.conventions.parse import Getter, Message, loads, unwrap
from spanscope.core.model import Kind


def _content(value: Any) -> tuple[Any, list[dict[str, Any]], list[ToolResult]]:
    """Multimodal content is written as a JSON list of parts inside the content string."""
    if type(value) is str and value[:1] == "[":
        parsed = loads(value)
        if isinstance(parsed, list) and parsed and all(isinstance(p, dict) and "type" in p for p in parsed):
            return split_parts(parsed)
    return value, [], []


def _messages(get: Getter, prefix: str, default_role: str) -> list[Message]:
    """gen_ai.prompt.{i}.role|content|tool_call_id|tool_calls.{j}.id|name|arguments."""
    out: list[Message] = []
    for index in count():
        base = f"{prefix}.{index}."
        given_role = get(base + "role")
        text, calls, results = _content(get(base + "content"))
        for j in count():
            call = f"{base}tool_calls.{j}."
            call_id = get(call + "id")
            name = get(call + "name")
            if call_id is None and name is None:
                break
            calls.append(tool_call(call_id, name, get(call + "arguments")))
        if given_role is None and text is None and not calls:
            break
        emit(out, role(given_role, default_role), text, calls, results, get(base + "tool_call_id"))
    return out


def _chat(prefix: str, default_role: str) -> Source:
    """The flattened messages, else the same prefix as one JSON list."""
    first = (f"{prefix}.0.role", f"{prefix}.0.content")

    def read(attrs: dict[str, Any], get: Getter, found: int) -> list[Message] | None:
        if first[0] in attrs or first[1] in attrs:
            messages = _messages(get, prefix, default_role)
            if messages:
                return messages
        raw = get(prefix)
        return None if raw is None else openai_list(raw, default_role)

    return Source((*first, prefix), read)


def _entity(key: str) -> Source:
    """Entity input and output are JSON encoded twice: decoded until no longer JSON text."""

    def read(attrs: dict[str, Any], get: Getter, found: int) -> Any:
        value = get(key)
        return None if value is None else unwrap(loads(value))

    return Source((key,), read)


CONVENTION = Convention(
    name="OpenLLMetry",
    kinds=(
        (
            "traceloop.span.kind",
            kind_table({"workflow": Kind.CHAIN, "task": Kind.CHAIN, "agent": Kind.AGENT, "tool": Kind.TOOL}),
        ),
        (
            "llm.request.type",
            kind_table(
                {
                    "chat": Kind.LLM,
                    "completion": Kind.LLM,
                    "embedding": Kind.EMBEDDING,
                    "rerank": Kind.RERANKER,
                }
            ),
        ),
    ),
    session=("traceloop.association.properties.session_id",),
    user=("traceloop.association.properties.user_id",),
    tokens={"total_tokens": ("llm.usage.total_tokens",)},
    chat_input=(_chat("gen_ai.prompt", "user"),),
    chat_output=(_chat("gen_ai.completion", "assistant"),),
    value_input=(_entity("traceloop.entity.input"),),
    value_output=(_entity("traceloop.entity.output"),),
)
