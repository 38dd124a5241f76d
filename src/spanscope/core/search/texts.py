"""What of a span is searchable: its name, the text of its input and output, its attribute values.

The indexer and the snippet cutter both use these functions, so a highlighted snippet always comes
from the very text that was indexed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


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

    Attribute values that repeat the input or output (OpenInference's input.value, the flattened
    llm.input_messages.*) are left out: they would double the index and match twice.
    """
    doc = doc or {}
    inputs, outputs = list(_leaves(doc.get("input"))), list(_leaves(doc.get("output")))
    seen = set(inputs) | set(outputs)
    extra = [status_message] if status_message else []
    for event in doc.get("events") or ():
        extra.append(event.get("name") or "")
        extra.extend(_leaves(event.get("attributes")))
    attributes = [v for v in _leaves(doc.get("attributes")) if v not in seen]
    return (name or "", "\n".join(inputs), "\n".join(outputs), "\n".join(attributes + extra))
