"""OTLP protobuf: OTLP/HTTP request bodies and the Collector file exporter's length-prefixed records.

Two layouts, after the Source has undone any whole-file gzip or zstd:

- body: one `ExportTraceServiceRequest`, as opentelemetry-exporter-otlp-proto-http sends it
  (`Content-Type: application/x-protobuf`).
- records: what the Collector's file exporter writes with `format: proto`, and with
  `compression: zstd` (where JSON too is framed): each record is a 4-byte big-endian length
  followed by that many bytes: the marshalled request, or one zstd frame holding it (proto or JSON).

Messages are decoded by the official `opentelemetry-proto` classes. The wire format is walked by
hand only to see where fields end: for sniffing, and to keep what precedes damage in a record.

Sniffing (protobuf has no magic number) decides by structure, never by a guess on a few bytes:
text that starts like JSON is refused outright; otherwise the first record (or the whole head, for a
body) must walk as an ExportTraceServiceRequest down to its first span: every field on the path has
a field number and wire type the schema allows there (fields unknown to it are tolerated, as in any
protobuf reader), every length fits inside its parent, and the first span has a 16-byte trace id, an
8-byte span id and a start time. Text and other binary files fail this within a few bytes; OTLP logs
and metrics, which share the outer shape, fail at the span (no ids of those sizes and a start time
there). A file whose first span lies beyond the first 64 KiB (a resource larger than that) is not
recognized.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import zstandard
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord as ProtoLogRecord
from opentelemetry.proto.logs.v1.logs_pb2 import ResourceLogs, ScopeLogs
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan

from spanscope.core.formats import otlp_json
from spanscope.core.formats.base import HEAD_BYTES, FormatError, FormatSpec, Progress, Source, nothing_read
from spanscope.core.formats.compression import ZSTD_MAGIC
from spanscope.core.formats.json_objects import Buffer, memory_map
from spanscope.core.formats.otlp_common import Group, otlp_span, request_spans, scope_dict
from spanscope.core.model import Span

BODY, RECORDS = "body", "records"
#: Progress is reported about this often while a decoded request is turned into spans.
_PROGRESS_SPANS = 4096
_PREFIX = 4
#: Where a record may start once a damaged one has been passed: a request's first tag, or zstd.
_RECORD_START = re.compile(rb"\x0a|" + re.escape(ZSTD_MAGIC))
_WIRE_TYPES = {
    FieldDescriptor.TYPE_DOUBLE: 1,
    FieldDescriptor.TYPE_FIXED64: 1,
    FieldDescriptor.TYPE_SFIXED64: 1,
    FieldDescriptor.TYPE_FLOAT: 5,
    FieldDescriptor.TYPE_FIXED32: 5,
    FieldDescriptor.TYPE_SFIXED32: 5,
    FieldDescriptor.TYPE_STRING: 2,
    FieldDescriptor.TYPE_BYTES: 2,
    FieldDescriptor.TYPE_MESSAGE: 2,
}
#: Messages whose failed elements are salvaged one level down instead of dropped: a damaged or cut
#: request keeps its complete resources, scopes and spans; a damaged span itself is dropped.
_CONTAINERS: dict[tuple[Any, int], Any] = {
    (ExportTraceServiceRequest, 1): ResourceSpans,
    (ResourceSpans, 2): ScopeSpans,
    (ExportLogsServiceRequest, 1): ResourceLogs,
    (ResourceLogs, 2): ScopeLogs,
}


@dataclass(frozen=True, slots=True)
class Leaf:
    """What sniffing checks of the first record of a request: the sizes its id fields (by number)
    may have, and which fields it must have (given the numbers seen)."""

    id_sizes: dict[int, tuple[int, ...]]
    whole: Callable[[set[int]], bool]


#: Records sniffing stops at, by message: a span has a 16-byte trace id (field 1), an 8-byte span
#: id (2) and a start time (7); a log record a time or an observed time (1, 11), and ids (9, 10) of
#: those sizes or empty. Their first fields differ in wire type, so neither walks as the other.
LEAVES: dict[Descriptor, Leaf] = {
    ProtoSpan.DESCRIPTOR: Leaf({1: (16,), 2: (8,)}, lambda seen: {1, 2, 7} <= seen),
    ProtoLogRecord.DESCRIPTOR: Leaf({9: (0, 16), 10: (0, 8)}, lambda seen: bool(seen & {1, 11})),
}
#: The end of a message whose end is beyond the head being sniffed.
_UNKNOWN_END = 1 << 62


# --- sniffing ------------------------------------------------------------------------------------


def sniff(head: bytes) -> bool:
    """A protobuf request body or length-prefixed records (see the module doc for how it decides)."""
    return layout(head) is not None


def layout(
    head: bytes,
    request: Descriptor = ExportTraceServiceRequest.DESCRIPTOR,
    json_sniff: Callable[[bytes], bool] = otlp_json.sniff,
) -> str | None:
    """BODY, RECORDS, or None when the head is not OTLP protobuf of `request` (a JSON record in a
    zstd frame must satisfy `json_sniff`)."""
    if head.lstrip(b" \t\r\n\xef\xbb\xbf")[:1] in (b"{", b"["):
        return None
    if len(head) > _PREFIX:
        size = int.from_bytes(head[:_PREFIX], "big")
        record = head[_PREFIX : _PREFIX + size]
        if size and _looks_like_record(record, len(record) == size, request, json_sniff):
            return RECORDS
    return BODY if reaches_a_leaf(head, False, request) else None


def _looks_like_record(
    record: bytes, complete: bool, request: Descriptor, json_sniff: Callable[[bytes], bool]
) -> bool:
    if record.startswith(ZSTD_MAGIC):
        try:
            record = zstandard.ZstdDecompressor().decompressobj().decompress(record)
        except zstandard.ZstdError:
            return False
        if record.lstrip()[:1] == b"{":
            return json_sniff(record)
        complete = False  # the head may hold only part of the frame
    return reaches_a_leaf(record, complete, request)


def _reaches_a_span(data: bytes, complete: bool) -> bool:
    """Whether `data` walks as an ExportTraceServiceRequest down to a whole span header: a 16-byte
    trace id, an 8-byte span id and a start time (which OTLP logs and metrics, of the same outer
    shape, do not have there). When not `complete`, `data` may stop anywhere (it is a head)."""
    return reaches_a_leaf(data, complete, ExportTraceServiceRequest.DESCRIPTOR)


def reaches_a_leaf(data: bytes, complete: bool, request: Descriptor) -> bool:
    """Whether `data` walks as `request` down to a whole record that LEAVES accepts (a span, a log
    record); see _reaches_a_span."""
    found: list[bool] = []
    end = len(data) if complete else _UNKNOWN_END
    try:
        ok = _walk(data, 0, end, request, complete, found)
    except IndexError:  # a tag or length cut off by the end of the head
        ok = not complete
    except ValueError:  # a varint too long to be one
        ok = False
    return ok and bool(found)


def _walk(data: bytes, pos: int, end: int, message: Descriptor, complete: bool, found: list[bool]) -> bool:
    """Check the fields of data[pos:end] against `message`, descending into message fields until a
    span has been checked (then `found` holds True). `end` may lie past the data when the message
    is cut off by the end of the head. A span whose ids or fields are not a span's (one bad value)
    is passed over if it is well-formed, and the next one checked instead."""
    fields = message.fields_by_number
    leaf = LEAVES.get(message)
    is_leaf = leaf is not None
    odd_id = False
    seen: set[int] = set()
    limit = min(end, len(data))
    while pos < limit and not found:
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        field = fields.get(number)
        if number == 0 or wire not in (0, 1, 2, 5):
            return False
        if field is not None and wire != _WIRE_TYPES.get(field.type, 0):
            return False
        seen.add(number)
        if wire == 2:
            length, pos = _varint(data, pos)
            stop = pos + length
            if stop > end and (complete or end <= len(data)):
                return False
            if is_leaf and length not in leaf.id_sizes.get(number, (length,)):
                odd_id = True
            descend = field is not None and field.type == FieldDescriptor.TYPE_MESSAGE and not is_leaf
            if descend and not _walk(data, pos, stop, field.message_type, complete, found):
                return False
            pos = stop
        elif wire == 0:
            _, pos = _varint(data, pos)
        else:
            pos += 8 if wire == 1 else 4
    if is_leaf and not odd_id and leaf.whole(seen):
        found.append(True)
    return bool(found) or pos == end or (pos >= len(data) and not complete)


def _varint(data: bytes | memoryview, pos: int) -> tuple[int, int]:
    """The varint at `pos` and the position after it; IndexError if the data ends inside it,
    ValueError if it is longer than ten bytes."""
    value = shift = 0
    for _ in range(10):
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
    raise ValueError("varint longer than ten bytes")


# --- reading -------------------------------------------------------------------------------------


def read(source: Source, progress: Progress) -> Iterator[Span]:
    """Records are read one at a time from a memory-mapped file, so a large file of many records
    never sits in memory decoded all at once; a compressed file is decompressed whole first."""
    with source.open() as stream:
        mapped = memory_map(stream)
    data = source.read_all(lambda _: None) if mapped is None else mapped
    try:
        kind = layout(bytes(data[:HEAD_BYTES]))
        if kind is None:
            raise FormatError(f"{source.path}: not OTLP protobuf")
        size = source.size

        def report(done: int) -> None:  # bytes of the decompressed content, as on-disk bytes
            progress(done * size // max(len(data), 1))

        count = yield from (
            _records(data, source, report) if kind == RECORDS else _body(data, source, report)
        )
    finally:
        if mapped is not None:
            mapped.close()
    progress(size)
    if not count:
        raise FormatError(nothing_read(source))


def _body(data: Buffer, source: Source, report: Progress) -> Generator[Span, None, int]:
    request = parse_request(bytes(data), lambda at, reason: source.skip(f"byte {at:,}", reason))
    return (yield from _with_progress(request, "request", source, report, 0, len(data)))


def _records(data: Buffer, source: Source, report: Progress) -> Generator[Span, None, int]:
    pos = number = count = 0
    while pos < len(data):
        number += 1
        where = f"record {number} (byte {pos:,})"
        start, end = record_bounds(data, pos, where, source, "spans")
        record = _record_content(data[start:end], where, source)
        if record is None:
            pos = _next_record(data, pos + 1)
            continue
        if isinstance(record, otlp_json.Request):
            count += yield from otlp_json.spans(record, partial(source.skip, where))
        else:
            request, damaged = _parse_record(record, where, start, source)
            count += yield from _with_progress(request, where, source, report, start, end)
            if damaged:  # perhaps a wrong length prefix: look for where the next record starts
                pos = _next_record(data, pos + 1)
                continue
        pos = end
        report(pos)
    return count


def record_bounds(data: Buffer, pos: int, where: str, source: Source, items: str) -> tuple[int, int]:
    """(start, end) of the length-prefixed record at `pos`; one whose prefix claims more than the file
    holds is reported (what it holds of complete `items` is still read) and ends with the file."""
    size = int.from_bytes(data[pos : pos + _PREFIX], "big")
    start, end = pos + _PREFIX, pos + _PREFIX + size
    if end > len(data):
        source.skip(
            where,
            f"its length prefix says {size:,} bytes but only {max(len(data) - start, 0):,} follow: "
            f"the file is cut short or the prefix is wrong; complete {items} before the end were read",
        )
    return start, min(end, len(data))


def _parse_record(
    record: bytes, where: str, start: int, source: Source
) -> tuple[ExportTraceServiceRequest, bool]:
    """The record's request, and whether it was damaged (its problems reported with file offsets)."""
    before = len(source.problems)
    request = parse_request(record, lambda at, reason: source.skip(f"{where}, byte {start + at:,}", reason))
    return request, len(source.problems) > before


