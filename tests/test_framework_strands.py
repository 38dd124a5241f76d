"""Strands Agents' built-in tracing (legacy message events, the latest convention's operation-details
events, span attributes only), imported end to end against the raw OTLP JSON read here."""

from __future__ import annotations

import json

import pytest

import framework_traces as ft
from spanscope.core.model import Kind

TOKENS = ft.GENAI_TOKENS
PROVIDER = ("gen_ai.provider.name", "gen_ai.system")


@pytest.fixture(params=["default", "latest", "latest-attributes"])
def variant(request):
    return request.param


def files(fixtures_dir, variant):
    return ft.spans_files(fixtures_dir / "strands-agents", variant)


chats = ft.operation("chat")


def test_the_session_is_the_one_given_to_the_agent(fixtures_dir, tmp_path, variant):
    raw, result = ft.loaded(tmp_path, files(fixtures_dir, variant)[0])
    assert {s.span: result.spans[s.span].session_id for s in raw} == {
        s.span: s.attrs["session.id"] for s in raw
    }


def test_every_encoding_imports_with_the_raw_figures(fixtures_dir, tmp_path, variant):
    ft.check_every_encoding(tmp_path, files(fixtures_dir, variant), chats)


def test_agent_spans_lifetime_usage_is_never_counted(fixtures_dir, tmp_path, variant):
    raw, result = ft.loaded(tmp_path, files(fixtures_dir, variant)[0])
    agents = [s for s in raw if s.attrs.get("gen_ai.operation.name") == "invoke_agent"]
    assert len(agents) == 3
    for agent in agents:
        assert result.spans[agent.span].kind is Kind.AGENT and agent.span not in result.counted
        calls = [s for s in chats(raw) if s.trace == agent.trace]
        own = sum(int(s.attrs.get(TOKENS[0], 0)) for s in calls)
        assert result.traces[agent.trace].input_tokens == (
            own if any(TOKENS[0] in s.attrs for s in calls) else None
        )


def test_the_framework_is_not_shown_as_the_provider(fixtures_dir, tmp_path, variant):
    path = files(fixtures_dir, variant)[0]
    raw = ft.raw_spans(path)
    named = {s.attrs.get(key) for s in raw for key in PROVIDER if key in s.attrs}
    assert named == {"strands-agents"}, "the data names no provider but the framework"
    result = ft.imported(tmp_path / "s.db", path)
    assert {s.provider for s in result.spans.values()} == {None}


def _raw_texts(span) -> tuple[list[str], list[str]]:
    """Texts of a chat span's messages in the raw file, wherever the variant puts them."""
    inputs: list[str] = []
    outputs: list[str] = []
    for name, attrs in [(None, span.attrs), *span.events]:
        for key, side in (("gen_ai.input.messages", inputs), ("gen_ai.output.messages", outputs)):
            for message in json.loads(attrs.get(key, "[]")):
                side += [
                    p.get("content") or p.get("name")
                    for p in message["parts"]
                    if p["type"] != "tool_call_response"
                ]
        if name in ("gen_ai.user.message", "gen_ai.system.message"):
            inputs += [block["text"] for block in json.loads(attrs["content"]) if "text" in block]
        if name == "gen_ai.choice":
            for block in json.loads(attrs["message"]):
                outputs.append(block["text"] if "text" in block else block["toolUse"]["name"])
    return inputs, outputs


def test_each_model_call_shows_the_messages_of_the_raw_file(fixtures_dir, tmp_path, variant):
    raw, result = ft.loaded(tmp_path, files(fixtures_dir, variant)[0])
    for chat in chats(raw):
        inputs, outputs = _raw_texts(chat)
        assert inputs, chat.span
        shown_in, shown_out = result.io[chat.span]
        for text in inputs:
            assert text in ft.texts(shown_in)
        assert '"text"' not in ft.texts(shown_in), "Converse blocks are read, not shown as JSON"
        if chat.error:
            assert shown_out is None
            continue
        assert outputs
        for text in outputs:
            assert text in ft.texts(shown_out)
