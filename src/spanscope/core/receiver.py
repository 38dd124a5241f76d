"""An OTLP/HTTP trace receiver: running apps export spans (POST /v1/traces) and log records
(POST /v1/logs: GenAI message events) straight into the store.

It answers as the OTLP/HTTP specification asks, and 200 only once the records are committed
(store/live.py), so an acknowledged span is a stored span whatever happens to the process next:
200 with an ExportTraceServiceResponse (partial success names each rejected span and why), 400 for
a body that cannot be decoded (nested too deeply included), 413 for a body over the size limit, 415
for a content type other than JSON or protobuf, 401 without the bearer token when one is set, and
503 with Retry-After when the store cannot take the records (disk full, read-only, locked by
another writer past a deadline, the receiver stopping), so exporters retry instead of losing them.
Error bodies are google.rpc.Status in the request's encoding. Each connection is served on its own
thread, and the listen backlog holds LISTEN_BACKLOG connections waiting to be accepted.
"""

from __future__ import annotations

import contextlib
import hmac
import socket
import threading
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
from google.protobuf.message import DecodeError
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsPartialSuccess,
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from spanscope.core.formats import otlp_json, otlp_logs, otlp_logs_proto, otlp_proto
from spanscope.core.store.live import SpanSink, StoreUnavailable

TRACES_PATH = "/v1/traces"
LOGS_PATH = "/v1/logs"
DEFAULT_PORT = 4318
#: Largest request body accepted, compressed or not (exporters send a few MB at most).
MAX_BODY_BYTES = 64 * 1024 * 1024
#: Seconds a sender told the store is unavailable (503) is asked to wait before retrying.
RETRY_AFTER_S = 1
#: A client that stops sending mid-body is dropped after this many seconds.
READ_TIMEOUT_S = 10.0
#: google.rpc.Code values used in error bodies.
INVALID_ARGUMENT, RESOURCE_EXHAUSTED, INTERNAL, UNAVAILABLE, UNAUTHENTICATED = 3, 8, 13, 14, 16
#: Connections waiting to be accepted (SYN backlog; the kernel caps it at net.core.somaxconn).
LISTEN_BACKLOG = 4096


