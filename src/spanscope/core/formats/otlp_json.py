"""OTLP trace JSON in the shapes real tools write.

Accepts `ExportTraceServiceRequest` / `TracesData` objects one per line (the Collector's file
exporter), as one pretty-printed document, or as several documents run together; Grafana Tempo's
top-level `batches`; pre-0.15 `instrumentationLibrarySpans`. Ids may be hex in any case, `0x` hex or
base64 (the generic protobuf JSON mapping); int64 values strings or numbers; enums numbers or names.

Speed matters most for JSON Lines: each object is decoded straight into typed msgspec structs.
When one span does not fit them, the object is decoded again with its spans left raw, and each
span is decoded on its own, so only the bad span is skipped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Iterator
from typing import Any, Generic, TypeVar

import msgspec

from spanscope.core import semconv
from spanscope.core.formats import FormatError, Progress, Source
from spanscope.core.formats.otlp_common import (
    NO_PARENT,
    Buffer,
    Skip,
    nothing_read,
    read_objects,
    remember_id,
)
from spanscope.core.model import Event, Span, Status

NAME = "otlp-json"
DESCRIPTION = "OTLP trace JSON (Collector file exporter JSON Lines, protobuf JSON, Tempo batches)"

S = TypeVar("S")

# --- the OTLP JSON shape -----------------------------------------------------------------------


class AnyValue(msgspec.Struct, rename="camel", gc=False):
    string_value: str | None = None
    bool_value: bool | None = None
    int_value: int | None = None
    double_value: float | None = None
    bytes_value: str | None = None
    array_value: ArrayValue | None = None
    kvlist_value: KeyValueList | None = None


class KeyValue(msgspec.Struct, gc=False):
    key: str = ""
    value: AnyValue = msgspec.field(default_factory=AnyValue)


class ArrayValue(msgspec.Struct, gc=False):
    values: list[AnyValue] = []


class KeyValueList(msgspec.Struct, gc=False):
    values: list[KeyValue] = []


class OtlpStatus(msgspec.Struct, gc=False):
    code: int | str = 0
    message: str | None = None


class OtlpEvent(msgspec.Struct, rename="camel", gc=False):
    time_unix_nano: int = 0
    name: str = ""
    attributes: list[KeyValue] = []


class OtlpSpan(msgspec.Struct, rename="camel", gc=False):
    trace_id: str = ""
    span_id: str = ""
    parent_span_id: str | None = None
    name: str = ""
    kind: int | str = 0
    start_time_unix_nano: int = 0
    end_time_unix_nano: int | None = None
    attributes: list[KeyValue] = []
    events: list[OtlpEvent] = []
    status: OtlpStatus | None = None


class Scope(msgspec.Struct, gc=False):
    name: str | None = None
    version: str | None = None
    attributes: list[KeyValue] = []


class ScopeSpans(msgspec.Struct, Generic[S], rename="camel", gc=False):
    scope: Scope | None = None
    instrumentation_library: Scope | None = None
    spans: list[S] = []


class Resource(msgspec.Struct, gc=False):
    attributes: list[KeyValue] = []


class ResourceSpans(msgspec.Struct, Generic[S], rename="camel", gc=False):
    resource: Resource | None = None
    scope_spans: list[ScopeSpans[S]] | None = None
    instrumentation_library_spans: list[ScopeSpans[S]] | None = None


class Request(msgspec.Struct, Generic[S], rename="camel", gc=False):
    """ExportTraceServiceRequest, or a Tempo response (`batches`)."""

    resource_spans: list[ResourceSpans[S]] | None = None
    batches: list[ResourceSpans[S]] | None = None


# Lax decoding turns int64 strings into ints and "NaN"/"Infinity" into floats without Python code.
_TYPED = msgspec.json.Decoder(Request[OtlpSpan], strict=False)
_RAW_SPANS = msgspec.json.Decoder(Request[msgspec.Raw], strict=False)
_SPAN = msgspec.json.Decoder(OtlpSpan, strict=False)


def _enum(names: tuple[str, ...], prefix: str, first: int) -> dict[int | str, str]:
    """An OTLP enum's values by number, number as text, name and protobuf JSON name."""
    table: dict[int | str, str] = {}
    for code, name in enumerate(names, start=first):
        table.update({code: name, str(code): name, name: name, prefix + name: name})
    return table


_KINDS = _enum(("INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"), "SPAN_KIND_", 1)
_STATUS = {key: Status[name] for key, name in _enum(("UNSET", "OK", "ERROR"), "STATUS_CODE_", 0).items()}
_SNIFF = re.compile(rb'(?<!\\)"(?:resourceSpans|instrumentationLibrarySpans)"\s*:\s*\[')
_SNIFF_TEMPO = re.compile(rb'(?<!\\)"batches"\s*:\s*\[')
_SNIFF_SPANS = re.compile(rb'(?<!\\)"(?:scopeSpans|instrumentationLibrarySpans|spans)"\s*:\s*\[')


