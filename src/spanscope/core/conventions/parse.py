"""Reading attribute values of unknown shape: numbers, identifiers and JSON text, never raising.

Every convention module reads values through these: a value of the wrong shape becomes None (or stays
the text it was), so no attribute content can make an import or a read fail.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

#: The bound `get` of the attribute dict being read.
Getter = Callable[[str], Any]
Message = dict[str, Any]
_JSONError = orjson.JSONDecodeError
#: Double-encoded JSON is unwrapped at most this many times (a bound, not a format rule).
_MAX_UNWRAP = 4
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NANOS = re.compile(r"\d{1,3}")
_MICROSECOND = timedelta(microseconds=1)


def as_int(value: Any) -> int | None:
    """A non-negative token count from an int, integral float or numeric string; else None."""
    kind = type(value)
    if kind is int:
        return value if value >= 0 else None
    if kind is float:
        return int(value) if value >= 0 and value.is_integer() else None
    if kind is str:
        try:
            return as_int(int(value))
        except ValueError:
            try:
                return as_int(float(value))
            except ValueError:
                return None
    return None


def as_float(value: Any) -> float | None:
    """A finite amount from an int, float or numeric string; else None."""
    kind = type(value)
    if kind is float:
        number = value
    elif kind is int or kind is str:
        try:
            number = float(value)
        except (ValueError, OverflowError):
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def epoch_ns(value: object) -> int | None:
    """Nanoseconds since the epoch of an ISO 8601 time, computed exactly (no float on the way; digits
    past the microsecond kept too); a time without offset is UTC (as tracing services' APIs write
    it). None for anything else."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        ns = (moment - _EPOCH) // _MICROSECOND * 1000
    except OverflowError:
        return None
    dot = text.find(".")
    if dot >= 0 and text[dot + 7 : dot + 8].isdigit():  # fromisoformat stops at microseconds
        nanos = _NANOS.match(text, dot + 7)
        ns += int(nanos[0].ljust(3, "0")) if nanos else 0
    return ns


def as_text(value: Any) -> str | None:
    """An identifier or name: strings and integers only, never containers or booleans."""
    kind = type(value)
    if kind is str:
        return value or None
    if kind is int:
        return str(value)
    return None


def first_text(get: Getter, keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = get(key)
        if value is not None:
            value = as_text(value)
            if value is not None:
                return value
    return None


def first_int(get: Getter, keys: tuple[str, ...]) -> int | None:
    for key in keys:
        value = get(key)
        if value is not None:
            value = value if type(value) is int and value >= 0 else as_int(value)
            if value is not None:
                return value
    return None


def first_present(data: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = data.get(key)
        if value is not None:
            return value
    return None


def loads(value: Any) -> Any:
    """Parse a JSON string; anything else, or invalid JSON, comes back unchanged."""
    if type(value) is not str:
        return value
    try:
        return orjson.loads(value)
    except _JSONError:
        return value


def unwrap(value: Any) -> Any:
    """Decode text that looks like JSON, repeatedly: Langfuse and Traceloop double-encode values.

    Text that merely parses as JSON (a bare number, `null`) stays text."""
    for _ in range(_MAX_UNWRAP):
        if type(value) is not str or value[:1] not in ("{", "[", '"'):
            return value
        try:
            value = orjson.loads(value)
        except _JSONError:
            return value
    return value


def json_text(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return str(value)
