"""Zipkin v2 JSON: a JSON array of spans, as POSTed to /api/v2/spans and returned by /api/v2/trace,
or an array of such arrays, as /api/v2/traces returns.

A span has hex `traceId` (16 or 32 digits), `id`, `parentId`, `name`, `kind` (CLIENT, SERVER,
PRODUCER, CONSUMER or none), `timestamp` and `duration` in microseconds, `localEndpoint` /
`remoteEndpoint` ({serviceName, ipv4, ipv6, port}), `annotations` ({timestamp, value}), string
`tags`, and `shared`.

Shared spans: in Zipkin's B3 propagation the client and the server of one RPC report the same span
id, the server half marked `shared: true` (or, in data converted from v1, only told apart by kind
SERVER beside a CLIENT). Both halves are kept, as the Zipkin UI shows them: the client keeps the id,
the server half gets `<id>-<its service>` (the original id stays in the `zipkin.id` attribute) and
becomes the client's child. A span whose `parentId` is such an id is placed under the server half
when it runs in the same service as that half (it was made on the server's side), else under the
client. Records of one span sent in parts (same trace, id, side and service) are merged, as Zipkin
does, so an exact duplicate is one span. Other spans reusing an id get `<id>-<service>` too.

Mapping: `localEndpoint.serviceName` is the resource's `service.name`; tags stay attributes, with
`error` making the status ERROR (its value the message); the remote endpoint becomes `peer.service`,
`net.peer.ip`, `net.peer.port`; annotations become events.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
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
from spanscope.core.formats.json_objects import without_lone_surrogates
from spanscope.core.model import Event, Span, Status


class Endpoint(msgspec.Struct, gc=False):
    service_name: str | None = msgspec.field(default=None, name="serviceName")
    ipv4: str | None = None
    ipv6: str | None = None
    port: int | None = None


class Annotation(msgspec.Struct, gc=False):
    timestamp: int = 0
    value: str = ""


class ZipkinSpan(msgspec.Struct, gc=False):
    trace_id: str = msgspec.field(default="", name="traceId")
    id: str = ""
    parent_id: str | None = msgspec.field(default=None, name="parentId")
    name: str | None = None
    kind: str | None = None
    timestamp: int | None = None
    duration: int | None = None
    local_endpoint: Endpoint | None = msgspec.field(default=None, name="localEndpoint")
    remote_endpoint: Endpoint | None = msgspec.field(default=None, name="remoteEndpoint")
    annotations: list[Annotation] = []
    tags: dict[str, Any] = {}
    shared: bool = False


_SPANS = msgspec.json.Decoder(list[ZipkinSpan], strict=False)
_RAW = msgspec.json.Decoder(list[msgspec.Raw])
_SPAN = msgspec.json.Decoder(ZipkinSpan, strict=False)
_SNIFF_ARRAY = re.compile(rb"\s*\[\s*(?:\[\s*)?\{")
_NESTED = re.compile(rb"\s*\[\s*\[")
_TRACES = msgspec.json.Decoder(list[list[msgspec.Raw]])
_SNIFF_KEYS = (
    re.compile(rb'(?<!\\)"traceId"\s*:\s*"'),
    re.compile(rb'(?<!\\)"id"\s*:\s*"'),
    # Zipkin's own: an endpoint or a timestamp in microseconds (Langfuse arrays also have traceId and id)
    re.compile(rb'(?<!\\)"(?:localEndpoint"\s*:\s*\{|timestamp"\s*:\s*\d)'),
)
_BLANKS = re.compile(r"\s*")


class _Record:
    """One Zipkin span (merged from its parts) on its way to a normalized span."""

    __slots__ = ("number", "parent", "side", "span", "span_id", "trace_id")

    def __init__(self, number: int, span: ZipkinSpan) -> None:
        self.number, self.span = number, span
        self.trace_id = padded_hex_id(span.trace_id, "traceId")
        self.span_id = padded_hex_id(span.id, "id")
        parent = span.parent_id
        self.parent = padded_hex_id(parent, "parentId") if parent and parent.strip("0") else None
        self.side = "server" if span.shared else (span.kind or "").upper()

    @property
    def service(self) -> str | None:
        return self.span.local_endpoint.service_name if self.span.local_endpoint else None


def sniff(head: bytes) -> bool:
    """A JSON array of objects with Zipkin's `"traceId"`, `"id"`, and `"localEndpoint"` or a
    numeric `"timestamp"`."""
    text = head.lstrip(b"\xef\xbb\xbf")
    return bool(_SNIFF_ARRAY.match(text)) and all(key.search(text) for key in _SNIFF_KEYS)


def read(source: Source, progress: Progress) -> Iterator[Span]:
    data = source.read_all(progress)
    records = _records(_decode(data, source), source)
    apply = conventions.apply_fields
    count = 0
    for span in _link(records):
        apply(span)
        count += 1
        yield span
    if not count:
        raise FormatError(nothing_read(source))


def _decode(data: bytes, source: Source) -> list[tuple[int, ZipkinSpan]]:
    """(record number, span) of every readable element; the others are reported and skipped."""
    if _NESTED.match(data):
        return _decode_traces(data, source)
    try:
        return list(enumerate(_SPANS.decode(data), 1))
    except msgspec.ValidationError:
        pass
    except msgspec.DecodeError:
        fixed = without_lone_surrogates(data)
        return _decode_prefix(data, source) if fixed is None else _decode(fixed, source)
    try:
        raws = _RAW.decode(data)
    except msgspec.ValidationError as exc:
        raise FormatError(f"{source.path}: not a Zipkin span list: {exc}") from None
    return _each_span(raws, source)


def _decode_traces(data: bytes, source: Source) -> list[tuple[int, ZipkinSpan]]:
    """An array of traces, each an array of spans; spans are numbered across the whole file."""
    try:
        traces = _TRACES.decode(data)
    except msgspec.DecodeError as exc:
        source.skip("file", f"not an array of Zipkin span arrays: {exc}")
        return []
    return _each_span((raw for trace in traces for raw in trace), source)


def _each_span(raws: Iterable[msgspec.Raw], source: Source) -> list[tuple[int, ZipkinSpan]]:
    """Each raw element decoded on its own, numbered from 1; one that does not fit is reported."""
    spans = []
    for number, raw in enumerate(raws, 1):
        try:
            spans.append((number, _SPAN.decode(raw)))
        except msgspec.ValidationError as exc:
            source.skip(f"span {number}", str(exc))
    return spans


def _decode_prefix(data: bytes, source: Source) -> list[tuple[int, ZipkinSpan]]:
    """Malformed or cut-short JSON: the elements before the damage, read one by one."""
    text = data.decode("utf-8", errors="replace")
    decoder, spans = json.JSONDecoder(), []
    pos = _BLANKS.match(text, text.find("[") + 1).end()
    number = 0
    while pos < len(text) and text[pos] != "]":
        number += 1
        try:
            element, pos = decoder.raw_decode(text, pos)
            spans.append((number, msgspec.convert(element, ZipkinSpan, strict=False)))
        except json.JSONDecodeError as exc:
            source.skip(
                f"span {number} (line {exc.lineno})",
                f"malformed JSON ({exc.msg}); the rest of the file is lost",
            )
            break
        except msgspec.ValidationError as exc:
            source.skip(f"span {number}", str(exc))
        pos = _BLANKS.match(text, pos).end()
        if text.startswith(",", pos):
            pos = _BLANKS.match(text, pos + 1).end()
    return spans


def _records(spans: list[tuple[int, ZipkinSpan]], source: Source) -> list[_Record]:
    """One record per span, parts of one span merged; bad ids reported and skipped."""
    merged: dict[tuple[str, str, str, str | None], _Record] = {}
    for number, span in spans:
        try:
            record = _Record(number, span)
        except RECORD_ERRORS as exc:
            source.skip(f"span {number}", record_error(exc))
            continue
        key = (record.trace_id, record.span_id, record.side, record.service)
        if key in merged:
            _merge(merged[key].span, span)
        else:
            merged[key] = record
    records = []
    for record in merged.values():
        if record.span.timestamp is None and record.span.annotations:
            record.span.timestamp = min(a.timestamp for a in record.span.annotations)
        if record.span.timestamp is None:
            source.skip(f"span {record.number}", "no timestamp (and no annotation to take one from)")
            continue
        records.append(record)
    return records


def _merge(into: ZipkinSpan, part: ZipkinSpan) -> None:
    """Fill what `into` lacks from another part of the same span; tags and annotations are joined."""
    for field in ("parent_id", "name", "kind", "timestamp", "duration", "local_endpoint", "remote_endpoint"):
        if getattr(into, field) is None:
            setattr(into, field, getattr(part, field))
    into.tags = {**part.tags, **into.tags}
    seen = {(a.timestamp, a.value) for a in into.annotations}
    into.annotations = into.annotations + [a for a in part.annotations if (a.timestamp, a.value) not in seen]


def _link(records: list[_Record]) -> Iterator[Span]:
    """Normalized spans with distinct ids and parents resolved as the module doc says."""
    by_id: dict[tuple[str, str], list[_Record]] = defaultdict(list)
    for record in records:
        by_id[record.trace_id, record.span_id].append(record)
    new_ids: dict[int, str] = {}  # id(record) -> its new span id
    halves: set[int] = set()  # id(record) of server halves renamed beside their client
    for (_, span_id), group in by_id.items():
        if len(group) == 1:
            continue
        has_client = any(r.side == "CLIENT" for r in group)
        group_halves = {id(r) for r in group if r.side == "server" or (r.side == "SERVER" and has_client)}
        primary = next((r for r in group if id(r) not in group_halves), group[0])
        taken = {span_id}
        for record in group:
            if record is not primary:
                suffix = record.service or record.side.lower() or "span"
                new_ids[id(record)] = _distinct(f"{span_id}-{suffix}", taken)
                if id(record) in group_halves and id(primary) not in group_halves:
                    halves.add(id(record))
    resources: dict[tuple[Any, ...], dict[str, Any]] = {}
    for record in records:
        key = id(record)
        parent = record.span_id if key in halves else _parent(record, by_id, new_ids, halves)
        yield _span(record, new_ids.get(key, record.span_id), parent, resources)


def _distinct(wanted: str, taken: set[str]) -> str:
    name, n = wanted, 1
    while name in taken:
        n += 1
        name = f"{wanted}-{n}"
    taken.add(name)
    return name


def _parent(
    record: _Record, by_id: dict[tuple[str, str], list[_Record]], new_ids: dict[int, str], halves: set[int]
) -> str | None:
    """The parent id: a server half of the parent id in the same service, else the id itself."""
    if record.parent is None:
        return None
    for candidate in by_id.get((record.trace_id, record.parent), ()):
        if id(candidate) in halves and candidate.service == record.service:
            return new_ids[id(candidate)]
    return record.parent


def _span(
    record: _Record, span_id: str, parent: str | None, resources: dict[tuple[Any, ...], dict[str, Any]]
) -> Span:
    s = record.span
    start = (s.timestamp or 0) * 1000
    attributes = dict(s.tags)
    if span_id != record.span_id:
        attributes["zipkin.id"] = record.span_id
    remote = s.remote_endpoint
    if remote is not None:
        for key, value in (
            ("peer.service", remote.service_name),
            ("net.peer.ip", remote.ipv4 or remote.ipv6),
            ("net.peer.port", remote.port),
        ):
            if value is not None:
                attributes[key] = value
    error = s.tags.get("error")
    return Span(
        trace_id=record.trace_id,
        span_id=span_id,
        parent_id=parent,
        name=s.name or "",
        start_ns=start,
        end_ns=None if s.duration is None else start + s.duration * 1000,
        status=Status.ERROR if error is not None else Status.UNSET,
        status_message=str(error) if error else None,
        attributes=attributes,
        events=[Event(a.value, a.timestamp * 1000 or None, {}) for a in s.annotations],
        resource=_resource(s.local_endpoint, resources),
        source_kind=s.kind.upper() if s.kind else None,
    )


def _resource(local: Endpoint | None, resources: dict[tuple[Any, ...], dict[str, Any]]) -> dict[str, Any]:
    """The local endpoint as resource attributes, one dict per endpoint shared by its spans."""
    if local is None:
        return {}
    key = (local.service_name, local.ipv4, local.ipv6, local.port)
    resource = resources.get(key)
    if resource is None:
        resource = {}
        for name, value in (
            ("service.name", local.service_name),
            ("net.host.ip", local.ipv4 or local.ipv6),
            ("net.host.port", local.port),
        ):
            if value is not None:
                resource[name] = value
        resources[key] = resource
    return resource


SPEC = FormatSpec(
    name="zipkin-json",
    description="Zipkin v2 JSON (an array of spans with traceId, id, localEndpoint)",
    written_by="a span array as posted to `/api/v2/spans` or returned by `/api/v2/trace/{id}`, or "
    "`/api/v2/traces`' array of them; a client and server sharing one span id stay two spans, the server one "
    "named `<id>-<service>`: `spanscope import zipkin.json`",
    extensions=(".json",),
    sniff=sniff,
    read=read,
    # Zipkin's keys are looked for anywhere in an array's head, and these formats come as arrays of
    # records with `traceId` and `id` of their own (Langfuse) or nesting any JSON (run inputs, observation
    # input). A Zipkin span's top-level keys are none of theirs, so their sniffers never claim it.
    after=("langsmith", "langfuse-export"),
)
