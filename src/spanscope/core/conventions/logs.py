"""OTLP log records as a source of a span's input and output, read by the conventions' own parsers.

GenAI instrumentations that record content as events only emit it as log records of the model call's
span: `gen_ai.client.inference.operation.details` (the `gen_ai.input.messages`, `gen_ai.output.messages`
and `gen_ai.system_instructions` of the span attributes of later versions, as its own attributes), or
one record per message (`gen_ai.user.message`, `gen_ai.choice`, ..., as the span events of 1.28-1.36,
the message in the body). Each becomes what the conventions already read: attributes, or events.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from spanscope.core.model import Event, LogRecord

OPERATION_DETAILS = "gen_ai.client.inference.operation.details"


def log_sources(logs: Sequence[LogRecord]) -> Iterator[tuple[dict[str, Any], list[Event]]]:
    """(attributes, events) to derive input and output from, first to last: the attributes of each
    operation-details record, then every other named record as an event (in the records' order,
    which is time order) whose attributes are its body: a structured body as it is, any other under
    `gen_ai.event.content`, where the GenAI convention reads a JSON text body."""
    events: list[Event] = []
    for record in logs:
        name = record.event_name
        if not name:
            continue
        if name == OPERATION_DETAILS:
            if isinstance(record.attributes, dict):
                yield record.attributes, []
            continue
        body = record.body
        events.append(
            Event(name, record.time_ns, body if isinstance(body, dict) else {"gen_ai.event.content": body})
        )
    if events:
        yield {}, events
