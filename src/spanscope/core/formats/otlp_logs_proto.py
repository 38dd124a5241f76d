"""OTLP logs protobuf: an `ExportLogsServiceRequest` body as OTLP/HTTP sends it, and the Collector
file exporter's length-prefixed records (`format: proto`; with `compression: zstd` each record is a
zstd frame holding protobuf or JSON). The layouts, the sniffing by structure and the salvage of a
damaged request are otlp_proto's, given the logs request: a trace file does not walk as logs, nor
logs as traces (see otlp_proto.LEAVES).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from functools import partial
from typing import Any

import zstandard
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord as ProtoLogRecord

from spanscope.core.formats import otlp_logs
from spanscope.core.formats.base import HEAD_BYTES, FormatError, FormatSpec, Progress, Source, nothing_read
from spanscope.core.formats.compression import ZSTD_MAGIC
from spanscope.core.formats.otlp_common import Group, otlp_log, request_items, scope_dict
from spanscope.core.formats.otlp_proto import BODY, flatten, layout, native, parse_request, record_bounds
from spanscope.core.model import LogRecord

_REQUEST = ExportLogsServiceRequest.DESCRIPTOR


def sniff(head: bytes) -> bool:
    """A protobuf logs request body or length-prefixed records of them."""
    return layout(head, _REQUEST, otlp_logs.sniff) is not None


def read(source: Source, progress: Progress) -> Iterator[LogRecord]:
    data = source.read_all(progress)
    kind = layout(data[:HEAD_BYTES], _REQUEST, otlp_logs.sniff)
    if kind is None:
        raise FormatError(f"{source.path}: not OTLP logs protobuf")
    if kind == BODY:
        request = parse_request(
            data, lambda at, reason: source.skip(f"byte {at:,}", reason), ExportLogsServiceRequest
        )
        count = yield from records_from_request(request, partial(source.skip, "request"))
    else:
        count = yield from _records(data, source)
    progress(source.size)
    if not count:
        raise FormatError(nothing_read(source, "log record"))


def _records(data: bytes, source: Source) -> Generator[LogRecord, None, int]:
    """Each length-prefixed record in turn; a damaged one is reported and what it holds kept."""
    pos = number = count = 0
    while pos < len(data):
        number += 1
        where = f"record {number} (byte {pos:,})"
        start, end = record_bounds(data, pos, where, source, "log records")
        record = data[start:end]
        pos = end
        skip = partial(source.skip, where)
        if record.startswith(ZSTD_MAGIC):
            try:
                record = zstandard.ZstdDecompressor().decompressobj().decompress(record)
            except zstandard.ZstdError as exc:
                skip(f"cannot decompress its zstd frame: {exc}")
                continue
            if record.lstrip()[:1] == b"{":
                try:
                    count += yield from otlp_logs.records(otlp_logs.decode(record), skip)
                except ValueError as exc:
                    skip(f"bad OTLP logs JSON in its zstd frame: {exc}")
                continue
        request = parse_request(
            record,
            lambda at, reason, w=where, b=start: source.skip(f"{w}, byte {b + at:,}", reason),
            ExportLogsServiceRequest,
        )
        count += yield from records_from_request(request, skip)
    return count


def records_from_request(
    request: ExportLogsServiceRequest, skip: Callable[[str], None]
) -> Generator[LogRecord, None, int]:
    """The log records of a decoded request (an OTLP/HTTP body or a file's record)."""
    return (yield from request_items(_groups(request), skip, _log_of, "log record"))


def _groups(request: ExportLogsServiceRequest) -> Iterator[Group]:
    for resource_logs in request.resource_logs:
        resource = flatten(resource_logs.resource.attributes)
        for scope_logs in resource_logs.scope_logs:
            s = scope_logs.scope
            scope = (
                scope_dict(s.name or None, s.version or None, flatten(s.attributes))
                if scope_logs.HasField("scope")
                else {}
            )
            yield resource, scope, scope_logs.log_records


def _log_of(r: ProtoLogRecord, resource: dict[str, Any], scope: dict[str, Any]) -> LogRecord:
    return otlp_log(
        r,
        _hex(r.trace_id, 16, "traceId"),
        _hex(r.span_id, 8, "spanId"),
        flatten,
        native(r.body) if r.HasField("body") else None,
        resource,
        scope,
    )


def _hex(raw: bytes, size: int, what: str) -> str | None:
    """The id as hex; None for an empty one (a record of no span)."""
    if not raw:
        return None
    if len(raw) != size:
        raise ValueError(f"bad {what}: {len(raw)} bytes, not {size}")
    return raw.hex()


SPEC = FormatSpec(
    name="otlp-logs-proto",
    description="OTLP logs protobuf (OTLP/HTTP request bodies, Collector file exporter records)",
    written_by="an OTLP/HTTP logs request body (`application/x-protobuf`, gzip or zstd too) and the "
    "Collector's file exporter for logs with `format: proto`: `spanscope import logs.binpb`",
    extensions=(".binpb", ".pb"),
    sniff=sniff,
    read=read,
    # As for otlp-proto: bytes that are not JSON are refused only as far as the walk gets.
    after=("inspect-eval", "langsmith"),
)
