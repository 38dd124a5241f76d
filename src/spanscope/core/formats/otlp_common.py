"""The mapping of an OTLP span into a normalized Span and of an OTLP log record into a LogRecord,
shared by the OTLP JSON and protobuf readers (their messages have the same field names), with the
OTLP enums both encodings use.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable
from typing import Any, TypeVar

from spanscope.core import conventions
from spanscope.core.formats.base import RECORD_ERRORS, record_error
from spanscope.core.formats.ids import NO_PARENT
from spanscope.core.model import Event, LogRecord, Span, Status


def _enum(names: tuple[str, ...], prefix: str, first: int) -> dict[int | str, str]:
    """An OTLP enum's values by number, number as text, name and protobuf JSON name."""
    table: dict[int | str, str] = {}
    for code, name in enumerate(names, start=first):
        table.update({code: name, str(code): name, name: name, prefix + name: name})
    return table


KINDS = _enum(("INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"), "SPAN_KIND_", 1)
STATUS = {key: Status[name] for key, name in _enum(("UNSET", "OK", "ERROR"), "STATUS_CODE_", 0).items()}
_SEVERITIES = tuple(
    f"{level}{n if n > 1 else ''}"
    for level in ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
    for n in (1, 2, 3, 4)
)
#: Log severity numbers by number, number as text, name and protobuf JSON name (SEVERITY_NUMBER_INFO).
SEVERITY = {
    key: _SEVERITIES.index(name) + 1 for key, name in _enum(_SEVERITIES, "SEVERITY_NUMBER_", 1).items()
}
T = TypeVar("T")
#: (resource attributes, scope, the scope's spans) of one scopeSpans entry of a request.
Group = tuple[dict[str, Any], dict[str, Any], Iterable[Any]]


def scope_dict(name: str | None, version: str | None, attributes: dict[str, Any]) -> dict[str, Any]:
    """The instrumentation scope as stored on a span (attributes only when there are any)."""
    found: dict[str, Any] = {"name": name, "version": version}
    if attributes:
        found["attributes"] = attributes
    return found


def otlp_span(
    s: Any,
    trace_id: str,
    span_id: str,
    parent: str | None,
    flatten: Callable[[Any], dict[str, Any]],
    resource: dict[str, Any],
    scope: dict[str, Any],
    link_id: Callable[[Any, int, str], str],
) -> Span:
    """A normalized span from an OTLP span, JSON struct or protobuf message alike (same field names).

    The ids are already lowercase hex; `flatten` turns that encoding's key/value list into a dict
    and `link_id(raw, size, what)` a link's id into hex. ValueError says why the span cannot be used."""
    if not s.start_time_unix_nano:
        raise ValueError("startTimeUnixNano missing")
    status = s.status
    return Span(
        trace_id=trace_id,
        span_id=span_id,
        parent_id=None if parent == NO_PARENT else parent or None,
        name=s.name,
        start_ns=s.start_time_unix_nano,
        end_ns=s.end_time_unix_nano or None,
        status=STATUS.get(status.code, Status.UNSET) if status else Status.UNSET,
        status_message=(status.message or None) if status else None,
        attributes=flatten(s.attributes),
        events=[Event(e.name, e.time_unix_nano or None, flatten(e.attributes)) for e in s.events]
        if s.events
        else [],
        resource=resource,
        scope=scope,
        source_kind=KINDS.get(s.kind),
        links=[_link(link, flatten, link_id) for link in s.links] if s.links else [],
    )


def _link(
    link: Any, flatten: Callable[[Any], dict[str, Any]], link_id: Callable[[Any, int, str], str]
) -> dict:
    """One OTLP link; an id that cannot be read is kept as given (the link is still worth showing)."""
    ids = {}
    for key, raw, size in (("trace_id", link.trace_id, 16), ("span_id", link.span_id, 8)):
        try:
            ids[key] = link_id(raw, size, key)
        except ValueError:
            ids[key] = raw if isinstance(raw, str) else raw.hex()
    found = {**ids, "attributes": flatten(link.attributes)}
    if link.trace_state:
        found["trace_state"] = link.trace_state
    return found


def request_spans(
    groups: Iterable[Group], skip: Callable[[str], None], span_of: Callable[[Any, dict, dict], Span]
) -> Generator[Span, None, int]:
    """The spans of one OTLP request, finished by semconv; one that `span_of` rejects with a
    ValueError is passed to `skip` as "span N: reason" and left out. Returns how many were yielded."""
    apply = conventions.apply_fields

    def finished(item: Any, resource: dict, scope: dict) -> Span:
        span = span_of(item, resource, scope)
        apply(span)
        return span

    return (yield from request_items(groups, skip, finished, "span"))


def request_items(
    groups: Iterable[Group], skip: Callable[[str], None], item_of: Callable[[Any, dict, dict], T], what: str
) -> Generator[T, None, int]:
    """The items (spans, log records) of one OTLP request as `item_of` makes them; one it rejects with
    a ValueError is passed to `skip` as "WHAT N: reason" and left out. Returns how many were yielded."""
    number = count = 0
    for resource, scope, items in groups:
        for item in items:
            number += 1
            try:
                found = item_of(item, resource, scope)
            except RECORD_ERRORS as exc:
                skip(f"{what} {number}: {record_error(exc)}")
                continue
            count += 1
            yield found
    return count


def otlp_log(
    r: Any,
    trace_id: str | None,
    span_id: str | None,
    flatten: Callable[[Any], dict[str, Any]],
    body: Any,
    resource: dict[str, Any],
    scope: dict[str, Any],
) -> LogRecord:
    """A normalized log record from an OTLP one, JSON struct or protobuf message alike; `body` is its
    body already decoded. The event name is the `eventName` field, else the `event.name` attribute."""
    attributes = flatten(r.attributes)
    event_name = r.event_name or attributes.get("event.name")
    return LogRecord(
        trace_id=trace_id,
        span_id=span_id,
        time_ns=r.time_unix_nano or r.observed_time_unix_nano or None,
        severity_number=SEVERITY.get(r.severity_number) or None,
        severity_text=r.severity_text or None,
        event_name=event_name if isinstance(event_name, str) and event_name else None,
        body=body,
        attributes=attributes,
        resource=resource,
        scope=scope,
    )
