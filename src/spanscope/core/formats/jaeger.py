"""Jaeger JSON: what the Jaeger query API returns and the Jaeger UI downloads and uploads.

Accepts the envelope `{"data": [trace, ...], "total", "limit", "offset", "errors"}` and a bare trace
object `{traceID, spans, processes}`, one per file, one per line, or several run together. Spans
have hex `traceID`/`spanID` (leading zeros may be dropped), `operationName`, `references`
(`CHILD_OF` / `FOLLOWS_FROM`), `startTime` and `duration` in microseconds, typed `tags`
(`{key, type, value}`), `logs` (`{timestamp, fields}`) and a `processID` naming an entry of the
trace's `processes` (`{serviceName, tags}`); the UI also embeds the `process` in each span.

Mapping: the parent is the first `CHILD_OF` reference within the trace, else the first
`FOLLOWS_FROM`; tags stay attributes, with `span.kind` also as the source kind and `error` /
`otel.status_code` as the status; the process becomes the resource (`service.name` and its tags);
`otel.scope.name`/`otel.library.name` (and versions) the scope; logs become events named by their
`event` field. A span whose process is missing from `processes` is kept, without a service.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import msgspec

from spanscope.core import conventions
from spanscope.core.formats.base import (
    RECORD_ERRORS,
    FormatError,
    FormatSpec,
    Progress,
    Source,
    nothing_read,
    record_error,
)
from spanscope.core.formats.ids import padded_hex_id
from spanscope.core.formats.json_objects import Buffer, read_objects
from spanscope.core.model import Event, Span, Status


class Tag(msgspec.Struct, gc=False):
    key: str = ""
    type: str = "string"
    value: Any = None


class Log(msgspec.Struct, gc=False):
    timestamp: int = 0
    fields: list[Tag] = []


class Reference(msgspec.Struct, gc=False):
    ref_type: str = msgspec.field(default="CHILD_OF", name="refType")
    trace_id: str = msgspec.field(default="", name="traceID")
    span_id: str = msgspec.field(default="", name="spanID")


class Process(msgspec.Struct, gc=False):
    service_name: str | None = msgspec.field(default=None, name="serviceName")
    tags: list[Tag] = []


class JaegerSpan(msgspec.Struct, gc=False):
    trace_id: str = msgspec.field(default="", name="traceID")
    span_id: str = msgspec.field(default="", name="spanID")
    parent_span_id: str | None = msgspec.field(default=None, name="parentSpanID")
    operation_name: str = msgspec.field(default="", name="operationName")
    references: list[Reference] | None = None
    start_time: int | None = msgspec.field(default=None, name="startTime")
    duration: int | None = None
    tags: list[Tag] = []
    logs: list[Log] = []
    process_id: str | None = msgspec.field(default=None, name="processID")
    process: Process | None = None


class Trace(msgspec.Struct, gc=False):
    spans: list[msgspec.Raw] = []
    #: Decoded one by one when first used: a bad process loses its spans their service, not the trace.
    processes: dict[str, msgspec.Raw] | None = None


class Document(msgspec.Struct, gc=False):
    """The query API envelope (`data`) or a bare trace (`spans`, `processes`)."""

    data: list[Trace] | None = None
    spans: list[msgspec.Raw] | None = None
    processes: dict[str, msgspec.Raw] | None = None


#: Told where a span that cannot be read is, and why (Source.skip for a file).
Skip = Callable[[str, str], None]

_PROCESS = msgspec.json.Decoder(Process, strict=False)
_DOCUMENT = msgspec.json.Decoder(Document, strict=False)
_SPAN = msgspec.json.Decoder(JaegerSpan, strict=False)
_SPANS = msgspec.json.Decoder(list[JaegerSpan], strict=False)
_SNIFF_TRACE = re.compile(rb'(?<!\\)"traceID"\s*:\s*"')
_SNIFF_SPAN = re.compile(rb'(?<!\\)"(?:operationName|spanID)"\s*:\s*"')
_SCOPE_NAME = ("otel.scope.name", "otel.library.name")
_SCOPE_VERSION = ("otel.scope.version", "otel.library.version")
_ERROR_VALUES = (True, "true", "True", "1", 1)


def sniff(head: bytes) -> bool:
    """A JSON object with Jaeger's `"traceID"` (capital ID, unlike OTLP and Zipkin) and a span's
    `operationName` or `spanID`."""
    text = head.lstrip(b" \t\r\n\xef\xbb\xbf")
    return text.startswith(b"{") and bool(_SNIFF_TRACE.search(text)) and bool(_SNIFF_SPAN.search(text))


def read(source: Source, progress: Progress) -> Iterator[Span]:
    count = 0
    for line, document in read_objects(source, progress, _decode):
        for span in _document_spans(document, f"line {line}, ", source.skip):
            count += 1
            yield span
    if not count:
        raise FormatError(nothing_read(source))


def spans_from_body(body: bytes, skip: Skip) -> list[Span]:
    """The spans of one query API answer (`{"data": [trace, ...]}`) or bare trace, as `read` makes
    them; skip(where, why) is called for each span left out. ValueError (msgspec.DecodeError is one)
    when the body is not Jaeger JSON."""
    return list(_document_spans(_decode(body), "", skip))


def _document_spans(document: Document, where: str, skip: Skip) -> Iterator[Span]:
    apply = conventions.apply_fields
    traces = document.data
    if traces is None:
        traces = [Trace(document.spans or [], document.processes)]
    for number, trace in enumerate(traces, 1):
        for span in _trace_spans(trace, f"{where}trace {number}", skip):
            apply(span)
            yield span


def _decode(data: Buffer) -> Document:
    # From a copy: the raw spans would otherwise point into the memory-mapped file.
    document = _DOCUMENT.decode(bytes(data))
    if document.data is None and document.spans is None:
        raise ValueError("not a Jaeger trace: neither data nor spans")
    return document


def _trace_spans(trace: Trace, where: str, skip: Skip) -> Iterator[Span]:
    """The trace's spans, each decoded at once when all fit (the usual case), one by one if not."""
    processes = trace.processes or {}
    resources: dict[str, dict[str, Any]] = {}
    raw = trace.spans
    try:
        spans: list[Any] = _SPANS.decode(b"[" + b",".join(raw) + b"]")
    except msgspec.DecodeError:  # a span that does not fit, or is not even UTF-8: each on its own
        spans = raw
    for number, item in enumerate(spans, 1):
        try:
            span = _span(item if type(item) is JaegerSpan else _SPAN.decode(item), processes, resources)
        except RECORD_ERRORS as exc:
            skip(f"{where}, span {number}", record_error(exc))
            continue
        yield span


