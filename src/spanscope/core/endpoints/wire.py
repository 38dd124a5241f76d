"""Normalized messages and parameters as the endpoint's protocol wants them: Chat Completions
messages (image parts as image_url, tool calls with JSON-text arguments, tool results by call id) or
a Responses API request (input items, function tools, max_output_tokens).

Recorded calls come from many instrumentations, so roles and parts are taken as they come: a role
another vendor names ("human", "ai", "model") is mapped, parts we cannot send are sent as their text.
"""

from __future__ import annotations

import json
from typing import Any

from spanscope.core.endpoints.chat import ChatRequest

_ROLES = {"human": "user", "ai": "assistant", "model": "assistant", "function": "tool"}
#: Chat Completions parameters a request may carry (anything else recorded is not sent).
CHAT_PARAMS = frozenset(
    {
        "temperature",
        "top_p",
        "max_tokens",
        "max_completion_tokens",
        "stop",
        "seed",
        "presence_penalty",
        "frequency_penalty",
        "tool_choice",
        "response_format",
        "parallel_tool_calls",
        "logit_bias",
        "n",
        "reasoning_effort",
    }
)


def _json_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def _role(message: dict[str, Any]) -> str:
    role = str(message.get("role") or "user").lower()
    return _ROLES.get(role, role)


def _parts(content: Any) -> list[dict[str, Any]]:
    """Content as Chat Completions parts: text and images; other parts as their JSON text."""
    if content is None:
        return []
    if not isinstance(content, list):
        return [{"type": "text", "text": _json_text(content)}]
    parts: list[dict[str, Any]] = []
    for part in content:
        if isinstance(part, str):
            parts.append({"type": "text", "text": part})
        elif isinstance(part, dict) and part.get("type") == "text":
            parts.append({"type": "text", "text": _json_text(part.get("text", ""))})
        elif isinstance(part, dict) and part.get("type") == "image" and isinstance(part.get("url"), str):
            parts.append({"type": "image_url", "image_url": {"url": part["url"]}})
        else:
            parts.append({"type": "text", "text": _json_text(part)})
    return parts


def _flat_text(content: Any) -> str:
    """Content as one text, for roles whose content servers take only as text."""
    return "".join(p["text"] for p in _parts(content) if p["type"] == "text")


def _content(content: Any, role: str) -> Any:
    if isinstance(content, str):
        return content
    parts = _parts(content)
    if role == "user" and any(p["type"] == "image_url" for p in parts):
        return parts
    return "".join(p.get("text", "") for p in parts)


def chat_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Normalized messages as Chat Completions messages."""
    out: list[dict[str, Any]] = []
    for number, message in enumerate(messages):
        role = _role(message)
        if role == "tool":
            out.append(
                {
                    "role": "tool",
                    "tool_call_id": str(message.get("tool_call_id") or f"call_{number}"),
                    "content": _flat_text(message.get("content")),
                }
            )
            continue
        item: dict[str, Any] = {"role": role, "content": _content(message.get("content"), role)}
        calls = message.get("tool_calls") or []
        if role == "assistant" and calls:
            item["tool_calls"] = [
                {
                    "id": str(call.get("id") or f"call_{number}_{index}"),
                    "type": "function",
                    "function": {
                        "name": str(call.get("name") or ""),
                        "arguments": _json_text(call.get("arguments") or {}),
                    },
                }
                for index, call in enumerate(calls)
            ]
            item["content"] = item["content"] or None
        out.append(item)
    return out


def chat_params(params: dict[str, Any]) -> dict[str, Any]:
    """The parameters Chat Completions takes, others left out."""
    return {key: value for key, value in params.items() if key in CHAT_PARAMS and value is not None}


def _responses_tool(tool: dict[str, Any]) -> dict[str, Any]:
    function = tool.get("function") or {}
    return {
        "type": "function",
        "name": function.get("name", ""),
        "description": function.get("description"),
        "parameters": function.get("parameters") or {"type": "object", "properties": {}},
    }


def _responses_tool_choice(choice: Any) -> Any:
    """Chat Completions' `{type: function, function: {name}}` is `{type: function, name}` there."""
    if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        return {"type": "function", "name": choice["function"].get("name", "")}
    return choice


def responses_request(request: ChatRequest) -> dict[str, Any]:
    """The request for the Responses API: messages as input items (tool calls and results as
    function_call / function_call_output items), its own names for tools and max tokens."""
    items: list[dict[str, Any]] = []
    for number, message in enumerate(request.messages):
        role = _role(message)
        if role == "tool":
            items.append(
                {
                    "type": "function_call_output",
                    "call_id": str(message.get("tool_call_id") or f"call_{number}"),
                    "output": _flat_text(message.get("content")),
                }
            )
            continue
        kind = "output_text" if role == "assistant" else "input_text"
        parts = [
            {"type": "input_image", "image_url": p["image_url"]["url"]}
            if p["type"] == "image_url"
            else {"type": kind, "text": p["text"]}
            for p in _parts(message.get("content"))
        ]
        if parts:
            items.append({"role": role, "content": parts})
        for index, call in enumerate(message.get("tool_calls") or []):
            items.append(
                {
                    "type": "function_call",
                    "call_id": str(call.get("id") or f"call_{number}_{index}"),
                    "name": str(call.get("name") or ""),
                    "arguments": _json_text(call.get("arguments") or {}),
                }
            )
    params = chat_params(request.params)
    body: dict[str, Any] = {"model": request.model, "input": items}
    for key in ("temperature", "top_p", "parallel_tool_calls"):
        if key in params:
            body[key] = params[key]
    if "tool_choice" in params:
        body["tool_choice"] = _responses_tool_choice(params["tool_choice"])
    most = params.get("max_completion_tokens", params.get("max_tokens"))
    if most is not None:
        body["max_output_tokens"] = most
    if request.tools:
        body["tools"] = [_responses_tool(tool) for tool in request.tools]
    return body
