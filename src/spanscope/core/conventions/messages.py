"""Chat-message shapes several conventions share: content parts (GenAI parts, OpenAI and Anthropic
content blocks) and OpenAI-style messages (Langfuse input/output, old GenAI JSON and events, stores
that keep raw request and response bodies).

Everything becomes `model.message` dicts: text content stays a string, other parts become a list of
{type: ...} dicts, tool calls are normalized, and tool results inside a message's parts become
messages of role "tool" of their own.
"""

from __future__ import annotations

from typing import Any

from spanscope.core.conventions.parse import Message, as_text, first_present, json_text, loads
from spanscope.core.model import message

__all__ = [
    "block_list",
    "emit",
    "openai_chat",
    "openai_list",
    "openai_messages",
    "split_parts",
    "tool_call",
    "typed_block",
    "vercel_messages",
    "vercel_tool_calls",
]

_TEXT, _IMAGE, _MEDIA, _CALL, _RESULT, _REASONING = range(6)
_PART_TYPES = {
    "text": _TEXT,
    "input_text": _TEXT,
    "output_text": _TEXT,
    "image": _IMAGE,
    "image_url": _IMAGE,
    "input_image": _IMAGE,
    "uri": _MEDIA,
    "blob": _MEDIA,
    "tool_call": _CALL,
    "tool_use": _CALL,
    "function_call": _CALL,
    "tool_call_response": _RESULT,
    "tool_result": _RESULT,
    "function_call_output": _RESULT,
    "reasoning": _REASONING,
    "thinking": _REASONING,
}
ToolResult = tuple[Any, Any]


def tool_call(call_id: Any, name: Any, arguments: Any) -> dict[str, Any]:
    """Normalized tool call; JSON-string arguments are parsed, other text is kept."""
    return {"id": as_text(call_id), "name": as_text(name), "arguments": loads(arguments)}


def _image_url(part: dict[str, Any]) -> str | None:
    """The image's address: OpenAI's `image_url` (text or {url}), GenAI's `uri`, or Anthropic's
    `source` ({type: base64, media_type, data} as a data URL, or {type: url, url})."""
    url = part.get("url") or part.get("image_url") or part.get("uri")
    source = part.get("source")
    if url is None and isinstance(source, dict):
        data, media_type = source.get("data"), source.get("media_type")
        if source.get("type") == "base64" and type(data) is str:
            return f"data:{media_type if type(media_type) is str else 'image'};base64,{data}"
        url = source.get("url")
    if isinstance(url, dict):
        url = url.get("url")
    return url if type(url) is str else None


def _media_part(part: dict[str, Any]) -> dict[str, Any]:
    """GenAI uri/blob parts: images become {type: image, url}; other media are kept as written."""
    if part.get("modality") != "image":
        return part
    if part.get("type") == "uri":
        return {"type": "image", "url": _image_url(part)}
    return {"type": "image", "url": f"data:{part.get('mime_type') or 'image'};base64,{part.get('content')}"}


def split_parts(parts: list[Any]) -> tuple[Any, list[dict[str, Any]], list[ToolResult]]:
    """Split content parts into message content, tool calls and tool results.

    Text parts stay bare strings here; `content` decides whether the content is text or parts."""
    items: list[Any] = []
    calls: list[dict[str, Any]] = []
    results: list[ToolResult] = []
    for part in parts:
        if type(part) is str:
            items.append(part)
            continue
        if not isinstance(part, dict):
            continue
        if "type" not in part:
            part = typed_block(part)
        part_type = part.get("type")
        category = _PART_TYPES.get(part_type) if type(part_type) is str else None
        if category == _TEXT:
            text = part.get("text")
            items.append(part.get("content") if text is None else text)
        elif category == _IMAGE:
            items.append({"type": "image", "url": _image_url(part)})
        elif category == _MEDIA:
            items.append(_media_part(part))
        elif category == _CALL:
            arguments = part["arguments"] if "arguments" in part else part.get("input")
            calls.append(tool_call(part.get("id") or part.get("call_id"), part.get("name"), arguments))
        elif category == _RESULT:
            call_id = first_present(part, ("id", "tool_use_id", "call_id"))
            results.append((call_id, first_present(part, ("response", "result", "content", "output"))))
        elif category == _REASONING:
            items.append({"type": "reasoning", "text": first_present(part, ("content", "text", "thinking"))})
        else:
            items.append(part)
    return content(items), calls, results


