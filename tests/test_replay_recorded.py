"""A stored model call rebuilt as the request that was made, on real captures: each fixture is imported
into a new store, its model calls read back through the store's read API, and the request's messages,
tools and parameters compared with figures read from the raw file with the standard library."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from raw_otlp import RawSpan, raw_spans
from spanscope.core.model import Kind, Span
from spanscope.core.replay.recorded import recorded_call, recorded_request
from spanscope.core.store import connect, import_file
from spanscope.core.store.queries import get_span, iter_spans


def _stored(tmp_path: Path, path: Path) -> Any:
    store = tmp_path / "store.db"
    import_file(store, path)
    return connect(store, readonly=True)


def _llm_spans(tmp_path: Path, path: Path) -> list[tuple[RawSpan, Span]]:
    """Each model call of an OTLP capture: as the file holds it, and as the store reads it back."""
    db = _stored(tmp_path, path)
    return [
        (raw, get_span(db, raw.trace_id, raw.span_id))
        for raw in raw_spans(path)
        if get_span(db, raw.trace_id, raw.span_id).kind == Kind.LLM
    ]


def _indexed(attrs: dict[str, Any], prefix: str, suffix: str) -> list[Any]:
    found = []
    while f"{prefix}.{len(found)}.{suffix}" in attrs:
        found.append(attrs[f"{prefix}.{len(found)}.{suffix}"])
    return found


def _function(name: str, description: str | None, parameters: Any) -> dict[str, Any]:
    function: dict[str, Any] = {"name": name}
    if description is not None:
        function["description"] = description
    function["parameters"] = parameters
    return {"type": "function", "function": function}


# --- OpenInference -------------------------------------------------------------------------------


def test_openinference_openai_calls_keep_messages_tools_and_parameters(fixtures_dir, tmp_path):
    calls = _llm_spans(tmp_path, fixtures_dir / "openinference-openai" / "chain-and-session.otlp.json")
    assert len(calls) == 9
    with_tools = 0
    for raw, span in calls:
        request = recorded_request(span)
        roles = _indexed(raw.attrs, "llm.input_messages", "message.role")
        assert [m["role"] for m in request.messages] == roles
        for index, sent in enumerate(request.messages):
            text = raw.attrs.get(f"llm.input_messages.{index}.message.content")
            if text is not None:
                assert sent["content"] == text
        tools = [json.loads(t) for t in _indexed(raw.attrs, "llm.tools", "tool.json_schema")]
        assert request.tools == tools
        with_tools += bool(tools)
        parameters = json.loads(raw.attrs["llm.invocation_parameters"])
        expected = {k: v for k, v in parameters.items() if k not in ("model", "stream", "stream_options")}
        assert request.params == expected
        assert request.model == span.model
    assert with_tools == 2


def test_a_tool_call_round_trip_is_carried_over(fixtures_dir, tmp_path):
    """OpenInference LangChain: the second chat sends the assistant's tool call and the tool's result,
    with the ids the capture recorded, and the tools LangChain bound."""
    calls = _llm_spans(tmp_path, fixtures_dir / "openinference-langchain" / "rag-tools-session.otlp.json")
    raw, span = next((r, s) for r, s in calls if "llm.input_messages.3.message.tool_call_id" in r.attrs)
    request = recorded_request(span)
    assistant, tool = request.messages[2], request.messages[3]
    prefix = "llm.input_messages.2.message.tool_calls.0.tool_call."
    assert assistant["role"] == "assistant"
    assert assistant["tool_calls"] == [
        {
            "id": raw.attrs[prefix + "id"],
            "name": raw.attrs[prefix + "function.name"],
            "arguments": json.loads(raw.attrs[prefix + "function.arguments"]),
        }
    ]
    assert tool["role"] == "tool"
    assert tool["tool_call_id"] == raw.attrs["llm.input_messages.3.message.tool_call_id"]
    assert tool["content"] == raw.attrs["llm.input_messages.3.message.content"]
    assert request.tools == [json.loads(t) for t in _indexed(raw.attrs, "llm.tools", "tool.json_schema")]
    assert request.params == {
        "temperature": json.loads(raw.attrs["llm.invocation_parameters"])["temperature"]
    }


def test_images_are_sent_and_audio_is_noted(fixtures_dir, tmp_path):
    calls = _llm_spans(tmp_path, fixtures_dir / "multimodal" / "image-audio-openinference.otlp.json")
    images_seen = audio_noted = 0
    for raw, span in calls:
        call = recorded_call(span)
        for index, sent in enumerate(call.request.messages):
            base = f"llm.input_messages.{index}.message.contents"
            urls = [
                raw.attrs[f"{base}.{j}.message_content.image.image.url"]
                for j in range(len(_indexed(raw.attrs, base, "message_content.type")))
                if raw.attrs.get(f"{base}.{j}.message_content.type") == "image"
            ]
            parts = sent["content"] if isinstance(sent["content"], list) else []
            assert [p["url"] for p in parts if p["type"] == "image"] == urls
            images_seen += len(urls)
        request_json = raw.attrs.get("input.value", "")
        if '"input_audio"' in request_json:
            assert any("input_audio part left out" in note for note in call.notes)
            audio_noted += 1
    assert images_seen >= 2
    assert audio_noted == 1


# --- GenAI semantic conventions ------------------------------------------------------------------


def _parts_text(parts: list[dict[str, Any]]) -> str:
    return "\n".join(p["content"] for p in parts if p["type"] == "text")


def test_genai_json_messages_and_request_parameters(fixtures_dir, tmp_path):
    path = fixtures_dir / "otel-genai" / "latest-experimental-span-content.otlp.json"
    calls = _llm_spans(tmp_path, path)
    assert calls
    for raw, span in calls:
        call = recorded_call(span)
        request = call.request
        system = json.loads(raw.attrs.get("gen_ai.system_instructions", "[]"))
        given = json.loads(raw.attrs["gen_ai.input.messages"])
        expected_roles = ["system"] * bool(system) + [m["role"] for m in given]
        assert [m["role"] for m in request.messages] == expected_roles
        if system:
            assert request.messages[0]["content"] == _parts_text(system)
        for sent, message in zip(request.messages[bool(system) :], given, strict=True):
            if message["role"] in ("system", "user"):
                assert sent["content"] == _parts_text(message["parts"])
            for part in message["parts"]:
                if part["type"] == "tool_call":
                    assert {"id": part["id"], "name": part["name"], "arguments": part["arguments"]} in sent[
                        "tool_calls"
                    ]
                if part["type"] == "tool_call_response":
                    assert sent["tool_call_id"] == part["id"]
        expected = {
            name: raw.attrs[f"gen_ai.request.{name}"]
            for name in ("temperature", "max_tokens", "top_p", "seed")
            if f"gen_ai.request.{name}" in raw.attrs
        }
        assert request.params == expected
        # openai-v2 records no tool definitions: a call that used tools says so.
        assert request.tools == []
        used_tools = any(m["tool_calls"] or m["role"] == "tool" for m in request.messages) or (
            "tool_call" in raw.attrs.get("gen_ai.output.messages", "")
        )
        assert any("definitions were not recorded" in n for n in call.notes) == used_tools


def test_openllmetry_tool_definitions_and_parameters(fixtures_dir, tmp_path):
    calls = _llm_spans(tmp_path, fixtures_dir / "openllmetry" / "chain-and-session.otlp.json")
    with_tools = 0
    for raw, span in calls:
        request = recorded_request(span)
        given = json.loads(raw.attrs["gen_ai.input.messages"])
        assert [m["role"] for m in request.messages] == [m["role"] for m in given]
        definitions = json.loads(raw.attrs.get("gen_ai.tool.definitions", "[]"))
        assert request.tools == [
            _function(d["name"], d.get("description"), d["parameters"]) for d in definitions
        ]
        with_tools += bool(definitions)
        for name in ("temperature", "max_tokens"):
            assert request.params.get(name) == raw.attrs.get(f"gen_ai.request.{name}")
    assert with_tools == 2


# --- frameworks ----------------------------------------------------------------------------------


def test_vercel_ai_sdk_prompt_tools_settings_and_tool_choice(fixtures_dir, tmp_path):
    calls = _llm_spans(tmp_path, fixtures_dir / "vercel-ai-sdk" / "travel-app-legacy.otlp-http.json")
    with_tools = 0
    for raw, span in calls:
        call = recorded_call(span)
        request = call.request
        prompt = json.loads(raw.attrs["ai.prompt.messages"])
        assert [m["role"] for m in request.messages] == [m["role"] for m in prompt]
        tools = [json.loads(t) for t in raw.attrs.get("ai.prompt.tools") or ()]
        assert request.tools == [_function(t["name"], t.get("description"), t["inputSchema"]) for t in tools]
        if tools:
            with_tools += 1
            assert request.params["tool_choice"] == json.loads(raw.attrs["ai.prompt.toolChoice"])["type"]
        else:
            assert "tool_choice" not in request.params
        assert request.params.get("temperature") == raw.attrs.get("ai.settings.temperature")
        assert request.params.get("max_tokens") == raw.attrs.get("ai.settings.maxOutputTokens")
        assert call.notes == []
    assert with_tools == 3


def test_pydantic_ai_function_tools(fixtures_dir, tmp_path):
    calls = _llm_spans(tmp_path, fixtures_dir / "pydantic-ai" / "agent-session-v5-default.otlp.json")
    with_tools = 0
    for raw, span in calls:
        request = recorded_request(span)
        parameters = json.loads(raw.attrs.get("model_request_parameters", "{}"))
        declared = parameters.get("function_tools", []) + parameters.get("output_tools", [])
        expected = [_function(t["name"], t.get("description"), t["parameters_json_schema"]) for t in declared]
        # gen_ai.tool.definitions, read first, holds the same tools without `strict`.
        assert [{k: v for k, v in t["function"].items() if k != "strict"} for t in request.tools] == [
            e["function"] for e in expected
        ]
        with_tools += bool(declared)
        if "gen_ai.input.messages" in raw.attrs:
            given = json.loads(raw.attrs["gen_ai.input.messages"])
            assert sum(m["role"] == "user" for m in request.messages) == sum(
                m["role"] == "user" and any(p["type"] == "text" for p in m["parts"]) for m in given
            )
    assert with_tools >= 4


# --- exports of hosted services ------------------------------------------------------------------


def test_langsmith_langchain_invocation_params_give_the_tools(fixtures_dir, tmp_path):
    path = fixtures_dir / "langsmith-runs" / "capture-batch" / "runs.jsonl"
    db = _stored(tmp_path, path)
    runs = {r["id"]: r for r in map(json.loads, path.read_text().splitlines())}
    checked = 0
    for span in iter_spans(db):
        run = runs[span.span_id]
        invocation = (run.get("extra") or {}).get("invocation_params") or {}
        if span.kind != Kind.LLM or not invocation.get("tools"):
            continue
        request = recorded_request(span)
        assert request.tools == invocation["tools"]
        assert request.messages[0]["content"] == run["inputs"]["messages"][0][0]["kwargs"]["content"]
        checked += 1
    assert checked == 2


def test_langsmith_wrapped_openai_calls_say_their_tools_are_lost(fixtures_dir, tmp_path):
    """wrap_openai sends the request (tools included) as the run's inputs; the store keeps its
    messages only, so the tools are missing and the notes say so."""
    path = fixtures_dir / "langsmith-runs" / "capture-batch" / "runs.jsonl"
    db = _stored(tmp_path, path)
    runs = {r["id"]: r for r in map(json.loads, path.read_text().splitlines())}
    wrapped = [s for s in iter_spans(db) if s.kind == Kind.LLM and "tools" in runs[s.span_id]["inputs"]]
    assert wrapped
    for span in wrapped:
        call = recorded_call(span)
        given = runs[span.span_id]["inputs"]["messages"]
        assert [m["role"] for m in call.request.messages] == [m["role"] for m in given]
        assert any("definitions were not recorded" in note for note in call.notes)


def _langfuse_generations(path: Path) -> list[dict[str, Any]]:
    return [o for o in json.loads(path.read_text())["observations"] if o["type"] == "GENERATION"]


def test_langfuse_export_tools_listed_in_the_input(fixtures_dir, tmp_path):
    """Langfuse writes a LangChain call's tools at the end of its input as messages of role tool."""
    path = fixtures_dir / "langfuse-export" / "langgraph-python-2025-08-22.trace.json"
    db = _stored(tmp_path, path)
    for generation in _langfuse_generations(path):
        span = get_span(db, generation["traceId"], generation["id"])
        request = recorded_request(span)
        given = json.loads(generation["input"])
        listed = [m["content"] for m in given if m["role"] == "tool" and isinstance(m["content"], dict)]
        assert request.tools == listed
        assert [m["role"] for m in request.messages] == [
            m["role"] for m in given if not (m["role"] == "tool" and isinstance(m["content"], dict))
        ]
        assert request.params == generation["modelParameters"]


