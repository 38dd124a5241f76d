"""MCP client and server captures (the mcp SDK's own tracing with OpenInference, and OpenLLMetry's
MCP instrumentation) imported end to end, checked against the raw files read here: figures, tool
calls on both sides, and the server's spans under the client's call in one trace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from raw_otlp import Capture, RawSpan, captured, check_figures, tokens
from spanscope.core import conventions
from spanscope.core.model import Kind, Span, Status

BASES = ["mcp/travel-mcp-native", "mcp/travel-mcp-traceloop"]
SUFFIXES = [".otlp-requests", ".otlp.jsonl", ".otlp.json"]


def is_model_call(s: RawSpan) -> bool:
    return s.attrs.get("openinference.span.kind") == "LLM" or s.attrs.get("gen_ai.operation.name") == "chat"


def usage(s: RawSpan) -> tuple[str | None, int | None, int | None]:
    a = s.attrs
    if "openinference.span.kind" in a:
        used = (a.get("llm.token_count.prompt"), a.get("llm.token_count.completion"))
        return a.get("llm.model_name"), tokens(used[0]), tokens(used[1])
    model = a.get("gen_ai.response.model") or a.get("gen_ai.request.model")
    return model, tokens(a.get("gen_ai.usage.input_tokens")), tokens(a.get("gen_ai.usage.output_tokens"))


def is_tool_call(s: RawSpan) -> bool:
    """A tools/call request on either side: the SDK's method attribute, or OpenLLMetry's tool span."""
    return s.attrs.get("mcp.method.name") == "tools/call" or s.attrs.get("traceloop.span.kind") == "tool"


@pytest.fixture(params=[base + suffix for base in BASES for suffix in SUFFIXES])
def capture(request, fixtures_dir: Path, tmp_path: Path) -> Capture:
    return captured(fixtures_dir / request.param, tmp_path)


def test_figures(capture) -> None:
    check_figures(capture, is_model_call, usage)


def test_tool_calls_on_both_sides_are_tools(capture) -> None:
    raw, spans, _ = capture
    tools = {s.span_id for s in raw if is_tool_call(s)}
    assert len(tools) >= 2
    assert {s.span_id for s in spans.values() if s.kind == Kind.TOOL} == tools
    for s in raw:
        if s.attrs.get("traceloop.span.kind") == "tool":
            given = json.loads(s.attrs["traceloop.entity.input"])
            assert spans[s.span_id].input == given
            assert spans[s.span_id].input["tool_name"] == s.attrs["traceloop.entity.name"]
        if "mcp.response.value" in s.attrs:
            assert spans[s.span_id].output == json.loads(s.attrs["mcp.response.value"])


def test_server_spans_sit_under_the_client_call(capture) -> None:
    """Both processes' spans share the trace: each server span's parent is the client's request span."""
    raw, spans, _ = capture
    by_id = {s.span_id: s for s in raw}
    servers = [s for s in raw if s.parent_id in by_id and by_id[s.parent_id].trace_id == s.trace_id]
    assert all(not span.orphan for span in spans.values())
    native = [s for s in raw if s.attrs.get("gen_ai.operation.name") == "execute_tool"]
    for server in native:
        client = by_id[server.parent_id]
        assert client.name == f"MCP send {server.name}"
        assert spans[server.span_id].parent_id == client.span_id
    assert len(servers) == sum(1 for s in raw if s.parent_id)


def test_failed_tools_are_failed(capture) -> None:
    raw, spans, _ = capture
    failed = [s for s in raw if is_tool_call(s) and s.attrs.get("error.type") == "tool_error"]
    assert failed
    for s in failed:
        assert spans[s.span_id].status == Status.ERROR


def test_session_and_client_method() -> None:
    span = Span("t", "s", None, "MCP send tools/call f", 0, attributes={"mcp.method.name": "tools/call"})
    span.attributes["mcp.session.id"] = "sess-1"
    conventions.apply_fields(span)
    assert (span.kind, span.session_id) == (Kind.TOOL, "sess-1")
    listing = Span("t", "s", None, "MCP send tools/list", 0, attributes={"mcp.method.name": "tools/list"})
    conventions.apply_fields(listing)
    assert listing.kind == Kind.SPAN
