"""The replay window's work off the GUI thread, as plain functions for a QtWorker: listing an
endpoint's models, and one replay (the call streamed, then stored as a trace linked to its original).

Failures a user can act on (the endpoint's, the store's) come back as a `Failed` result to show in
place, not as exceptions: those go to the status bar as the app's own faults."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from spanscope.core.endpoints.chat import Cancelled, ChatRequest, Completion, EndpointError
from spanscope.core.endpoints.client import ModelClient
from spanscope.core.endpoints.config import Endpoint
from spanscope.core.model import Span
from spanscope.core.replay.spans import call_span
from spanscope.core.store import StoreError
from spanscope.core.store.replays import store_spans
from spanscope.ui.workers import Task, TaskState


@dataclass(frozen=True, slots=True)
class Failed:
    """What went wrong, said for a person (never holding a key)."""

    message: str


@dataclass(frozen=True, slots=True)
class Stopped:
    """The user cancelled: nothing was stored."""


@dataclass(frozen=True, slots=True)
class Replayed:
    """The answer, and the span stored for it (its trace is the replay's)."""

    completion: Completion
    span: Span


@dataclass(frozen=True, slots=True)
class Models:
    endpoint: Endpoint
    names: list[str]


def list_models(endpoint: Endpoint) -> Task:
    def task(state: TaskState) -> Models | Failed:
        try:
            return Models(endpoint, ModelClient(endpoint).models())
        except EndpointError as exc:
            return Failed(str(exc))

    return task


def replay(
    store_path: Path,
    endpoint: Endpoint,
    request: ChatRequest,
    of: tuple[str, str],
    *,
    name: str | None = None,
) -> Task:
    """Send `request` streamed (the text so far reported as it grows), then store the answer as a
    replay of span `of` (trace id, span id). Cancelled before the store, nothing is written."""

    def task(state: TaskState) -> Replayed | Failed | Stopped:
        on_text = _growing(state.report)
        try:
            completion = ModelClient(endpoint).complete(
                request, stream=True, on_text=on_text, cancelled=lambda: state.cancelled
            )
        except Cancelled:
            return Stopped()
        except EndpointError as exc:
            return Failed(str(exc))
        if state.cancelled:
            return Stopped()
        span = call_span(
            request,
            completion,
            endpoint=endpoint,
            purpose="replay",
            of_trace_id=of[0],
            of_span_id=of[1],
            name=name,
        )
        try:
            store_spans(store_path, [span], f"replay: {request.model} at {endpoint.base_url}")
        except StoreError as exc:
            return Failed(f"The answer came but could not be stored: {exc}")
        return Replayed(completion, span)

    return task


def _growing(report: Callable[[object], None]) -> Callable[[str], None]:
    """on_text for the client: reports the whole text so far (the worker throttles what it sends,
    and a dropped report costs nothing: the next one holds all of it)."""
    text = ""

    def on_text(piece: str) -> None:
        nonlocal text
        text += piece
        report(text)

    return on_text
