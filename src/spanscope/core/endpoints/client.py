"""Calls to an OpenAI-compatible endpoint through the official `openai` client: list its models, run
one request (streamed or not) and turn every way it can fail into an EndpointError a person can act
on. The key is handed to the client and to nothing else; messages are scrubbed of it.

Cancelling is prompt even while the server is silent: the call runs on a thread of its own, and
`complete` returns as soon as the caller's `cancelled()` says so.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from spanscope.core.endpoints.chat import Cancelled, ChatRequest, Completion, EndpointError
from spanscope.core.endpoints.config import Endpoint, EndpointConfigError, read_endpoints
from spanscope.core.endpoints.secrets import AD_HOC_KEY_ENV, api_key
from spanscope.core.endpoints.wire import chat_messages, chat_params, responses_request

if TYPE_CHECKING:
    import openai

#: How often the cancel watcher asks `cancelled()`.
CANCEL_POLL_S = 0.05
#: Sent when the endpoint needs no key (the client insists on one; local servers ignore it).
NO_KEY = "no-key"


def endpoint_for(spec: str, saved: Sequence[Endpoint] | None = None) -> Endpoint:
    """The endpoint a command names: a saved endpoint's name, or a base URL (its key, if any, from
    $SPANSCOPE_API_KEY). EndpointError when it is neither, or the saved endpoints cannot be read."""
    try:
        endpoints = read_endpoints() if saved is None else saved
    except EndpointConfigError as exc:
        raise EndpointError(str(exc)) from None
    for endpoint in endpoints:
        if endpoint.name == spec:
            return endpoint
    if spec.startswith(("http://", "https://")):
        return Endpoint(spec, spec.rstrip("/"), key_env=AD_HOC_KEY_ENV)
    names = ", ".join(e.name for e in endpoints) or "none saved"
    raise EndpointError(
        f"no endpoint named {spec!r} ({names}); give a base URL such as http://localhost:11434/v1"
    )


class ModelClient:
    """One endpoint's calls. Building it touches no network."""

    def __init__(self, endpoint: Endpoint, key: str | None = None) -> None:
        self.endpoint = endpoint
        self._key = key if key is not None else api_key(endpoint)
        import openai  # on first use: it takes half a second to import, which the app's start need not pay

        self._client = openai.OpenAI(
            base_url=endpoint.base_url,
            api_key=self._key or NO_KEY,
            timeout=endpoint.timeout_s,
            max_retries=endpoint.max_retries,
        )

    def models(self) -> list[str]:
        """The ids of the models the endpoint offers, sorted."""
        try:
            return sorted(model.id for model in self._client.models.list())
        except Exception as exc:
            raise self._error(exc, "listing its models") from None

    def complete(
        self,
        request: ChatRequest,
        *,
        stream: bool = True,
        on_text: Callable[[str], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> Completion:
        """Run `request`; `on_text` gets each piece of the answer's text as it arrives. Raises
        EndpointError, or Cancelled once `cancelled()` is true (nothing of the answer kept)."""
        if cancelled is None:
            return self._run(request, stream, on_text, None, {})
        # The call runs on a thread of its own so that Cancel returns at once even while the server
        # is silent (no read can be interrupted); an abandoned call ends by itself, its answer dropped.
        outcome: dict[str, Any] = {}
        holder: dict[str, Any] = {}
        done = threading.Event()

        def call() -> None:
            try:
                outcome["completion"] = self._run(
                    request, stream, _unless(on_text, cancelled), cancelled, holder
                )
            except BaseException as exc:
                outcome["error"] = exc
            finally:
                done.set()

        threading.Thread(target=call, name="model call", daemon=True).start()
        while not done.wait(CANCEL_POLL_S):
            if cancelled():
                response = holder.get("stream")
                if response is not None:
                    response.close()
                raise Cancelled()
        if cancelled():
            raise Cancelled()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["completion"]

    def _run(
        self,
        request: ChatRequest,
        stream: bool,
        on_text: Callable[[str], None] | None,
        cancelled: Callable[[], bool] | None,
        holder: dict[str, Any],
    ) -> Completion:
        start_ns = time.time_ns()
        try:
            if self.endpoint.api == "responses":
                return self._respond(request, start_ns, on_text)
            if stream:
                return self._stream(request, start_ns, on_text, cancelled, holder)
            return self._complete(request, start_ns, on_text)
        except Cancelled:
            raise
        except Exception as exc:
            if cancelled is not None and cancelled():
                raise Cancelled() from None
            raise self._error(exc, f"running {request.model!r}") from None

    def _chat_kwargs(self, request: ChatRequest) -> dict[str, Any]:
        kwargs = chat_params(request.params)
        kwargs.update(model=request.model, messages=chat_messages(request.messages))
        if request.tools:
            kwargs["tools"] = request.tools
        return kwargs

    def _complete(
        self, request: ChatRequest, start_ns: int, on_text: Callable[[str], None] | None
    ) -> Completion:
        response = self._client.chat.completions.create(**self._chat_kwargs(request))
        end_ns = time.time_ns()
        if not response.choices:
            raise EndpointError(f"{self.endpoint.base_url} answered with no choices")
        choice = response.choices[0]
        text = choice.message.content or ""
        if on_text and text:
            on_text(text)
        calls = [
            _tool_call(call.id, call.function.name, call.function.arguments)
            for call in choice.message.tool_calls or []
            if getattr(call, "function", None) is not None
        ]
        return _with_usage(
            Completion(
                response.model or request.model,
                text,
                calls,
                choice.finish_reason,
                start_ns,
                end_ns,
                response_id=response.id,
            ),
            response.usage,
        )

    def _stream(
        self,
        request: ChatRequest,
        start_ns: int,
        on_text: Callable[[str], None] | None,
        cancelled: Callable[[], bool] | None,
        holder: dict[str, Any],
    ) -> Completion:
        kwargs = self._chat_kwargs(request)
        events = self._client.chat.completions.create(
            **kwargs, stream=True, stream_options={"include_usage": True}
        )
        holder["stream"] = events
        text: list[str] = []
        calls: dict[int, dict[str, Any]] = {}
        finish = model = response_id = usage = None
        ttft_ns = None
        with events:
            for chunk in events:
                if cancelled is not None and cancelled():
                    raise Cancelled()
                model = chunk.model or model
                response_id = chunk.id or response_id
                usage = chunk.usage or usage
                for choice in chunk.choices[:1]:
                    delta = choice.delta
                    if delta.content:
                        ttft_ns = ttft_ns or time.time_ns() - start_ns
                        text.append(delta.content)
                        if on_text:
                            on_text(delta.content)
                    for piece in delta.tool_calls or []:
                        ttft_ns = ttft_ns or time.time_ns() - start_ns
                        call = calls.setdefault(piece.index, {"id": None, "name": "", "arguments": ""})
                        call["id"] = piece.id or call["id"]
                        if piece.function is not None:
                            call["name"] += piece.function.name or ""
                            call["arguments"] += piece.function.arguments or ""
                    finish = choice.finish_reason or finish
        if finish is None:
            raise EndpointError(
                f"the stream from {self.endpoint.base_url} ended before the answer was complete "
                f"({len(''.join(text)):,} characters received); try again",
                retryable=True,
            )
        tool_calls = [_tool_call(c["id"], c["name"], c["arguments"]) for _, c in sorted(calls.items())]
        completion = Completion(
            model or request.model,
            "".join(text),
            tool_calls,
            finish,
            start_ns,
            time.time_ns(),
            ttft_ns,
            response_id=response_id,
        )
        return _with_usage(completion, usage)

    def _respond(
        self, request: ChatRequest, start_ns: int, on_text: Callable[[str], None] | None
    ) -> Completion:
        """The Responses API, not streamed: its text arrives whole."""
        response = self._client.responses.create(**responses_request(request))
        end_ns = time.time_ns()
        text = response.output_text or ""
        if on_text and text:
            on_text(text)
        calls = [
            _tool_call(item.call_id, item.name, item.arguments)
            for item in response.output
            if item.type == "function_call"
        ]
        usage = response.usage
        completion = Completion(
            response.model or request.model,
            text,
            calls,
            "tool_calls" if calls else (response.status or "completed"),
            start_ns,
            end_ns,
            response_id=response.id,
        )
        if usage is not None:
            completion.input_tokens = usage.input_tokens
            completion.output_tokens = usage.output_tokens
            details = usage.input_tokens_details
            completion.cache_read_tokens = details.cached_tokens if details else None
            out = usage.output_tokens_details
            completion.reasoning_tokens = out.reasoning_tokens if out else None
        return completion

    def _error(self, exc: Exception, doing: str) -> EndpointError:
        """The failure as one line naming the endpoint and what to do; the key scrubbed out."""
        where = self.endpoint.base_url
        error = _described(exc, where, doing, self.endpoint)
        if self._key and self._key in str(error):
            error = EndpointError(
                str(error).replace(self._key, "***"),
                status=error.status,
                retry_after_s=error.retry_after_s,
                retryable=error.retryable,
            )
        return error


def _unless(
    on_text: Callable[[str], None] | None, cancelled: Callable[[], bool]
) -> Callable[[str], None] | None:
    """`on_text` that stops passing text on once the call is cancelled."""
    if on_text is None:
        return None

    def passed(text: str) -> None:
        if not cancelled():
            on_text(text)

    return passed


def _tool_call(call_id: str | None, name: str | None, arguments: str | None) -> dict[str, Any]:
    """A tool call as model.message keeps it: arguments parsed when they are JSON."""
    try:
        parsed: Any = json.loads(arguments) if arguments else {}
    except ValueError:
        parsed = arguments
    return {"id": call_id, "name": name or "", "arguments": parsed}


def _with_usage(completion: Completion, usage: Any) -> Completion:
    if usage is None:
        return completion
    completion.input_tokens = usage.prompt_tokens
    completion.output_tokens = usage.completion_tokens
    prompt = getattr(usage, "prompt_tokens_details", None)
    completion.cache_read_tokens = getattr(prompt, "cached_tokens", None)
    out = getattr(usage, "completion_tokens_details", None)
    completion.reasoning_tokens = getattr(out, "reasoning_tokens", None)
    return completion


def _server_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        message = body.get("message") or (body.get("error") or {}).get("message")
        if isinstance(message, str) and message:
            return message
    return exc.message


def _retry_after(exc: openai.APIStatusError) -> float | None:
    value = exc.response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _key_hint(endpoint: Endpoint) -> str:
    if endpoint.key_env:
        return f"check ${endpoint.key_env}"
    if endpoint.key_in_keyring:
        return f"set the key of {endpoint.name!r} in Settings › Model Endpoints"
    return "this endpoint has no key set: add one in Settings › Model Endpoints"


def _described(exc: Exception, where: str, doing: str, endpoint: Endpoint) -> EndpointError:
    import openai

    if isinstance(exc, EndpointError):
        return exc
    if isinstance(exc, openai.APITimeoutError):
        return EndpointError(
            f"no answer from {where} within {endpoint.timeout_s:g} s while {doing}", retryable=True
        )
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc
        return EndpointError(
            f"cannot reach {where} while {doing}: {cause} (is the server running?)", retryable=True
        )
    if isinstance(exc, openai.APIStatusError):
        status, said = exc.status_code, _server_message(exc)
        if status in (401, 403):
            return EndpointError(
                f"{status} from {where}: the API key was refused ({said}); {_key_hint(endpoint)}",
                status=status,
            )
        if status == 404:
            return EndpointError(f"404 from {where} while {doing}: {said}", status=status)
        if status == 429:
            wait = _retry_after(exc)
            asked = f"; it asks to wait {wait:g} s" if wait is not None else ""
            return EndpointError(
                f"429 rate limited by {where} after {endpoint.max_retries} retries{asked}: {said}",
                status=status,
                retry_after_s=wait,
                retryable=True,
            )
        if status >= 500:
            return EndpointError(
                f"{status} server error from {where} while {doing}: {said}", status=status, retryable=True
            )
        return EndpointError(f"{status} from {where}: the request was refused: {said}", status=status)
    if isinstance(exc, ValueError | openai.APIResponseValidationError):
        return EndpointError(f"{where} sent an answer that is not valid ({exc}) while {doing}")
    return EndpointError(f"{where} failed while {doing}: {type(exc).__name__}: {exc}")
