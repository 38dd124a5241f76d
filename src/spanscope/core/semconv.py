"""Map the LLM attribute conventions onto the normalized span fields.

A reader fills a span's raw fields (ids, times, OTel status, flat attributes, events, resource);
`apply` then reads the conventions real instrumentations write - OpenInference, OpenTelemetry GenAI
(all versions), OpenLLMetry/Traceloop and the Langfuse OTel SDK - and fills kind, model, provider,
usage, cost, input/output, session, user and service.

One span may carry several conventions at once (OpenInference plus gen_ai.*): every field takes the
first value found in a fixed order - OpenInference, then GenAI, then OpenLLMetry, then Langfuse - and
values from different conventions are never added. Each convention's usage is normalized first, so
input_tokens always include cached tokens and output_tokens include reasoning tokens.

This runs once per span on the ingest hot path. A table built at import time tells, from the span's
keys, which fields have a source at all (memoized per key layout, which repeats across an
instrumentation's spans); only those fields are looked up, with dict.get on fixed keys. Flattened lists
are read through precomputed keys, and JSON is parsed only for attributes known to hold it. Nothing
here raises on attribute content: values of the wrong shape become None.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from itertools import count
from typing import Any, NamedTuple

import orjson

from spanscope.core.model import Event, Kind, Span, Status, message

__all__ = ["apply", "apply_fields", "derived_io", "openai_chat"]

Message = dict[str, Any]
#: The bound `get` of the attribute dict being read.
Getter = Callable[[str], Any]
_JSONError = orjson.JSONDecodeError
#: Double-encoded JSON is unwrapped at most this many times (a bound, not a format rule).
_MAX_UNWRAP = 4
#: OpenInference message keys are precomputed up to this index; longer lists build keys on the fly.
_PRECOMPUTED = 256
#: Distinct attribute-key layouts remembered by `_present` before the memo starts over.
_MAX_SHAPES = 4096
_SHAPES: dict[tuple[str, ...], int] = {}


# --- kinds -------------------------------------------------------------------------------------


def _kind_table(names: dict[str, Kind]) -> dict[str, Kind]:
    """Accept the lowercase and uppercase spellings real files use."""
    table: dict[str, Kind] = {}
    for name, kind in names.items():
        table[name] = table[name.lower()] = table[name.upper()] = kind
    return table


_KIND_SOURCES = (
    ("openinference.span.kind", _kind_table({kind.value: kind for kind in Kind})),
    (
        "gen_ai.operation.name",
        _kind_table(
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
    (
        "traceloop.span.kind",
        _kind_table({"workflow": Kind.CHAIN, "task": Kind.CHAIN, "agent": Kind.AGENT, "tool": Kind.TOOL}),
    ),
    (
        "llm.request.type",
        _kind_table(
            {"chat": Kind.LLM, "completion": Kind.LLM, "embedding": Kind.EMBEDDING, "rerank": Kind.RERANKER}
        ),
    ),
    (
        "langfuse.observation.type",
        _kind_table(
            {
                "generation": Kind.LLM,
                "embedding": Kind.EMBEDDING,
                "agent": Kind.AGENT,
                "tool": Kind.TOOL,
                "chain": Kind.CHAIN,
                "retriever": Kind.RETRIEVER,
                "evaluator": Kind.EVALUATOR,
                "guardrail": Kind.GUARDRAIL,
                "span": Kind.SPAN,
                "event": Kind.SPAN,
            }
        ),
    ),
)


# --- fixed keys, in precedence order, and which field each one can fill --------------------------

(
    _MODEL,
    _PROVIDER,
    _USAGE_JSON,
    _COST,
    _KIND,
    _SESSION,
    _USER,
    _CHAT_IN,
    _CHAT_OUT,
    _VALUE_IN,
    _VALUE_OUT,
    _STATUS,
    _OI_CONTENTS,
    _OI_CALLS,
    _OI_CALL_ID,
    _OI_NAME,
    *_TOKEN_BITS,
) = (1 << i for i in range(22))
#: Which optional parts any OpenInference message on the span has, so absent ones are not probed.
_OI_FEATURES = _OI_CONTENTS | _OI_CALLS | _OI_CALL_ID | _OI_NAME

_MODEL_KEYS = (
    "llm.model_name",
    "embedding.model_name",
    "gen_ai.response.model",
    "gen_ai.request.model",
    "langfuse.observation.model.name",
)
_PROVIDER_KEYS = ("llm.provider", "llm.system", "gen_ai.provider.name", "gen_ai.system")
_SESSION_KEYS = (
    "session.id",
    "gen_ai.conversation.id",
    "traceloop.association.properties.session_id",
    "langfuse.session.id",
)
_USER_KEYS = ("user.id", "traceloop.association.properties.user_id", "langfuse.user.id")
_COST_KEYS = (
    "llm.cost.total",
    "llm.cost.prompt",
    "llm.cost.completion",
    "gen_ai.usage.cost",
    "langfuse.observation.cost_details",
)
_STATUS_KEYS = ("langfuse.observation.level", "error.type")

#: Token fields and their keys in precedence order; the Langfuse usage_details JSON is the last resort.
_TOKEN_KEYS = {
    "input_tokens": ("llm.token_count.prompt", "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"),
    "output_tokens": (
        "llm.token_count.completion",
        "gen_ai.usage.output_tokens",
        "gen_ai.usage.completion_tokens",
    ),
    "total_tokens": ("llm.token_count.total", "gen_ai.usage.total_tokens", "llm.usage.total_tokens"),
    "cache_read_tokens": (
        "llm.token_count.prompt_details.cache_read",
        "gen_ai.usage.cache_read.input_tokens",
        "gen_ai.usage.cache_read_input_tokens",
    ),
    "cache_write_tokens": (
        "llm.token_count.prompt_details.cache_write",
        "gen_ai.usage.cache_creation.input_tokens",
        "gen_ai.usage.cache_creation_input_tokens",
    ),
    "reasoning_tokens": (
        "llm.token_count.completion_details.reasoning",
        "gen_ai.usage.reasoning.output_tokens",
        "gen_ai.usage.reasoning_tokens",
    ),
}
_TOKEN_FIELDS = tuple(
    (field, bit, keys) for bit, (field, keys) in zip(_TOKEN_BITS, _TOKEN_KEYS.items(), strict=True)
)
_ANY_TOKENS = sum(_TOKEN_BITS) | _USAGE_JSON


def _oi_keys(prefix: str, index: int) -> tuple[str, ...]:
    """The keys of OpenInference message `index`: role, content, the first contents part, the first
    tool call's name and id, tool_call_id, name, and the message prefix."""
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


