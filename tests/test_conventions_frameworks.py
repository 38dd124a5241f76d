"""The pieces of the conventions agent frameworks need, on hand-written attributes: content blocks named by
their key (Converse, Gemini), operation-details events, framework names in provider keys, helper spans
marked as model calls."""

from __future__ import annotations

import json

from spanscope.core import conventions
from spanscope.core.model import Event, Kind, Span, message


def applied(attributes: dict, name: str = "span", events: list[Event] | None = None) -> Span:
    span = Span("t" * 32, "s" * 16, None, name, 1, attributes=attributes, events=events or [])
    conventions.apply_fields(span)
    span.input, span.output = conventions.derived_io(span.attributes, span.events)
    return span


def test_converse_blocks_in_message_events_become_messages_with_tool_calls_and_results():
    use = {"toolUse": {"toolUseId": "c1", "name": "get_weather", "input": {"city": "Paris"}}}
    result = {"toolResult": {"toolUseId": "c1", "status": "success", "content": [{"text": "sunny"}]}}
    events = [
        Event("gen_ai.user.message", None, {"content": json.dumps([{"text": "Weather?"}])}),
        Event("gen_ai.assistant.message", None, {"content": json.dumps([use])}),
        Event("gen_ai.tool.message", None, {"content": json.dumps([result])}),
        Event(
            "gen_ai.choice",
            None,
            {"message": json.dumps([{"text": "It is sunny."}]), "finish_reason": "end_turn"},
        ),
    ]
    span = applied({"gen_ai.operation.name": "chat"}, events=events)
    assert span.input == [
        message("user", "Weather?"),
        message("assistant", None, [{"id": "c1", "name": "get_weather", "arguments": {"city": "Paris"}}]),
        message("tool", "sunny", None, "c1"),
    ]
    assert span.output == [message("assistant", "It is sunny.")]


def test_text_that_only_looks_like_json_stays_text():
    events = [
        Event("gen_ai.user.message", None, {"content": "[1, 2]"}),
        Event("gen_ai.user.message", None, {"content": '[{"text": "a", "other": 1}]'}),
    ]
    span = applied({"gen_ai.operation.name": "chat"}, events=events)
    assert [m["content"] for m in span.input] == ["[1, 2]", '[{"text": "a", "other": 1}]']


def test_operation_details_events_carry_system_input_and_output():
    parts = [{"role": "user", "parts": [{"type": "text", "content": "Hi"}]}]
    events = [
        Event(
            "gen_ai.client.inference.operation.details", None, {"gen_ai.input.messages": json.dumps(parts)}
        ),
        Event(
            "gen_ai.client.inference.operation.details",
            None,
            {"gen_ai.system_instructions": json.dumps([{"type": "text", "content": "Be brief."}])},
        ),
        Event(
            "gen_ai.client.inference.operation.details",
            None,
            {
                "gen_ai.output.messages": json.dumps(
                    [{"role": "assistant", "parts": [{"type": "text", "content": "Hello"}]}]
                )
            },
        ),
    ]
    span = applied({"gen_ai.operation.name": "chat"}, events=events)
    assert span.input == [message("system", "Be brief."), message("user", "Hi")]
    assert span.output == [message("assistant", "Hello")]


def test_a_framework_named_as_provider_is_no_provider_and_the_next_key_counts():
    assert applied({"gen_ai.system": "strands-agents", "gen_ai.request.model": "gpt-4o"}).provider is None
    assert applied({"gen_ai.provider.name": "strands-agents", "gen_ai.system": "openai"}).provider == "openai"
    assert applied({"gen_ai.system": "gcp.vertex.agent"}).provider is None
    assert applied({"gen_ai.system": "openai"}).provider == "openai"


def test_a_helper_marked_as_a_model_call_is_a_step():
    attributes = {"openinference.span.kind": "LLM", "llm.model_name": "gpt-4o"}
    assert applied(attributes, "OpenAI._prepare_chat_with_tools").kind is Kind.CHAIN
    assert applied(attributes, "OpenAI.astream_chat").kind is Kind.LLM


def test_gemini_contents_of_adk_legacy_requests_and_responses():
    request = {
        "config": {"system_instruction": "Be brief."},
        "contents": [
            {"role": "user", "parts": [{"text": "Weather?"}]},
            {
                "role": "model",
                "parts": [{"function_call": {"id": "c1", "name": "get_weather", "args": {"city": "Paris"}}}],
            },
            {
                "role": "user",
                "parts": [{"function_response": {"id": "c1", "name": "get_weather", "response": {"t": 21}}}],
            },
        ],
    }
    response = {"content": {"role": "model", "parts": [{"text": "Sunny."}]}, "finish_reason": "STOP"}
    span = applied(
        {
            "gcp.vertex.agent.llm_request": json.dumps(request),
            "gcp.vertex.agent.llm_response": json.dumps(response),
        }
    )
    assert span.input == [
        message("system", "Be brief."),
        message("user", "Weather?"),
        message("assistant", None, [{"id": "c1", "name": "get_weather", "arguments": {"city": "Paris"}}]),
        message("tool", '{"t":21}', None, "c1"),
    ]
    assert span.output == [message("assistant", "Sunny.")]
    elided = applied({"gcp.vertex.agent.llm_request": "{}", "gcp.vertex.agent.tool_call_args": "N/A"})
    assert (elided.input, elided.output) == (None, None)