def _record_content(record: bytes, where: str, source: Source) -> bytes | otlp_json.Request | None:
    """The record's protobuf bytes, or its decoded JSON request; None (reported) if unreadable."""
    if not record.startswith(ZSTD_MAGIC):
        return record
    try:
        record = zstandard.ZstdDecompressor().decompressobj().decompress(record)
    except zstandard.ZstdError as exc:
        source.skip(where, f"cannot decompress its zstd frame: {exc}")
        return None
    if record.lstrip()[:1] != b"{":
        return record
    try:
        return otlp_json.decode(record)
    except ValueError as exc:
        source.skip(where, f"bad OTLP JSON in its zstd frame: {exc}")
        return None


def _next_record(data: Buffer, pos: int) -> int:
    """The first position at or after `pos` where a whole well-formed record starts (or the end):
    after a damaged record, the rest of the file is still read."""
    for match in _RECORD_START.finditer(data, pos + _PREFIX):
        at = match.start() - _PREFIX
        size = int.from_bytes(data[at : match.start()], "big")
        end = match.start() + size
        if not size or end > len(data):
            continue
        record = data[match.start() : end]
        if record.startswith(ZSTD_MAGIC) or (_reaches_a_span(record, complete=True) and _decodes(record)):
            return at
    return len(data)


