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

from spanscope.core.conventions.base import Convention, json_source, kind_table
from spanscope.core.model import Kind

CONVENTION = Convention(
    name="MCP",
    kinds=(("mcp.method.name", kind_table({"tools/call": Kind.TOOL})),),
    session=("mcp.session.id",),
    value_output=(json_source("mcp.response.value"),),
)
