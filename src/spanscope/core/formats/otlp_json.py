"""OTLP trace JSON in the shapes real tools write.

Accepts `ExportTraceServiceRequest` / `TracesData` objects one per line (the Collector's file
exporter), as one pretty-printed document, or as several documents run together; Grafana Tempo's
top-level `batches`; pre-0.15 `instrumentationLibrarySpans`. Ids may be hex in any case, `0x` hex or
base64 (the generic protobuf JSON mapping); int64 values strings or numbers; enums numbers or names.

Speed matters most for JSON Lines: each object is decoded straight into typed msgspec structs.
When one span does not fit them, the object is decoded again with its spans left raw, and each
span is decoded on its own, so only the bad span is skipped. Resources and scopes are decoded on
their own too: one that does not fit keeps what fits and the rest as the file has it, and never
costs the spans under it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Iterator
from functools import partial
from typing import Any, Generic, TypeVar

import msgspec

from spanscope.core.formats.base import FormatError, FormatSpec, Progress, Source, nothing_read
from spanscope.core.formats.ids import remember_id
from spanscope.core.formats.json_objects import Buffer, read_objects
from spanscope.core.formats.otlp_common import Group, otlp_span, request_spans, scope_dict
from spanscope.core.model import Span

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


class OtlpLink(msgspec.Struct, rename="camel", gc=False):
    trace_id: str = ""
    span_id: str = ""
    trace_state: str | None = None
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
    links: list[OtlpLink] = []


class Scope(msgspec.Struct, gc=False):
    name: str | None = None
    version: str | None = None
    attributes: list[KeyValue] = []


#: A resource or scope the file does not have (msgspec.Raw takes no None).
ABSENT = msgspec.Raw(b"null")


class ScopeSpans(msgspec.Struct, Generic[S], rename="camel", gc=False):
    scope: msgspec.Raw = ABSENT
    instrumentation_library: msgspec.Raw = ABSENT
    spans: list[S] = []


class Resource(msgspec.Struct, gc=False):
    attributes: list[KeyValue] = []


class ResourceSpans(msgspec.Struct, Generic[S], rename="camel", gc=False):
    resource: msgspec.Raw = ABSENT
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
_RESOURCE = msgspec.json.Decoder(Resource, strict=False)
_SCOPE = msgspec.json.Decoder(Scope, strict=False)


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
    for line, request in read_objects(source, progress, decode):
        count += yield from spans(request, partial(source.skip, line))
    if not count:
        raise FormatError(nothing_read(source))


def spans_from_body(body: bytes) -> tuple[list[Span], list[str]]:
    """The spans of one OTLP/HTTP JSON request body, and why each rejected span was rejected.

    Raises ValueError (msgspec.DecodeError is one) when the body is not an OTLP trace request.
    An empty request ({}) is valid OTLP: an exporter may send one."""
    rejected: list[str] = []
    found = list(spans(_decode_request(body), rejected.append))
    return found, rejected


def _decode_request(data: Buffer) -> Request[Any]:
    """Typed decode; if some part does not fit, again with spans left raw (see the module doc)."""
    try:
        return _TYPED.decode(data)
    except msgspec.ValidationError:
        # From a copy: the raw spans would otherwise point into the memory-mapped file.
        return _RAW_SPANS.decode(bytes(data))


def decode(data: Buffer) -> Request[Any]:
    """One object of a trace file, which must hold spans."""
    request = _decode_request(data)
    if request.resource_spans is None and request.batches is None:
        raise ValueError("not an OTLP trace request: no resourceSpans")
    return request


def spans(request: Request[Any], skip: Callable[[str], None]) -> Generator[Span, None, int]:
    """The spans of one request; one that cannot be read is left out and skip(reason) called.
    Returns how many were yielded."""
    ids: dict[str, str] = {}  # raw id -> normalized, for this request (trace ids repeat a lot)

    def hex_id(raw: str, size: int, what: str) -> str:
        return ids.get(raw) or remember_id(ids, raw, size, what)

    def span_of(s: Any, resource: dict[str, Any], scope: dict[str, Any]) -> Span:
        if type(s) is not OtlpSpan:
            s = _SPAN.decode(s)
        parent = s.parent_span_id
        if parent:
            parent = hex_id(parent, 8, "parentSpanId")
        trace_id, span_id = hex_id(s.trace_id, 16, "traceId"), hex_id(s.span_id, 8, "spanId")
        return otlp_span(s, trace_id, span_id, parent, flatten, resource, scope, hex_id)

    return (yield from request_spans(_groups(request), skip, span_of))


def _groups(request: Request[Any]) -> Iterator[Group]:
    for resource_spans in request.resource_spans or request.batches or ():
        resource = resource_of(resource_spans.resource)
        for scope_spans in resource_spans.scope_spans or resource_spans.instrumentation_library_spans or ():
            old_scope = scope_spans.instrumentation_library
            scope = scope_of(old_scope if scope_spans.scope is ABSENT else scope_spans.scope)
            yield resource, scope, scope_spans.spans


def resource_of(raw: msgspec.Raw) -> dict[str, Any]:
    """A resource's attributes; if it does not fit OTLP, what fits and the rest as the file has it."""
    if raw is ABSENT:
        return {}
    try:
        return flatten(_RESOURCE.decode(raw).attributes)
    except msgspec.ValidationError:
        value = msgspec.json.decode(raw)
        return salvaged(value.get("attributes") if isinstance(value, dict) else None)


def scope_of(raw: msgspec.Raw) -> dict[str, Any]:
    """An instrumentation scope; if it does not fit OTLP, its name and version as text and its
    attributes as `salvaged` keeps them."""
    if raw is ABSENT:
        return {}
    try:
        scope = _SCOPE.decode(raw)
    except msgspec.ValidationError:
        value = msgspec.json.decode(raw)
        if not isinstance(value, dict):
            return {}
        name, version = (_text(value.get(key)) for key in ("name", "version"))
        return scope_dict(name, version, salvaged(value.get("attributes")))
    return scope_dict(scope.name, scope.version, flatten(scope.attributes))


def salvaged(items: Any) -> dict[str, Any]:
    """A key/value list that does not fit OTLP as attributes: the pairs that fit as usual, the
    others under their key as text with their value as the file has it."""
    found: dict[str, Any] = {}
    for item in items if isinstance(items, list) else ():
        try:
            pair = msgspec.convert(item, KeyValue, strict=False)
        except msgspec.ValidationError:
            if isinstance(item, dict):
                found[_text(item.get("key")) or ""] = item.get("value")
            continue
        found[pair.key] = native(pair.value)
    return found


def _text(value: Any) -> str | None:
    return value if value is None or isinstance(value, str) else str(value)


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


SPEC = FormatSpec(
    name="otlp-json",
    description="OTLP trace JSON (Collector file exporter JSON Lines, protobuf JSON, Tempo batches)",
    written_by="the OpenTelemetry Collector's file exporter (one request per line), pretty-printed or "
    "concatenated documents, protobuf-JSON with base64 ids and enum names, the old "
    "`instrumentationLibrarySpans`, Grafana Tempo's `batches`; span links are kept (shown as `link.N.*` "
    "attributes)",
    extensions=(".json", ".jsonl", ".ndjson"),
    sniff=sniff,
    read=read,
    # `"resourceSpans": [` is looked for anywhere near the start, and these formats' records may nest
    # it: run inputs, observation input, a console span's list attribute, eval metadata hold any JSON.
    # OTLP JSON's own keys are fixed, so their sniffers never claim it.
    after=("langsmith", "langfuse-export", "otel-console", "inspect-eval", "openai-agents"),
)
