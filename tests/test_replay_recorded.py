"""A stored model call rebuilt as the request that was made, on real captures: each fixture is imported
into a new store, its model calls read back through the store's read API, and the request's messages,
tools and parameters compared with figures read from the raw file with the standard library."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from openai_server import OpenAICompatibleServer
from raw_otlp import RawSpan, raw_spans
from spanscope.core.endpoints.client import ModelClient
from spanscope.core.endpoints.config import Endpoint
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


def test_langsmith_wrapped_openai_calls_keep_their_request(fixtures_dir, tmp_path):
    """wrap_openai sends the request as the run's inputs: its messages are the input, its tools (and
    any sampling parameter) are kept beside them."""
    path = fixtures_dir / "langsmith-runs" / "capture-multipart" / "runs.jsonl"
    db = _stored(tmp_path, path)
    runs = {r["id"]: r for r in map(json.loads, path.read_text().splitlines())}
    wrapped = [s for s in iter_spans(db) if s.kind == Kind.LLM and "tools" in runs[s.span_id]["inputs"]]
    assert len(wrapped) == 6
    for span in wrapped:
        sent = runs[span.span_id]["inputs"]
        call = recorded_call(span)
        assert [m["role"] for m in call.request.messages] == [m["role"] for m in sent["messages"]]
        assert call.request.tools == sent["tools"]
        assert call.notes == []


def test_mlflow_autologged_calls_keep_the_request_keys(fixtures_dir, tmp_path):
    """MLflow's autolog keeps the request's own keys (tools, temperature) as span attributes."""
    path = fixtures_dir / "mlflow-sqlite" / "mlflow.db"
    with closing(sqlite3.connect(path)) as raw_db:
        rows = raw_db.execute("SELECT span_id, content FROM spans WHERE type = 'CHAT_MODEL'").fetchall()
    inputs = {
        span_id: json.loads(json.loads(content)["attributes"]["mlflow.spanInputs"])
        for span_id, content in rows
    }
    db = _stored(tmp_path, path)
    spans = [s for s in iter_spans(db) if s.span_id in inputs]
    assert len(spans) == len(inputs) == 8
    for span in spans:
        sent = inputs[span.span_id]
        request = recorded_request(span)
        assert request.tools == sent.get("tools", [])
        assert request.params == ({"temperature": sent["temperature"]} if "temperature" in sent else {})
        assert [m["role"] for m in request.messages] == [m["role"] for m in sent["messages"]]


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
    assert [m["role"] for m in request.messages] == ["system", "user", "assistant", "tool"]
    assert request.messages[0]["content"] == generation["modelParameters"]["instructions"]
    assert request.messages[2]["tool_calls"] == [
        {"id": call["call_id"], "name": call["name"], "arguments": json.loads(call["arguments"])}
    ]
    assert request.messages[3] == {
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


_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}}


@pytest.mark.parametrize(
    "attributes",
    [
        {  # OpenLLMetry before gen_ai.tool.definitions
            "llm.request.functions.0.name": "weather",
            "llm.request.functions.0.description": "Weather now",
            "llm.request.functions.0.parameters": json.dumps(_SCHEMA),
        },
        {  # Bedrock Converse (Strands)
            "gen_ai.tool.definitions": json.dumps(
                [
                    {
                        "toolSpec": {
                            "name": "weather",
                            "description": "Weather now",
                            "inputSchema": {"json": _SCHEMA},
                        }
                    }
                ]
            )
        },
        {  # Gemini (Google ADK)
            "gcp.vertex.agent.llm_request": json.dumps(
                {
                    "config": {
                        "tools": [
                            {
                                "function_declarations": [
                                    {
                                        "name": "weather",
                                        "description": "Weather now",
                                        "parameters_json_schema": _SCHEMA,
                                    }
                                ]
                            }
                        ]
                    }
                }
            )
        },
    ],
)
def test_tool_shapes_of_other_sources(attributes):
    request = recorded_request(_span(input="x", attributes=attributes))
    assert request.tools == [_function("weather", "Weather now", _SCHEMA)]


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


@pytest.mark.parametrize(
    ("recorded", "sent"),
    [
        (
            '{"type":"tool","toolName":"get_weather"}',
            {"type": "function", "function": {"name": "get_weather"}},
        ),
        ({"type": "function", "function": {"name": "f"}}, {"type": "function", "function": {"name": "f"}}),
        ('{"type":"required"}', "required"),
        ("none", "none"),
        ("sometimes", None),
    ],
)
def test_tool_choice_forms(recorded, sent):
    tools = json.dumps([{"type": "function", "function": {"name": "get_weather", "parameters": {}}}])
    attributes = {"ai.prompt.tools": [tools[1:-1]], "ai.prompt.toolChoice": recorded}
    assert recorded_request(_span(input="x", attributes=attributes)).params.get("tool_choice") == sent


def test_model_choice_and_refusals():
    assert recorded_request(_span(input="x"), model="llama3").model == "llama3"
    with pytest.raises(ValueError, match="not a model call"):
        recorded_request(Span("t", "s", None, "tool", 1, kind=Kind.TOOL))
    with pytest.raises(ValueError, match="no model"):
        recorded_request(Span("t", "s", None, "call", 1, kind=Kind.LLM, input="x"))
    with pytest.raises(ValueError, match="neither its input nor its model"):
        recorded_request(Span("t", "s", None, "call", 1, kind=Kind.LLM))
    call = recorded_call(Span("t", "s", None, "call", 1, kind=Kind.LLM), model="m")
    assert call.request.messages == [] and "no input was recorded" in call.notes[0]


# --- tools recorded elsewhere than on the call -----------------------------------------------------


def _by_trace(db: Any) -> dict[str, list[Span]]:
    traces: dict[str, list[Span]] = {}
    for span in iter_spans(db):
        traces.setdefault(span.trace_id, []).append(span)
    return traces


def test_strands_tools_are_rebuilt_from_the_trace_tool_spans(fixtures_dir, tmp_path):
    """Strands names its tools on the agent span and defines each on the span that ran it."""
    path = fixtures_dir / "strands-agents" / "travel-agent-latest.otlp.json"
    raw = raw_spans(path)
    schemas = {
        s.attrs["gen_ai.tool.name"]: (
            s.attrs["gen_ai.tool.description"],
            json.loads(s.attrs["gen_ai.tool.json_schema"]),
        )
        for s in raw
        if "gen_ai.tool.json_schema" in s.attrs
    }
    agent_tools = {
        s.trace_id: json.loads(s.attrs["gen_ai.agent.tools"]) for s in raw if "gen_ai.agent.tools" in s.attrs
    }
    traces = _by_trace(_stored(tmp_path, path))
    rebuilt = 0
    for trace_id, spans in traces.items():
        for span in (s for s in spans if s.kind == Kind.LLM):
            alone = recorded_call(span)
            assert alone.request.tools == []
            call = recorded_call(span, trace=spans)
            names = [n for n in agent_tools.get(trace_id, []) if n in schemas]
            executed = {s.attributes.get("gen_ai.tool.name") for s in spans}
            expected = [_function(n, *schemas[n]) for n in names if n in executed]
            assert call.request.tools == expected
            rebuilt += bool(expected)
    assert rebuilt >= 3


def test_google_adk_tool_schemas_recorded_as_null_are_said(fixtures_dir, tmp_path):
    path = fixtures_dir / "google-adk" / "travel-agent-v2-default.otlp.json"
    raw = {s.span_id: s for s in raw_spans(path)}
    db = _stored(tmp_path, path)
    checked = 0
    for span in iter_spans(db):
        definitions = json.loads(raw[span.span_id].attrs.get("gen_ai.tool.definitions", "[]"))
        if span.kind != Kind.LLM or not definitions:
            continue
        call = recorded_call(span)
        assert [t["function"]["name"] for t in call.request.tools] == [d["name"] for d in definitions]
        assert all(
            t["function"]["parameters"] == {"type": "object", "properties": {}} for t in call.request.tools
        )
        assert any(n.startswith("the parameters of " + definitions[0]["name"]) for n in call.notes)
        checked += 1
    assert checked == 4


def test_inspect_model_calls_take_the_request_as_sent(fixtures_dir, tmp_path):
    path = fixtures_dir / "inspect-eval" / "2026-11-27T04-30-04-00-00_fixture-qa_6TRE8QQmdqaAmyCnqo4jPc.json"
    events = {
        event["uuid"]: event
        for sample in json.loads(path.read_text())["samples"]
        for event in sample["events"]
        if event.get("event") == "model"
    }
    db = _stored(tmp_path, path)
    checked = 0
    for span in iter_spans(db):
        if span.kind != Kind.LLM:
            continue
        sent = events[span.span_id]["call"]["request"]
        request = recorded_request(span)
        assert request.tools == sent["tools"]
        assert request.params["tool_choice"] == sent["tool_choice"]
        assert (
            request.messages
        )  # the log keeps them apart (events_data), checked by the Inspect reader's tests
        checked += 1
    assert checked == len(events)


def test_openai_agents_generation_tools(fixtures_dir, tmp_path):
    path = fixtures_dir / "openai-agents" / "travel-desk-native.traces-ingest.json"
    generations = {
        item["id"]: item["span_data"]
        for item in json.loads(path.read_text())["data"]
        if item.get("object") == "trace.span" and item["span_data"]["type"] == "generation"
    }
    db = _stored(tmp_path, path)
    spans = [s for s in iter_spans(db) if s.span_id in generations]
    assert spans
    for span in spans:
        data = generations[span.span_id]
        request = recorded_request(span)
        assert request.tools == data.get("tools", [])
        assert [m["role"] for m in request.messages] == [m["role"] for m in data["input"]]
        assert request.params == {
            k: v for k, v in data["model_config"].items() if v is not None and k != "base_url"
        }


def test_a_completion_prompt_is_one_user_message(fixtures_dir, tmp_path):
    """LlamaIndex's complete(): OpenInference records the prompt in llm.prompts."""
    path = fixtures_dir / "llamaindex" / "rag-agent-openinference.otlp.json"
    raw = next(s for s in raw_spans(path) if s.name == "OpenAI.complete")
    span = get_span(_stored(tmp_path, path), raw.trace_id, raw.span_id)
    call = recorded_call(span)
    assert call.request.messages == [
        {"role": "user", "content": raw.attrs["llm.prompts"][0], "tool_calls": [], "tool_call_id": None}
    ]
    assert call.notes == []


