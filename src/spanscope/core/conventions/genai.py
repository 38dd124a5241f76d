"""OpenTelemetry GenAI semantic conventions, all versions: `gen_ai.input.messages` /
`gen_ai.output.messages` with parts and `gen_ai.system_instructions` (1.37 on), also as attributes of
`gen_ai.client.inference.operation.details` events, the message events of 1.28-1.36
(`gen_ai.user.message`, `gen_ai.choice`, ...; Strands writes their content as Converse blocks in JSON)
and the content events of <= 1.26 (`gen_ai.content.prompt`), tool call arguments and results,
`gen_ai.usage.*`, `error.type`."""

from __future__ import annotations

from typing import Any

from spanscope.core.conventions.base import Convention, Source, TimeUnit, kind_table
from spanscope.core.conventions.messages import (
    append_openai,
    block_list,
    emit,
    openai_list,
    role,
    split_parts,
)
from spanscope.core.conventions.parse import Getter, Message, as_float, loads, unwrap
from spanscope.core.model import Event, Kind, message

#: Message events of 1.28-1.36 and the role each one stands for.
_EVENT_ROLES = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
}
#: The event of the latest conventions carrying messages as attributes, like the span's own.
DETAILS_EVENT = "gen_ai.client.inference.operation.details"
#: Content events of <= 1.26: (attribute holding the JSON, is it the input).
_CONTENT_EVENTS = {
    "gen_ai.content.prompt": ("gen_ai.prompt", True),
    "gen_ai.content.completion": ("gen_ai.completion", False),
}


def parts_messages(value: Any, default_role: str) -> list[Message]:
    """gen_ai.input.messages / gen_ai.output.messages: a JSON list of {role, parts: [...]}."""
    out: list[Message] = []
    items = loads(value)
    for item in items if isinstance(items, list) else ():
        if isinstance(item, dict):
            parts = item.get("parts")
            text, calls, results = split_parts(parts) if isinstance(parts, list) else (None, [], [])
            emit(out, role(item.get("role"), default_role), text, calls, results)
    return out


def system_message(value: Any) -> Message | None:
    """gen_ai.system_instructions (a JSON list of parts, or plain text) as a system message."""
    parsed = loads(value)
    text = split_parts(parsed)[0] if isinstance(parsed, list) else parsed
    return message("system", text) if type(text) is str or isinstance(text, list) else None


def _input(attrs: dict[str, Any], get: Getter, found: int) -> list[Message] | None:
    raw = get("gen_ai.input.messages")
    messages = parts_messages(raw, "user") if raw is not None else []
    raw = get("gen_ai.system_instructions")
    system = system_message(raw) if raw is not None else None
    if system is not None:
        messages.insert(0, system)
    return messages or None


def _output(attrs: dict[str, Any], get: Getter, found: int) -> list[Message] | None:
    raw = get("gen_ai.output.messages")
    return None if raw is None else parts_messages(raw, "assistant") or None


def _event_body(attributes: dict[str, Any], event_role: str) -> dict[str, Any]:
    """The message an event carries: its gen_ai.event.content JSON body, else its own attributes."""
    body = loads(attributes.get("gen_ai.event.content"))
    body = body if isinstance(body, dict) else attributes
    blocks = block_list(body.get("content"))
    if blocks is not None:
        body = {**body, "content": blocks}
    if event_role == "tool" and "tool_call_id" not in body and "id" in body:
        return {**body, "tool_call_id": body["id"]}
    return body


def _choice_message(body: dict[str, Any]) -> dict[str, Any]:
    """The message of a gen_ai.choice: a JSON object, content parts or blocks, text, or flat keys."""
    inner = loads(body.get("message"))
    if isinstance(inner, dict):
        return inner
    if isinstance(inner, list) or type(inner) is str:
        return {"role": "assistant", "content": inner}
    return {
        "role": body.get("message.role"),
        "content": body.get("message.content"),
        "tool_calls": body.get("message.tool_calls"),
    }


def _details(attributes: dict[str, Any], inputs: list[Message], outputs: list[Message]) -> None:
    """One gen_ai.client.inference.operation.details event: its system instructions go first."""
    system = system_message(attributes.get("gen_ai.system_instructions"))
    if system is not None:
        inputs.insert(0, system)
    raw = attributes.get("gen_ai.input.messages")
    if raw is not None:
        inputs.extend(parts_messages(raw, "user"))
    raw = attributes.get("gen_ai.output.messages")
    if raw is not None:
        outputs.extend(parts_messages(raw, "assistant"))


