"""What the store can hold, and what becomes of a value it cannot: a bad value is a bad record,
never a bad batch or file.

SQLite integers are signed 64-bit and orjson writes integers up to 64 bits and nests up to 255
levels, while readers get whatever a file holds: an OTLP `endTimeUnixNano` of 2^64-1 (a legal
fixed64), an `intValue` of 20 digits, a LangSmith output holding 2^64. A span's out-of-range time,
token count or time to first token is left unset; a value in its document that cannot be written
is kept as text. Each change is written down in the span's own attributes under PROBLEMS_ATTRIBUTE,
which the detail's attribute table shows, and reported as (where, reason) for the import's problems.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from spanscope.core.model import LogRecord, Span
from spanscope.core.span_rows import TOKEN_COLUMNS

#: The span attribute listing what was changed to store the span (a list of sentences).
PROBLEMS_ATTRIBUTE = "spanscope.problems"
#: SQLite's INTEGER range.
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
#: The largest integer a document keeps as a number (orjson writes unsigned 64-bit ones too).
_DOCUMENT_INT_MAX = (1 << 64) - 1
#: Token counts above this are not a model's: sums over millions of spans must stay within int64.
MAX_TOKENS = 1 << 40
#: Nesting deeper than this (inside a document's top-level field) is kept as text.
MAX_DEPTH = 200
#: The span fields checked here, as a user reads them.
_TIMES = {"end_ns": "end time", "ttft_ns": "time to first token"}
_TIME_RANGE = "a 64-bit count of nanoseconds (years 1677 to 2262)"


class UnstorableSpan(ValueError):
    """The span cannot be stored at all (it has no start time the store can hold)."""


def fit_span(span: Span) -> tuple[Span, list[str]]:
    """The span with its times and token counts the store cannot hold unset (a copy: a caller may
    store the span it was given again), and a note for each; UnstorableSpan when its start time is
    one of them (a span is placed by its start)."""
    start = span.start_ns
    if type(start) is not int or not INT64_MIN <= start <= INT64_MAX:
        raise UnstorableSpan(f"its start time {start!r} is not {_TIME_RANGE}")
    unset: dict[str, None] = {}
    notes = []
    for name, label in _TIMES.items():
        value = getattr(span, name)
        if value is not None and (type(value) is not int or not INT64_MIN <= value <= INT64_MAX):
            unset[name] = None
            notes.append(f"its {label} {value!r} is not {_TIME_RANGE}; not stored")
    for name in TOKEN_COLUMNS:
        value = getattr(span, name)
        if value is not None and (type(value) is not int or not -MAX_TOKENS <= value <= MAX_TOKENS):
            unset[name] = None
            notes.append(
                f"its {name.replace('_', ' ')} {value!r} is not a token count (at most 2^40); not stored"
            )
    return (replace(span, **unset) if unset else span), notes


def fit_log(record: LogRecord) -> tuple[LogRecord, list[str]]:
    """The log record with its time and document made storable (see `packable`; a copy), and a
    note for each change; its time is left unset when beyond int64."""
    notes: list[str] = []
    time_ns = record.time_ns
    if time_ns is not None and (type(time_ns) is not int or not INT64_MIN <= time_ns <= INT64_MAX):
        notes.append(f"its time {time_ns!r} is not {_TIME_RANGE}; not stored")
        time_ns = None
    fixed = {
        name: packable(getattr(record, name), name, notes)
        for name in (
            "severity_number",
            "severity_text",
            "event_name",
            "body",
            "attributes",
            "resource",
            "scope",
        )
    }
    return replace(record, time_ns=time_ns, **fixed), notes


def note_problems(attributes: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    """`attributes` with `notes` added under PROBLEMS_ATTRIBUTE (a new dict; the span's own is
    left as the reader made it)."""
    earlier = attributes.get(PROBLEMS_ATTRIBUTE)
    kept = list(earlier) if isinstance(earlier, list) else [] if earlier is None else [earlier]
    return {**attributes, PROBLEMS_ATTRIBUTE: kept + notes}


def packable(value: Any, where: str, notes: list[str], depth: int = 0) -> Any:
    """`value` with everything orjson cannot write replaced by text: integers beyond 64 bits, text
    with lone surrogates, nesting deeper than MAX_DEPTH, values of other types; a note for each."""
    kind = type(value)
    if kind is str:
        if value.isascii():
            return value
        try:
            value.encode()
        except UnicodeEncodeError:
            notes.append(f"{where}: text with lone surrogates (not characters); each is replaced by U+FFFD")
            # Through UTF-16, surrogates that do pair up become their character again.
            return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return value
    if kind is int:
        if INT64_MIN <= value <= _DOCUMENT_INT_MAX:
            return value
        notes.append(f"{where}: the integer {value} is beyond 64 bits; kept as text")
        return str(value)
    if value is None or kind is float or kind is bool:
        return value
    if kind is dict or kind is list or kind is tuple:
        if depth >= MAX_DEPTH:
            notes.append(f"{where}: nested deeper than {MAX_DEPTH} levels; the rest is not kept")
            return "…"
        if kind is dict:
            keys = [_key(k) for k in value]
            return {
                k: packable(v, f"{where}.{k}", notes, depth + 1)
                for k, v in zip(keys, value.values(), strict=True)
            }
        return [packable(v, f"{where}[{i}]", notes, depth + 1) for i, v in enumerate(value)]
    return packable(str(value), where, notes, depth)


def _key(key: Any) -> str:
    return key if type(key) is str and key.isascii() else packable(str(key), "key", [])


def summarized(notes: list[str], most: int = 10) -> list[str]:
    """The first `most` notes, and how many more there were."""
    if len(notes) <= most:
        return notes
    return [*notes[:most], f"and {len(notes) - most:,} more such values"]


def storable_row(row: tuple, columns: tuple[str, ...]) -> tuple[tuple, list[str]]:
    """A row (of `columns`) with each value SQLite cannot bind made storable: an integer beyond
    int64 unset, text with lone surrogates repaired, another type as text; with a note for each."""
    notes: list[str] = []
    fixed = []
    for column, value in zip(columns, row, strict=True):
        kind = type(value)
        if kind is int and not INT64_MIN <= value <= INT64_MAX:
            notes.append(f"its {column} {value} is beyond 64 bits; not stored")
            value = None
        elif kind is str or kind not in (int, bool, float, bytes, type(None)):
            value = packable(value if kind is str else str(value), column, notes)
        fixed.append(value)
    return tuple(fixed), notes
