"""A dataset record as one line of each format.

- `jsonl`, ours: {"id", "input", "expected", "expected_from", "metadata", "link"}, the span's input
  and output in Spanscope's normalized shape (messages: role, content, tool_calls, tool_call_id).
- `inspect`: an Inspect AI `Sample` per line, as `inspect_ai.dataset.json_dataset` reads it: "input"
  (a text, or ChatMessage dicts: system/user/assistant/tool, content a text or text/image parts, an
  assistant's tool calls as {id, function, arguments (an object), type "function"}, a tool message's
  tool_call_id and function), "target" (a text or texts), "id" and "metadata" (ours, with the link).
- `openai-evals`: one {"item": {...}} per line, the rows of an OpenAI Evals API `jsonl` data source
  (`file_content`): "input" a list of Responses input items (messages with role system, developer,
  user or assistant; a tool call as a function_call item, its result as a function_call_output
  item), for an `item_reference` to "item.input"; "ideal" the expected answer (a text or texts); and
  "id" and "metadata" beside them.

Inspect's and OpenAI's targets are text: an expected answer that is messages becomes their text, or,
when it is only tool calls, those calls as JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from spanscope.core.datasets.records import Record
from spanscope.core.model import is_messages
from spanscope.core.presentation.content import compact

FORMATS = ("jsonl", "inspect", "openai-evals")


def _dump(value: dict[str, Any]) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS, default=str)


def jsonl_line(record: Record) -> bytes:
    return _dump(
        {
            "id": record.id,
            "input": record.input,
            "expected": record.expected,
            "expected_from": record.expected_from,
            "metadata": record.metadata,
            "link": record.link,
        }
    )


# --- text of a value -------------------------------------------------------------------------------


def _part_text(part: Any) -> str:
    if isinstance(part, dict):
        return part.get("text") or "" if part.get("type", "text") == "text" else ""
    return compact(part)


def content_text(content: Any) -> str:
    """A message content's text: its text parts joined (images left out)."""
    if content is None:
        return ""
    if isinstance(content, list):
        return "\n".join(t for t in map(_part_text, content) if t)
    return compact(content)


def target_text(expected: Any) -> str | list[str]:
    """The expected answer as the text a grader compares with: texts as they are, messages by their
    text (or their tool calls as JSON when they have no text), any other value as JSON."""
    if isinstance(expected, str):
        return expected
    if isinstance(expected, list) and expected and all(isinstance(e, str) for e in expected):
        return list(expected)
    if is_messages(expected):
        text = "\n".join(t for t in (content_text(m.get("content")) for m in expected) if t)
        if text:
            return text
        calls = [
            {"name": c.get("name"), "arguments": c.get("arguments")}
            for m in expected
            for c in m.get("tool_calls") or ()
        ]
        return compact(calls) if calls else ""
    return compact(expected)


def _arguments(raw: Any) -> tuple[dict[str, Any], str | None]:
    """Tool call arguments as an object, and the parse error when they are not one."""
    if isinstance(raw, dict):
        return raw, None
    if isinstance(raw, str):
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return {}, f"arguments are not JSON: {exc}"
        if isinstance(value, dict):
            return value, None
    if raw is None:
        return {}, None
    return {}, f"arguments are not an object: {compact(raw)}"


def _argument_text(raw: Any) -> str:
    return raw if isinstance(raw, str) else compact({} if raw is None else raw)


# --- Inspect ---------------------------------------------------------------------------------------

_INSPECT_ROLES = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "assistant": "assistant",
    "tool": "tool",
}


def _inspect_content(content: Any) -> str | list[dict[str, Any]]:
    if not isinstance(content, list):
        return content_text(content)
    parts = []
    for part in content:
        if isinstance(part, dict) and part.get("type") == "image" and part.get("url"):
            parts.append({"type": "image", "image": part["url"]})
        elif text := _part_text(part):
            parts.append({"type": "text", "text": text})
    return parts


def inspect_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Normalized messages as Inspect's ChatMessage dicts (a role Inspect lacks becomes user)."""
    names: dict[str, str] = {}
    out = []
    for m in messages:
        role = _INSPECT_ROLES.get(str(m.get("role")).lower(), "user")
        message: dict[str, Any] = {"role": role, "content": _inspect_content(m.get("content"))}
        if role == "assistant" and m.get("tool_calls"):
            calls = []
            for n, call in enumerate(m["tool_calls"]):
                arguments, error = _arguments(call.get("arguments"))
                call_id = call.get("id") or f"call_{len(out)}_{n}"
                names[call_id] = call.get("name") or ""
                calls.append(
                    {
                        "id": call_id,
                        "function": call.get("name") or "",
                        "arguments": arguments,
                        "type": "function",
                    }
                    | ({"parse_error": error} if error else {})
                )
            message["tool_calls"] = calls
        if role == "tool":
            message["tool_call_id"] = m.get("tool_call_id")
            message["function"] = names.get(m.get("tool_call_id") or "")
        out.append(message)
    return out


def inspect_line(record: Record) -> bytes:
    value = record.input
    sample_input = inspect_messages(value) if is_messages(value) else compact(value)
    return _dump(
        {
            "input": sample_input,
            "target": target_text(record.expected),
            "id": record.id,
            "metadata": {**record.metadata, "expected_from": record.expected_from, "link": record.link},
        }
    )


# --- OpenAI evals ----------------------------------------------------------------------------------

_OPENAI_ROLES = {"system": "system", "developer": "developer", "user": "user", "assistant": "assistant"}


def _openai_content(content: Any, role: str) -> str | list[dict[str, Any]]:
    if not isinstance(content, list):
        return content_text(content)
    kind = "output_text" if role == "assistant" else "input_text"
    parts = []
    for part in content:
        if isinstance(part, dict) and part.get("type") == "image" and part.get("url"):
            parts.append({"type": "input_image", "image_url": part["url"]})
        elif text := _part_text(part):
            parts.append({"type": kind, "text": text})
    return parts


def openai_items(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Normalized messages as Responses input items (a role without one becomes user)."""
    items: list[dict[str, Any]] = []
    for m in messages:
        role = str(m.get("role")).lower()
        if role == "tool":
            items.append(
                {
                    "type": "function_call_output",
                    "call_id": m.get("tool_call_id") or "",
                    "output": content_text(m.get("content")),
                }
            )
            continue
        role = _OPENAI_ROLES.get(role, "user")
        content = _openai_content(m.get("content"), role)
        if content or not m.get("tool_calls"):
            items.append({"role": role, "content": content})
        for n, call in enumerate(m.get("tool_calls") or ()):
            items.append(
                {
                    "type": "function_call",
                    "call_id": call.get("id") or f"call_{len(items)}_{n}",
                    "name": call.get("name") or "",
                    "arguments": _argument_text(call.get("arguments")),
                }
            )
    return items


def openai_evals_line(record: Record) -> bytes:
    value = record.input
    items = openai_items(value) if is_messages(value) else [{"role": "user", "content": compact(value)}]
    metadata = {**record.metadata, "expected_from": record.expected_from, "link": record.link}
    return _dump(
        {
            "item": {
                "input": items,
                "ideal": target_text(record.expected),
                "id": record.id,
                "metadata": metadata,
            }
        }
    )


WRITERS: dict[str, Callable[[Record], bytes]] = {
    "jsonl": jsonl_line,
    "inspect": inspect_line,
    "openai-evals": openai_evals_line,
}
