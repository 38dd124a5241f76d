"""A call Spanscope made, as a span like any recorded one: its input the request's messages, its
output the answer as an assistant message, its model, tokens, times and time to first token, the
parameters and tools it was sent with as attributes — so it is stepped, diffed, searched, priced and
charted as every other span is. A replay or a judgement also names the recorded call it replays or
judges (`spanscope.replay.*`), which the store indexes, and links to it (an OTLP-style link)."""

from __future__ import annotations

import json
import secrets
from typing import Any
from urllib.parse import urlsplit

from spanscope.core.endpoints.chat import ChatRequest, Completion
from spanscope.core.endpoints.config import Endpoint
from spanscope.core.model import Kind, Span, Status, message

#: Hosts whose models genai-prices knows by provider; other endpoints are priced by model name alone.
_PROVIDERS = {"api.openai.com": "openai", "openrouter.ai": "openrouter", "api.groq.com": "groq"}
#: The service (and so the project in the trace list) of the traces Spanscope makes itself.
SERVICES = {"replay": "spanscope replay", "judge": "spanscope judge"}
#: Attributes naming the recorded call a replay or judgement is of (store/batches.py REPLAY_OF).
OF_TRACE, OF_SPAN = "spanscope.replay.of_trace_id", "spanscope.replay.of_span_id"


def new_trace_id() -> str:
    return secrets.token_hex(16)


def new_span_id() -> str:
    return secrets.token_hex(8)


def provider_of(endpoint: Endpoint) -> str | None:
    return _PROVIDERS.get(urlsplit(endpoint.base_url).hostname or "")


def answer_message(completion: Completion) -> dict[str, Any]:
    """The answer as a normalized assistant message."""
    return message("assistant", completion.text or None, completion.tool_calls)


def call_span(
    request: ChatRequest,
    completion: Completion,
    *,
    endpoint: Endpoint,
    purpose: str = "replay",
    of_trace_id: str | None = None,
    of_span_id: str | None = None,
    run: str | None = None,
    trace_id: str | None = None,
    span_id: str | None = None,
    parent_id: str | None = None,
    name: str | None = None,
) -> Span:
    """The span of one call made to `endpoint` (a new trace's root unless `trace_id`/`parent_id`
    place it in one)."""
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": request.model,
        "gen_ai.response.model": completion.model,
        "server.address": endpoint.base_url,
        "spanscope.endpoint": endpoint.name,
    }
    if completion.response_id:
        attributes["gen_ai.response.id"] = completion.response_id
    if completion.finish_reason:
        attributes["gen_ai.response.finish_reasons"] = [completion.finish_reason]
    for key, value in request.params.items():
        if isinstance(value, str | int | float | bool):
            attributes[f"gen_ai.request.{key}"] = value
    if request.params:
        attributes["spanscope.request.params"] = json.dumps(request.params, default=str)
    if request.tools:
        attributes["spanscope.request.tools"] = json.dumps(request.tools, default=str)
    links = []
    if of_trace_id is not None and of_span_id is not None:
        attributes |= {OF_TRACE: of_trace_id, OF_SPAN: of_span_id, "spanscope.replay.purpose": purpose}
        if run is not None:
            attributes["spanscope.replay.run"] = run
        links.append(
            {"trace_id": of_trace_id, "span_id": of_span_id, "attributes": {"spanscope.link": purpose}}
        )
    total = None
    if completion.input_tokens is not None and completion.output_tokens is not None:
        total = completion.input_tokens + completion.output_tokens
    return Span(
        trace_id=trace_id or new_trace_id(),
        span_id=span_id or new_span_id(),
        parent_id=parent_id,
        name=name or f"{purpose} {request.model}",
        start_ns=completion.start_ns,
        end_ns=completion.end_ns,
        kind=Kind.LLM,
        status=Status.OK,
        model=completion.model or request.model,
        provider=provider_of(endpoint),
        input_tokens=completion.input_tokens,
        output_tokens=completion.output_tokens,
        total_tokens=total,
        cache_read_tokens=completion.cache_read_tokens,
        reasoning_tokens=completion.reasoning_tokens,
        input=request.messages,
        output=[answer_message(completion)],
        service=SERVICES.get(purpose, "spanscope"),
        resource={"service.name": SERVICES.get(purpose, "spanscope")},
        attributes=attributes,
        links=links,
        ttft_ns=completion.ttft_ns,
    )
