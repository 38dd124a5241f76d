"""OTel trace and span ids as they are written in trace files, back to the lowercase hex Spanscope keeps.

OTLP JSON writes them as hex (any case), the generic protobuf JSON mapping and MLflow as base64, the
console exporter and older MLflow as `0x` hex; Jaeger and Zipkin print shorter ids without their
leading zeros.
"""

from __future__ import annotations

import base64
import binascii
import re

#: The parent id of a root span in files that write zeros instead of leaving it out.
NO_PARENT = "0" * 16

_LOWER_HEX = re.compile(r"[0-9a-f]+")
_HEX = re.compile(r"[0-9a-fA-F]+")
_BASE64 = re.compile(r"[A-Za-z0-9+/\-_]+={0,2}")


def normalize_id(raw: str, size: int, what: str = "id") -> str:
    """Lowercase hex of a `size`-byte OTel id written as hex (any case), 0x-hex or base64."""
    if len(raw) == 2 * size and _LOWER_HEX.fullmatch(raw):
        return raw
    text = raw.strip()
    digits = text[2:] if text[:2] in ("0x", "0X") else text  # base64 may start with 0x too
    if not digits:
        raise ValueError(f"{what} missing")
    if len(digits) == 2 * size and _HEX.fullmatch(digits):
        return digits.lower()
    if _BASE64.fullmatch(text):
        padded = text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4)
        try:
            data = base64.b64decode(padded, validate=True)
        except binascii.Error:
            data = b""
        if len(data) == size:
            return data.hex()
    raise ValueError(f"bad {what} {raw!r}: not {size} bytes in hex or base64")


def padded_hex_id(raw: str, what: str) -> str:
    """Lowercase hex of a Jaeger or Zipkin id: 16 or 32 digits, left-padded with zeros as both
    tools do for the shorter ids they print (Jaeger drops leading zeros; old Zipkin data is short)."""
    text = raw.strip().lower()
    if not text or len(text) > 32 or not _LOWER_HEX.fullmatch(text):
        raise ValueError(f"bad {what} {raw!r}: not up to 32 hex digits")
    return text.rjust(16 if len(text) <= 16 else 32, "0")


def remember_id(ids: dict[str, str], raw: str, size: int, what: str) -> str:
    """normalize_id, kept in `ids`: readers look ids up there first, as most repeat."""
    ids[raw] = normalized = normalize_id(raw, size, what)
    return normalized