def _span(s: JaegerSpan, processes: dict[str, msgspec.Raw], resources: dict[str, dict[str, Any]]) -> Span:
    """Build a normalized span; ValueError says why the span cannot be used."""
    if s.start_time is None:
        raise ValueError("startTime missing")
    trace_id = padded_hex_id(s.trace_id, "traceID")
    attributes = {tag.key: _value(tag) for tag in s.tags}
    start = s.start_time * 1000
    kind = attributes.get("span.kind")
    status, message = _status(attributes)
    return Span(
        trace_id=trace_id,
        span_id=padded_hex_id(s.span_id, "spanID"),
        parent_id=_parent(s, trace_id),
        name=s.operation_name,
        start_ns=start,
        end_ns=None if s.duration is None else start + s.duration * 1000,
        status=status,
        status_message=message,
        attributes=attributes,
        events=[_event(log) for log in s.logs],
        resource=_resource(s, processes, resources),
        scope=_scope(attributes),
        source_kind=kind.upper() if isinstance(kind, str) and kind else None,
    )


def _parent(s: JaegerSpan, trace_id: str) -> str | None:
    """The first CHILD_OF reference within the trace, else the first FOLLOWS_FROM; old files' parentSpanID."""
    same_trace = [
        r for r in s.references or () if not r.trace_id or padded_hex_id(r.trace_id, "traceID") == trace_id
    ]
    for ref_type in ("CHILD_OF", "FOLLOWS_FROM"):
        for ref in same_trace:
            if ref.ref_type == ref_type:
                return padded_hex_id(ref.span_id, "reference spanID")
    if s.parent_span_id and s.parent_span_id.strip("0"):
        return padded_hex_id(s.parent_span_id, "parentSpanID")
    return None


def _value(tag: Tag) -> Any:
    """A tag's value as its `type` says (int64 and float64 may arrive as strings)."""
    value, kind = tag.value, tag.type
    try:
        if kind == "int64" and not isinstance(value, int):
            return int(value)
        if kind == "float64" and not isinstance(value, float):
            return float(value)
    except (TypeError, ValueError):
        return value
    if kind == "bool" and isinstance(value, str):
        return value.lower() == "true"
    return value


def _status(attributes: dict[str, Any]) -> tuple[Status, str | None]:
    code = attributes.get("otel.status_code")
    message = attributes.get("otel.status_description")
    message = message if isinstance(message, str) and message else None
    if code == "ERROR" or attributes.get("error") in _ERROR_VALUES:
        return Status.ERROR, message
    return (Status.OK if code == "OK" else Status.UNSET), message


def _event(log: Log) -> Event:
    fields = {tag.key: _value(tag) for tag in log.fields}
    name = fields.pop("event", None)
    return Event(name if isinstance(name, str) and name else "log", log.timestamp * 1000 or None, fields)


def _resource(
    s: JaegerSpan, processes: dict[str, msgspec.Raw], resources: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """The span's process as resource attributes; one dict per process id, shared by its spans. A
    process that does not decode gives its spans no resource rather than costing them."""
    key = s.process_id
    raw = processes.get(key) if key else None
    if raw is None:
        return _process_resource(s.process) if s.process is not None else {}
    resource = resources.get(key)  # type: ignore[arg-type]
    if resource is None:
        try:
            resource = _process_resource(_PROCESS.decode(raw))
        except msgspec.ValidationError:
            resource = {}
        resources[key] = resource  # type: ignore[index]
    return resource


def _process_resource(process: Process) -> dict[str, Any]:
    resource = {tag.key: _value(tag) for tag in process.tags}
    if process.service_name:
        resource["service.name"] = process.service_name
    return resource


def _scope(attributes: dict[str, Any]) -> dict[str, Any]:
    name = next((attributes[k] for k in _SCOPE_NAME if k in attributes), None)
    if name is None:
        return {}
    return {"name": name, "version": next((attributes[k] for k in _SCOPE_VERSION if k in attributes), None)}


SPEC = FormatSpec(
    name="jaeger-json",
    description="Jaeger JSON (query API / UI download {data: [traces]}, or a bare trace)",
    written_by='the Jaeger UI\'s trace download / query API (`{"data": [...]}`) or a bare trace object: '
    "`spanscope import jaeger-trace.json`",
    extensions=(".json", ".jsonl"),
    sniff=sniff,
    read=read,
    # `"traceID"` and `"spanID"` are looked for anywhere in the head, and these formats' records may
    # hold them: in nested JSON, or as a console span's string attributes. Jaeger's own keys are fixed
    # (tags are lists), so their sniffers never claim it.
    after=("langsmith", "langfuse-export", "otel-console", "inspect-eval", "openai-agents"),
)
