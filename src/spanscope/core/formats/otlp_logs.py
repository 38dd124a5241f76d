"""OTLP logs JSON (`ExportLogsServiceRequest` / `LogsData`) in the shapes OTLP trace JSON comes in.

One request per line (the Collector's file exporter), one pretty-printed document or several run
together; ids hex or base64 (protobuf JSON), int64 values strings or numbers, severities numbers or
enum names. Instrumentations that record message content as log events put a model call's input and
output here (see model.LogRecord); the store joins each record to its span.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Iterator
from functools import partial
from typing import Any

import msgspec

from spanscope.core.formats.base import FormatError, FormatSpec, Progress, Source, nothing_read
from spanscope.core.formats.ids import remember_id
from spanscope.core.formats.json_objects import Buffer, read_objects
from spanscope.core.formats.otlp_common import Group, otlp_log, request_items
from spanscope.core.formats.otlp_json import (
    ABSENT,
    AnyValue,
    KeyValue,
    flatten,
    native,
    resource_of,
    scope_of,
)
from spanscope.core.model import LogRecord


class OtlpLogRecord(msgspec.Struct, rename="camel", gc=False):
    time_unix_nano: int = 0
    observed_time_unix_nano: int = 0
    severity_number: int | str = 0
    severity_text: str | None = None
    event_name: str | None = None
    body: AnyValue | None = None
    attributes: list[KeyValue] = []
    trace_id: str = ""
    span_id: str = ""


class ScopeLogs(msgspec.Struct, rename="camel", gc=False):
    scope: msgspec.Raw = ABSENT
    log_records: list[msgspec.Raw] = []


class ResourceLogs(msgspec.Struct, rename="camel", gc=False):
    resource: msgspec.Raw = ABSENT
    scope_logs: list[ScopeLogs] = []


class LogsRequest(msgspec.Struct, rename="camel", gc=False):
    resource_logs: list[ResourceLogs] | None = None


# Records stay raw in the request and are decoded one by one, so a bad record is skipped alone.
_REQUEST = msgspec.json.Decoder(LogsRequest, strict=False)
_RECORD = msgspec.json.Decoder(OtlpLogRecord, strict=False)
_SNIFF = re.compile(rb'(?<!\\)"resourceLogs"\s*:\s*\[')


def sniff(head: bytes) -> bool:
    """JSON whose first keys are OTLP's `resourceLogs`."""
    text = head.lstrip(b" \t\r\n\xef\xbb\xbf")
    return text.startswith(b"{") and bool(_SNIFF.search(text[:4096]))


def decode(data: Buffer) -> LogsRequest:
    """One object of a logs file, which must hold log records."""
    request = _REQUEST.decode(bytes(data))
    if request.resource_logs is None:
        raise ValueError("not an OTLP logs request: no resourceLogs")
    return request


def read(source: Source, progress: Progress) -> Iterator[LogRecord]:
    count = 0
    for line, request in read_objects(source, progress, decode):
        count += yield from records(request, partial(source.skip, line))
    if not count:
        raise FormatError(nothing_read(source, "log record"))


def records_from_body(body: bytes) -> tuple[list[LogRecord], list[str]]:
    """The records of one OTLP/HTTP JSON logs body, and why each rejected one was rejected; ValueError
    when the body is not an OTLP logs request ({} is one: an exporter may send it)."""
    rejected: list[str] = []
    request = _REQUEST.decode(body)
    return list(records(request, rejected.append)), rejected


def records(request: LogsRequest, skip: Callable[[str], None]) -> Generator[LogRecord, None, int]:
    """The log records of one request; one that cannot be read is left out and skip(reason) called."""
    ids: dict[str, str] = {}

    def hex_id(raw: str, size: int, what: str) -> str | None:
        return (ids.get(raw) or remember_id(ids, raw, size, what)) if raw else None

    def log_of(raw: Any, resource: dict[str, Any], scope: dict[str, Any]) -> LogRecord:
        try:
            r = _RECORD.decode(raw)
        except msgspec.DecodeError as exc:
            raise ValueError(str(exc)) from None
        trace_id, span_id = hex_id(r.trace_id, 16, "traceId"), hex_id(r.span_id, 8, "spanId")
        body = native(r.body) if r.body is not None else None
        return otlp_log(r, trace_id, span_id, flatten, body, resource, scope)

    return (yield from request_items(_groups(request), skip, log_of, "log record"))


def _groups(request: LogsRequest) -> Iterator[Group]:
    for resource_logs in request.resource_logs or ():
        resource = resource_of(resource_logs.resource)
        for scope_logs in resource_logs.scope_logs:
            yield resource, scope_of(scope_logs.scope), scope_logs.log_records


SPEC = FormatSpec(
    name="otlp-logs-json",
    description="OTLP logs JSON (Collector file exporter JSON Lines, protobuf JSON)",
    written_by="the OpenTelemetry Collector's file exporter for logs, pretty-printed or concatenated "
    "`ExportLogsServiceRequest` documents, protobuf-JSON; records are joined to their spans (GenAI "
    "message events give a model call its input and output), in either import order",
    extensions=(".json", ".jsonl", ".ndjson"),
    sniff=sniff,
    read=read,
    # As for otlp-json: these formats' records may nest any JSON, `"resourceLogs": [` included.
    after=("langsmith", "langfuse-export", "otel-console", "inspect-eval"),
)
