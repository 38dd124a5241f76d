"""What the OpenTelemetry Python SDK's ConsoleSpanExporter prints: one pretty-printed JSON object
per span, concatenated (neither one document nor JSON Lines).

Each object has `name`, `context` {trace_id, span_id as `0x` hex}, `kind` ("SpanKind.CLIENT"),
`parent_id`, ISO-8601 UTC `start_time`/`end_time`, `status` {status_code, description},
`attributes` as a plain object, `events` [{name, timestamp, attributes}], `links` and the
`resource` {attributes, schema_url} repeated in every span.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import msgspec

from spanscope.core import conventions
from spanscope.core.conventions.parse import epoch_ns
from spanscope.core.formats.base import (
    RECORD_ERRORS,
    FormatError,
    FormatSpec,
    Progress,
    Source,
    nothing_read,
    record_error,
)
from spanscope.core.formats.ids import NO_PARENT, remember_id
from spanscope.core.formats.json_objects import Buffer, read_objects
from spanscope.core.model import Event, Span, Status


class Context(msgspec.Struct, gc=False):
    trace_id: str = ""
    span_id: str = ""


class ConsoleStatus(msgspec.Struct, gc=False):
    status_code: str = "UNSET"
    description: str | None = None


class ConsoleEvent(msgspec.Struct, gc=False):
    name: str = ""
    timestamp: str | None = None
    attributes: dict[str, Any] | None = None


class ConsoleLink(msgspec.Struct, gc=False):
    context: Context | None = None
    attributes: dict[str, Any] | None = None


class ConsoleResource(msgspec.Struct, gc=False):
    attributes: dict[str, Any] | None = None


class ConsoleSpan(msgspec.Struct, gc=False):
    name: str = ""
    context: Context | None = None
    kind: str | None = None
    parent_id: str | None = None
    start_time: str | None = None
    end_time: str | None = None
    status: ConsoleStatus | None = None
    attributes: dict[str, Any] | None = None
    events: list[ConsoleEvent] | None = None
    links: list[ConsoleLink] | None = None
    resource: ConsoleResource | None = None


_DECODER = msgspec.json.Decoder(ConsoleSpan)
_STATUS = {"UNSET": Status.UNSET, "OK": Status.OK, "ERROR": Status.ERROR}
_SNIFF = re.compile(rb'(?<!\\)"context"\s*:\s*\{\s*"trace_id"\s*:')
#: Ids seen recently, normalized (trace ids repeat on every span); cleared when this big.
_ID_CACHE = 65_536


def sniff(head: bytes) -> bool:
    """A JSON object with the console exporter's `"context": {"trace_id": ...` near its start."""
    text = head.lstrip(b" \t\r\n\xef\xbb\xbf")
    return text.startswith(b"{") and _SNIFF.search(text) is not None


def read(source: Source, progress: Progress) -> Iterator[Span]:
    apply = conventions.apply_fields
    ids: dict[str, str] = {}
    resource: dict[str, Any] = {}
    count = 0
    for line, record in read_objects(source, progress, _decode):
        if len(ids) > _ID_CACHE:
            ids.clear()
        try:
            span = _span(record, resource, ids)
            apply(span)
        except RECORD_ERRORS as exc:
            source.skip(line, record_error(exc))
            continue
        resource = span.resource  # equal resources of consecutive spans share one dict
        count += 1
        yield span
    if not count:
        raise FormatError(nothing_read(source))


def _decode(data: Buffer) -> ConsoleSpan:
    try:
        return _DECODER.decode(data)
    except msgspec.ValidationError:
        raise
    except msgspec.DecodeError as exc:
        error = exc
    # Python's json.dumps writes NaN and Infinity bare, which only the json module reads back.
    try:
        loaded = json.loads(bytes(data))
    except ValueError:
        raise error from None
    return msgspec.convert(loaded, ConsoleSpan)


def _span(record: ConsoleSpan, previous_resource: dict[str, Any], ids: dict[str, str]) -> Span:
    """Build a normalized span; ValueError says why the record cannot be used."""
    context = record.context
    if context is None:
        raise ValueError("no context")
    if not record.start_time:
        raise ValueError("no start_time")
    parent = record.parent_id
    if parent:
        parent = ids.get(parent) or remember_id(ids, parent, 8, "parent_id")
    status = record.status or ConsoleStatus()
    resource = (record.resource.attributes if record.resource else None) or {}
    return Span(
        trace_id=ids.get(context.trace_id) or remember_id(ids, context.trace_id, 16, "trace_id"),
        span_id=ids.get(context.span_id) or remember_id(ids, context.span_id, 8, "span_id"),
        parent_id=None if parent == NO_PARENT else parent or None,
        name=record.name,
        start_ns=iso_ns(record.start_time),
        end_ns=iso_ns(record.end_time) if record.end_time else None,
        status=_STATUS.get(status.status_code.rpartition(".")[2].upper(), Status.UNSET),
        status_message=status.description or None,
        attributes=record.attributes or {},
        events=[_event(e) for e in record.events or ()],
        resource=previous_resource if resource == previous_resource else resource,
        source_kind=record.kind.rpartition(".")[2].upper() if record.kind else None,
        links=[_link(link, ids) for link in record.links if link.context] if record.links else [],
    )


def _link(link: ConsoleLink, ids: dict[str, str]) -> dict[str, Any]:
    """One link; an id that cannot be read is kept as printed (the link is still worth showing)."""
    found: dict[str, Any] = {}
    for key, raw, size in (("trace_id", link.context.trace_id, 16), ("span_id", link.context.span_id, 8)):
        try:
            found[key] = ids.get(raw) or remember_id(ids, raw, size, key)
        except ValueError:
            found[key] = raw
    found["attributes"] = link.attributes or {}
    return found


def _event(event: ConsoleEvent) -> Event:
    return Event(event.name, iso_ns(event.timestamp) if event.timestamp else None, event.attributes or {})


def iso_ns(text: str) -> int:
    """Nanoseconds since the epoch of a console span's ISO-8601 time; a bad one fails its record."""
    ns = epoch_ns(text)
    if ns is None:
        raise ValueError(f"bad time {text!r}")
    return ns


SPEC = FormatSpec(
    name="otel-console",
    description="OpenTelemetry Python SDK ConsoleSpanExporter output (concatenated JSON objects)",
    written_by="the OpenTelemetry Python SDK's `ConsoleSpanExporter` output",
    extensions=(".txt",),
    sniff=sniff,
    read=read,
    # `"context": {"trace_id":` is looked for anywhere in the head, and these formats' records may nest
    # it (run inputs, observation input, eval metadata hold any JSON). A console span's keys are fixed
    # and its attributes hold no objects, so their sniffers never claim it.
    after=("langsmith", "langfuse-export", "inspect-eval", "openai-agents"),
)
