"""How much of a file one record may take in memory, and how much a compressed file may inflate
to: the bounds that keep a hostile or broken file (a decompression bomb, a gigabyte-long JSON
string) from taking all memory. Both can be raised with an environment variable the messages name.
"""

from __future__ import annotations

import os
from typing import BinaryIO

#: The environment variables that raise the limits, in megabytes and gigabytes.
RECORD_ENV = "SPANSCOPE_MAX_RECORD_MB"
DECOMPRESSED_ENV = "SPANSCOPE_MAX_DECOMPRESSED_GB"
DEFAULT_RECORD_MB = 256
DEFAULT_DECOMPRESSED_GB = 64


def _setting(name: str, default: int) -> int:
    try:
        value = int(os.environ.get(name, default))
    except ValueError:
        return default
    return value if value > 0 else default


def max_record_bytes() -> int:
    """The most one record (a JSON line or object, a protobuf body, a whole JSON document, a zip
    member) may take before it is read into memory."""
    return _setting(RECORD_ENV, DEFAULT_RECORD_MB) << 20


def max_decompressed_bytes() -> int:
    """The most a compressed file is inflated to."""
    return _setting(DECOMPRESSED_ENV, DEFAULT_DECOMPRESSED_GB) << 30


def record_too_large(what: str) -> str:
    """Why a record larger than max_record_bytes() is skipped, and how to read it anyway."""
    return (
        f"{what} is larger than {max_record_bytes() >> 20:,} MB, the most one record may take in "
        f"memory; set the environment variable {RECORD_ENV} to a larger number of megabytes to read it"
    )


def decompressed_too_large() -> str:
    return (
        f"the decompressed content passed {max_decompressed_bytes() >> 30:,} GB; what came before was "
        f"read; set the environment variable {DECOMPRESSED_ENV} to a larger number of gigabytes to read more"
    )


class RecordTooLarge(ValueError):
    """A record (or whole document) is larger than max_record_bytes()."""


def read_at_most(stream: BinaryIO, what: str) -> bytes:
    """All of `stream`, or RecordTooLarge when it holds more than max_record_bytes() (read no further)."""
    limit = max_record_bytes()
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise RecordTooLarge(record_too_large(what))
    return data