def test_langfuse_export_responses_items_round_trip(fixtures_dir, tmp_path):
    """The OpenAI Agents SDK's Responses input: function_call and function_call_output items become an
    assistant tool call and its tool result; tools and parameters come from the recorded response."""
    path = fixtures_dir / "langfuse-export" / "openai-agents-2025-09-30.trace.json"
    db = _stored(tmp_path, path)
    generation = next(g for g in _langfuse_generations(path) if "function_call_output" in g["input"])
    span = get_span(db, generation["traceId"], generation["id"])
    request = recorded_request(span)
    items = json.loads(generation["input"]) if isinstance(generation["input"], str) else generation["input"]
    call = next(i for i in items if i.get("type") == "function_call")
    result = next(i for i in items if i.get("type") == "function_call_output")
    assert [m["role"] for m in request.messages] == ["user", "assistant", "tool"]
    assert request.messages[1]["tool_calls"] == [
        {"id": call["call_id"], "name": call["name"], "arguments": json.loads(call["arguments"])}
    ]
    assert request.messages[2] == {
        "role": "tool", "content": result["output"], "tool_calls": [], "tool_call_id": call["call_id"]
    }  # fmt: skip
    assert [t["function"]["name"] for t in request.tools] == [call["name"]]
    assert request.params["tool_choice"] == "auto"