def _decodes(record: bytes) -> bool:
    try:
        ExportTraceServiceRequest.FromString(record)
    except DecodeError:
        return False
    return True


def _with_progress(
    request: ExportTraceServiceRequest, where: str, source: Source, report: Progress, start: int, end: int
) -> Generator[Span, None, int]:
    """spans_from_request, with progress moving from `start` to `end` as spans are made."""
    total = sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans) or 1
    count = 0
    for count, span in enumerate(spans_from_request(request, lambda reason: source.skip(where, reason)), 1):
        if not count % _PROGRESS_SPANS:
            report(start + (end - start) * count // total)
        yield span
    return count


# --- the request: decoding and mapping, reusable for bodies received over OTLP/HTTP -------------


def parse_request(data: bytes, skip: Callable[[int, str], None], cls: Any = ExportTraceServiceRequest) -> Any:
    """Decode an ExportTraceServiceRequest (or another request `cls`: logs). If it is damaged or cut
    short, keep every complete resource, scope and span (log record) before and around the damage,
    and call skip(byte offset, reason)."""
    try:
        return cls.FromString(data)
    except DecodeError:
        pass
    request, problems = _salvage(memoryview(data), cls, 0)
    for at, reason in problems:
        skip(at, reason)
    return request


def spans_from_request(
    request: ExportTraceServiceRequest, skip: Callable[[str], None]
) -> Generator[Span, None, int]:
    """The normalized spans of a decoded request (an OTLP/HTTP or gRPC body, or a file's record).
    A span that cannot be used is left out and skip("span N: reason") called. Returns the count."""
    return (yield from request_spans(_groups(request), skip, _span_of))


def _groups(request: ExportTraceServiceRequest) -> Iterator[Group]:
    for resource_spans in request.resource_spans:
        resource = flatten(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            if scope_spans.HasField("scope"):
                s = scope_spans.scope
                scope = scope_dict(s.name or None, s.version or None, flatten(s.attributes))
            else:
                scope = {}
            yield resource, scope, scope_spans.spans


def _span_of(s: ProtoSpan, resource: dict[str, Any], scope: dict[str, Any]) -> Span:
    parent = s.parent_span_id
    return otlp_span(
        s,
        _hex(s.trace_id, 16, "traceId"),
        _hex(s.span_id, 8, "spanId"),
        _hex(parent, 8, "parentSpanId") if parent else None,
        flatten,
        resource,
        scope,
        _hex,
    )


def _hex(raw: bytes, size: int, what: str) -> str:
    if len(raw) != size:
        raise ValueError(f"bad {what}: {len(raw)} bytes, not {size}")
    return raw.hex()


def native(value: Any) -> Any:
    """The Python value of an AnyValue message (None when it holds nothing)."""
    return _native(value, value.WhichOneof("value"))


def flatten(attributes: Any) -> dict[str, Any]:
    """A repeated KeyValue as a dict of native values (bytes as base64 text, as in OTLP JSON);
    non-empty strings, the common case, without asking which kind the value is."""
    found = {}
    for kv in attributes:
        value = kv.value
        text = value.string_value  # "" when the value is of another kind, or the empty string
        found[kv.key] = text if text else _native(value, value.WhichOneof("value"))
    return found


def _native(value: Any, which: str | None) -> Any:
    if which == "string_value":
        return value.string_value
    if which == "array_value":
        return [_native(v, v.WhichOneof("value")) for v in value.array_value.values]
    if which == "kvlist_value":
        return flatten(value.kvlist_value.values)
    if which == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    return None if which is None else getattr(value, which)


def _salvage(data: memoryview, cls: Any, base: int) -> tuple[Message, list[tuple[int, str]]]:
    """What can be decoded of a damaged message: each complete field on its own; a failed element of
    a container (see _CONTAINERS) salvaged in turn, any other failed field dropped. Reading stops
    where the framing itself (a tag or a length) is broken or the data ends inside a field."""
    message = cls()
    problems: list[tuple[int, str]] = []
    fields = cls.DESCRIPTOR.fields_by_number
    pos = 0
    while pos < len(data):
        field_start = pos
        try:
            number, content, end = _field(data, pos)
        except IndexError:
            problems.append((base + pos, "cut short here; what came before was read"))
            break
        except ValueError:
            problems.append(
                (base + pos, "not protobuf from here on (a broken tag); what came before was read")
            )
            break
        inner = _CONTAINERS.get((cls, number))
        if end <= len(data):
            try:
                message.MergeFromString(data[field_start:end])
            except DecodeError:
                if inner is None:
                    problems.append(
                        (base + field_start, f"a damaged {_field_name(fields, number)} was dropped")
                    )
                    pos = end
                    continue
            else:
                pos = end
                continue
        if inner is None:
            problems.append((base + field_start, _cut_reason(fields, number)))
            break
        part, inner_problems = _salvage(data[content : min(end, len(data))], inner, base + content)
        getattr(message, fields[number].name).add().MergeFrom(part)
        problems += inner_problems
        pos = end
    return message, problems


def _field(data: memoryview, pos: int) -> tuple[int, int, int]:
    """(field number, where its content starts, where the field ends) of the field at `pos`."""
    key, pos = _varint(data, pos)
    number, wire = key >> 3, key & 7
    if number == 0:
        raise ValueError("field number 0")
    if wire == 0:
        _, end = _varint(data, pos)
        return number, pos, end
    if wire == 1:
        return number, pos, pos + 8
    if wire == 5:
        return number, pos, pos + 4
    if wire == 2:
        length, content = _varint(data, pos)
        return number, content, content + length
    raise ValueError(f"wire type {wire}")


def _field_name(fields: dict[int, FieldDescriptor], number: int) -> str:
    field = fields.get(number)
    return "span" if field is not None and field.message_type is ProtoSpan.DESCRIPTOR else f"field {number}"


def _cut_reason(fields: dict[int, FieldDescriptor], number: int) -> str:
    return f"cut short inside a {_field_name(fields, number)}, which was dropped; what came before was read"


SPEC = FormatSpec(
    name="otlp-proto",
    description="OTLP protobuf (OTLP/HTTP request bodies, Collector file exporter length-prefixed records)",
    written_by="an OTLP/HTTP request body (`application/x-protobuf`, as sent, gzip or zstd too) and the "
    "Collector's file exporter with `format: proto` (length-prefixed records, optionally `compression: "
    "zstd`): `spanscope import traces.binpb`",
    extensions=(".binpb", ".pb"),
    sniff=sniff,
    read=read,
    # Protobuf has no magic number and the walk passes fields it does not know, so bytes that are not
    # JSON (refused outright) nor SQLite (refused at its first byte) are only refused as far as the
    # walk gets: a zip (Inspect's .eval) and a multipart body (LangSmith) are tried first.
    after=("inspect-eval", "langsmith"),
)