class BodyError(Exception):
    """The request body cannot be used; `status` is the HTTP answer."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


#: Decodes a request body into spans or log records, and the reasons of the rejected ones.
Decode = Callable[[bytes], tuple[list[Any], list[str]]]


@dataclass(frozen=True, slots=True)
class Codec:
    """How one content type is decoded, and how answers to it are encoded."""

    content_type: str
    decode: Decode
    response: Callable[[int, str], bytes]
    status: Callable[[int, str], bytes]


def _json_response(rejected_key: str) -> Callable[[int, str], bytes]:
    """The JSON answer of one signal, whose partial success counts rejected items as `rejected_key`."""

    def response(rejected: int, message: str) -> bytes:
        if not rejected:
            return b"{}"
        return orjson.dumps({"partialSuccess": {rejected_key: str(rejected), "errorMessage": message}})

    return response


def _json_status(code: int, message: str) -> bytes:
    return orjson.dumps({"code": code, "message": message})


def _protobuf_decode(
    request_cls: Any, items: Callable[[Any, Callable[[str], None]], Iterable[Any]]
) -> Decode:
    """Decode a protobuf request of `request_cls` into `items` of it and the reasons of rejected ones."""

    def decode(body: bytes) -> tuple[list[Any], list[str]]:
        try:
            request = request_cls.FromString(body)
        except DecodeError as exc:
            raise ValueError(f"not a protobuf {request_cls.__name__}: {exc}") from exc
        rejected: list[str] = []
        return list(items(request, rejected.append)), rejected

    return decode


def _protobuf_response(
    response_cls: Any, partial_cls: Any, rejected_field: str
) -> Callable[[int, str], bytes]:
    """The protobuf answer of one signal, whose partial success counts rejected items in `rejected_field`."""

    def response(rejected: int, message: str) -> bytes:
        if not rejected:
            return response_cls().SerializeToString()
        partial = partial_cls(**{rejected_field: rejected}, error_message=message)
        return response_cls(partial_success=partial).SerializeToString()

    return response


def _protobuf_status(code: int, message: str) -> bytes:
    return Status(code=code, message=message).SerializeToString()


JSON = Codec("application/json", otlp_json.spans_from_body, _json_response("rejectedSpans"), _json_status)
PROTOBUF = Codec(
    "application/x-protobuf",
    _protobuf_decode(ExportTraceServiceRequest, otlp_proto.spans_from_request),
    _protobuf_response(ExportTraceServiceResponse, ExportTracePartialSuccess, "rejected_spans"),
    _protobuf_status,
)
JSON_LOGS = Codec(
    "application/json", otlp_logs.records_from_body, _json_response("rejectedLogRecords"), _json_status
)
PROTOBUF_LOGS = Codec(
    "application/x-protobuf",
    _protobuf_decode(ExportLogsServiceRequest, otlp_logs_proto.records_from_request),
    _protobuf_response(ExportLogsServiceResponse, ExportLogsPartialSuccess, "rejected_log_records"),
    _protobuf_status,
)
#: What each path receives, for error messages.
_SIGNALS = {TRACES_PATH: "trace", LOGS_PATH: "logs"}


def codecs(path: str = TRACES_PATH) -> dict[str, Codec]:
    """The content types the receiver accepts at `path`, by media type."""
    if path == LOGS_PATH:
        return {JSON_LOGS.content_type: JSON_LOGS, PROTOBUF_LOGS.content_type: PROTOBUF_LOGS}
    return {JSON.content_type: JSON, PROTOBUF.content_type: PROTOBUF}


@dataclass(frozen=True, slots=True)
class ReceiverStats:
    requests: int
    #: Spans and log records acknowledged: each is in the store.
    spans_accepted: int
    logs_accepted: int
    #: Spans and log records rejected one by one (partial success).
    rejected: int
    #: Requests answered 400, 413 or 415.
    bad_requests: int
    #: Requests answered 503: the store could not take them, the sender retries.
    refused: int
    #: Requests answered 401: no or a wrong bearer token.
    unauthorized: int


Answer = tuple[HTTPStatus, Codec, bytes, bool]


class OtlpReceiver:
    """Serves POST /v1/traces and /v1/logs on `host:port` (port 0 picks a free one) until `stop()`;
    with a `token`, only to requests bearing it (Authorization: Bearer TOKEN)."""

    def __init__(
        self, sink: SpanSink, host: str = "127.0.0.1", port: int = DEFAULT_PORT, token: str | None = None
    ) -> None:
        self.sink = sink
        self._authorization = f"Bearer {token}".encode() if token else None
        self._codecs = {path: codecs(path) for path in _SIGNALS}
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(ReceiverStats.__slots__, 0)
        self._server = _Server((host, port), _handler_class(self))
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        host = f"[{host}]" if ":" in host else host  # an IPv6 address
        return f"http://{host}:{port}{TRACES_PATH}"

    @property
    def logs_address(self) -> str:
        return self.address.removesuffix(TRACES_PATH) + LOGS_PATH

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, name="spanscope-otlp", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting connections and answer the requests already read (their records are
        committed first); idle and half-read connections are closed unanswered."""
        if self._thread is not None:  # shutdown() waits for serve_forever: only once started
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()

    def stats(self) -> ReceiverStats:
        with self._lock:
            return ReceiverStats(**self._counts)

    def _count(self, **counts: int) -> None:
        with self._lock:
            for name, n in counts.items():
                self._counts[name] += n

    # --- one request ----------------------------------------------------------------------------

    def codec_for(self, content_type: str, path: str = TRACES_PATH) -> Codec | None:
        return self._codecs[path].get(content_type.split(";")[0].strip().lower())

    def authorized(self, authorization: str | None) -> bool:
        """Whether a request with this Authorization header may be served (always, without a token)."""
        if self._authorization is None:
            return True
        scheme, _, credentials = (authorization or "").strip().partition(" ")
        offered = f"Bearer {credentials.strip()}".encode() if scheme.lower() == "bearer" else b""
        return hmac.compare_digest(offered, self._authorization)

    def handle(self, content_type: str, encoding: str, body: bytes, path: str = TRACES_PATH) -> Answer:
        """The answer to one POST to `path`: status, codec used, body, and whether to ask for a retry."""
        self._count(requests=1)
        codec = self.codec_for(content_type, path)
        if codec is None:
            accepted = ", ".join(self._codecs[path])
            message = f"content type {content_type or '(none)'!r} is not one of: {accepted}"
            return self.bad_request(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, JSON, message)
        try:
            records, rejected = codec.decode(_decompressed(body, encoding))
        except BodyError as exc:
            return self.bad_request(exc.status, codec, str(exc))
        except RecursionError:
            message = f"not an OTLP {_SIGNALS[path]} request: values are nested deeper than can be read"
            return self.bad_request(HTTPStatus.BAD_REQUEST, codec, message)
        except ValueError as exc:
            return self.bad_request(
                HTTPStatus.BAD_REQUEST, codec, f"not an OTLP {_SIGNALS[path]} request: {exc}"
            )
        try:
            receipt = self.sink.store(records)
        except StoreUnavailable as exc:
            self._count(refused=1)
            message = f"not stored, retry later: {exc}"
            return HTTPStatus.SERVICE_UNAVAILABLE, codec, codec.status(UNAVAILABLE, message), True
        rejected += receipt.rejected
        stored = "logs_accepted" if path == LOGS_PATH else "spans_accepted"
        self._count(**{stored: receipt.stored}, rejected=len(rejected))
        message = "; ".join(rejected[:5]) + (f"; and {len(rejected) - 5} more" if len(rejected) > 5 else "")
        return HTTPStatus.OK, codec, codec.response(len(rejected), message), False

    def bad_request(self, status: HTTPStatus, codec: Codec, message: str) -> Answer:
        self._count(bad_requests=1)
        code = RESOURCE_EXHAUSTED if status is HTTPStatus.REQUEST_ENTITY_TOO_LARGE else INVALID_ARGUMENT
        return status, codec, codec.status(code, message), False

    def unauthorized(self, codec: Codec) -> Answer:
        self._count(unauthorized=1)
        message = "this receiver requires a bearer token: send the header Authorization: Bearer TOKEN"
        return HTTPStatus.UNAUTHORIZED, codec, codec.status(UNAUTHENTICATED, message), False

    def failed(self, codec: Codec, exc: Exception) -> Answer:
        """A request the receiver could not handle: still answered, 500 with the reason."""
        message = f"the receiver failed on this request: {type(exc).__name__}: {exc}"
        return HTTPStatus.INTERNAL_SERVER_ERROR, codec, codec.status(INTERNAL, message), False