# --- shapes no capture holds ---------------------------------------------------------------------


def _span(**fields: Any) -> Span:
    return Span("t" * 32, "s" * 16, None, "call", 1, kind=Kind.LLM, model="claude-x", **fields)


def test_anthropic_request_with_an_image_block_and_tools():
    """An Anthropic request body kept as the input (as MLflow keeps a call's inputs): image blocks
    become images, tools with input_schema function tools, tool_choice any is required."""
    schema = {"type": "object", "properties": {"sku": {"type": "string"}}}
    body = {
        "model": "claude-x",
        "max_tokens": 256,
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"},
                    },
                ],
            }
        ],
        "tools": [{"name": "price", "description": "Price of a product", "input_schema": schema}],
        "tool_choice": {"type": "any"},
    }
    request = recorded_request(_span(input=body))
    assert request.messages == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image", "url": "data:image/png;base64,iVBO"},
            ],
            "tool_calls": [],
            "tool_call_id": None,
        }
    ]
    assert request.tools == [_function("price", "Price of a product", schema)]
    assert request.params == {"max_tokens": 256, "tool_choice": "required"}


def test_a_recorded_answer_at_the_end_of_the_input_is_left_out():
    answer = {"role": "assistant", "content": "Paris.", "tool_calls": [], "tool_call_id": None}
    question = {"role": "user", "content": "Capital of France?", "tool_calls": [], "tool_call_id": None}
    call = recorded_call(_span(input=[question, answer], output=[answer]))
    assert call.request.messages == [question]
    assert call.notes and "recorded answer" in call.notes[0]