# --- end to end ------------------------------------------------------------------------------------


def test_recorded_calls_replay_through_the_client(fixtures_dir, tmp_path):
    """A tool round trip with an image, as recorded, sent by the official client to a local server:
    the server gets the recorded tool call, its result by id, the image, the tools and parameters."""
    path = fixtures_dir / "multimodal" / "image-audio-openinference.otlp.json"
    raw, span = next(
        (r, s)
        for r, s in _llm_spans(tmp_path, path)
        if "llm.input_messages.3.message.tool_call_id" in r.attrs
    )
    request = recorded_request(span, model="local-small")
    with OpenAICompatibleServer() as server:
        for api in ("chat", "responses"):
            ModelClient(Endpoint("test", server.base_url, api=api, max_retries=0), "k").complete(request)
    chat, responses = server.requests
    assert chat["model"] == "local-small"
    assert chat["tools"] == [json.loads(t) for t in _indexed(raw.attrs, "llm.tools", "tool.json_schema")]
    call_id = raw.attrs["llm.input_messages.2.message.tool_calls.0.tool_call.id"]
    assert [c["id"] for c in chat["messages"][2]["tool_calls"]] == [call_id]
    assert chat["messages"][3] == {
        "role": "tool",
        "tool_call_id": raw.attrs["llm.input_messages.3.message.tool_call_id"],
        "content": raw.attrs["llm.input_messages.3.message.content"],
    }
    image = raw.attrs["llm.input_messages.1.message.contents.1.message_content.image.image.url"]
    assert {"type": "image_url", "image_url": {"url": image}} in chat["messages"][1]["content"]
    outputs = [i for i in responses["input"] if i.get("type") == "function_call_output"]
    assert [o["call_id"] for o in outputs] == [raw.attrs["llm.input_messages.3.message.tool_call_id"]]