_OI_INPUT_KEYS = [_oi_keys("llm.input_messages", i) for i in range(_PRECOMPUTED)]
_OI_OUTPUT_KEYS = [_oi_keys("llm.output_messages", i) for i in range(_PRECOMPUTED)]
_OI_INPUT_PROBES = _OI_INPUT_KEYS[0][:3]
_OI_OUTPUT_PROBES = _OI_OUTPUT_KEYS[0][:3]
_DOCUMENT_PROBES = ("retrieval.documents.0.document.id", "retrieval.documents.0.document.content")


def _routes(*groups: tuple[int, tuple[str, ...]]) -> dict[str, int]:
    """Map every key a field can come from to that field's bit (a key may feed several)."""
    routes: dict[str, int] = {}
    for bit, keys in groups:
        for key in keys:
            routes[key] = routes.get(key, 0) | bit
    return routes


_ROUTES = _routes(
    (_MODEL, _MODEL_KEYS),
    (_PROVIDER, _PROVIDER_KEYS),
    (_USAGE_JSON, ("langfuse.observation.usage_details",)),
    *((bit, keys) for _, bit, keys in _TOKEN_FIELDS),
    (_COST, _COST_KEYS),
    (_KIND, tuple(key for key, _ in _KIND_SOURCES)),
    (_SESSION, _SESSION_KEYS),
    (_USER, _USER_KEYS),
    (
        _CHAT_IN,
        (
            *_OI_INPUT_PROBES,
            "gen_ai.input.messages",
            "gen_ai.system_instructions",
            "gen_ai.prompt.0.role",
            "gen_ai.prompt.0.content",
            "gen_ai.prompt",
        ),
    ),
    (
        _CHAT_OUT,
        (
            *_OI_OUTPUT_PROBES,
            "gen_ai.output.messages",
            "gen_ai.completion.0.role",
            "gen_ai.completion.0.content",
            "gen_ai.completion",
        ),
    ),
    (
        _VALUE_IN,
        ("input.value", "traceloop.entity.input", "gen_ai.tool.call.arguments", "langfuse.observation.input"),
    ),
    (
        _VALUE_OUT,
        (
            *_DOCUMENT_PROBES,
            "output.value",
            "traceloop.entity.output",
            "gen_ai.tool.call.result",
            "langfuse.observation.output",
        ),
    ),
    (_STATUS, _STATUS_KEYS),
    (_OI_CONTENTS, tuple(keys[2] for keys in _OI_INPUT_KEYS + _OI_OUTPUT_KEYS)),
    (_OI_CALLS, tuple(key for keys in _OI_INPUT_KEYS + _OI_OUTPUT_KEYS for key in keys[3:5])),
    (_OI_CALL_ID, tuple(keys[5] for keys in _OI_INPUT_KEYS + _OI_OUTPUT_KEYS)),
    (_OI_NAME, tuple(keys[6] for keys in _OI_INPUT_KEYS + _OI_OUTPUT_KEYS)),
)

