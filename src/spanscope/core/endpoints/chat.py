"""The vocabulary of one model call we make: the request (normalized messages, tools, parameters),
the completion that comes back, and the one error every failure becomes.

Messages are `model.message` dicts (role, content, tool_calls [{id, name, arguments}], tool_call_id),
the shape every reader produces, so a recorded call's input is a request as it stands; the client
turns them into the endpoint's protocol."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class ChatRequest:
    """What is sent: `tools` are OpenAI function tools ({type: function, function: {name,
    description, parameters}}); `params` the sampling parameters by their Chat Completions names
    (temperature, top_p, max_tokens, stop, seed, presence_penalty, frequency_penalty, tool_choice,
    response_format, ...)."""

    model: str
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Completion:
    """What came back, with the times we measured (ns since the epoch, ttft from the start).

    `text` is the answer's text ("" when it only called tools); `tool_calls` normalized dicts
    {id, name, arguments}; token counts follow model.Span (input includes cached, output includes
    reasoning); None where the endpoint did not say."""

    model: str
    text: str
    tool_calls: list[dict[str, Any]]
    finish_reason: str | None
    start_ns: int
    end_ns: int
    ttft_ns: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int | None = None
    reasoning_tokens: int | None = None
    response_id: str | None = None


class EndpointError(Exception):
    """A call that failed, said for a person: what happened and what to do ("401 Unauthorized from
    http://localhost:8000/v1: the API key was refused; set it in Settings › Model Endpoints").

    `status` is the HTTP status when there was one; `retry_after_s` what a 429 or 503 asked for;
    `retryable` whether trying the same call later may succeed (429, 5xx, timeouts, refused
    connections)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after_s: float | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after_s = retry_after_s
        self.retryable = retryable


class Cancelled(Exception):
    """The user stopped the call; nothing of it is stored."""
