"""What of a span is searchable: its name, the text of its input and output, its attribute values.

The indexer and the snippet cutter both use these functions, so a highlighted snippet always comes
from the very text that was indexed. Base64 images and audio are left out: their random tokens would
bloat the index and match nothing anyone types.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from spanscope.core.model import LogRecord
from spanscope.core.presentation.media import MIN_BLOB, searchable
from spanscope.core.store.documents import shown_io


def _leaves(value: Any, out: list[str]) -> list[str]:
    """Append the text in a JSON value to `out`: its strings and numbers, never its keys, nor a chat
    message's role (every model call would match "user"). A list, not a generator: the indexer calls
    this for every value of every span. A stack of iterators, not recursion: a value may nest a
    thousand levels deep (as deep as JSON parsing goes), past Python's recursion limit."""
    stack = [iter((value,))]
    while stack:
        for item in stack[-1]:
            if isinstance(item, str):
                _text(item, out)
            elif isinstance(item, dict):
                stack.append(iter([v for k, v in item.items() if k != "role"]))
                break
            elif isinstance(item, list):
                stack.append(iter(item))
                break
            elif isinstance(item, int | float) and not isinstance(item, bool):
                out.append(str(item))
        else:
            stack.pop()
    return out


def _text(value: str, out: list[str]) -> None:
    """Append a string's searchable text, if any (short strings, the most, as they are)."""
    if len(value) >= MIN_BLOB:
        value = searchable(value)
    if value:
        out.append(value)


def _unpacked(values: list[str]) -> list[str]:
    """The values, with a JSON object or array given as text replaced by the text in it."""
    out: list[str] = []
    for value in values:
        if value[:1] in ("{", "["):
            try:
                _leaves(orjson.loads(value), out)
                continue
            except orjson.JSONDecodeError:
                pass
        out.append(value)
    return out


def span_texts(
    name: str | None,
    status_message: str | None,
    doc: dict[str, Any] | None,
    logs: Sequence[LogRecord] = (),
    parent: dict[str, Any] | None = None,
) -> tuple[str, ...]:
    """(name, input, output, attributes) of one span with its log records `logs` and its parent's
    document `parent` (see documents.shown_io), as indexed; a record's event name and body count as
    attribute values.

    Attribute values that repeat the input or output (OpenInference's input.value, a JSON text of
    the messages; the flattened llm.input_messages.*) or another attribute are left out: they would
    double the index and match twice. JSON texts count by the text in them, not their keys.
    """
    doc = doc or {}
    given_input, given_output = shown_io(doc, logs=logs, parent=parent)
    inputs, outputs = _leaves(given_input, []), _leaves(given_output, [])
    values = _leaves(doc.get("attributes"), [])
    if status_message:
        values.append(status_message)
    for event in doc.get("events") or ():
        values.append(event.get("name") or "")
        _leaves(event.get("attributes"), values)
    for record in logs:
        values.append(record.event_name or "")
        _leaves(record.body, values)
    seen = {*inputs, *outputs}
    attributes = dict.fromkeys(v for v in _unpacked(values) if v not in seen)
    return (name or "", "\n".join(inputs), "\n".join(outputs), "\n".join(attributes))
