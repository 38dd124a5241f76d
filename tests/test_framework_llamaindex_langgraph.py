"""LlamaIndex and LangGraph through OpenInference, imported end to end against the raw OTLP JSON read
here: wrapper and helper LLM spans are not model calls, streamed calls without usage stay unknown, and
LangGraph's node and step are shown."""

from __future__ import annotations

import json

import pytest

import framework_traces as ft
from spanscope.core.model import Kind
from spanscope.core.presentation.content import graph_step

TOKENS = ("llm.token_count.prompt", "llm.token_count.completion")
MODEL = ("llm.model_name", "embedding.model_name")
MODEL_KINDS = ("LLM", "EMBEDDING")


def model_calls(raw):
    """Model-kind spans with no model-kind span below them, but LlamaIndex's helper that only builds
    the messages for the call made beside it."""
    kinds = {s.span: s.attrs.get("openinference.span.kind") for s in raw}
    parents = {s.span: s.parent for s in raw}
    wrapping = set()
    for s in raw:
        if kinds[s.span] in MODEL_KINDS:
            parent = parents[s.span]
            while parent in parents:
                wrapping.add(parent)
                parent = parents[parent]
    return [
        s
        for s in raw
        if kinds[s.span] in MODEL_KINDS
        and s.span not in wrapping
        and not s.name.endswith("._prepare_chat_with_tools")
    ]


@pytest.fixture(params=["llamaindex", "langgraph"])
def folder(request):
    return request.param


def test_every_encoding_imports_with_the_raw_figures(fixtures_dir, tmp_path, folder):
    ft.check_every_encoding(tmp_path, ft.spans_files(fixtures_dir / folder), model_calls, MODEL, TOKENS)


def test_every_span_keeps_its_session(fixtures_dir, tmp_path, folder):
    raw, result = ft.loaded(tmp_path, ft.spans_files(fixtures_dir / folder)[0])
    assert {s.span: result.spans[s.span].session_id for s in raw} == {
        s.span: s.attrs["session.id"] for s in raw
    }


def test_llamaindex_wrappers_and_helpers_are_not_model_calls(fixtures_dir, tmp_path):
    raw, result = ft.loaded(tmp_path, ft.spans_files(fixtures_dir / "llamaindex")[0])
    llm_kind = [s for s in raw if s.attrs.get("openinference.span.kind") == "LLM"]
    helpers = [s for s in llm_kind if s.name.endswith("._prepare_chat_with_tools")]
    predict = [s for s in llm_kind if s.name.endswith(".predict")]
    assert (len(llm_kind), len(helpers), len(predict)) == (9, 3, 1)
    for helper in helpers:
        assert TOKENS[0] not in helper.attrs
        assert result.spans[helper.span].kind is Kind.CHAIN and helper.span not in result.counted
    assert predict[0].span not in result.counted
    counted_llm = [s for s in llm_kind if s.span in result.counted]
    assert len(counted_llm) == len(llm_kind) - len(helpers) - len(predict)


def test_streamed_calls_without_usage_are_unknown_not_zero(fixtures_dir, tmp_path):
    raw, result = ft.loaded(tmp_path, ft.spans_files(fixtures_dir / "llamaindex")[0])
    streamed = [s for s in raw if s.name.endswith(".astream_chat")]
    assert len(streamed) == 3 and not any(TOKENS[0] in s.attrs for s in streamed)
    for s in streamed:
        span = result.spans[s.span]
        assert s.span in result.counted and (span.input_tokens, span.output_tokens) == (None, None)
        assert result.traces[s.trace].input_tokens is None
        assert "".join(ft.texts(result.io[s.span][0])), "the streamed call still shows its messages"


def test_model_calls_show_their_raw_messages(fixtures_dir, tmp_path, folder):
    raw, result = ft.loaded(tmp_path, ft.spans_files(fixtures_dir / folder)[0])
    for call in model_calls(raw):
        contents = [
            v for k, v in call.attrs.items() if k.startswith("llm.input_messages.") and k.endswith("content")
        ]
        if call.attrs.get("openinference.span.kind") == "LLM" and not call.error:
            assert contents, call.name
        for text in contents:
            assert text in ft.texts(result.io[call.span][0])


def test_langgraph_steps_show_their_graph_node_and_step(fixtures_dir, tmp_path):
    raw, result = ft.loaded(tmp_path, ft.spans_files(fixtures_dir / "langgraph")[0])
    seen = set()
    for s in raw:
        metadata = json.loads(s.attrs["metadata"])
        if "langgraph_node" not in metadata:
            assert graph_step(result.spans[s.span]) is None
            continue
        node, step = metadata["langgraph_node"], metadata["langgraph_step"]
        assert graph_step(result.spans[s.span]) == f"node {node}, step {step}"
        seen.add(node)
    assert seen == {"agent", "tools", "finalize"}