def content(items: list[Any]) -> Any:
    """Text when every part is text (the common case), else the list of parts ({type: text, text}).

    Text parts arrive as bare values; every other part is a dict."""
    if len(items) == 1 and type(items[0]) is str:
        return items[0]
    if all(type(item) is not dict for item in items):
        texts = [item for item in items if type(item) is str]
        return "\n".join(texts) if texts else None
    return [item if type(item) is dict else {"type": "text", "text": item} for item in items]


def _result_text(result: Any) -> Any:
    """A tool result as message text (structured results are shown as JSON)."""
    if result is None or type(result) is str:
        return result
    if isinstance(result, list):
        text = split_parts(result)[0]
        if type(text) is str:
            return text
    return json_text(result)


def role(value: Any, default: str) -> str:
    return value if type(value) is str and value else default


def emit(
    out: list[Message],
    role: str,
    content: Any,
    calls: list[dict[str, Any]],
    results: list[ToolResult],
    tool_call_id: Any = None,
) -> None:
    """Append one message, then a role "tool" message per tool result that was among its parts."""
    if content is not None or calls or tool_call_id is not None or not results:
        out.append(message(role, content, calls, as_text(tool_call_id)))
    for call_id, result in results:
        out.append(message("tool", _result_text(result), None, as_text(call_id)))


# --- OpenAI-style messages ---------------------------------------------------------------------


def _openai_tool_calls(value: Any) -> list[dict[str, Any]]:
    calls = []
    value = loads(value)
    for call in value if isinstance(value, list) else ():
        if isinstance(call, dict):
            function = call.get("function")
            source = function if isinstance(function, dict) else call
            calls.append(tool_call(call.get("id"), source.get("name"), source.get("arguments")))
    return calls


def append_openai(out: list[Message], data: dict[str, Any], default_role: str) -> None:
    """One message {role, content, tool_calls, tool_call_id, function_call}; content may be parts."""
    body = data.get("content")
    calls: list[dict[str, Any]] = []
    results: list[ToolResult] = []
    if isinstance(body, list):
        body, calls, results = split_parts(body)
    raw_calls = data.get("tool_calls")
    if raw_calls is not None:
        calls += _openai_tool_calls(raw_calls)
    function_call = data.get("function_call")
    if isinstance(function_call, dict):
        calls.append(tool_call(None, function_call.get("name"), function_call.get("arguments")))
    emit(out, role(data.get("role"), default_role), body, calls, results, data.get("tool_call_id"))


def openai_messages(value: Any, default_role: str) -> list[Message] | None:
    """Chat messages from a list of message dicts, a {messages: [...]} request, or one message."""
    if isinstance(value, dict):
        if isinstance(value.get("messages"), list):
            value = value["messages"]
        elif "role" in value and ("content" in value or "tool_calls" in value):
            value = [value]
        else:
            return None
    if not isinstance(value, list) or not value:
        return None
    if not all(isinstance(item, dict) and "role" in item for item in value):
        return None
    out: list[Message] = []
    for data in value:
        append_openai(out, data, default_role)
    return out


def openai_list(value: Any, default_role: str) -> list[Message] | None:
    """A JSON list of messages, or of choices holding a message (old GenAI gen_ai.prompt and
    gen_ai.completion, OpenAI response choices); plain text is one message."""
    value = loads(value)
    if type(value) is str:
        return [message(default_role, value)]
    if not isinstance(value, list):
        return None
    out: list[Message] = []
    for item in value:
        if isinstance(item, dict):
            inner = item.get("message")
            append_openai(out, inner if isinstance(inner, dict) else item, default_role)
    return out or None


def openai_chat(value: Any, default_role: str) -> list[Message] | None:
    """Chat messages in a raw OpenAI-style body - a request ({messages}), a response ({choices:
    [{message}]}), a list of messages or one message - or None; for stores that keep the bodies
    themselves rather than a convention's attributes (MLflow span inputs and outputs)."""
    if isinstance(value, dict) and isinstance(value.get("choices"), list):
        return openai_list(value["choices"], default_role)
    return openai_messages(value, default_role)


# --- Vercel AI SDK messages --------------------------------------------------------------------
# The AI SDK's ModelMessage (also written by Mastra): content is text or a list of parts with
# hyphenated types; v4 writes tool-call `args` and tool-result `result`, v5 on `input` and `output`
# ({type: json | text | error-text | error-json | content, value}).


def _vercel_media(part: dict[str, Any], key: str) -> dict[str, Any]:
    """An image (or image file) part as {type: image, url}; other files are kept as written."""
    media_type = part.get("mediaType") or part.get("mimeType")
    data = part.get(key)
    is_image = key == "image" or (type(media_type) is str and media_type.startswith("image/"))
    if not is_image or type(data) is not str:
        return part
    if data.startswith(("http://", "https://", "data:")):
        return {"type": "image", "url": data}
    return {"type": "image", "url": f"data:{media_type or 'image'};base64,{data}"}


