"""What the detail panel says of agent-framework spans: why an ADK model call has no messages, and the
LangGraph node a step ran in."""

from __future__ import annotations

import json

from spanscope.core.conventions import adk
from spanscope.core.model import Kind, Span, Status


def span(**fields) -> Span:
    defaults = {"trace_id": "t" * 32, "span_id": "s" * 16, "parent_id": None, "name": "step", "start_ns": 1}
    return Span(**(defaults | fields))


def test_an_adk_model_call_without_captured_content_says_why(qtbot, panel):
    call = span(
        kind=Kind.LLM, attributes={"gen_ai.operation.name": "generate_content"}, scope={"name": adk.SCOPE}
    )
    panel.set_span(call)
    assert panel.input.view.empty.text() == panel.output.view.empty.text() == adk.CAPTURE_OFF
    panel.set_span(span(kind=Kind.LLM, status=Status.ERROR, attributes=call.attributes, scope=call.scope))
    assert panel.output.view.empty.text().startswith("No output: the span failed")
    panel.set_span(span(kind=Kind.LLM, attributes=call.attributes, scope={"name": "another"}))
    assert panel.input.view.empty.text() == "No input recorded."


def test_a_langgraph_step_names_its_node(qtbot, panel):
    metadata = {"thread_id": "t-1", "langgraph_node": "agent", "langgraph_step": 3}
    panel.set_span(span(name="ChatOpenAI", attributes={"metadata": json.dumps(metadata)}))
    assert "node agent, step 3" in panel.header.title.text()
    panel.set_span(span(name="plain", attributes={"metadata": "{}"}))
    assert "node" not in panel.header.title.text()
