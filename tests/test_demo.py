"""The bundled demo traces: reproducible from their script, valid OTLP JSON, and showing every scenario.

Only orjson and the standard library are used, so the demo is checked independently of the project's
own readers.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections import Counter, defaultdict
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson
import pytest

from spanscope.core.resources import demo_traces

SCRIPT = Path(__file__).resolve().parents[1] / "resources" / "demo" / "make_demo.py"
DEMO_FILE = demo_traces()
HEX_TRACE = re.compile(r"[0-9a-f]{32}")
HEX_SPAN = re.compile(r"[0-9a-f]{16}")
DIGITS = re.compile(r"-?[0-9]+")


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_demo", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is created
    spec.loader.exec_module(module)
    return module


@cache
def requests() -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in DEMO_FILE.read_bytes().splitlines()]


@cache
def traces() -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """(service name, span) pairs grouped by trace id."""
    grouped: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for request in requests():
        for resource_spans in request["resourceSpans"]:
            service = attributes(resource_spans["resource"])["service.name"]
            for scope_spans in resource_spans["scopeSpans"]:
                for span in scope_spans["spans"]:
                    grouped[span["traceId"]].append((service, span))
    return dict(grouped)


def decode(value: dict[str, Any]) -> Any:
    (kind, raw), *rest = value.items()
    assert not rest, value
    if kind == "stringValue":
        assert isinstance(raw, str)
        return raw
    if kind == "intValue":
        assert isinstance(raw, str) and DIGITS.fullmatch(raw), value  # int64 travel as decimal strings
        return int(raw)
    if kind == "doubleValue":
        assert isinstance(raw, float), value
        return raw
    if kind == "boolValue":
        assert isinstance(raw, bool), value
        return raw
    assert kind == "arrayValue", value
    return [decode(v) for v in raw["values"]]


def attributes(item: dict[str, Any]) -> dict[str, Any]:
    decoded = {kv["key"]: decode(kv["value"]) for kv in item.get("attributes", [])}
    assert len(decoded) == len(item.get("attributes", [])), "duplicate attribute keys"
    return decoded


def all_spans() -> list[tuple[str, dict[str, Any]]]:
    return [pair for spans in traces().values() for pair in spans]


def model_name(attrs: dict[str, Any]) -> str | None:
    return attrs.get("llm.model_name") or attrs.get("gen_ai.request.model")


def test_generator_writes_into_the_package() -> None:
    assert load_script().OUTPUT == DEMO_FILE


def test_committed_file_matches_generator(tmp_path: Path) -> None:
    generated = load_script().write_demo(tmp_path / "demo.otlp.jsonl")
    assert generated.read_bytes() == DEMO_FILE.read_bytes(), "re-run resources/demo/make_demo.py"


def test_file_is_small_enough_to_bundle() -> None:
    assert DEMO_FILE.stat().st_size < 600_000


def test_every_line_is_an_otlp_export_request() -> None:
    for request in requests():
        assert set(request) == {"resourceSpans"}
        for resource_spans in request["resourceSpans"]:
            assert attributes(resource_spans["resource"])["service.name"]
            for scope_spans in resource_spans["scopeSpans"]:
                assert scope_spans["scope"]["name"] and scope_spans["scope"]["version"]
                assert scope_spans["spans"]
                for span in scope_spans["spans"]:
                    check_span(span)


def check_span(span: dict[str, Any]) -> None:
    assert HEX_TRACE.fullmatch(span["traceId"]) and HEX_SPAN.fullmatch(span["spanId"])
    assert "parentSpanId" not in span or HEX_SPAN.fullmatch(span["parentSpanId"])
    assert span["name"] and span["kind"] in (1, 3)
    assert isinstance(span["startTimeUnixNano"], str) and isinstance(span["endTimeUnixNano"], str)
    start, end = int(span["startTimeUnixNano"]), int(span["endTimeUnixNano"])
    assert start < end
    assert datetime.fromtimestamp(start / 1e9, UTC).date().isoformat() == "2026-11-20"
    attributes(span)
    for event in span.get("events", []):
        assert isinstance(event["timeUnixNano"], str) and start <= int(event["timeUnixNano"]) <= end
        assert event["name"] and attributes(event)
    status = span["status"]
    assert status in ({}, {"code": 1}) or (status["code"] == 2 and set(status) <= {"code", "message"})


def test_every_trace_is_one_tree_with_children_inside_their_parents() -> None:
    for trace_id, spans in traces().items():
        by_id = {span["spanId"]: span for _, span in spans}
        assert len(by_id) == len(spans), f"duplicate span ids in {trace_id}"
        roots = [span for span in by_id.values() if "parentSpanId" not in span]
        assert len(roots) == 1, trace_id
        for span in by_id.values():
            if span is roots[0]:
                continue
            parent = by_id[span["parentSpanId"]]
            assert int(parent["startTimeUnixNano"]) <= int(span["startTimeUnixNano"]), span["name"]
            assert int(span["endTimeUnixNano"]) <= int(parent["endTimeUnixNano"]), span["name"]


def test_traces_per_service() -> None:
    services = Counter(spans[0][0] for spans in traces().values())
    assert services == {"support-bot": 5, "travel-agent": 2}


def test_errors_carry_exception_events_with_stack_traces() -> None:
    failed = [(service, span) for service, span in all_spans() if span["status"].get("code") == 2]
    exceptions = [attributes(event) for _, span in failed for event in span.get("events", [])]
    assert all(e["exception.stacktrace"].startswith("Traceback (most recent call last):") for e in exceptions)
    messages = " ".join(e["exception.message"] for e in exceptions)
    assert "429" in messages, "the rate-limited LLM call"
    assert "RATE_SOLD_OUT" in messages, "the failed hotel booking"
    assert "book_hotel" in {attributes(span).get("gen_ai.tool.name") for _, span in failed}


def test_rate_limited_call_is_retried_in_the_same_trace() -> None:
    for spans in traces().values():
        llm = [span for _, span in spans if attributes(span).get("openinference.span.kind") == "LLM"]
        if any("429" in span["status"].get("message", "") for span in llm):
            assert [span["status"].get("code") for span in sorted(llm, key=start_time)] == [2, 1]
            return
    pytest.fail("no trace with a rate-limited LLM call")


def start_time(span: dict[str, Any]) -> int:
    return int(span["startTimeUnixNano"])


def trace_containing(span_name: str) -> list[tuple[str, dict[str, Any]]]:
    return next(spans for spans in traces().values() if any(span["name"] == span_name for _, span in spans))


def test_agent_recovers_from_the_failed_tool_call() -> None:
    agent_trace = trace_containing("invoke_agent travel_planner")
    chats = [span for _, span in agent_trace if attributes(span).get("gen_ai.operation.name") == "chat"]
    assert len(chats) >= 5
    assert any(attributes(span).get("gen_ai.usage.reasoning.output_tokens") for span in chats)
    tools = Counter(attributes(span).get("gen_ai.tool.name") for _, span in agent_trace)
    assert {"get_weather", "search_flights", "book_hotel"} <= set(tools)
    final = max(chats, key=start_time)
    assert orjson.loads(attributes(final)["gen_ai.output.messages"])[0]["finish_reason"] == "stop"


def test_support_session_spans_three_traces_on_different_models() -> None:
    session: dict[str, set[str]] = defaultdict(set)
    for trace_id, spans in traces().items():
        for _, span in spans:
            attrs = attributes(span)
            if attrs.get("session.id") == "sess-demo-42":
                assert attrs["user.id"] == "user-1042"
                if model := model_name(attrs):
                    session[trace_id].add(model)
    assert len(session) == 3
    assert len(set().union(*session.values())) == 3


def test_usage_details_in_both_conventions() -> None:
    keys = {key for _, span in all_spans() for key in attributes(span)}
    assert "llm.token_count.prompt_details.cache_read" in keys
    assert "gen_ai.usage.cache_read.input_tokens" in keys
    assert "gen_ai.usage.reasoning.output_tokens" in keys
    assert {"retrieval.documents.2.document.score", "embedding.model_name"} <= keys


def test_at_least_four_models() -> None:
    models = {model_name(attributes(span)) for _, span in all_spans()} - {None}
    assert len(models) >= 4, models


def test_one_long_trace_for_tree_and_timeline() -> None:
    longest = max(traces().values(), key=len)
    assert len(longest) >= 150
    by_id = {span["spanId"]: span for _, span in longest}
    depth = max(ancestors(span, by_id) for span in by_id.values())
    assert depth >= 2  # three levels: root, sub-agents, their model and tool calls


def ancestors(span: dict[str, Any], by_id: dict[str, dict[str, Any]]) -> int:
    count = 0
    while "parentSpanId" in span:
        span = by_id[span["parentSpanId"]]
        count += 1
    return count