def test_other_inputs_become_one_user_message():
    assert recorded_request(_span(input="hello")).messages[0]["content"] == "hello"
    assert recorded_request(_span(input={"prompt": "hi"})).messages[0]["content"] == "hi"
    call = recorded_call(_span(input={"city": "Paris"}))
    assert call.request.messages[0] == {
        "role": "user", "content": '{"city":"Paris"}', "tool_calls": [], "tool_call_id": None
    }  # fmt: skip
    assert "not a chat transcript" in call.notes[0]


def test_parameters_of_the_wrong_type_are_left_out():
    attributes = {
        "llm.invocation_parameters": json.dumps(
            {"temperature": "hot", "max_completion_tokens": 50, "stop": ["\n"], "seed": 1.5, "top_p": True}
        ),
        "gen_ai.request.seed": 7,
    }
    assert recorded_request(_span(input="x", attributes=attributes)).params == {
        "max_tokens": 50,
        "stop": ["\n"],
        "seed": 7,
    }


def test_model_choice_and_refusals():
    assert recorded_request(_span(input="x"), model="llama3").model == "llama3"
    with pytest.raises(ValueError, match="not a model call"):
        recorded_request(Span("t", "s", None, "tool", 1, kind=Kind.TOOL))
    with pytest.raises(ValueError, match="no model"):
        recorded_request(Span("t", "s", None, "call", 1, kind=Kind.LLM, input="x"))
