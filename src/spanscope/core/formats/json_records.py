"""Reading JSON exports of other tools: records from JSON Lines, concatenated documents or one array,
and a cheap look at the first record's top-level keys for sniffing.

Exports of tracing services (LangSmith runs, Langfuse observations) come as one JSON document, as a
JSON array of records, or as JSON Lines. Readers of those formats get every top-level value with
where it is in the file; what cannot be read is reported to the source and skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import msgspec

from spanscope.core.formats.base import FormatError, Progress, Source
from spanscope.core.formats.json_objects import read_objects, repairing

_BLANK = b" \t\r\n\xef\xbb\xbf"
# A JSON string or one structural character: enough to follow nesting without parsing values.
_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[{}\[\]:]')


def records(source: Source, progress: Progress) -> Iterator[tuple[str, Any]]:
    """(where, value) of each top-level JSON value: objects of JSON Lines or concatenated documents
    ("line N"), or the items of a top-level array ("item N")."""
    if source.head().lstrip(_BLANK).startswith(b"["):
        yield from _array_items(source, progress)
        return
    for line, value in read_objects(source, progress, msgspec.json.decode):
        yield f"line {line}", value


def _array_items(source: Source, progress: Progress) -> Iterator[tuple[str, Any]]:
    data = source.read_all(progress)
    try:
        items = repairing(msgspec.json.decode)(data)
    except msgspec.DecodeError as exc:
        raise FormatError(f"{source.path}: not valid JSON: {exc}") from exc
    for number, item in enumerate(items, start=1):
        yield f"item {number}", item


def first_keys(head: bytes) -> set[str]:
    """The top-level keys of the first JSON object in `head` (the first item of a top-level array),
    as far as `head` holds them; empty when `head` does not start with JSON."""
    text = head.lstrip(_BLANK)
    if text.startswith(b"["):
        text = text[1:].lstrip(_BLANK)
    if not text.startswith(b"{"):
        return set()
    keys: set[str] = set()
    depth = 0
    previous = b""
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token in (b"{", b"["):
            depth += 1
        elif token in (b"}", b"]"):
            depth -= 1
            if depth == 0:
                break
        elif token == b":" and depth == 1 and previous.startswith(b'"'):
            keys.add(previous[1:-1].decode("utf-8", "replace"))
        previous = token
    return keys


def text_or_none(value: object) -> str | None:
    """A value as text, None when absent or empty."""
    return None if value is None or value == "" else str(value)
