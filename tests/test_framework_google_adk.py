"""Google ADK's built-in tracing (schema 2 with and without message content, legacy schema 1), imported
end to end against the raw OTLP JSON read here."""

from __future__ import annotations

import json

import pytest

import framework_traces as ft
from spanscope.core.conventions import adk
from spanscope.core.model import Kind
from spanscope.core.presentation.content import missing_content_note

TOKENS = ft.GENAI_TOKENS
#: ADK's model calls; its legacy call_llm wraps one and repeats its usage.
model_calls = ft.operation("generate_content")


@pytest.fixture(params=["v2-default", "v2-span-content", "v1-legacy"])
def variant(request):
    return request.param


def files(fixtures_dir, variant):
    return ft.spans_files(fixtures_dir / "google-adk", variant)


def test_every_encoding_imports_with_the_raw_figures(fixtures_dir, tmp_path, variant):
    ft.check_every_encoding(tmp_path, files(fixtures_dir, variant), model_calls)


def test_the_conversation_id_is_the_session(fixtures_dir, tmp_path, variant):
    raw, result = ft.loaded(tmp_path, files(fixtures_dir, variant)[0])
    roots = [s for s in raw if s.parent is None]
    sessions = {
        s.trace: s.attrs["gen_ai.conversation.id"] for s in raw if "gen_ai.conversation.id" in s.attrs
    }
    assert {s.trace: result.traces[s.trace].session_id for s in roots} == sessions


def test_legacy_call_llm_repeats_its_child_usage_and_is_counted_once(fixtures_dir, tmp_path):
    raw, result = ft.loaded(tmp_path, files(fixtures_dir, "v1-legacy")[0])
    wrappers = [s for s in raw if s.name == "call_llm"]
    children = {s.parent: s for s in model_calls(raw)}
    assert len(wrappers) == len(children) == 5
    for wrapper in wrappers:
        child = children[wrapper.span]
        assert wrapper.attrs.get(TOKENS[0]) == child.attrs.get(TOKENS[0])
        assert wrapper.span not in result.counted and child.span in result.counted
        assert result.spans[wrapper.span].provider is None, "gcp.vertex.agent names ADK, not a provider"
        assert result.spans[child.span].provider == child.attrs["gen_ai.system"]
        if "gcp.vertex.agent.llm_request" in wrapper.attrs:
            request = json.loads(wrapper.attrs["gcp.vertex.agent.llm_request"])
            response = json.loads(wrapper.attrs["gcp.vertex.agent.llm_response"])
            shown_in, shown_out = result.io[wrapper.span]
            assert shown_in[0] == {
                **shown_in[0],
                "role": "system",
                "content": request["config"]["system_instruction"],
            }
            for content in request["contents"]:
                for part in content["parts"]:
                    expected = (
                        part.get("text")
                        or part.get("function_call", part.get("function_response", {}))["name"]
                    )
                    assert expected in ft.texts(shown_in)
            calls = [p["function_call"]["id"] for p in response["content"]["parts"] if "function_call" in p]
            assert [c["id"] for m in shown_out for c in m["tool_calls"]] == calls


def test_tools_and_merged_parallel_calls_show_as_tool_calls(fixtures_dir, tmp_path, variant):
    raw, result = ft.loaded(tmp_path, files(fixtures_dir, variant)[0])
    tools = [s for s in raw if s.attrs.get("gen_ai.operation.name") == "execute_tool"]
    merged = [s for s in tools if s.attrs["gen_ai.tool.name"] == "(merged tools)"]
    assert len(merged) == 2
    for tool in tools:
        assert result.spans[tool.span].kind is Kind.TOOL
        shown_in, shown_out = result.io[tool.span]
        args = tool.attrs.get("gen_ai.tool.call.arguments", tool.attrs.get("gcp.vertex.agent.tool_call_args"))
        response = tool.attrs.get("gen_ai.tool.call.result", tool.attrs.get("gcp.vertex.agent.tool_response"))
        if tool in merged:
            assert shown_in is None
            if response is not None:
                ids = [item["id"] for item in json.loads(response)]
                assert [(m["role"], m["tool_call_id"]) for m in shown_out] == [("tool", i) for i in ids]
            continue
        assert shown_in == (None if args is None else json.loads(args))
        assert shown_out == (None if response is None else json.loads(response))


def test_model_calls_without_captured_content_say_why(fixtures_dir, tmp_path, variant):
    raw, result = ft.loaded(tmp_path, files(fixtures_dir, variant)[0])
    for call in model_calls(raw):
        span = result.spans[call.span]
        shown_in, shown_out = result.io[call.span]
        raw_in = call.attrs.get("gen_ai.input.messages")
        if raw_in is None:
            assert shown_in is None and missing_content_note(span) == adk.CAPTURE_OFF
            continue
        assert missing_content_note(span) is None
        for message in json.loads(raw_in):
            for part in message["parts"]:
                assert (part.get("content") or part.get("name") or part["id"]) in ft.texts(shown_in)
        system = json.loads(call.attrs["gen_ai.system_instructions"])[0]["content"]
        assert shown_in[0]["role"] == "system" and shown_in[0]["content"] == system
        if "gen_ai.output.messages" in call.attrs:
            for message in json.loads(call.attrs["gen_ai.output.messages"]):
                for part in message["parts"]:
                    assert (part.get("content") or part["name"]) in ft.texts(shown_out)
    for other in (result.spans[s.span] for s in raw if s.name.startswith(("invoke_agent", "execute_tool"))):
        assert missing_content_note(other) is None
