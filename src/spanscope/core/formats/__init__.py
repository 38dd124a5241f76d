"""Source formats: each module sniffs a file's head and reads it into normalized spans.

A format module provides:
    NAME: str                      short name shown to users ("otlp-json")
    DESCRIPTION: str               one line for the README and error messages
    sniff(head: bytes) -> bool     True when the (decompressed) first bytes look like this format
    read(source: Source, progress: Progress) -> Iterator[Span]

Readers never raise for bad records: they call `source.skip(where, reason)` and go on. They raise
`FormatError` only when nothing in the file can be read.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import BinaryIO, Protocol

from spanscope.core.model import Span

HEAD_BYTES = 64 * 1024
GZIP_MAGIC = b"\x1f\x8b"

#: Called with the number of bytes of the file (as stored on disk) consumed so far.
Progress = Callable[[int], None]


class FormatError(Exception):
    """The file as a whole cannot be read (unknown format, unreadable, empty)."""


@dataclass(frozen=True, slots=True)
class Problem:
    """A record that was skipped: where it is in the file and why."""

    path: str
    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.where}: {self.reason}"


@dataclass
class Source:
    """A file being read: transparent gzip, progress in on-disk bytes, and skipped-record reports."""

    path: Path
    problems: list[Problem] = field(default_factory=list)
    _raw: BinaryIO | None = None

    @property
    def size(self) -> int:
        return self.path.stat().st_size

    @property
    def compressed(self) -> bool:
        with self.path.open("rb") as f:
            return f.read(2) == GZIP_MAGIC

    def head(self, n: int = HEAD_BYTES) -> bytes:
        """The first `n` decompressed bytes, for sniffing."""
        with self._open_stream() as f:
            try:
                return f.read(n)
            except (OSError, EOFError) as exc:
                raise FormatError(f"{self.path}: cannot read: {exc}") from exc

    def open(self) -> BinaryIO:
        """The decompressed content; `position()` tells how far into the file on disk it has read."""
        return self._open_stream()

    def position(self) -> int:
        return self._raw.tell() if self._raw is not None and not self._raw.closed else 0

    def skip(self, where: str | int, reason: str) -> None:
        label = f"line {where}" if isinstance(where, int) else where
        self.problems.append(Problem(str(self.path), label, reason))

    def _open_stream(self) -> BinaryIO:
        raw = self.path.open("rb")
        self._raw = raw
        if raw.read(2) == GZIP_MAGIC:
            raw.seek(0)
            return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
        raw.seek(0)
        return raw


class FormatModule(Protocol):
    NAME: str
    DESCRIPTION: str

    def sniff(self, head: bytes) -> bool: ...

    def read(self, source: Source, progress: Progress) -> Iterator[Span]: ...


def registry() -> list[ModuleType]:
    """Every known format, most specific first (sniffing stops at the first match)."""
    from spanscope.core.formats import otlp_console, otlp_json

    return [otlp_json, otlp_console]


def detect(source: Source) -> ModuleType:
    """The format of `source`, judged by content; FormatError naming every format tried if none fits."""
    head = source.head()
    if not head.strip():
        raise FormatError(f"{source.path}: the file is empty")
    formats = registry()
    for fmt in formats:
        if fmt.sniff(head):
            return fmt
    tried = ", ".join(f"{fmt.NAME} ({fmt.DESCRIPTION})" for fmt in formats)
    raise FormatError(f"{source.path}: not a trace file in any known format; tried: {tried}")
