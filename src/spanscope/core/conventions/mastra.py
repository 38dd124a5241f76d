"""Mastra's `@mastra/otel-exporter`: its own `mastra.*` attributes next to the gen_ai.* ones.

Model, usage, tool arguments and the model call's output are gen_ai.*, read by the GenAI convention.
What only Mastra says is read here, which is why it comes before GenAI: the kind of each of its span
types, the prompt (`mastra.model_step.input` on the step around the `chat` model call, which itself
carries none: the call shows its step's input, `input_from_parent`), the inputs and outputs of agent
runs, generations and steps (AI SDK message shapes), and a model call that failed: Mastra ends every
span OK and reports the failure only as the finish reason `error` (`gen_ai.response.finish_reasons`,
a JSON string here).

Only `model_inference` (`chat MODEL`) is a model call and only it carries usage; the agent run,
generation and step spans around it are agent and chains.
"""

from __future__ import annotations

from typing import Any

from spanscope.core.conventions.base import Convention, Source, TimeUnit, json_source, kind_table
from spanscope.core.conventions.messages import vercel_messages, vercel_tool_calls
from spanscope.core.conventions.parse import Getter, Message, loads
from spanscope.core.model import Kind, message

_AGENT_INPUT = "mastra.agent_run.input"
_INPUTS = ("mastra.model_step.input", "mastra.model_generation.input", _AGENT_INPUT)
_OUTPUTS = ("mastra.model_step.output", "mastra.model_generation.output", "mastra.agent_run.output")


def _messages(value: Any) -> list[Message] | None:
    """AI SDK messages, as a list or as a request {messages: [...]}."""
    value = loads(value)
    if isinstance(value, dict):
        value = value.get("messages")
    return vercel_messages(value)


def _input(attrs: dict[str, Any], get: Getter, found: int) -> list[Message] | None:
    """A step's or generation's messages; an agent run's input text after its instructions."""
    for key in _INPUTS:
        value = get(key)
        if value is None:
            continue
        messages = _messages(value)
        if messages is None and key == _AGENT_INPUT and type(value) is str:
            messages = [message("user", value)]
            system = get("gen_ai.system_instructions")
            if type(system) is str and system[:1] != "[":
                messages.insert(0, message("system", system))
        if messages is not None:
            return messages
    return None


def _output(attrs: dict[str, Any], get: Getter, found: int) -> list[Message] | None:
    """{text, toolCalls?, ...} as one assistant message."""
    for key in _OUTPUTS:
        result = loads(get(key))
        if isinstance(result, dict):
            text = result.get("text")
            calls = vercel_tool_calls(result.get("toolCalls"))
            if type(text) is str or calls:
                content = text if type(text) is str and (text or not calls) else None
                return [message("assistant", content, calls)]
    return None


def _finish_error(attrs: dict[str, Any], get: Getter) -> str | None:
    """A Mastra span whose finish reason is `error` failed, whatever its status says."""
    if "mastra.span.type" not in attrs:
        return None
    reasons = loads(get("gen_ai.response.finish_reasons"))
    if reasons == "error" or (isinstance(reasons, list) and "error" in reasons):
        return "error.message"
    return None


CONVENTION = Convention(
    name="Mastra",
    kinds=(
        (
            "mastra.span.type",
            kind_table(
                {
                    "agent_run": Kind.AGENT,
                    "model_generation": Kind.CHAIN,
                    "model_step": Kind.CHAIN,
                    "model_inference": Kind.LLM,
                    "tool_call": Kind.TOOL,
                    "mcp_tool_call": Kind.TOOL,
                    "workflow_run": Kind.CHAIN,
                    "workflow_step": Kind.CHAIN,
                }
            ),
        ),
    ),
    failure=(("mastra.span.type",), _finish_error),
    chat_input=(Source(_INPUTS, _input),),
    chat_output=(Source(_OUTPUTS, _output),),
    value_output=(json_source("mastra.model_chunk.output"),),
    ttft=(("mastra.completion_start_time", TimeUnit.TIMESTAMP),),
    input_from_parent=(("mastra.span.type", frozenset({"model_inference"})),),
)
