"""Google ADK's own attributes, beside the GenAI ones it writes.

ADK's legacy telemetry (schema 1, `ADK_TELEMETRY_SCHEMA_VERSION_OPT_IN=1`) records each model call on
a `call_llm` span as ADK's request and response in Gemini's shape (`gcp.vertex.agent.llm_request` /
`llm_response`), over a `generate_content` span repeating the same usage (the store counts the inner
one only); tool spans carry `gcp.vertex.agent.tool_call_args` / `tool_response`, and the span of
parallel calls, `execute_tool (merged)`, the responses of all of them. Schema 2 writes only GenAI
attributes, message content only when the app enables it: `content_note` says so where it is absent.
"""

from __future__ import annotations

from typing import Any

from spanscope.core.conventions.base import Convention, Source
from spanscope.core.conventions.messages import emit, split_parts
from spanscope.core.conventions.parse import Getter, Message, loads, unwrap
from spanscope.core.model import message

_REQUEST = "gcp.vertex.agent.llm_request"
_RESPONSE = "gcp.vertex.agent.llm_response"
_ARGS = "gcp.vertex.agent.tool_call_args"
_TOOL_RESPONSE = "gcp.vertex.agent.tool_response"
#: ADK's instrumentation scope, on every span it writes.
SCOPE = "gcp.vertex.agent"
#: What ADK writes where a value is absent (merged tool spans have no arguments of their own).
_ABSENT = frozenset({"N/A", "<not specified>"})
#: Gemini's roles as chat roles.
_ROLES = {"model": "assistant"}

CAPTURE_OFF = (
    "Google ADK recorded no messages on this model call: it records them only when the app enables "
    "content capture (OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=SPAN_ONLY; with ADK's legacy "
    "telemetry, ADK_CAPTURE_MESSAGE_CONTENT_IN_SPANS, and then on the parent call_llm span)."
)
REQUEST_ELIDED = (
    "Google ADK left this model call's request out (gcp.vertex.agent.llm_request is {}): the app "
    "turned content capture off (ADK_CAPTURE_MESSAGE_CONTENT_IN_SPANS)."
)


def _contents(contents: Any, out: list[Message]) -> list[Message]:
    """Gemini contents, [{role: user|model, parts: [{text} | {function_call} | {function_response}]}]."""
    for content in contents if isinstance(contents, list) else ():
        if isinstance(content, dict):
            parts = content.get("parts")
            text, calls, results = split_parts(parts) if isinstance(parts, list) else (None, [], [])
            raw_role = content.get("role")
            chat_role = _ROLES.get(raw_role, raw_role) if type(raw_role) is str and raw_role else "user"
            emit(out, chat_role, text, calls, results)
    return out


def _system(config: Any) -> Message | None:
    """The request's system instruction: text, or a Content with parts."""
    instruction = config.get("system_instruction") if isinstance(config, dict) else None
    if isinstance(instruction, dict):
        parts = instruction.get("parts")
        instruction = split_parts(parts)[0] if isinstance(parts, list) else None
    return message("system", instruction) if type(instruction) is str and instruction else None


def _request(attrs: dict[str, Any], get: Getter, found: int) -> list[Message] | None:
    if _REQUEST not in attrs:
        return None
    request = loads(get(_REQUEST))
    if not isinstance(request, dict):
        return None
    system = _system(request.get("config"))
    return _contents(request.get("contents"), [system] if system else []) or None


def _response(attrs: dict[str, Any], get: Getter, found: int) -> list[Message] | None:
    if _RESPONSE not in attrs:
        return None
    response = loads(get(_RESPONSE))
    content = response.get("content") if isinstance(response, dict) else None
    return _contents([content], []) or None


def _value(raw: Any) -> Any:
    value = unwrap(raw)
    return None if type(value) is str and value in _ABSENT else value


def _args(attrs: dict[str, Any], get: Getter, found: int) -> Any:
    return _value(get(_ARGS)) if _ARGS in attrs else None


def _tool_response(attrs: dict[str, Any], get: Getter, found: int) -> Any:
    """A tool's response; the merged span's list of {id, name, response} as one tool message each."""
    if _TOOL_RESPONSE not in attrs:
        return None
    value = _value(get(_TOOL_RESPONSE))
    if (
        isinstance(value, list)
        and value
        and all(isinstance(item, dict) and "response" in item for item in value)
    ):
        out: list[Message] = []
        emit(out, "tool", None, [], [(item.get("id"), item["response"]) for item in value])
        return out
    return value


def content_note(attributes: dict[str, Any], scope_name: Any) -> str | None:
    """Why an ADK model call has no messages to show, or None when it is not one: capture was off."""
    if scope_name != SCOPE:
        return None
    request = attributes.get(_REQUEST)
    if request == "{}":
        return REQUEST_ELIDED
    content = request or attributes.get("gen_ai.input.messages") or attributes.get("gen_ai.output.messages")
    return None if content else CAPTURE_OFF


CONVENTION = Convention(
    name="Google ADK",
    session=("gcp.vertex.agent.session_id",),
    chat_input=(Source((_REQUEST,), _request),),
    chat_output=(Source((_RESPONSE,), _response),),
    value_input=(Source((_ARGS,), _args),),
    value_output=(Source((_TOOL_RESPONSE,), _tool_response),),
    # The legacy call_llm span names ADK itself as the system; its generate_content child has the provider.
    framework_names=frozenset({SCOPE}),
)
