"""OpenInference (Arize Phoenix's instrumentations): flattened `llm.input_messages.{i}.message.*`,
`input.value`/`output.value` with their mime types, retrieved documents, `llm.token_count.*`,
`llm.cost.*` and `openinference.span.kind`."""

from __future__ import annotations

from itertools import count
from typing import Any

from spanscope.core.conventions.base import (
    PART_CALL_ID,
    PART_CALLS,
    PART_CONTENTS,
    PART_FEATURES,
    PART_NAME,
    Convention,
    Source,
    kind_table,
)
from spanscope.core.conventions.messages import content, openai_messages, tool_call
from spanscope.core.conventions.parse import Getter, Message, as_float, as_text, loads, unwrap
from spanscope.core.model import Kind, message

#: Message keys are precomputed up to this index; longer lists build keys on the fly.
_PRECOMPUTED = 256


def _keys(prefix: str, index: int) -> tuple[str, ...]:
    """The keys of message `index`: role, content, the first contents part, the first tool call's
    name and id, tool_call_id, name, and the message prefix."""
    base = f"{prefix}.{index}.message."
    return (
        base + "role",
        base + "content",
        base + "contents.0.message_content.type",
        base + "tool_calls.0.tool_call.function.name",
        base + "tool_calls.0.tool_call.id",
        base + "tool_call_id",
        base + "name",
        base,
    )


_INPUT_KEYS = [_keys("llm.input_messages", i) for i in range(_PRECOMPUTED)]
_OUTPUT_KEYS = [_keys("llm.output_messages", i) for i in range(_PRECOMPUTED)]
_DOCUMENT_PROBES = ("retrieval.documents.0.document.id", "retrieval.documents.0.document.content")


def _contents(get: Getter, base: str) -> Any:
    """message.contents.{j}.message_content.type|text|image.image.url as message content."""
    items: list[Any] = []
    for j in count():
        part = f"{base}contents.{j}.message_content."
        part_type = get(part + "type")
        text = get(part + "text")
        url = get(part + "image.image.url")
        if part_type is None and text is None and url is None:
            break
        if part_type == "image" or (url is not None and text is None):
            items.append({"type": "image", "url": url if type(url) is str else None})
        else:
            items.append(text)
    return content(items)


def _tool_calls(get: Getter, base: str) -> list[dict[str, Any]]:
    calls = []
    for k in count():
        call = f"{base}tool_calls.{k}.tool_call."
        call_id = get(call + "id")
        name = get(call + "function.name")
        if call_id is None and name is None:
            break
        calls.append(tool_call(call_id, name, get(call + "function.arguments")))
    return calls


def _messages(
    get: Getter, table: list[tuple[str, ...]], prefix: str, default_role: str, found: int
) -> list[Message]:
    """llm.input_messages / llm.output_messages, read index by index through precomputed keys.

    `found` says which optional parts occur on the span at all; only those are probed."""
    out: list[Message] = []
    for index in count():
        if index < _PRECOMPUTED:
            keys = table[index]
        else:
            keys, found = _keys(prefix, index), PART_FEATURES
        role = get(keys[0])
        text = get(keys[1])
        if text is None and found & PART_CONTENTS and get(keys[2]) is not None:
            text = _contents(get, keys[7])
        calls = None
        if found & PART_CALLS and (get(keys[3]) is not None or get(keys[4]) is not None):
            calls = _tool_calls(get, keys[7])
        elif role is None and text is None:
            break
        tool_call_id = as_text(get(keys[5])) if found & PART_CALL_ID else None
        entry = message(role if type(role) is str and role else default_role, text, calls, tool_call_id)
        name = as_text(get(keys[6])) if found & PART_NAME else None
        if name is not None:
            entry["name"] = name
        out.append(entry)
    return out


def _with_request_audio(get: Getter, messages: list[Message]) -> list[Message]:
    """The instrumentation keeps only text and image parts in llm.input_messages; an audio part
    survives only in the request JSON (input.value). Where the request has one, its message's
    content replaces the flattened one (same messages, same order)."""
    text = get("input.value")
    if type(text) is not str or '"input_audio"' not in text:
        return messages
    request = openai_messages(loads(text), "user")
    if request is None or len(request) != len(messages):
        return messages
    for flat, full in zip(messages, request, strict=True):
        parts = full.get("content")
        if isinstance(parts, list) and any(p.get("type") == "input_audio" for p in parts):
            flat["content"] = parts
    return messages


