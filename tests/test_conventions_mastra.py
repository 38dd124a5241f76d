"""Mastra's `@mastra/otel-exporter` capture imported end to end, checked against the raw file read here:
the `chat` spans are the model calls, the prompt is on the step around each, and the call that ended
with finish reason `error` is failed although its status says OK."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from raw_otlp import Capture, RawSpan, captured, check_figures, tokens
from spanscope.core import conventions
from spanscope.core.model import Kind, Span, Status

FILES = ["mastra/city-guide.otlp-http.json", "mastra/city-guide.otlp.binpb"]
KINDS = {
    "invoke_agent": Kind.AGENT,
    "model_generation": Kind.CHAIN,
    "agent_step": Kind.CHAIN,
    "chat": Kind.LLM,
    "execute_tool": Kind.TOOL,
    "model_chunk": Kind.SPAN,
}


def is_model_call(s: RawSpan) -> bool:
    return s.name.startswith("chat ")


def finished_in_error(s: RawSpan) -> bool:
    return "error" in json.loads(s.attrs.get("gen_ai.response.finish_reasons", "[]"))


def failed(s: RawSpan) -> bool:
    return s.status == 2 or finished_in_error(s)


def usage(s: RawSpan) -> tuple[str | None, int | None, int | None]:
    a = s.attrs
    return (
        a.get("gen_ai.response.model") or a.get("gen_ai.request.model"),
        tokens(a.get("gen_ai.usage.input_tokens")),
        tokens(a.get("gen_ai.usage.output_tokens")),
    )


@pytest.fixture(params=FILES)
def capture(request, fixtures_dir: Path, tmp_path: Path) -> Capture:
    return captured(fixtures_dir / request.param, tmp_path)


def test_figures_count_the_chat_spans_once(capture) -> None:
    assert any(finished_in_error(s) and s.status == 1 for s in capture.raw)
    check_figures(capture, is_model_call, usage, failed)


def test_kinds_by_span_type(capture) -> None:
    raw, spans, _ = capture
    for s in raw:
        assert spans[s.span_id].kind == KINDS[s.name.split(" ")[0]], s.name


def _texts(messages: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    return [(m["role"], m["content"]) for m in messages]


def test_model_calls_show_their_step_prompt_and_their_output(capture) -> None:
    raw, spans, _ = capture
    by_id = {s.span_id: s for s in raw}
    for s in filter(is_model_call, raw):
        step = by_id[s.parent_id]
        prompt = json.loads(step.attrs["mastra.model_step.input"])
        assert _texts(spans[step.span_id].input) == [(m["role"], m["content"]) for m in prompt]
        (answer,) = json.loads(s.attrs["gen_ai.output.messages"])
        assert [m["content"] for m in spans[s.span_id].output] == [p["content"] for p in answer["parts"]]
        result = json.loads(step.attrs["mastra.model_step.output"])
        (shown,) = spans[step.span_id].output
        assert shown["content"] == (result["text"] or None if result["toolCalls"] else result["text"])
        assert [c["id"] for c in shown["tool_calls"]] == [c["toolCallId"] for c in result["toolCalls"]]


def test_agent_runs_show_instructions_input_and_answer(capture) -> None:
    raw, spans, _ = capture
    for s in raw:
        if s.name.startswith("invoke_agent "):
            span = spans[s.span_id]
            assert _texts(span.input) == [
                ("system", s.attrs["gen_ai.system_instructions"]),
                ("user", s.attrs["mastra.agent_run.input"]),
            ]
            if "mastra.agent_run.output" in s.attrs:
                assert span.output[0]["content"] == json.loads(s.attrs["mastra.agent_run.output"])["text"]
        elif s.name.startswith("execute_tool "):
            span = spans[s.span_id]
            assert span.input == json.loads(s.attrs["gen_ai.tool.call.arguments"])
            assert span.output == json.loads(s.attrs["gen_ai.tool.call.result"])


def _applied(attrs: dict[str, Any], status: Status) -> Span:
    span = Span("t", "s", None, "x", 0, status=status, attributes=attrs)
    conventions.apply_fields(span)
    return span


def test_finish_reason_error_fails_only_mastra_spans() -> None:
    error = {"mastra.span.type": "model_inference", "gen_ai.response.finish_reasons": '["error"]'}
    assert _applied(error, Status.OK).status == Status.ERROR
    failed = _applied({**error, "error.message": "quota"}, Status.UNSET)
    assert (failed.status, failed.status_message) == (Status.ERROR, "quota")
    assert _applied({**error, "gen_ai.response.finish_reasons": '["stop"]'}, Status.OK).status == Status.OK
    other = {"gen_ai.operation.name": "chat", "gen_ai.response.finish_reasons": ["error"], "error.type": "x"}
    assert _applied(other, Status.OK).status == Status.OK