def _vercel_result(part: dict[str, Any]) -> Any:
    """A tool result's value: v4 `result`, or the value of v5's typed `output`."""
    if "result" in part:
        return part["result"]
    output = part.get("output")
    if isinstance(output, dict) and "type" in output:
        return output.get("value", output.get("reason"))
    return output


def _vercel_parts(parts: list[Any]) -> tuple[Any, list[dict[str, Any]], list[ToolResult]]:
    items: list[Any] = []
    calls: list[dict[str, Any]] = []
    results: list[ToolResult] = []
    for part in parts:
        if not isinstance(part, dict):
            continue
        part_type = part.get("type")
        if part_type == "text":
            items.append(part.get("text"))
        elif part_type == "tool-call":
            arguments = part["input"] if "input" in part else part.get("args")
            calls.append(tool_call(part.get("toolCallId"), part.get("toolName"), arguments))
        elif part_type == "tool-result":
            results.append((part.get("toolCallId"), _vercel_result(part)))
        elif part_type == "reasoning":
            items.append({"type": "reasoning", "text": part.get("text")})
        elif part_type == "image":
            items.append(_vercel_media(part, "image"))
        elif part_type == "file":
            items.append(_vercel_media(part, "data"))
        else:
            items.append(part)
    return content(items), calls, results


def vercel_tool_calls(value: Any) -> list[dict[str, Any]]:
    """AI SDK tool calls: [{toolCallId, toolName, input}] (v5 on) or [{..., args}] (v4: JSON text)."""
    calls = loads(value)
    return [
        tool_call(
            call.get("toolCallId"),
            call.get("toolName"),
            call["input"] if "input" in call else call.get("args"),
        )
        for call in (calls if isinstance(calls, list) else ())
        if isinstance(call, dict)
    ]


def vercel_messages(value: Any) -> list[Message] | None:
    """A JSON list of AI SDK messages ({role, content: text | parts}); None if it is not one."""
    value = loads(value)
    if not isinstance(value, list):
        return None
    out: list[Message] = []
    for item in value:
        if not isinstance(item, dict):
            continue
        body = item.get("content")
        calls: list[dict[str, Any]] = []
        results: list[ToolResult] = []
        if isinstance(body, list):
            body, calls, results = _vercel_parts(body)
        emit(out, role(item.get("role"), "user"), body, calls, results)
    return out or None


# --- content blocks named by their key ---------------------------------------------------------

#: Blocks without a `type`, named by their one key instead - Bedrock Converse (which Strands writes)
#: and Gemini (which Google ADK writes): the part type, then the block's keys of id, name and payload.
_KEYED_BLOCKS = {
    "toolUse": ("tool_call", "toolUseId", "name", "input"),
    "function_call": ("tool_call", "id", "name", "args"),
    "functionCall": ("tool_call", "id", "name", "args"),
    "toolResult": ("tool_call_response", "toolUseId", "name", "content"),
    "function_response": ("tool_call_response", "id", "name", "response"),
    "functionResponse": ("tool_call_response", "id", "name", "response"),
}
_BLOCK_KEYS = frozenset({"text", *_KEYED_BLOCKS})


def typed_block(part: dict[str, Any]) -> dict[str, Any]:
    """A Converse or Gemini block as the typed part `split_parts` reads ({"text": t} a text part,
    {"toolUse": {...}} a tool call, {"toolResult": {...}} a tool result); other dicts as they are."""
    text = part.get("text")
    if type(text) is str:
        return {"type": "text", "content": text}
    for key, (part_type, id_key, name_key, payload_key) in _KEYED_BLOCKS.items():
        block = part.get(key)
        if isinstance(block, dict):
            payload = "arguments" if part_type == "tool_call" else "result"
            return {
                "type": part_type,
                "id": block.get(id_key),
                "name": block.get(name_key),
                payload: block.get(payload_key),
            }
    return part


def block_list(value: Any) -> list[dict[str, Any]] | None:
    """Message content written as a JSON string of Converse blocks (Strands' message events): the
    blocks, else None; text that only looks like JSON stays text."""
    parsed = loads(value)
    if not isinstance(parsed, list) or not parsed:
        return None
    for block in parsed:
        if not isinstance(block, dict) or len(block) != 1 or next(iter(block)) not in _BLOCK_KEYS:
            return None
    return parsed
