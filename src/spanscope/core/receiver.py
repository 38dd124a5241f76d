"""An OTLP/HTTP trace receiver on loopback: running apps export spans (POST /v1/traces) and log
records (POST /v1/logs: GenAI message events) straight into the store.

It answers as the OTLP/HTTP specification asks: 200 with an ExportTraceServiceResponse (partial
success names how many spans were rejected and why), 400 for a body that cannot be decoded, 413 for
a body over the size limit, 415 for a content type other than JSON or protobuf, and 503 with
Retry-After while the store cannot keep up, so exporters retry instead of losing spans. Error
bodies are google.rpc.Status in the request's encoding. Each request is decoded on its own
thread; the SpanSink's single writer stores the spans.
"""

from __future__ import annotations

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
from spanscope.core.store.live import SpanSink

TRACES_PATH = "/v1/traces"
LOGS_PATH = "/v1/logs"
DEFAULT_PORT = 4318
#: Largest request body accepted, compressed or not (exporters send a few MB at most).
MAX_BODY_BYTES = 64 * 1024 * 1024
#: A client that stops sending mid-body is dropped after this many seconds.
READ_TIMEOUT_S = 10.0
#: google.rpc.Code values used in error bodies.
INVALID_ARGUMENT, RESOURCE_EXHAUSTED, UNAVAILABLE = 3, 8, 14


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
    spans_accepted: int
    spans_rejected: int
    bad_requests: int
    logs_accepted: int = 0


class OtlpReceiver:
    """Serves POST /v1/traces and /v1/logs on `host:port` (port 0 picks a free one) until `stop()`."""

    def __init__(self, sink: SpanSink, host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> None:
        self.sink = sink
        self._codecs = {path: codecs(path) for path in _SIGNALS}
        self._lock = threading.Lock()
        self._requests = self._accepted = self._rejected = self._bad = self._logs = 0
        self._server = _Server((host, port), _handler_class(self))
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
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
        """Stop accepting requests; spans already accepted are still stored by the sink."""
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    def stats(self) -> ReceiverStats:
        with self._lock:
            return ReceiverStats(self._requests, self._accepted, self._rejected, self._bad, self._logs)

    # --- one request ----------------------------------------------------------------------------

    def codec_for(self, content_type: str, path: str = TRACES_PATH) -> Codec | None:
        return self._codecs[path].get(content_type.split(";")[0].strip().lower())

    def handle(
        self, content_type: str, encoding: str, body: bytes, path: str = TRACES_PATH
    ) -> tuple[HTTPStatus, Codec, bytes, bool]:
        """The answer to one POST to `path`: status, codec used, body, and whether to ask for a retry."""
        with self._lock:
            self._requests += 1
        codec = self.codec_for(content_type, path)
        if codec is None:
            accepted = ", ".join(self._codecs[path])
            message = f"content type {content_type or '(none)'!r} is not one of: {accepted}"
            return self.bad_request(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, JSON, message)
        try:
            spans, rejected = codec.decode(_decompressed(body, encoding))
        except BodyError as exc:
            return self.bad_request(exc.status, codec, str(exc))
        except ValueError as exc:
            return self.bad_request(
                HTTPStatus.BAD_REQUEST, codec, f"not an OTLP {_SIGNALS[path]} request: {exc}"
            )
        if spans and not self.sink.submit(spans):
            message = "the store is busy; retry later"
            return HTTPStatus.SERVICE_UNAVAILABLE, codec, codec.status(UNAVAILABLE, message), True
        with self._lock:
            if path == LOGS_PATH:
                self._logs += len(spans)
            else:
                self._accepted += len(spans)
            self._rejected += len(rejected)
        message = "; ".join(rejected[:5]) + (f"; and {len(rejected) - 5} more" if len(rejected) > 5 else "")
        return HTTPStatus.OK, codec, codec.response(len(rejected), message), False

    def bad_request(
        self, status: HTTPStatus, codec: Codec, message: str
    ) -> tuple[HTTPStatus, Codec, bytes, bool]:
        with self._lock:
            self._bad += 1
        code = RESOURCE_EXHAUSTED if status is HTTPStatus.REQUEST_ENTITY_TOO_LARGE else INVALID_ARGUMENT
        return status, codec, codec.status(code, message), False


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
                codec = receiver.codec_for(self.headers.get("Content-Type", ""), path) or JSON
                message = f"the body is {size} bytes; the limit is {MAX_BODY_BYTES}"
                self._answer(*receiver.bad_request(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, codec, message))
                return
            try:
                body = self.rfile.read(size)
            except OSError:  # timed out or reset mid-body: nothing to answer
                self.close_connection = True
                return
            if len(body) < size:  # the client hung up mid-body
                self.close_connection = True
                return
            headers = self.headers
            answer = receiver.handle(
                headers.get("Content-Type", ""), headers.get("Content-Encoding", ""), body, path
            )
            self._answer(*answer)

        def do_GET(self) -> None:
            self._plain(HTTPStatus.METHOD_NOT_ALLOWED, f"send spans with POST {TRACES_PATH}")

        def _answer(self, status: HTTPStatus, codec: Codec, body: bytes, retry: bool) -> None:
            self.send_response(status)
            self.send_header("Content-Type", codec.content_type)
            self.send_header("Content-Length", str(len(body)))
            if retry:
                self.send_header("Retry-After", "1")
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
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that vanished mid-answer is its own problem; the receiver keeps serving."""
