"""Pydantic AI's own instrumentation, versions 1 (logs and attributes modes), 2, 3 and 5, imported end to
end: figures and texts are read from the raw OTLP JSON here."""

from __future__ import annotations

import json

import pytest

import framework_traces as ft
from spanscope.core.model import Kind

TOKENS = ft.GENAI_TOKENS


@pytest.fixture(params=["v5-default", "v3", "v2", "v1-logs", "v1-attributes"])
def version(request):
    return request.param


def files(fixtures_dir, version):
    return ft.spans_files(fixtures_dir / "pydantic-ai", version)


def chats(raw):
    """The model calls: `chat <model>` spans (agent spans carry the run's total, tool spans none)."""
    calls = [s for s in raw if s.attrs.get("gen_ai.operation.name") == "chat"]
    assert calls and all(s.name.startswith("chat ") for s in calls)
    return calls


def test_every_encoding_imports_with_the_raw_figures(fixtures_dir, tmp_path, version):
    ft.check_every_encoding(tmp_path, files(fixtures_dir, version), chats)


def test_agent_spans_are_never_model_calls_and_their_run_totals_never_add_up(fixtures_dir, tmp_path, version):
    path = files(fixtures_dir, version)[0]
    raw = ft.raw_spans(path)
    agents = [s for s in raw if s.name == "agent run" or s.name.startswith("invoke_agent ")]
    assert len(agents) == len({s.trace for s in raw})
    totals = [s for s in agents if "gen_ai.aggregated_usage.input_tokens" in s.attrs or TOKENS[0] in s.attrs]
    assert totals, "the agent spans carry the run's usage"
    result = ft.imported(tmp_path / "s.db", path)
    for agent in agents:
        assert result.spans[agent.span].kind is Kind.AGENT
        assert agent.span not in result.counted
    calls = chats(raw)
    for agent in totals:
        run = agent.attrs.get("gen_ai.aggregated_usage.input_tokens", agent.attrs.get(TOKENS[0]))
        own = sum(int(s.attrs.get(TOKENS[0], 0)) for s in calls if s.trace == agent.trace)
        assert result.traces[agent.trace].input_tokens == own
        assert int(run) == own, "the run total repeats its calls' usage: counted once, from the calls"


def _raw_texts(span) -> tuple[list[str], list[str]]:
    """The message texts a chat span carries in the raw file: (input, output)."""
    if "gen_ai.input.messages" in span.attrs:
        inputs = [
            part["content"]
            for message in json.loads(span.attrs["gen_ai.input.messages"])
            for part in message["parts"]
            if part["type"] == "text"
        ]
        outputs = [
            part.get("content") or part.get("name")
            for message in json.loads(span.attrs.get("gen_ai.output.messages", "[]"))
            for part in message["parts"]
        ]
        system = json.loads(span.attrs.get("gen_ai.system_instructions", "[]"))
        return [p["content"] for p in system] + inputs, outputs
    if "events" in span.attrs:
        events = json.loads(span.attrs["events"])
        inputs = [
            e["content"]
            for e in events
            if e["event.name"] in ("gen_ai.system.message", "gen_ai.user.message")
        ]
        choice = [e["message"] for e in events if e["event.name"] == "gen_ai.choice"]
        outputs = [m.get("content") or m["tool_calls"][0]["function"]["name"] for m in choice]
        return inputs, outputs
    return [], []


def test_each_model_call_shows_the_messages_of_the_raw_file(fixtures_dir, tmp_path, version):
    raw, result = ft.loaded(tmp_path, files(fixtures_dir, version)[0])
    with_content = 0
    calls = chats(raw)
    for chat in calls:
        inputs, outputs = _raw_texts(chat)
        shown_in, shown_out = result.io[chat.span]
        if not inputs:
            # v1 "logs" mode: the messages are OTLP log records, not on the spans; the failed call has none.
            assert shown_in is None
            continue
        with_content += 1
        assert shown_in[0]["role"] == "system"
        for text in inputs:
            assert text in ft.texts(shown_in)
        for text in outputs:
            assert text in ft.texts(shown_out)
    assert with_content == (0 if version == "v1-logs" else len(calls) - 1)


def test_tools_show_their_arguments_and_results_and_agents_their_run(fixtures_dir, tmp_path, version):
    raw, result = ft.loaded(tmp_path, files(fixtures_dir, version)[0])
    tools = [s for s in raw if s.attrs.get("gen_ai.operation.name") == "execute_tool"]
    assert tools
    for tool in tools:
        arguments = tool.attrs.get("gen_ai.tool.call.arguments", tool.attrs.get("tool_arguments"))
        response = tool.attrs.get("gen_ai.tool.call.result", tool.attrs.get("tool_response"))
        assert result.spans[tool.span].kind is Kind.TOOL
        assert result.io[tool.span][0] == json.loads(arguments)
        assert ft.texts(result.io[tool.span][1]) == ft.texts(_json_or_text(response))
    for agent in (s for s in raw if s.attrs.get("gen_ai.operation.name") == "invoke_agent"):
        shown_in, shown_out = result.io[agent.span]
        if "final_result" in agent.attrs:
            assert shown_out == _json_or_text(agent.attrs["final_result"])
        history = agent.attrs.get("pydantic_ai.all_messages") or agent.attrs.get("all_messages_events")
        first_user = next(
            m
            for m in json.loads(history)
            if m.get("role") == "user" and m.get("parts", [{}])[0].get("type", "text") == "text"
        )
        user_text = first_user["parts"][0]["content"] if "parts" in first_user else first_user["content"]
        assert user_text in ft.texts(shown_in)


def _json_or_text(value: str):
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def test_the_conversation_id_is_the_session(fixtures_dir, tmp_path, version):
    raw, result = ft.loaded(tmp_path, files(fixtures_dir, version)[0])
    roots = [s for s in raw if s.parent is None]
    assert {s.trace: result.traces[s.trace].session_id for s in roots} == {
        s.trace: s.attrs["gen_ai.conversation.id"] for s in roots
    }
    assert sum(t.session_id == "conv-travel-0001" for t in result.traces.values()) == 2