def sniff(head: bytes) -> bool:
    """JSON whose first keys are OTLP's `resourceSpans` (or Tempo's `batches` holding spans)."""
    text = head.lstrip(b" \t\r\n\xef\xbb\xbf")
    if not text.startswith(b"{"):
        return False
    start = text[:4096]
    if _SNIFF.search(start):
        return True
    return bool(_SNIFF_TEMPO.search(start)) and bool(_SNIFF_SPANS.search(text))


def read(source: Source, progress: Progress) -> Iterator[Span]:
    count = 0
    for line, request in read_objects(source, progress, _decode):
        count += yield from _spans(request, line, source.skip, semconv.apply)
    if not count:
        raise FormatError(nothing_read(source))


def spans_from_body(body: bytes) -> tuple[list[Span], list[str]]:
    """The spans of one OTLP/HTTP JSON request body, and why each rejected span was rejected.

    Raises ValueError (msgspec.DecodeError is one) when the body is not an OTLP trace request."""
    rejected: list[str] = []
    # An empty request ({}) is valid OTLP: an exporter may send one.
    spans = list(
        _spans(_decode_request(body), 1, lambda where, reason: rejected.append(reason), semconv.apply)
    )
    return spans, rejected


def _decode_request(data: Buffer) -> Request[Any]:
    """Typed decode; if some part does not fit, again with spans left raw (see the module doc)."""
    try:
        return _TYPED.decode(data)
    except msgspec.ValidationError:
        # From a copy: the raw spans would otherwise point into the memory-mapped file.
        return _RAW_SPANS.decode(bytes(data))


def _decode(data: Buffer) -> Request[Any]:
    """One object of a trace file, which must hold spans."""
    request = _decode_request(data)
    if request.resource_spans is None and request.batches is None:
        raise ValueError("not an OTLP trace request: no resourceSpans")
    return request


def _spans(
    request: Request[Any], line: int, skip: Skip, apply: Callable[[Span], None]
) -> Generator[Span, None, int]:
    """The spans of one request, finished by `apply`; one that cannot be read is reported and
    skipped. Returns how many were yielded."""
    ids: dict[str, str] = {}  # raw id -> normalized, for this request (trace ids repeat a lot)
    number = count = 0
    for resource_spans in request.resource_spans or request.batches or ():
        resource = flatten(resource_spans.resource.attributes) if resource_spans.resource else {}
        for scope_spans in resource_spans.scope_spans or resource_spans.instrumentation_library_spans or ():
            scope = _scope(scope_spans.scope or scope_spans.instrumentation_library)
            for item in scope_spans.spans:
                number += 1
                try:
                    span = _span(item if type(item) is OtlpSpan else _SPAN.decode(item), resource, scope, ids)
                except ValueError as exc:
                    skip(line, f"span {number}: {exc}")
                    continue
                apply(span)
                count += 1
                yield span
    return count


def _scope(scope: Scope | None) -> dict[str, Any]:
    if scope is None:
        return {}
    found = {"name": scope.name, "version": scope.version}
    if scope.attributes:
        found["attributes"] = flatten(scope.attributes)
    return found


def _span(s: OtlpSpan, resource: dict[str, Any], scope: dict[str, Any], ids: dict[str, str]) -> Span:
    """Build a normalized span; ValueError says why the span cannot be used."""
    if not s.start_time_unix_nano:
        raise ValueError("startTimeUnixNano missing")
    parent = s.parent_span_id
    if parent:
        parent = ids.get(parent) or remember_id(ids, parent, 8, "parentSpanId")
        if parent == NO_PARENT:
            parent = None
    status = s.status
    return Span(
        trace_id=ids.get(s.trace_id) or remember_id(ids, s.trace_id, 16, "traceId"),
        span_id=ids.get(s.span_id) or remember_id(ids, s.span_id, 8, "spanId"),
        parent_id=parent or None,
        name=s.name,
        start_ns=s.start_time_unix_nano,
        end_ns=s.end_time_unix_nano or None,
        status=_STATUS.get(status.code, Status.UNSET) if status else Status.UNSET,
        status_message=(status.message or None) if status else None,
        attributes=flatten(s.attributes),
        events=[_event(e) for e in s.events] if s.events else [],
        resource=resource,
        scope=scope,
        source_kind=_KINDS.get(s.kind),
    )


def _event(e: OtlpEvent) -> Event:
    return Event(e.name, e.time_unix_nano or None, flatten(e.attributes))


def flatten(attributes: list[KeyValue]) -> dict[str, Any]:
    """OTLP's key/value list as a dict of native values (strings, the common case, inline)."""
    return {
        kv.key: text if (text := kv.value.string_value) is not None else native(kv.value) for kv in attributes
    }


def native(value: AnyValue) -> Any:
    """The Python value of an AnyValue (bytes stay base64 text)."""
    if value.string_value is not None:
        return value.string_value
    if value.int_value is not None:
        return value.int_value
    if value.double_value is not None:
        return value.double_value
    if value.bool_value is not None:
        return value.bool_value
    if value.array_value is not None:
        return [native(v) for v in value.array_value.values]
    if value.kvlist_value is not None:
        return flatten(value.kvlist_value.values)
    return value.bytes_value
