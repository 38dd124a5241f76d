"""A local OpenAI-compatible server for tests: real HTTP on loopback, speaking the Chat Completions
protocol (plain JSON and server-sent events), GET /v1/models, and the Responses API's non-streamed
form, so replays and judges are tested through the official `openai` client end to end.

It answers deterministically: the reply is "echo: " + the last user message's text, unless the test
queued a scripted answer (`server.answers`) or a fault (`server.faults`). Faults reproduce what real
endpoints do: 401 with an OpenAI error body, 429 with Retry-After, 500, a stall past the client's
timeout, a stream cut off or holding a line that is not JSON. It counts requests and the most it
served at the same time, so a test can hold `--concurrency` to its word; `delay_s` keeps each
request open that long so concurrency shows.

Usage:
    with OpenAICompatibleServer() as server:
        server.base_url  # http://127.0.0.1:PORT/v1
        server.faults.append(Fault.RATE_LIMITED)
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from enum import Enum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODELS = ("local-small", "local-large", "judge-model")


class Fault(Enum):
    """One request's failure, taken from the front of `server.faults`."""

    UNAUTHORIZED = "401"
    RATE_LIMITED = "429"
    SERVER_ERROR = "500"
    STALL = "stall"  # sleeps `stall_s` before answering: past a short client timeout
    CUT_STREAM = "cut"  # a stream that stops after its first delta, without [DONE]
    MALFORMED_STREAM = "malformed"  # a stream holding a line that is not JSON


@dataclass
class Answer:
    """A scripted answer: text and/or tool calls ({id, name, arguments: JSON text})."""

    text: str = ""
    tool_calls: list[dict[str, str]] = field(default_factory=list)
    input_tokens: int = 11
    output_tokens: int = 7
    cached_tokens: int = 0


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


class OpenAICompatibleServer:
    """The server and what it saw: `requests` (parsed bodies, in order), `headers` (each request's),
    `max_concurrent`, and the queues the test fills: `answers`, `faults`."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        delay_s: float = 0.0,
        stall_s: float = 3.0,
        chunk_delay_s: float = 0.005,
    ) -> None:
        self.api_key = api_key
        #: The pause between a stream's pieces (0: as fast as the socket takes them).
        self.chunk_delay_s = chunk_delay_s
        self.delay_s = delay_s
        self.stall_s = stall_s
        self.answers: deque[Answer] = deque()
        self.faults: deque[Fault] = deque()
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.retry_after_s = 1
        self.max_concurrent = 0
        self._active = 0
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __enter__(self) -> OpenAICompatibleServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _take(self, queue: deque) -> Any:
        with self._lock:
            return queue.popleft() if queue else None

    def _enter(self) -> None:
        with self._lock:
            self._active += 1
            self.max_concurrent = max(self.max_concurrent, self._active)

    def _leave(self) -> None:
        with self._lock:
            self._active -= 1

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def _error(self, status: int, message: str, kind: str, headers: dict[str, str] | None = None):
                body = {"error": {"message": message, "type": kind, "param": None, "code": None}}
                self._send_json(status, body, headers)

            def _authorized(self) -> bool:
                if server.api_key is None or self.headers.get("Authorization") == f"Bearer {server.api_key}":
                    return True
                self._error(401, "Incorrect API key provided.", "invalid_request_error")
                return False

            def do_GET(self) -> None:
                if not self._authorized():
                    return
                if self.path.rstrip("/") != "/v1/models":
                    self._error(404, f"no route {self.path}", "not_found")
                    return
                data = [{"id": m, "object": "model", "created": 0, "owned_by": "test"} for m in MODELS]
                self._send_json(200, {"object": "list", "data": data})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                server._enter()
                try:
                    with server._lock:
                        server.requests.append(body)
                        server.headers.append(dict(self.headers.items()))
                    if not self._authorized():
                        return
                    if server.delay_s:
                        time.sleep(server.delay_s)
                    fault = server._take(server.faults)
                    if fault is Fault.UNAUTHORIZED:
                        self._error(401, "Incorrect API key provided.", "invalid_request_error")
                    elif fault is Fault.RATE_LIMITED:
                        headers = {"Retry-After": str(server.retry_after_s)}
                        self._error(429, "Rate limit reached for requests.", "requests", headers)
                    elif fault is Fault.SERVER_ERROR:
                        self._error(500, "The server had an error while processing your request.", "server")
                    else:
                        if fault is Fault.STALL:
                            time.sleep(server.stall_s)
                        self._answer(body, fault)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    server._leave()

            def _answer(self, body: dict[str, Any], fault: Fault | None) -> None:
                said = body.get("input") if isinstance(body.get("input"), str) else None
                answer = server._take(server.answers) or Answer(
                    text="echo: " + (said or _last_user_text(body.get("messages") or body.get("input") or []))
                )
                model = body.get("model") or MODELS[0]
                if self.path.rstrip("/") == "/v1/responses":
                    self._send_json(200, _response_object(model, answer))
                elif self.path.rstrip("/") != "/v1/chat/completions":
                    self._error(404, f"no route {self.path}", "not_found")
                elif body.get("stream"):
                    usage = bool((body.get("stream_options") or {}).get("include_usage"))
                    self._stream(model, answer, fault, usage)
                else:
                    self._send_json(200, _completion(model, answer))

            def _stream(self, model: str, answer: Answer, fault: Fault | None, usage: bool) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                for index, chunk in enumerate(_chunks(model, answer, usage)):
                    if fault is Fault.MALFORMED_STREAM and index == 1:
                        self.wfile.write(b"data: {not json\n\n")
                        self.wfile.flush()
                        return
                    self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
                    self.wfile.flush()
                    if fault is Fault.CUT_STREAM and index == 1:
                        self.close_connection = True
                        return
                    time.sleep(server.chunk_delay_s)
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

        return Handler


def _usage(answer: Answer) -> dict[str, Any]:
    return {
        "prompt_tokens": answer.input_tokens,
        "completion_tokens": answer.output_tokens,
        "total_tokens": answer.input_tokens + answer.output_tokens,
        "prompt_tokens_details": {"cached_tokens": answer.cached_tokens},
    }


def _tool_calls(answer: Answer) -> list[dict[str, Any]]:
    return [
        {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
        for c in answer.tool_calls
    ]


def _completion(model: str, answer: Answer) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": answer.text or None}
    if answer.tool_calls:
        message["tool_calls"] = _tool_calls(answer)
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": message, "finish_reason": "tool_calls" if answer.tool_calls else "stop"}
        ],
        "usage": _usage(answer),
    }


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _chunks(model: str, answer: Answer, usage: bool) -> list[dict[str, Any]]:
    """The answer as a stream: the role, the text a word at a time, each tool call's name then its
    arguments in two pieces, the finish reason, then usage when asked for."""
    chunks = [_chunk(model, {"role": "assistant", "content": ""})]
    words = answer.text.split(" ")
    if answer.text:
        chunks += [_chunk(model, {"content": w if i == 0 else " " + w}) for i, w in enumerate(words)]
    for index, call in enumerate(answer.tool_calls):
        function = {"name": call["name"], "arguments": ""}
        head = {"index": index, "id": call["id"], "type": "function", "function": function}
        half = len(call["arguments"]) // 2
        chunks.append(_chunk(model, {"tool_calls": [head]}))
        for piece in (call["arguments"][:half], call["arguments"][half:]):
            chunks.append(_chunk(model, {"tool_calls": [{"index": index, "function": {"arguments": piece}}]}))
    chunks.append(_chunk(model, {}, "tool_calls" if answer.tool_calls else "stop"))
    if usage:
        chunks.append({**_chunk(model, {}), "choices": [], "usage": _usage(answer)})
    return chunks


def _response_object(model: str, answer: Answer) -> dict[str, Any]:
    """The Responses API's answer: output items (a message, function calls) and usage."""
    output: list[dict[str, Any]] = []
    if answer.text:
        output.append(
            {
                "type": "message",
                "id": "msg_test",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": answer.text, "annotations": []}],
            }
        )
    output += [
        {
            "type": "function_call",
            "id": f"fc_{c['id']}",
            "call_id": c["id"],
            "name": c["name"],
            "arguments": c["arguments"],
            "status": "completed",
        }
        for c in answer.tool_calls
    ]
    return {
        "id": "resp_test",
        "object": "response",
        "created_at": int(time.time()),
        "model": model,
        "status": "completed",
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": {
            "input_tokens": answer.input_tokens,
            "output_tokens": answer.output_tokens,
            "total_tokens": answer.input_tokens + answer.output_tokens,
            "input_tokens_details": {"cached_tokens": answer.cached_tokens},
            "output_tokens_details": {"reasoning_tokens": 0},
        },
    }