#: Old GenAI (1.28-1.36) message events and the role each one stands for.
_EVENT_ROLES = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
}
#: Old GenAI (<= 1.26) events: (attribute holding the JSON, is it the input).
_CONTENT_EVENTS = {
    "gen_ai.content.prompt": ("gen_ai.prompt", True),
    "gen_ai.content.completion": ("gen_ai.completion", False),
}


# --- scalar coercion ---------------------------------------------------------------------------


def _int(value: Any) -> int | None:
    """A non-negative token count from an int, integral float or numeric string; else None."""
    kind = type(value)
    if kind is int:
        return value if value >= 0 else None
    if kind is float:
        return int(value) if value >= 0 and value.is_integer() else None
    if kind is str:
        try:
            return _int(int(value))
        except ValueError:
            try:
                return _int(float(value))
            except ValueError:
                return None
    return None


def _float(value: Any) -> float | None:
    """A finite amount from an int, float or numeric string; else None."""
    kind = type(value)
    if kind is float:
        number = value
    elif kind is int or kind is str:
        try:
            number = float(value)
        except (ValueError, OverflowError):
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _text(value: Any) -> str | None:
    """An identifier or name: strings and integers only, never containers or booleans."""
    kind = type(value)
    if kind is str:
        return value or None
    if kind is int:
        return str(value)
    return None