def _decompressed(body: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding != "gzip":
        raise BodyError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, f"content encoding {encoding!r} is not gzip")
    inflater = zlib.decompressobj(wbits=31)
    try:
        data = inflater.decompress(body, MAX_BODY_BYTES)
    except zlib.error as exc:
        raise BodyError(HTTPStatus.BAD_REQUEST, f"the gzip body is corrupt: {exc}") from exc
    if inflater.unconsumed_tail:
        raise BodyError(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"the body inflates to over {MAX_BODY_BYTES} bytes"
        )
    if not inflater.eof:
        raise BodyError(HTTPStatus.BAD_REQUEST, "the gzip body is cut short")
    return data


def _handler_class(receiver: OtlpReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: exporters reuse their connection
        timeout = READ_TIMEOUT_S
        server_version = "Spanscope"

        def do_POST(self) -> None:
            path = self.path.split("?")[0]
            codec = (
                receiver.codec_for(self.headers.get("Content-Type", ""), path) if path in _SIGNALS else None
            )
            if not receiver.authorized(self.headers.get("Authorization")):
                self._refuse_unauthorized(codec or JSON)
                return
            if path not in _SIGNALS:
                self._plain(HTTPStatus.NOT_FOUND, f"only POST {TRACES_PATH} and {LOGS_PATH} are served")
                return
            length = self.headers.get("Content-Length", "").strip()
            if not length.isdigit():
                self._plain(HTTPStatus.LENGTH_REQUIRED, "a Content-Length header is required")
                return
            size = int(length)
            if size > MAX_BODY_BYTES:
                self.close_connection = True  # the body is not read, so the connection cannot be reused
                message = f"the body is {size} bytes; the limit is {MAX_BODY_BYTES}"
                self._answer(
                    *receiver.bad_request(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, codec or JSON, message)
                )
                return
            try:
                body = self.rfile.read(size)
            except OSError:  # timed out or reset mid-body: nothing to answer
                self.close_connection = True
                return
            if len(body) < size:  # the client hung up mid-body (or the receiver is stopping)
                self.close_connection = True
                return
            headers = self.headers
            try:
                answer = receiver.handle(
                    headers.get("Content-Type", ""), headers.get("Content-Encoding", ""), body, path
                )
            except Exception as exc:  # a bug, still answered: the client must not wait for nothing
                answer = receiver.failed(codec or JSON, exc)
            self._answer(*answer)

        def do_GET(self) -> None:
            if not receiver.authorized(self.headers.get("Authorization")):
                self._refuse_unauthorized(JSON)
                return
            self._plain(HTTPStatus.METHOD_NOT_ALLOWED, f"send spans with POST {TRACES_PATH}")

        def _refuse_unauthorized(self, codec: Codec) -> None:
            self.close_connection = True  # the body, if any, is not read
            self._answer(*receiver.unauthorized(codec), authenticate=True)

        def _answer(
            self, status: HTTPStatus, codec: Codec, body: bytes, retry: bool, authenticate: bool = False
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", codec.content_type)
            self.send_header("Content-Length", str(len(body)))
            if retry:
                self.send_header("Retry-After", str(RETRY_AFTER_S))
            if authenticate:
                self.send_header("WWW-Authenticate", 'Bearer realm="spanscope"')
            self.end_headers()
            self.wfile.write(body)

        def _plain(self, status: HTTPStatus, message: str) -> None:
            body = message.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the receiver's counts are shown instead of a line per request."""

    return Handler


class _Server(ThreadingHTTPServer):
    """One thread per connection; stopping ends idle connections and waits for the answers being made."""

    request_queue_size = LISTEN_BACKLOG
    daemon_threads = False  # joined by server_close: a request read is answered before stop() returns
    block_on_close = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def server_close(self) -> None:
        """Close the listening socket and end reading on every connection (a thread waiting for the
        next request, or mid-body, sees its end), then wait for the threads answering."""
        with self._open_lock:
            for connection in self._open:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RD)
        super().server_close()

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that vanished mid-answer is its own problem; the receiver keeps serving."""
