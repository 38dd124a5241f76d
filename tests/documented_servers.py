"""A loopback HTTP server answering with files a test wrote: the documented response shapes of trace
servers that cannot run here (Tempo, Jaeger, Langfuse), so their clients are tested over real HTTP.

The test writes each answer body as a file and routes a GET path to it, optionally only when the
request's query parameters include given values (a list page, a page number, an end time). A
request no route matches gets 404 `{"message": "not found"}`. The server records every request
(path, query, headers), and fails on demand: `fail(401)`, `fail(429, retry_after="1")`,
`fail(500)`, `stall(seconds)` — each for the next `times` matching requests. `require_auth(value)`
answers 401 to a request whose Authorization header is not `value`.

Usage:
    with DocumentedServer() as server:
        server.route("/api/services", path_of_services_json)
        server.route("/api/traces", page2_json, when={"end": "1700000000000000"})
        server.base_url  # http://127.0.0.1:PORT
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Recorded:
    """A request as the server saw it; `query` maps a parameter to all its values."""

    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class _Route:
    path: str
    body: Path
    when: dict[str, str]
    status: int
    content_type: str


@dataclass
class _Fault:
    status: int | None  # None: a stall
    times: int
    path: str | None
    retry_after: str | None = None
    stall_s: float = 0.0
    body: bytes = b'{"message": "fault injected by the test"}'


@dataclass
class DocumentedServer:
    host: str = "127.0.0.1"
    requests: list[Recorded] = field(default_factory=list)
    _routes: list[_Route] = field(default_factory=list)
    _faults: deque[_Fault] = field(default_factory=deque)
    _auth: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stopping: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> DocumentedServer:
        self._server = ThreadingHTTPServer((self.host, 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def host_port(self) -> str:
        return self.base_url.removeprefix("http://")

    def route(
        self,
        path: str,
        body: Path,
        *,
        when: dict[str, str] | None = None,
        status: int = 200,
        content_type: str = "application/json",
    ) -> None:
        """Answer GET `path` (exact) with the file `body`, when the query has every `when` value.
        Routes added later win, so a test can route a specific page over a general one."""
        with self._lock:
            self._routes.insert(0, _Route(path, body, dict(when or {}), status, content_type))

    def fail(
        self, status: int, *, times: int = 1, path: str | None = None, retry_after: str | None = None
    ) -> None:
        """The next `times` requests (to `path` only, when given) get `status`."""
        with self._lock:
            self._faults.append(_Fault(status, times, path, retry_after))

    def stall(self, seconds: float, *, times: int = 1, path: str | None = None) -> None:
        """The next `times` requests wait `seconds` before being answered as routed."""
        with self._lock:
            self._faults.append(_Fault(None, times, path, stall_s=seconds))

    def require_auth(self, value: str | None) -> None:
        """Answer 401 unless the request's Authorization header is `value` (None: no check)."""
        self._auth = value

    def paths(self) -> list[str]:
        with self._lock:
            return [r.path for r in self.requests]

    # --- serving ---------------------------------------------------------------------------

    def _take_fault(self, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.path is None or fault.path == path:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def _answer(self, request: Recorded) -> tuple[int, dict[str, str], bytes]:
        fault = self._take_fault(request.path)
        if fault is not None and fault.status is None:
            self._stopping.wait(fault.stall_s)
        elif fault is not None:
            headers = {"Content-Type": "application/json"}
            if fault.retry_after is not None:
                headers["Retry-After"] = fault.retry_after
            return fault.status, headers, fault.body
        if self._auth is not None and request.headers.get("authorization") != self._auth:
            return 401, {"Content-Type": "application/json"}, b'{"message": "Invalid credentials"}'
        with self._lock:
            routes = list(self._routes)
        for route in routes:
            if route.path == request.path and all(
                request.param(key) == value for key, value in route.when.items()
            ):
                return route.status, {"Content-Type": route.content_type}, route.body.read_bytes()
        return 404, {"Content-Type": "application/json"}, b'{"message": "not found"}'


def _handler(server: DocumentedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            request = Recorded(
                parts.path,
                parse_qs(parts.query, keep_blank_values=True),
                {k.lower(): v for k, v in self.headers.items()},
            )
            with server._lock:
                server.requests.append(request)
            status, headers, body = server._answer(request)
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (a stall)
                pass

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler
