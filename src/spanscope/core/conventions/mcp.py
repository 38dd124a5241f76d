"""Model Context Protocol spans: the `mcp` SDK's own tracing (OTel MCP semantic conventions:
`mcp.method.name`, `mcp.session.id`) and the server side of OpenLLMetry's MCP instrumentation
(`mcp.response.value`).

A `tools/call` request is a tool call on both sides. The server's span already says so with
gen_ai.* (`execute_tool`, `gen_ai.tool.name`, read by the GenAI convention); the client's
`MCP send tools/call NAME` span has only the method, named here. OpenLLMetry's client spans are
`traceloop.*` (`<tool>.tool` with kind `tool`, read by the OpenLLMetry convention); its server spans
carry the JSON-RPC result as their output. The server's spans join the client's trace through the
`traceparent` in the request's `params._meta`, so the tree needs nothing from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spanscope.core.conventions.base import Convention, json_source, kind_table
from spanscope.core.model import Kind

METHOD = "mcp.method.name"
TOOL_CALL = "tools/call"
REQUEST_ID = "jsonrpc.request.id"

CONVENTION = Convention(
    name="MCP",
    kinds=((METHOD, kind_table({TOOL_CALL: Kind.TOOL})),),
    session=("mcp.session.id",),
    value_output=(json_source("mcp.response.value"),),
)


def tool_call_request(attributes: Mapping[str, Any]) -> str | None:
    """The JSON-RPC request id of an MCP `tools/call` span as text ('' when not recorded), None for
    any other span: a client's call and the server's span of it carry the same id."""
    if attributes.get(METHOD) != TOOL_CALL:
        return None
    request = attributes.get(REQUEST_ID)
    return "" if request is None else str(request)