def _first_text(get: Getter, keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = get(key)
        if value is not None:
            value = _text(value)
            if value is not None:
                return value
    return None


def _first_int(get: Getter, keys: tuple[str, ...]) -> int | None:
    for key in keys:
        value = get(key)
        if value is not None:
            value = value if type(value) is int and value >= 0 else _int(value)
            if value is not None:
                return value
    return None


def _first_present(data: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = data.get(key)
        if value is not None:
            return value
    return None


# --- JSON --------------------------------------------------------------------------------------


def _loads(value: Any) -> Any:
    """Parse a JSON string; anything else, or invalid JSON, comes back unchanged."""
    if type(value) is not str:
        return value
    try:
        return orjson.loads(value)
    except _JSONError:
        return value


def _unwrap(value: Any) -> Any:
    """Decode text that looks like JSON, repeatedly: Langfuse and Traceloop double-encode values.

    Text that merely parses as JSON (a bare number, `null`) stays text."""
    for _ in range(_MAX_UNWRAP):
        if type(value) is not str or value[:1] not in ("{", "[", '"'):
            return value
        try:
            value = orjson.loads(value)
        except _JSONError:
            return value
    return value


def _json_text(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return str(value)


# --- content parts (GenAI parts, OpenAI and Anthropic content blocks) --------------------------

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


def _tool_call(call_id: Any, name: Any, arguments: Any) -> dict[str, Any]:
    """Normalized tool call; JSON-string arguments are parsed, other text is kept."""
    return {"id": _text(call_id), "name": _text(name), "arguments": _loads(arguments)}


def _image_url(part: dict[str, Any]) -> str | None:
    url = part.get("url") or part.get("image_url") or part.get("uri")
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


def _split_parts(parts: list[Any]) -> tuple[Any, list[dict[str, Any]], list[ToolResult]]:
    """Split content parts into message content, tool calls and tool results.

    Text parts stay bare strings here; `_content` decides whether the content is text or parts."""
    items: list[Any] = []
    calls: list[dict[str, Any]] = []
    results: list[ToolResult] = []
    for part in parts:
        if type(part) is str:
            items.append(part)
            continue
        if not isinstance(part, dict):
            continue
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
            calls.append(_tool_call(part.get("id") or part.get("call_id"), part.get("name"), arguments))
        elif category == _RESULT:
            call_id = _first_present(part, ("id", "tool_use_id", "call_id"))
            results.append((call_id, _first_present(part, ("response", "result", "content", "output"))))
        elif category == _REASONING:
            items.append({"type": "reasoning", "text": _first_present(part, ("content", "text", "thinking"))})
        else:
            items.append(part)
    return _content(items), calls, results


def _content(items: list[Any]) -> Any:
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
        content = _split_parts(result)[0]
        if type(content) is str:
            return content
    return _json_text(result)


def _role(value: Any, default: str) -> str:
    return value if type(value) is str and value else default


def _emit(
    out: list[Message],
    role: str,
    content: Any,
    calls: list[dict[str, Any]],
    results: list[ToolResult],
    tool_call_id: Any = None,
) -> None:
    """Append one message, then a role "tool" message per tool result that was among its parts."""
    if content is not None or calls or tool_call_id is not None or not results:
        out.append(message(role, content, calls, _text(tool_call_id)))
    for call_id, result in results:
        out.append(message("tool", _result_text(result), None, _text(call_id)))


# --- OpenAI-style messages: Langfuse input/output, old GenAI gen_ai.prompt and message events ----


def _openai_tool_calls(value: Any) -> list[dict[str, Any]]:
    calls = []
    value = _loads(value)
    for call in value if isinstance(value, list) else ():
        if isinstance(call, dict):
            function = call.get("function")
            source = function if isinstance(function, dict) else call
            calls.append(_tool_call(call.get("id"), source.get("name"), source.get("arguments")))
    return calls


def _append_openai(out: list[Message], data: dict[str, Any], default_role: str) -> None:
    """One message {role, content, tool_calls, tool_call_id, function_call}; content may be parts."""
    content = data.get("content")
    calls: list[dict[str, Any]] = []
    results: list[ToolResult] = []
    if isinstance(content, list):
        content, calls, results = _split_parts(content)
    raw_calls = data.get("tool_calls")
    if raw_calls is not None:
        calls += _openai_tool_calls(raw_calls)
    function_call = data.get("function_call")
    if isinstance(function_call, dict):
        calls.append(_tool_call(None, function_call.get("name"), function_call.get("arguments")))
    _emit(out, _role(data.get("role"), default_role), content, calls, results, data.get("tool_call_id"))


def _openai_messages(value: Any, default_role: str) -> list[Message] | None:
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
        _append_openai(out, data, default_role)
    return out


def _legacy_messages(value: Any, default_role: str) -> list[Message] | None:
    """Old GenAI gen_ai.prompt / gen_ai.completion JSON: messages, or choices holding a message."""
    value = _loads(value)
    if type(value) is str:
        return [message(default_role, value)]
    if not isinstance(value, list):
        return None
    out: list[Message] = []
    for item in value:
        if isinstance(item, dict):
            inner = item.get("message")
            _append_openai(out, inner if isinstance(inner, dict) else item, default_role)
    return out or None


def _event_body(attributes: dict[str, Any], role: str) -> dict[str, Any]:
    """The message an event carries: its gen_ai.event.content JSON body, else its own attributes."""
    body = _loads(attributes.get("gen_ai.event.content"))
    body = body if isinstance(body, dict) else attributes
    if role == "tool" and "tool_call_id" not in body and "id" in body:
        return {**body, "tool_call_id": body["id"]}
    return body


def _choice_message(body: dict[str, Any]) -> dict[str, Any]:
    inner = _loads(body.get("message"))
    if isinstance(inner, dict):
        return inner
    return {
        "role": body.get("message.role"),
        "content": body.get("message.content"),
        "tool_calls": body.get("message.tool_calls"),
    }


def _event_messages(events: list[Event]) -> tuple[list[Message] | None, list[Message] | None]:
    """Old GenAI message events: gen_ai.{system,user,assistant,tool}.message and gen_ai.choice
    (1.28-1.36), gen_ai.content.prompt / gen_ai.content.completion (<= 1.26)."""
    inputs: list[Message] = []
    outputs: list[Message] = []
    for event in events:
        name = event.name
        if type(name) is not str or not name.startswith("gen_ai."):
            continue
        attributes = event.attributes if isinstance(event.attributes, dict) else {}
        role = _EVENT_ROLES.get(name)
        if role is not None:
            _append_openai(inputs, _event_body(attributes, role), role)
        elif name == "gen_ai.choice":
            _append_openai(outputs, _choice_message(_event_body(attributes, "assistant")), "assistant")
        elif name in _CONTENT_EVENTS:
            key, is_input = _CONTENT_EVENTS[name]
            messages = _legacy_messages(attributes.get(key), "user" if is_input else "assistant")
            (inputs if is_input else outputs).extend(messages or ())
    return inputs or None, outputs or None


# --- GenAI messages with parts -----------------------------------------------------------------


def _genai_messages(value: Any, default_role: str) -> list[Message]:
    """gen_ai.input.messages / gen_ai.output.messages: a JSON list of {role, parts: [...]}."""
    out: list[Message] = []
    items = _loads(value)
    for item in items if isinstance(items, list) else ():
        if isinstance(item, dict):
            parts = item.get("parts")
            content, calls, results = _split_parts(parts) if isinstance(parts, list) else (None, [], [])
            _emit(out, _role(item.get("role"), default_role), content, calls, results)
    return out


def _system_instructions(value: Any) -> Message | None:
    """gen_ai.system_instructions (a JSON list of parts, or plain text) as a system message."""
    parsed = _loads(value)
    content = _split_parts(parsed)[0] if isinstance(parsed, list) else parsed
    return message("system", content) if type(content) is str or isinstance(content, list) else None


def _genai_input(get: Getter) -> list[Message] | None:
    raw = get("gen_ai.input.messages")
    messages = _genai_messages(raw, "user") if raw is not None else []
    raw = get("gen_ai.system_instructions")
    system = _system_instructions(raw) if raw is not None else None
    if system is not None:
        messages.insert(0, system)
    return messages or None


# --- OpenInference flattened messages ----------------------------------------------------------


def _oi_contents(get: Getter, base: str) -> Any:
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
    return _content(items)


def _oi_tool_calls(get: Getter, base: str) -> list[dict[str, Any]]:
    calls = []
    for k in count():
        call = f"{base}tool_calls.{k}.tool_call."
        call_id = get(call + "id")
        name = get(call + "function.name")
        if call_id is None and name is None:
            break
        calls.append(_tool_call(call_id, name, get(call + "function.arguments")))
    return calls


def _oi_messages(
    get: Getter, table: list[tuple[str, ...]], prefix: str, default_role: str, found: int
) -> list[Message]:
    """llm.input_messages / llm.output_messages, read index by index through precomputed keys.

    `found` says which optional parts occur on the span at all; only those are probed."""
    out: list[Message] = []
    for index in count():
        if index < _PRECOMPUTED:
            keys = table[index]
        else:
            keys, found = _oi_keys(prefix, index), _OI_FEATURES
        role = get(keys[0])
        content = get(keys[1])
        if content is None and found & _OI_CONTENTS and get(keys[2]) is not None:
            content = _oi_contents(get, keys[7])
        calls = None
        if found & _OI_CALLS and (get(keys[3]) is not None or get(keys[4]) is not None):
            calls = _oi_tool_calls(get, keys[7])
        elif role is None and content is None:
            break
        tool_call_id = _text(get(keys[5])) if found & _OI_CALL_ID else None
        entry = message(role if type(role) is str and role else default_role, content, calls, tool_call_id)
        name = _text(get(keys[6])) if found & _OI_NAME else None
        if name is not None:
            entry["name"] = name
        out.append(entry)
    return out


# --- OpenLLMetry flattened messages ------------------------------------------------------------


def _traceloop_content(value: Any) -> tuple[Any, list[dict[str, Any]], list[ToolResult]]:
    """OpenLLMetry writes multimodal content as a JSON list of parts inside the content string."""
    if type(value) is str and value[:1] == "[":
        parsed = _loads(value)
        if isinstance(parsed, list) and parsed and all(isinstance(p, dict) and "type" in p for p in parsed):
            return _split_parts(parsed)
    return value, [], []


def _traceloop_messages(get: Getter, prefix: str, default_role: str) -> list[Message]:
    """gen_ai.prompt.{i}.role|content|tool_call_id|tool_calls.{j}.id|name|arguments."""
    out: list[Message] = []
    for index in count():
        base = f"{prefix}.{index}."
        role = get(base + "role")
        content, calls, results = _traceloop_content(get(base + "content"))
        for j in count():
            call = f"{base}tool_calls.{j}."
            call_id = get(call + "id")
            name = get(call + "name")
            if call_id is None and name is None:
                break
            calls.append(_tool_call(call_id, name, get(call + "arguments")))
        if role is None and content is None and not calls:
            break
        _emit(out, _role(role, default_role), content, calls, results, get(base + "tool_call_id"))
    return out


# --- retrieval documents -----------------------------------------------------------------------


def _documents(get: Getter) -> list[dict[str, Any]]:
    """retrieval.documents.{i}.document.id|content|score|metadata (metadata is a JSON string)."""
    documents = []
    for index in count():
        base = f"retrieval.documents.{index}.document."
        doc_id = get(base + "id")
        content = get(base + "content")
        if doc_id is None and content is None:
            break
        documents.append(
            {
                "id": _text(doc_id),
                "content": content,
                "score": _float(get(base + "score")),
                "metadata": _unwrap(get(base + "metadata")),
            }
        )
    return documents


# --- usage and cost reported as JSON (Langfuse) -------------------------------------------------


def _detail(details: Any, key: str) -> int | None:
    return _int(details.get(key)) if isinstance(details, dict) else None


def _plus_details(usage: dict[str, Any], key: str, prefix: str) -> int | None:
    """Langfuse's own `input`/`output` exclude their detail keys (input_cache_read, output_reasoning)."""
    base = _int(usage.get(key))
    if base is None:
        return None
    return base + sum(
        _int(value) or 0 for name, value in usage.items() if type(name) is str and name.startswith(prefix)
    )


def _raw_io_tokens(usage: dict[str, Any]) -> tuple[int | None, int | None]:
    """Input and output tokens of a raw provider usage object or Langfuse's own keys.

    OpenAI counts cached tokens inside prompt/input tokens; Anthropic's input_tokens and Langfuse's
    `input` do not, so their cache (and other input detail) counts are added back."""
    get = usage.get
    if "prompt_tokens" in usage or "completion_tokens" in usage:
        return _int(get("prompt_tokens")), _int(get("completion_tokens"))
    if "input_tokens" in usage or "output_tokens" in usage:
        input_tokens = _int(get("input_tokens"))
        if input_tokens is not None:
            input_tokens += (_int(get("cache_read_input_tokens")) or 0) + (
                _int(get("cache_creation_input_tokens")) or 0
            )
        return input_tokens, _int(get("output_tokens"))
    input_tokens = _plus_details(usage, "input", "input_")
    if input_tokens is not None:
        input_tokens += (_int(get("cache_read_input_tokens")) or 0) + (
            _int(get("cache_write_input_tokens")) or 0
        )
    return input_tokens, _plus_details(usage, "output", "output_")


def _usage_details(value: Any) -> dict[str, int | None] | None:
    """langfuse.observation.usage_details, normalized to the span's token fields."""
    usage = _unwrap(value)
    if not isinstance(usage, dict):
        return None
    get = usage.get
    input_details = get("prompt_tokens_details") or get("input_tokens_details")
    output_details = get("completion_tokens_details") or get("output_tokens_details")
    cache_read = _detail(input_details, "cached_tokens")
    if cache_read is None:
        cache_read = _first_int(
            get,
            (
                "cache_read_input_tokens",
                "input_cache_read",
                "input_cached_tokens",
                "prompt_details.cache_read",
            ),
        )
    cache_write = _first_int(
        get,
        (
            "cache_creation_input_tokens",
            "cache_write_input_tokens",
            "input_cache_creation",
            "input_cache_write",
        ),
    )
    reasoning = _detail(output_details, "reasoning_tokens")
    if reasoning is None:
        reasoning = _first_int(
            get, ("output_reasoning", "output_reasoning_tokens", "completion_details.reasoning")
        )
    input_tokens, output_tokens = _raw_io_tokens(usage)
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": _first_int(get, ("total_tokens", "total")),
        "cache_read_tokens": cache_read,
        "cache_write_tokens": cache_write,
        "reasoning_tokens": reasoning,
    }


def _cost_details(value: Any) -> float | None:
    """langfuse.observation.cost_details JSON: its total, else the sum of its parts (USD)."""
    costs = _unwrap(value)
    if not isinstance(costs, dict):
        return _float(costs)
    total = _float(costs.get("total"))
    if total is not None:
        return total
    parts = [amount for amount in map(_float, costs.values()) if amount is not None]
    return sum(parts) if parts else None


def _cost(get: Getter) -> float | None:
    """The cost the source reported: OpenInference total (or its parts), gen_ai.usage.cost, Langfuse."""
    cost = _float(get("llm.cost.total"))
    if cost is not None:
        return cost
    prompt, completion = _float(get("llm.cost.prompt")), _float(get("llm.cost.completion"))
    if prompt is not None or completion is not None:
        return (prompt or 0.0) + (completion or 0.0)
    cost = _float(get("gen_ai.usage.cost"))
    if cost is not None:
        return cost
    raw = get("langfuse.observation.cost_details")
    return None if raw is None else _cost_details(raw)


# --- input and output --------------------------------------------------------------------------


def openai_chat(value: Any, default_role: str) -> list[Message] | None:
    """Chat messages in a raw OpenAI-style body - a request ({messages}), a response ({choices:
    [{message}]}), a list of messages or one message - or None; for stores that keep the bodies
    themselves rather than a convention's attributes (MLflow span inputs and outputs)."""
    if isinstance(value, dict) and isinstance(value.get("choices"), list):
        return _legacy_messages(value["choices"], default_role)
    return _openai_messages(value, default_role)


def _genai_output(get: Getter) -> list[Message] | None:
    raw = get("gen_ai.output.messages")
    return None if raw is None else _genai_messages(raw, "assistant")


class _ChatSide(NamedTuple):
    """Where one side of a conversation (input or output) lives in each convention."""

    oi_keys: list[tuple[str, ...]]
    oi_prefix: str
    default_role: str
    genai: Callable[[Getter], list[Message] | None]
    traceloop_prefix: str


_CHAT_INPUT = _ChatSide(_OI_INPUT_KEYS, "llm.input_messages", "user", _genai_input, "gen_ai.prompt")
_CHAT_OUTPUT = _ChatSide(
    _OI_OUTPUT_KEYS, "llm.output_messages", "assistant", _genai_output, "gen_ai.completion"
)


def _chat(side: _ChatSide, attrs: dict[str, Any], get: Getter, found: int) -> list[Message] | None:
    """One side's chat messages from the first convention that has them."""
    if any(probe in attrs for probe in side.oi_keys[0][:3]):
        messages = _oi_messages(get, side.oi_keys, side.oi_prefix, side.default_role, found)
        if messages:
            return messages
    messages = side.genai(get)
    if messages:
        return messages
    prefix = side.traceloop_prefix
    if f"{prefix}.0.role" in attrs or f"{prefix}.0.content" in attrs:
        messages = _traceloop_messages(get, prefix, side.default_role)
        if messages:
            return messages
    raw = get(prefix)
    return None if raw is None else _legacy_messages(raw, side.default_role)


def _mime_value(value: Any, mime: Any) -> Any:
    """OpenInference input.value/output.value: parsed when the mime type says JSON, else the text."""
    return _loads(value) if mime == "application/json" else value


def _langfuse_value(value: Any, default_role: str) -> Any:
    """Langfuse input/output: decoded JSON, as chat messages when it holds OpenAI-style messages."""
    decoded = _unwrap(value)
    messages = _openai_messages(decoded, default_role)
    return decoded if messages is None else messages


#: Where a span without chat messages keeps its input and output, in precedence order, with how
#: each is decoded (Traceloop JSON-encodes entity output twice: decoded until no longer JSON text).
_VALUE_SOURCES: dict[str, tuple[tuple[str, Callable[[Any, Getter], Any]], ...]] = {
    "input": (
        ("input.value", lambda v, get: _mime_value(v, get("input.mime_type"))),
        ("traceloop.entity.input", lambda v, get: _unwrap(_loads(v))),
        ("gen_ai.tool.call.arguments", lambda v, get: _unwrap(v)),
        ("langfuse.observation.input", lambda v, get: _langfuse_value(v, "user")),
    ),
    "output": (
        ("output.value", lambda v, get: _mime_value(v, get("output.mime_type"))),
        ("traceloop.entity.output", lambda v, get: _unwrap(_loads(v))),
        ("gen_ai.tool.call.result", lambda v, get: _unwrap(v)),
        ("langfuse.observation.output", lambda v, get: _langfuse_value(v, "assistant")),
    ),
}


def _first_value(get: Getter, side: str) -> Any:
    for key, decode in _VALUE_SOURCES[side]:
        value = get(key)
        if value is not None:
            return decode(value, get)
    return None


def _value_input(get: Getter) -> Any:
    """Input of a span without chat messages: the first convention's text or JSON value."""
    return _first_value(get, "input")


def _value_output(attrs: dict[str, Any], get: Getter) -> Any:
    """Output of a span without chat messages: retrieved documents, else the first text or JSON value."""
    if _DOCUMENT_PROBES[0] in attrs or _DOCUMENT_PROBES[1] in attrs:
        return _documents(get)
    return _first_value(get, "output")


def _io(attrs: dict[str, Any], events: list[Event], get: Getter, found: int) -> tuple[Any, Any]:
    inputs = _chat(_CHAT_INPUT, attrs, get, found) if found & _CHAT_IN else None
    outputs = _chat(_CHAT_OUTPUT, attrs, get, found) if found & _CHAT_OUT else None
    if (inputs is None or outputs is None) and events:
        event_inputs, event_outputs = _event_messages(events)
        inputs = inputs or event_inputs
        outputs = outputs or event_outputs
    if inputs is None and found & _VALUE_IN:
        inputs = _value_input(get)
    if outputs is None and found & _VALUE_OUT:
        outputs = _value_output(attrs, get)
    return inputs, outputs


def derived_io(attributes: dict[str, Any], events: list[Event]) -> tuple[Any, Any]:
    """A span's input and output as its conventions give them (chat messages, values, retrieved
    documents, content events); None where none does.

    The store derives these when a span is read rather than keeping a second copy of what its
    attributes already hold: building messages is a fifth of what an import spends per span."""
    return _io(attributes, events, attributes.get, _present(attributes))


# --- the span ----------------------------------------------------------------------------------


def _kind(get: Getter) -> Kind | None:
    for key, table in _KIND_SOURCES:
        value = get(key)
        if type(value) is str:
            kind = table.get(value) or table.get(value.lower())
            if kind is not None:
                return kind
    return None


def _apply_tokens(span: Span, get: Getter, found: int) -> None:
    raw = get("langfuse.observation.usage_details") if found & _USAGE_JSON else None
    reported = None if raw is None else _usage_details(raw)
    for field, bit, keys in _TOKEN_FIELDS:
        value = None
        if found & bit:
            for key in keys:
                value = get(key)
                if value is not None:
                    value = value if type(value) is int and value >= 0 else _int(value)
                    if value is not None:
                        break
        if value is None and reported is not None:
            value = reported[field]
        if value is not None:
            setattr(span, field, value)
    if span.total_tokens is None and span.input_tokens is not None and span.output_tokens is not None:
        span.total_tokens = span.input_tokens + span.output_tokens


def _apply_status(span: Span, attrs: dict[str, Any], get: Getter) -> None:
    """Conventions that report an error while the OTel status stays unset."""
    if get("langfuse.observation.level") == "ERROR":
        message_key = "langfuse.observation.status_message"
    elif "gen_ai.operation.name" in attrs and get("error.type") is not None:
        message_key = "error.type"
    else:
        return
    span.status = Status.ERROR
    if span.status_message is None:
        span.status_message = _text(get(message_key))


def _has_usage(span: Span) -> bool:
    return span.input_tokens is not None or span.output_tokens is not None


def _scan(keys: tuple[str, ...]) -> int:
    """Bits of the fields that have at least one source key among `keys`."""
    routes = _ROUTES.get
    found = 0
    for key in keys:
        bit = routes(key)
        if bit is not None:
            found |= bit
    return found


def _present(attrs: dict[str, Any]) -> int:
    """`_scan` memoized per key tuple: spans from one instrumentation repeat the same keys in the same
    order, and hashing the tuple costs half of scanning it. The memo is bounded by clearing it."""
    shape = tuple(attrs)
    found = _SHAPES.get(shape)
    if found is None:
        if len(_SHAPES) >= _MAX_SHAPES:
            _SHAPES.clear()
        found = _SHAPES[shape] = _scan(shape)
    return found


def apply(span: Span) -> None:
    """Fill the span's normalized fields, input and output included, from its attribute
    conventions, in place. Fields no convention provides keep the reader's values."""
    found = apply_fields(span)
    inputs, outputs = _io(span.attributes, span.events, span.attributes.get, found)
    if inputs is not None:
        span.input = inputs
    if outputs is not None:
        span.output = outputs


def apply_fields(span: Span) -> int:
    """`apply` without input and output, for readers whose spans keep them only as attributes and
    events (the store derives them on reading: see derived_io). Returns the conventions found.

    span.attributes is only read."""
    attrs = span.attributes
    get = attrs.get
    found = _present(attrs)
    if found & _MODEL:
        span.model = _first_text(get, _MODEL_KEYS) or span.model
    if found & _PROVIDER:
        span.provider = _first_text(get, _PROVIDER_KEYS) or span.provider
    if found & _ANY_TOKENS:
        _apply_tokens(span, get, found)
    if found & _COST:
        cost = _cost(get)
        if cost is not None:
            span.cost_usd = cost
    kind = _kind(get) if found & _KIND else None
    if kind is not None:
        span.kind = kind
    elif span.kind == Kind.SPAN and span.model and _has_usage(span):
        span.kind = Kind.LLM
    if found & _SESSION:
        span.session_id = _first_text(get, _SESSION_KEYS) or span.session_id
    if found & _USER:
        span.user_id = _first_text(get, _USER_KEYS) or span.user_id
    service = span.resource.get("service.name")
    if service is not None:
        span.service = _text(service) or span.service
    if found & _STATUS and span.status == Status.UNSET:
        _apply_status(span, attrs, get)
    return found
