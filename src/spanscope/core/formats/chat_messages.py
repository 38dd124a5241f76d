"""Chat messages as LangChain and the OpenAI SDK write them, turned into normalized messages.

LangSmith runs and Langfuse exports hold model inputs and outputs in the caller's own shapes:
LangChain messages serialized (`{"lc": 1, "id": [..., "AIMessage"], "kwargs": {...}}`) or as dicts
(`{"type": "ai", "content": ..., "tool_calls": [...]}`), OpenAI messages (`{"role": ...}`), and
wrappers around them (`{"messages": [...]}`, LLMResult `generations`, chat completion `choices`).
"""

from __future__ import annotations

from typing import Any

import orjson

from spanscope.core.model import message

Message = dict[str, Any]

#: LangChain message classes and `type` values, by the role they stand for.
_ROLES = {
    "HumanMessage": "user",
    "HumanMessageChunk": "user",
    "human": "user",
    "AIMessage": "assistant",
    "AIMessageChunk": "assistant",
    "ai": "assistant",
    "SystemMessage": "system",
    "SystemMessageChunk": "system",
    "system": "system",
    "ToolMessage": "tool",
    "ToolMessageChunk": "tool",
    "tool": "tool",
    "FunctionMessage": "tool",
    "function": "tool",
    "ChatMessage": "",
    "chat": "",
}
#: Wrapper keys whose single value may be the messages (LangChain runnables' {"input": ...}).
_WRAPPERS = ("input", "output")


def chat(value: Any) -> list[Message] | None:
    """The messages `value` holds, or None when it is not (only) chat messages."""
    if isinstance(value, list):
        return _message_list(value)
    if not isinstance(value, dict):
        return None
    single = _message(value)
    if single is not None:
        return [single]
    messages = value.get("messages")
    if isinstance(messages, list):
        return _message_list(messages)
    if isinstance(value.get("generations"), list):
        return _generations(value["generations"])
    if isinstance(value.get("choices"), list):
        return _choices(value["choices"])
    if len(value) == 1:
        key, inner = next(iter(value.items()))
        if key in _WRAPPERS:
            return chat(inner)
    return None


def _message_list(items: list[Any]) -> list[Message] | None:
    """A list of messages, or a batch of them (LangChain chat model inputs are [[...]])."""
    if items and all(isinstance(item, list) for item in items):
        out: list[Message] = []
        for inner in items:
            found = _message_list(inner)
            if found is None:
                return None
            out += found
        return out or None
    out = [_message(item) for item in items]
    return None if not out or any(m is None for m in out) else out  # type: ignore[return-value]


def _generations(batches: list[Any]) -> list[Message] | None:
    """LLMResult generations: [[{message: ...} or {text: ...}]]."""
    out: list[Message] = []
    for batch in batches:
        for generation in batch if isinstance(batch, list) else ():
            if not isinstance(generation, dict):
                return None
            found = _message(generation.get("message")) if "message" in generation else None
            if found is None and isinstance(generation.get("text"), str):
                found = message("assistant", generation["text"])
            if found is None:
                return None
            out.append(found)
    return out or None


def _choices(choices: list[Any]) -> list[Message] | None:
    out = [_message(c.get("message") or c.get("delta")) for c in choices if isinstance(c, dict)]
    return None if not out or any(m is None for m in out) else out  # type: ignore[return-value]


def _message(data: Any) -> Message | None:
    """One message in any of the shapes above, or None if `data` is not a message."""
    if not isinstance(data, dict):
        return None
    if data.get("lc") == 1 and isinstance(data.get("id"), list) and isinstance(data.get("kwargs"), dict):
        role = _ROLES.get(str(data["id"][-1]) if data["id"] else "")
        return None if role is None else _langchain(data["kwargs"], role)
    if isinstance(data.get("role"), str) and ("content" in data or "tool_calls" in data):
        return _langchain(data, data["role"])
    kind = data.get("type")
    if isinstance(kind, str) and kind in _ROLES and "content" in data:
        return _langchain(data, _ROLES[kind])
    return None


def _langchain(data: dict[str, Any], role: str) -> Message:
    extra = data.get("additional_kwargs")
    calls = _tool_calls(data.get("tool_calls"))
    if not calls and isinstance(extra, dict):
        calls = _tool_calls(extra.get("tool_calls"))
    role = role or str(data.get("role") or "user")
    if role == "human":
        role = "user"
    return message(role, _content(data.get("content")), calls, _text(data.get("tool_call_id")))


def _content(content: Any) -> Any:
    """Text when every part is text, else the parts as written."""
    if not isinstance(content, list):
        return content
    texts = []
    for part in content:
        if isinstance(part, str):
            texts.append(part)
        elif isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        else:
            return content
    return "\n".join(texts)


def _tool_calls(raw: Any) -> list[dict[str, Any]]:
    """LangChain calls {id, name, args} or OpenAI calls {id, function: {name, arguments}}."""
    calls = []
    for call in raw if isinstance(raw, list) else ():
        if not isinstance(call, dict):
            continue
        function = call.get("function")
        if isinstance(function, dict):
            name, arguments = function.get("name"), _parsed(function.get("arguments"))
        else:
            name, arguments = (
                call.get("name"),
                call["args"] if "args" in call else _parsed(call.get("arguments")),
            )
        calls.append({"id": _text(call.get("id")), "name": _text(name), "arguments": arguments})
    return calls


def _parsed(value: Any) -> Any:
    """JSON-encoded arguments decoded; other text kept as it is."""
    if isinstance(value, str):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