def event_messages(events: list[Event]) -> tuple[list[Message] | None, list[Message] | None]:
    """Message events gen_ai.{system,user,assistant,tool}.message and gen_ai.choice (1.28-1.36),
    gen_ai.content.prompt / gen_ai.content.completion (<= 1.26), and the messages of
    gen_ai.client.inference.operation.details events (latest)."""
    inputs: list[Message] = []
    outputs: list[Message] = []
    for event in events:
        name = event.name
        if type(name) is not str or not name.startswith("gen_ai."):
            continue
        attributes = event.attributes if isinstance(event.attributes, dict) else {}
        event_role = _EVENT_ROLES.get(name)
        if event_role is not None:
            append_openai(inputs, _event_body(attributes, event_role), event_role)
        elif name == "gen_ai.choice":
            append_openai(outputs, _choice_message(_event_body(attributes, "assistant")), "assistant")
        elif name == DETAILS_EVENT:
            _details(attributes, inputs, outputs)
        elif name in _CONTENT_EVENTS:
            key, is_input = _CONTENT_EVENTS[name]
            messages = openai_list(attributes.get(key), "user" if is_input else "assistant")
            (inputs if is_input else outputs).extend(messages or ())
    return inputs or None, outputs or None


def json_value(key: str) -> Source:
    """A value (tool call arguments, results) JSON decoded."""

    def read(attrs: dict[str, Any], get: Getter, found: int) -> Any:
        value = get(key)
        return None if value is None else unwrap(value)

    return Source((key,), read)


def _error(attrs: dict[str, Any], get: Getter) -> str | None:
    """A GenAI operation with an error.type failed even when its OTel status is unset."""
    if "gen_ai.operation.name" in attrs and get("error.type") is not None:
        return "error.type"
    return None


CONVENTION = Convention(
    name="OpenTelemetry GenAI",
    kinds=(
        (
            "gen_ai.operation.name",
            kind_table(
                {
                    "chat": Kind.LLM,
                    "generate_content": Kind.LLM,
                    "text_completion": Kind.LLM,
                    "embeddings": Kind.EMBEDDING,
                    "retrieval": Kind.RETRIEVER,
                    "execute_tool": Kind.TOOL,
                    "invoke_agent": Kind.AGENT,
                    "create_agent": Kind.AGENT,
                    "invoke_workflow": Kind.CHAIN,
                }
            ),
        ),
    ),
    model=("gen_ai.response.model", "gen_ai.request.model"),
    provider=("gen_ai.provider.name", "gen_ai.system"),
    session=("gen_ai.conversation.id",),
    tokens={
        "input_tokens": ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"),
        "output_tokens": ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens"),
        "total_tokens": ("gen_ai.usage.total_tokens",),
        "cache_read_tokens": ("gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens"),
        "cache_write_tokens": (
            "gen_ai.usage.cache_creation.input_tokens",
            "gen_ai.usage.cache_creation_input_tokens",
        ),
        "reasoning_tokens": ("gen_ai.usage.reasoning.output_tokens", "gen_ai.usage.reasoning_tokens"),
    },
    cost=(("gen_ai.usage.cost",), lambda get: as_float(get("gen_ai.usage.cost"))),
    status=(("error.type",), _error),
    chat_input=(Source(("gen_ai.input.messages", "gen_ai.system_instructions"), _input),),
    chat_output=(Source(("gen_ai.output.messages",), _output),),
    events=event_messages,
    value_input=(json_value("gen_ai.tool.call.arguments"),),
    value_output=(json_value("gen_ai.tool.call.result"),),
    # The client's measure in seconds (Vercel AI SDK 7, Pydantic AI); Strands writes the semconv
    # metric's name as a span attribute, in milliseconds.
    ttft=(
        ("gen_ai.client.operation.time_to_first_chunk", TimeUnit.SECONDS),
        ("gen_ai.server.time_to_first_token", TimeUnit.MILLISECONDS),
    ),
    # Strands Agents writes its own name where the provider belongs, and nothing of the real one.
    framework_names=frozenset({"strands-agents"}),
)
