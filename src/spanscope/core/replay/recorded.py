"""A stored model call as the request that was made: messages from the span's shown input, tools and
sampling parameters from the attributes of whichever convention recorded them.

Sources record a call in many shapes; replay needs one, Chat Completions'. Everything that cannot be
carried over (an audio part, tools known only by name, a parameter of the wrong type) is left out and
said in `RecordedCall.notes`, so the user knows where the replay differs from the original call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import count
from typing import Any

from spanscope.core.conventions.messages import openai_chat, split_parts
from spanscope.core.conventions.parse import as_text, json_text, loads
from spanscope.core.endpoints.chat import ChatRequest
from spanscope.core.formats.chat_messages import chat
from spanscope.core.model import Kind, Span, is_messages, message

__all__ = ["RecordedCall", "recorded_call", "recorded_request"]

Message = dict[str, Any]
Tool = dict[str, Any]

#: Roles as sources write them, by the Chat Completions role they stand for.
_ROLES = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "ai": "assistant",
    "model": "assistant",
    "tool": "tool",
    "function": "tool",
}


@dataclass(slots=True)
class RecordedCall:
    """The request, and what of the recorded call it could not carry (one sentence each)."""

    request: ChatRequest
    notes: list[str] = field(default_factory=list)


def recorded_request(span: Span, model: str | None = None, *, trace: Sequence[Span] = ()) -> ChatRequest:
    """The call `span` made, as a request to `model` (None: the span's own model)."""
    return recorded_call(span, model, trace=trace).request


def recorded_call(span: Span, model: str | None = None, *, trace: Sequence[Span] = ()) -> RecordedCall:
    """The call `span` made, as a request to `model` (None: the span's own model), with notes on what
    could not be carried over. ValueError when the span is no model call or no model is known.

    `trace`: the other spans of its trace, when the caller has them; some frameworks record a call's
    tools only on the agent span above it, or define them only on the tool spans (Strands)."""
    if span.kind != Kind.LLM:
        raise ValueError(
            f"span {span.span_id} is a {span.kind.value} span, not a model call: nothing to replay"
        )
    notes: list[str] = []
    attribute_sets = _attribute_sets(span)
    listed_tools: list[Tool] = []
    messages = _messages(_prompt(span) or span.input, notes, listed_tools)
    _drop_recorded_answer(messages, span.output, notes)
    instructions = _instructions(span, attribute_sets)
    if instructions and not any(m["role"] == "system" for m in messages):
        messages.insert(0, message("system", instructions))
    unknown: list[str] = []
    tools = _tools(span, unknown) or listed_tools
    if unknown:
        notes.append(f"the parameters of {', '.join(unknown)} were not recorded: sent with none")
    if not tools:
        said = len(notes)
        tools = _trace_tools(span, trace, notes)
        if len(notes) == said:
            _note_missing_tools(messages, span.output, notes)
    params = _params(span, attribute_sets)
    # "auto" and "none" without tools are what the call did anyway (Vercel writes "auto" always).
    if "tool_choice" in params and not tools and params.pop("tool_choice") not in ("auto", "none"):
        notes.append("tool_choice left out: the call's tools were not recorded")
    chosen = model or span.model or _requested_model(attribute_sets)
    if not chosen and span.input is None:
        raise ValueError(f"span {span.span_id} records neither its input nor its model: nothing to replay")
    if not chosen:
        raise ValueError(f"span {span.span_id} records no model: name the model to replay it with")
    return RecordedCall(ChatRequest(chosen, messages, tools, params), notes)


def _attribute_sets(span: Span) -> list[dict[str, Any]]:
    """The span's attributes, then the OTel attributes a Langfuse export keeps in its metadata."""
    sets = [span.attributes]
    metadata = loads(span.attributes.get("langfuse.observation.metadata"))
    inner = metadata.get("attributes") if isinstance(metadata, dict) else None
    if isinstance(inner, dict):
        sets.append(inner)
    return sets


# --- messages ----------------------------------------------------------------------------------


def _prompt(span: Span) -> str | None:
    """A completion call's one prompt (OpenInference llm.prompts) when its input is no transcript."""
    prompts = loads(span.attributes.get("llm.prompts"))
    if isinstance(prompts, list) and len(prompts) == 1 and type(prompts[0]) is str:
        return None if _transcript(span.input) else prompts[0]
    return None


def _instructions(span: Span, attribute_sets: list[dict[str, Any]]) -> str | None:
    """A Responses API call's `instructions`, its system prompt kept apart from its input items."""
    response = span.output if _key(span.output, "object") == "response" else None
    candidates = [
        _key(attrs.get("langfuse.observation.model.parameters"), "instructions") for attrs in attribute_sets
    ]
    for value in (_key(span.input, "instructions"), *candidates, _key(response, "instructions")):
        if type(value) is str and value:
            return value
    return None


def _messages(value: Any, notes: list[str], listed_tools: list[Tool]) -> list[Message]:
    if value is None:
        notes.append("no input was recorded: the request has no messages")
        return []
    if type(value) is str:
        return [message("user", value)]
    found = _transcript(value)
    if found is None:
        notes.append("the input is not a chat transcript: sent as one user message holding its JSON")
        return [message("user", json_text(value))]
    out = []
    for item in found:
        cleaned = _message(item, notes, listed_tools)
        if cleaned is not None:
            out.append(cleaned)
    return out


def _transcript(value: Any) -> list[Message] | None:
    """The messages an input holds: normalized messages, a request ({messages}, {prompt}), Responses
    API input items, LangChain messages; None when it holds none."""
    if is_messages(value):
        return value
    if isinstance(value, list):
        return _response_items(value) or chat(value)
    if not isinstance(value, dict):
        return None
    found = openai_chat(value, "user") or chat(value)
    if found:
        return found
    for key in ("prompt", "input"):
        inner = value.get(key)
        if type(inner) is str:
            return [message("user", inner)]
        if isinstance(inner, list):
            return _response_items(inner)
    return None


def _response_items(items: list[Any]) -> list[Message] | None:
    """Responses API input: messages ({role, content}) and function_call / function_call_output
    items; consecutive function calls become one assistant message."""
    out: list[Message] = []
    for item in items:
        if not isinstance(item, dict):
            return None
        kind = item.get("type")
        if "role" in item:
            body = item.get("content")
            text = split_parts(body)[0] if isinstance(body, list) else body
            out.append(message(str(item["role"]), text))
        elif kind == "function_call":
            call = _call({**item, "id": item.get("call_id"), "arguments": loads(item.get("arguments"))})
            last = out[-1] if out else None
            if (
                last is not None
                and last["role"] == "assistant"
                and last["tool_calls"]
                and not last["content"]
            ):
                last["tool_calls"].append(call)
            else:
                out.append(message("assistant", None, [call]))
        elif kind == "function_call_output":
            out.append(message("tool", item.get("output"), None, as_text(item.get("call_id"))))
        else:
            return None
    return out or None


def _message(item: Message, notes: list[str], listed_tools: list[Tool]) -> Message | None:
    given = item.get("role")
    role = _ROLES.get(given.lower()) if type(given) is str else None
    if role is None:
        notes.append(f"a message of role {given!r} left out")
        return None
    body = item.get("content")
    if role == "tool" and not item.get("tool_call_id"):
        # Langfuse lists the call's tools in its input as messages of role tool.
        tool = _tool(body)
        if tool is not None:
            listed_tools.append(tool)
            return None
    content = _content(body, notes)
    if role == "tool":
        text = content if type(content) is str else json_text(content)
        return message("tool", text, None, as_text(item.get("tool_call_id")))
    calls = (
        [_call(c) for c in item.get("tool_calls") or () if isinstance(c, dict)] if role == "assistant" else []
    )
    if content is None and not calls:
        content = ""
    return message(role, content, calls)


def _call(call: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": as_text(call.get("id")),
        "name": as_text(call.get("name")),
        "arguments": call.get("arguments"),
    }


def _content(body: Any, notes: list[str]) -> Any:
    """Text, or parts of text and images ({type: image, url}); other parts are left out, noted."""
    if body is None or type(body) is str:
        return body
    if not isinstance(body, list):
        return json_text(body)
    parts: list[dict[str, Any]] = []
    for part in body:
        if type(part) is str:
            parts.append({"type": "text", "text": part})
        elif isinstance(part, dict) and part.get("type") == "text" and type(part.get("text")) is str:
            parts.append({"type": "text", "text": part["text"]})
        elif isinstance(part, dict) and part.get("type") == "image" and type(part.get("url")) is str:
            parts.append({"type": "image", "url": part["url"]})
        else:
            kind = part.get("type") if isinstance(part, dict) else type(part).__name__
            notes.append(f"a {kind} part left out (only text and images are sent)")
    if all(p["type"] == "text" for p in parts):
        return "\n".join(p["text"] for p in parts) if parts else None
    return parts


def _drop_recorded_answer(messages: list[Message], output: Any, notes: list[str]) -> None:
    """Some sources write the call's answer at the end of its input: it is no part of the request."""
    if not messages or messages[-1]["role"] != "assistant" or not is_messages(output):
        return
    last, answer = messages[-1], output[-1]
    same_text = (last["content"] or "") == (answer.get("content") or "")
    same_calls = [(c["name"], c["arguments"]) for c in last["tool_calls"]] == [
        (c.get("name"), c.get("arguments")) for c in answer.get("tool_calls") or () if isinstance(c, dict)
    ]
    if answer.get("role") == "assistant" and same_text and same_calls:
        messages.pop()
        notes.append("the recorded answer, which the source wrote at the end of the input, left out")


# --- tools -------------------------------------------------------------------------------------


def _tool(value: Any, unknown: list[str] | None = None) -> Tool | None:
    """One tool definition as an OpenAI function tool: Chat Completions ({function: {...}}),
    Responses, GenAI and Vercel ({name, parameters | inputSchema}), Anthropic (input_schema),
    Bedrock (toolSpec, inputSchema.json), Pydantic AI (parameters_json_schema). A schema written as
    null (Google ADK without content) is sent empty and its tool's name added to `unknown`."""
    value = loads(value)
    if not isinstance(value, dict):
        return None
    inner = value.get("function") or value.get("toolSpec") or value
    if not isinstance(inner, dict) or type(inner.get("name")) is not str or not inner["name"]:
        return None
    parameters: Any = None
    for key in _SCHEMA_KEYS:
        schema = loads(inner.get(key))
        if isinstance(schema, dict):
            json_schema = schema.get("json")
            parameters = json_schema if len(schema) == 1 and isinstance(json_schema, dict) else schema
            break
    if parameters is None:
        parameters = {"type": "object", "properties": {}}
        if unknown is not None and any(key in inner for key in _SCHEMA_KEYS):
            unknown.append(inner["name"])
    function: dict[str, Any] = {"name": inner["name"]}
    if type(inner.get("description")) is str:
        function["description"] = inner["description"]
    function["parameters"] = parameters
    strict = inner.get("strict", value.get("strict"))
    if type(strict) is bool:
        function["strict"] = strict
    return {"type": "function", "function": function}


_SCHEMA_KEYS = ("parameters", "parameters_json_schema", "input_schema", "inputSchema", "json_schema")


def _tool_list(value: Any, unknown: list[str] | None = None) -> list[Tool]:
    """Tool definitions from a list (its items may be JSON text) or a Gemini tool of declarations."""
    value = loads(value)
    items = value if isinstance(value, list) else [value]
    tools: list[Tool] = []
    for item in items:
        item = loads(item)
        declarations = (
            item.get("function_declarations") or item.get("functionDeclarations")
            if isinstance(item, dict)
            else None
        )
        if isinstance(declarations, list):
            tools += _tool_list(declarations, unknown)
            continue
        tool = _tool(item, unknown)
        if tool is not None:
            tools.append(tool)
    return tools


def _indexed(attrs: dict[str, Any], prefix: str, suffix: str) -> list[Any]:
    """attrs[prefix.0.suffix], attrs[prefix.1.suffix], ... while present."""
    found = []
    for index in count():
        value = attrs.get(f"{prefix}.{index}.{suffix}")
        if value is None:
            return found
        found.append(value)


def _openllmetry_functions(attrs: dict[str, Any]) -> list[dict[str, Any]]:
    """llm.request.functions.N.name|description|parameters."""
    names = _indexed(attrs, "llm.request.functions", "name")
    return [
        {
            "name": name,
            "description": attrs.get(f"llm.request.functions.{i}.description"),
            "parameters": attrs.get(f"llm.request.functions.{i}.parameters"),
        }
        for i, name in enumerate(names)
    ]


def _key(value: Any, *keys: str) -> Any:
    """value[keys[0]][keys[1]]... of a dict or JSON object text; None where a step is missing."""
    for key in keys:
        value = loads(value)
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _tool_sources(span: Span, attrs: dict[str, Any]) -> list[Any]:
    """Where each convention records the tools of a call, most exact first."""
    request_parameters = loads(attrs.get("model_request_parameters"))
    pydantic_tools = (
        [*(request_parameters.get("function_tools") or ()), *(request_parameters.get("output_tools") or ())]
        if isinstance(request_parameters, dict)
        else None
    )
    return [
        _key(attrs.get("inspect.call.request"), "tools"),  # the request body as sent
        _indexed(attrs, "llm.tools", "tool.json_schema"),  # OpenInference
        _key(attrs.get("llm.invocation_parameters"), "tools"),
        _key(attrs.get("llm.invocation_parameters"), "functions"),
        attrs.get("gen_ai.tool.definitions"),  # GenAI (and OpenLLMetry, Vercel 7, Pydantic AI)
        _openllmetry_functions(attrs),
        attrs.get("ai.prompt.tools"),  # Vercel AI SDK
        pydantic_tools,
        attrs.get("openai_agents.tools"),
        attrs.get("inspect.tools"),
        _key(attrs.get("langsmith.request"), "tools"),  # a wrapped client's request
        _key(attrs.get("langsmith.invocation_params"), "tools"),
        _key(attrs.get("langsmith.metadata"), "ls_invocation_params", "tools"),
        attrs.get("tools"),  # MLflow keeps the request's own keys
        attrs.get("mlflow.chat.tools"),
        _key(attrs.get("gcp.vertex.agent.llm_request"), "config", "tools"),  # Google ADK
        _key(attrs.get("langfuse.observation.model.parameters"), "tools"),
        _key(span.input, "tools"),  # a request body kept as the input
        _key(span.output, "tools") if _key(span.output, "object") == "response" else None,
    ]


def _tools(span: Span, unknown: list[str] | None = None) -> list[Tool]:
    """The tools `span` records itself (schemas recorded as null named in `unknown`)."""
    for attrs in _attribute_sets(span):
        for source in _tool_sources(span, attrs):
            if source:
                tools = _tool_list(source, unknown)
                if tools:
                    return tools
    return []


def _tool_names(span: Span) -> list[str]:
    """Tools an agent span names without defining them (GenAI, Mastra, OpenAI Agents, Strands)."""
    for key in ("gen_ai.agent.tools", "gen_ai.tool.definitions", "openai_agents.tools"):
        names = loads(span.attributes.get(key))
        if isinstance(names, list) and names and all(type(n) is str for n in names):
            return names
    return []


def _trace_tools(span: Span, trace: Sequence[Span], notes: list[str]) -> list[Tool]:
    """Tools the call's trace records for it: on the nearest span above it that defines them, else
    those it names there, defined by the trace's tool spans (GenAI gen_ai.tool.json_schema)."""
    by_id = {s.span_id: s for s in trace}
    seen = {span.span_id}
    names = _tool_names(span)
    above = by_id.get(span.parent_id) if span.parent_id else None
    while above is not None and above.span_id not in seen:
        seen.add(above.span_id)
        tools = _tools(above)
        if tools:
            notes.append(f"tools taken from the span above the call, {above.name!r}")
            return tools
        names = names or _tool_names(above)
        above = by_id.get(above.parent_id) if above.parent_id else None
    if not names:
        return []
    defined: dict[str, Tool] = {}
    for other in trace:
        attrs = other.attributes
        name = attrs.get("gen_ai.tool.name")
        schema = loads(attrs.get("gen_ai.tool.json_schema"))
        if type(name) is str and name in names and name not in defined and isinstance(schema, dict):
            tool = _tool(
                {"name": name, "description": attrs.get("gen_ai.tool.description"), "parameters": schema}
            )
            if tool is not None:
                defined[name] = tool
    tools = [defined[name] for name in names if name in defined]
    missing = [name for name in names if name not in defined]
    if tools:
        notes.append(f"tools rebuilt from the trace's tool spans ({', '.join(defined)})")
    if missing:
        notes.append(f"tools recorded by name only ({', '.join(missing)}): sent without them")
    return tools


def _note_missing_tools(messages: list[Message], output: Any, notes: list[str]) -> None:
    """Say so when the call used tools whose definitions were recorded nowhere."""
    answers = output if is_messages(output) else []
    if any(m["tool_calls"] or m["role"] == "tool" for m in messages) or any(
        m.get("tool_calls") for m in answers
    ):
        notes.append("the call used tools but their definitions were not recorded: sent without tools")


# --- parameters --------------------------------------------------------------------------------

#: Parameter names as sources write them, by their Chat Completions name.
_ALIASES = {
    "temperature": "temperature",
    "top_p": "top_p",
    "topP": "top_p",
    "max_tokens": "max_tokens",
    "max_completion_tokens": "max_tokens",
    "max_output_tokens": "max_tokens",
    "maxTokens": "max_tokens",
    "maxOutputTokens": "max_tokens",
    "stop": "stop",
    "stop_sequences": "stop",
    "stopSequences": "stop",
    "seed": "seed",
    "presence_penalty": "presence_penalty",
    "presencePenalty": "presence_penalty",
    "frequency_penalty": "frequency_penalty",
    "frequencyPenalty": "frequency_penalty",
    "tool_choice": "tool_choice",
    "toolChoice": "tool_choice",
    "response_format": "response_format",
    "parallel_tool_calls": "parallel_tool_calls",
    "reasoning_effort": "reasoning_effort",
}


def _number(value: Any) -> float | int | None:
    if type(value) is int or (type(value) is float and value == value and abs(value) != float("inf")):
        return value
    return None


def _count(value: Any) -> int | None:
    if type(value) is float and value.is_integer():
        value = int(value)
    return value if type(value) is int and value > 0 else None


def _stop(value: Any) -> str | list[str] | None:
    if type(value) is str and value:
        return value
    if isinstance(value, list | tuple) and value and all(type(v) is str for v in value):
        return list(value)
    return None


def _tool_choice(value: Any) -> Any:
    """The tool choice as Chat Completions takes it - auto, none, required or {type: function,
    function: {name}} - from its own forms, Vercel's ({type: auto | tool, toolName}) and Anthropic's
    ({type: any | tool, name})."""
    value = loads(value)
    if isinstance(value, dict):
        kind = value.get("type")
        function = value.get("function")
        name = (
            function.get("name") if isinstance(function, dict) else value.get("toolName") or value.get("name")
        )
        if kind in ("function", "tool") and type(name) is str:
            return {"type": "function", "function": {"name": name}}
        value = kind
    if value == "any":
        return "required"
    return value if value in ("auto", "none", "required") else None


def _response_format(value: Any) -> dict[str, Any] | None:
    value = loads(value)
    if isinstance(value, dict) and value.get("type") in ("text", "json_object", "json_schema"):
        return value
    return None


_CHECKS = {
    "temperature": _number,
    "top_p": _number,
    "presence_penalty": _number,
    "frequency_penalty": _number,
    "max_tokens": _count,
    "seed": lambda v: v if type(v) is int else None,
    "stop": _stop,
    "tool_choice": _tool_choice,
    "response_format": _response_format,
    "parallel_tool_calls": lambda v: v if type(v) is bool else None,
    "reasoning_effort": lambda v: v if type(v) is str and v else None,
}


def _prefixed(attrs: dict[str, Any], prefix: str) -> dict[str, Any]:
    return {key[len(prefix) :]: value for key, value in attrs.items() if key.startswith(prefix)}


def _param_sources(span: Span, attrs: dict[str, Any]) -> list[Any]:
    """Where each convention records the parameters of a call, most exact first."""
    metadata = loads(attrs.get("langsmith.metadata"))
    return [
        attrs.get("inspect.call.request"),  # the request body as sent
        attrs.get("llm.invocation_parameters"),  # OpenInference: the request's own keys
        attrs.get("langsmith.request"),
        attrs.get("langsmith.invocation_params"),
        _key(metadata, "ls_invocation_params"),
        _prefixed(metadata, "ls_") if isinstance(metadata, dict) else None,
        _prefixed(attrs, "gen_ai.request."),
        _prefixed(attrs, "llm.request."),  # OpenLLMetry
        _prefixed(attrs, "llm."),
        _prefixed(attrs, "ai.settings."),  # Vercel AI SDK
        {"toolChoice": attrs.get("ai.prompt.toolChoice")},
        attrs.get("openai_agents.model_config"),
        {"tool_choice": attrs.get("inspect.tool_choice")},
        attrs.get("inspect.config"),
        attrs.get("langfuse.observation.model.parameters"),
        _key(attrs.get("gcp.vertex.agent.llm_request"), "config"),
        attrs if "mlflow.spanType" in attrs or "mlflow.spanInputs" in attrs else None,
        span.input,  # a request body kept as the input
        span.output if _key(span.output, "object") == "response" else None,
    ]


def _params(span: Span, attribute_sets: list[dict[str, Any]]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for attrs in attribute_sets:
        for source in _param_sources(span, attrs):
            source = loads(source)
            if not isinstance(source, dict):
                continue
            for key, value in source.items():
                name = _ALIASES.get(key)
                if name is None or name in params:
                    continue
                checked = _CHECKS[name](value)
                if checked is not None:
                    params[name] = checked
    return params


def _requested_model(attribute_sets: list[dict[str, Any]]) -> str | None:
    for attrs in attribute_sets:
        for value in (
            attrs.get("gen_ai.request.model"),
            _key(attrs.get("llm.invocation_parameters"), "model"),
        ):
            if type(value) is str and value:
                return value
    return None
