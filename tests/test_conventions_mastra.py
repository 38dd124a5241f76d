"""Mastra's `@mastra/otel-exporter` capture imported end to end, checked against the raw file read here:
the `chat` spans are the model calls, the prompt is on the step around each (and shown as the call's
input by every reader, whichever of the two was stored first), and the call that ended with finish
reason `error` is failed although its status says OK."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from otlp import TRACE, request, span, write_jsonl
from raw_otlp import Capture, RawSpan, captured, check_figures, tokens
from spanscope.core import conventions
from spanscope.core.model import Kind, Span, Status
from spanscope.core.search.find import search
from spanscope.core.search.index import build_index
from spanscope.core.store import connect, import_file
from spanscope.core.store.queries import get_span
from spanscope.core.store.span_io import span_io, trace_io

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


def test_every_reader_shows_a_model_call_its_step_prompt(capture, tmp_path: Path) -> None:
    raw, spans, _ = capture
    by_id = {s.span_id: s for s in raw}
    db = connect(tmp_path / "store.db", readonly=True)
    calls = list(filter(is_model_call, raw))
    assert any(finished_in_error(s) for s in calls)
    for s in calls:
        assert "gen_ai.input.messages" not in s.attrs
        prompt = json.loads(by_id[s.parent_id].attrs["mastra.model_step.input"])
        shown = get_span(db, s.trace_id, s.span_id).input
        assert _texts(shown) == [(m["role"], m["content"]) for m in prompt]
        assert shown == spans[s.span_id].input == spans[s.parent_id].input
        assert span_io(db, s.trace_id, s.span_id)[0] == trace_io(db, s.trace_id)[s.span_id][0] == shown


def test_search_finds_a_model_call_by_its_step_prompt(capture, tmp_path: Path) -> None:
    raw, _, _ = capture
    build_index(tmp_path / "store.db")
    db = connect(tmp_path / "store.db", readonly=True)
    for s in filter(is_model_call, raw):
        prompt = json.loads(next(p for p in raw if p.span_id == s.parent_id).attrs["mastra.model_step.input"])
        word = prompt[-1]["content"].split()[-1].strip("?.!")
        hits = search(db, f"input:{word} trace:{s.trace_id}").hits
        assert (s.span_id, "input") in {(h.span_id, h.field) for h in hits}, word


STEP, CALL = "00000000000000a1", "00000000000000a2"
PROMPT = [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "Weather in Oslo?"}]


def _step_and_call(tmp_path: Path, call_attrs: dict[str, Any]) -> tuple[Path, Path]:
    """A Mastra step and its model call in two files, as two exports would write them."""
    step = {"mastra.span.type": "model_step", "mastra.model_step.input": json.dumps(PROMPT)}
    call = {"mastra.span.type": "model_inference", "gen_ai.request.model": "gpt-4o-mini", **call_attrs}
    return (
        write_jsonl(tmp_path / "step.jsonl", request(span(STEP, None, name="agent_step", attrs=step))),
        write_jsonl(tmp_path / "call.jsonl", request(span(CALL, STEP, name="chat gpt-4o-mini", attrs=call))),
    )


def _shown_inputs(path: Path) -> list[Any]:
    db = connect(path, readonly=True)
    return [get_span(db, TRACE, CALL).input, span_io(db, TRACE, CALL)[0], trace_io(db, TRACE)[CALL][0]]


def _found(store: Path, text: str) -> list[tuple[str, str | None]]:
    build_index(store)
    return sorted((h.span_id, h.field) for h in search(connect(store, readonly=True), text).hits)


def test_a_call_stored_before_its_step_shows_the_prompt_once_the_step_is_stored(tmp_path: Path) -> None:
    step_file, call_file = _step_and_call(tmp_path, {})
    store = tmp_path / "store.db"
    import_file(store, call_file)
    assert _shown_inputs(store) == [None] * 3
    assert _found(store, "Oslo") == []
    import_file(store, step_file)
    prompt = [(m["role"], m["content"]) for m in PROMPT]
    assert [_texts(shown) for shown in _shown_inputs(store)] == [prompt] * 3
    assert _found(store, "Oslo") == [(STEP, "input"), (CALL, "input")]
    import_file(store, call_file)  # nothing new: the call is indexed once, with the prompt
    assert _found(store, "Oslo") == [(STEP, "input"), (CALL, "input")]


def test_a_call_with_an_input_of_its_own_keeps_it(tmp_path: Path) -> None:
    own = [{"role": "user", "parts": [{"type": "text", "content": "Weather in Bergen?"}]}]
    store = tmp_path / "store.db"
    for path in _step_and_call(tmp_path, {"gen_ai.input.messages": json.dumps(own)}):
        import_file(store, path)
    assert [_texts(shown) for shown in _shown_inputs(store)] == [[("user", "Weather in Bergen?")]] * 3


def test_only_a_declared_span_takes_its_parent_input() -> None:
    step = {"mastra.span.type": "model_step", "mastra.model_step.input": json.dumps(PROMPT)}
    inputs, _ = conventions.derived_io({"mastra.span.type": "model_inference"}, [], parent=step)
    assert _texts(inputs) == [(m["role"], m["content"]) for m in PROMPT]
    for attrs in ({"mastra.span.type": "tool_call"}, {"gen_ai.operation.name": "chat"}):
        assert conventions.derived_io(attrs, [], parent=step) == (None, None)


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