def _chat(table: list[tuple[str, ...]], prefix: str, default_role: str) -> Source:
    probes = role, text, part = table[0][:3]
    is_input = prefix == "llm.input_messages"

    def read(attrs: dict[str, Any], get: Getter, found: int) -> list[Message] | None:
        if role in attrs or text in attrs or part in attrs:
            messages = _messages(get, table, prefix, default_role, found)
            return (_with_request_audio(get, messages) if is_input else messages) or None
        return None

    return Source(probes, read)


def _documents(get: Getter) -> list[dict[str, Any]]:
    """retrieval.documents.{i}.document.id|content|score|metadata (metadata is a JSON string)."""
    documents = []
    for index in count():
        base = f"retrieval.documents.{index}.document."
        doc_id = get(base + "id")
        text = get(base + "content")
        if doc_id is None and text is None:
            break
        documents.append(
            {
                "id": as_text(doc_id),
                "content": text,
                "score": as_float(get(base + "score")),
                "metadata": unwrap(get(base + "metadata")),
            }
        )
    return documents


def _read_documents(attrs: dict[str, Any], get: Getter, found: int) -> list[dict[str, Any]] | None:
    """Retrieved documents are a retriever's output, ahead of its output.value."""
    if _DOCUMENT_PROBES[0] in attrs or _DOCUMENT_PROBES[1] in attrs:
        return _documents(get)
    return None


def _mime_value(key: str) -> Source:
    """input.value/output.value: parsed when the mime type says JSON, else the text."""
    mime_key = key.replace(".value", ".mime_type")

    def read(attrs: dict[str, Any], get: Getter, found: int) -> Any:
        value = get(key)
        if value is None:
            return None
        return loads(value) if get(mime_key) == "application/json" else value

    return Source((key,), read)


def _cost(get: Getter) -> float | None:
    """The total, else the sum of the prompt and completion costs."""
    cost = as_float(get("llm.cost.total"))
    if cost is not None:
        return cost
    prompt, completion = as_float(get("llm.cost.prompt")), as_float(get("llm.cost.completion"))
    if prompt is not None or completion is not None:
        return (prompt or 0.0) + (completion or 0.0)
    return None


_ALL_KEYS = _INPUT_KEYS + _OUTPUT_KEYS


def _parameter_model(key: str) -> Source:
    """The `model` of an invocation-parameters JSON object: the only model a failed call records."""

    def read(attrs: dict[str, Any], get: Getter, found: int) -> str | None:
        parameters = loads(get(key))
        return as_text(parameters.get("model")) if isinstance(parameters, dict) else None

    return Source((key,), read)


CONVENTION = Convention(
    name="OpenInference",
    kinds=(("openinference.span.kind", kind_table({kind.value: kind for kind in Kind})),),
    model=("llm.model_name", "embedding.model_name"),
    requested_model=(
        _parameter_model("llm.invocation_parameters"),
        _parameter_model("embedding.invocation_parameters"),
    ),
    provider=("llm.provider", "llm.system"),
    session=("session.id",),
    user=("user.id",),
    tokens={
        "input_tokens": ("llm.token_count.prompt",),
        "output_tokens": ("llm.token_count.completion",),
        "total_tokens": ("llm.token_count.total",),
        "cache_read_tokens": ("llm.token_count.prompt_details.cache_read",),
        "cache_write_tokens": ("llm.token_count.prompt_details.cache_write",),
        "reasoning_tokens": ("llm.token_count.completion_details.reasoning",),
    },
    cost=(("llm.cost.total", "llm.cost.prompt", "llm.cost.completion"), _cost),
    chat_input=(_chat(_INPUT_KEYS, "llm.input_messages", "user"),),
    chat_output=(_chat(_OUTPUT_KEYS, "llm.output_messages", "assistant"),),
    value_input=(_mime_value("input.value"),),
    value_output=(Source(_DOCUMENT_PROBES, _read_documents), _mime_value("output.value")),
    features=(
        (PART_CONTENTS, tuple(keys[2] for keys in _ALL_KEYS)),
        (PART_CALLS, tuple(key for keys in _ALL_KEYS for key in keys[3:5])),
        (PART_CALL_ID, tuple(keys[5] for keys in _ALL_KEYS)),
        (PART_NAME, tuple(keys[6] for keys in _ALL_KEYS)),
    ),
    # LlamaIndex's instrumentation marks every traced method of an LLM class as LLM: this one only
    # builds the messages and tools for the call made beside it.
    helper_calls=("._prepare_chat_with_tools",),
    # Written by the OpenAI and LlamaIndex instrumentations (and kept by Phoenix) on a streamed call.
    ttft_events=("First Token Stream Event",),
)
