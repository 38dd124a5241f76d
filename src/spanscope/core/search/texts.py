"""What of a span is searchable: its name, the text of its input and output, its attribute values.

The indexer and the snippet cutter both use these functions, so a highlighted snippet always comes
from the very text that was indexed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson


def _leaves(value: Any) -> Iterator[str]:
    """The text in a JSON value: its strings and numbers, never its keys, nor a chat message's role
    (every model call would match "user")."""
    if isinstance(value, str):
        if value:
            yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key != "role":
                yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield str(value)


def payload_text(value: Any) -> str:
    """An input or output as one text (chat messages: their contents, one per line)."""
    return "\n".join(_leaves(value))


def span_texts(name: str | None, status_message: str | None, doc: dict[str, Any] | None) -> tuple[str, ...]:
    """(name, input, output, attributes) of one span, as indexed.

    Attribute values that repeat the input or output (OpenInference's input.value, a JSON text of
    the messages; the flattened llm.input_messages.*) or another attribute are left out: they would
    double the index and match twice. JSON texts count by the text in them, not their keys.
    """
    doc = doc or {}
    inputs, outputs = list(_leaves(doc.get("input"))), list(_leaves(doc.get("output")))
    seen = set(inputs) | set(outputs)
    values = list(_leaves(doc.get("attributes")))
    if status_message:
        values.append(status_message)
    for event in doc.get("events") or ():
        values.append(event.get("name") or "")
        values.extend(_leaves(event.get("attributes")))
    attributes = dict.fromkeys(v for value in values for v in _unpacked(value) if v not in seen)
    return (name or "", "\n".join(inputs), "\n".join(outputs), "\n".join(attributes))


def _unpacked(value: str) -> Iterator[str]:
    """A JSON object or array given as text, as its own text; any other value as it is."""
    if value[:1] in ("{", "["):
        try:
            yield from _leaves(orjson.loads(value))
            return
        except orjson.JSONDecodeError:
            pass
    yield value
