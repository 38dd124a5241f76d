"""Source formats: each module sniffs a file's head and reads it into normalized spans.

A format module provides:
    NAME: str                      short name shown to users ("otlp-json")
    DESCRIPTION: str               one line for the README and error messages
    sniff(head: bytes) -> bool     True when the (decompressed) first bytes look like this format
    read(source: Source, progress: Progress) -> Iterator[Span | ScoreFor]
and, when the head alone cannot tell (a SQLite store's tables may lie anywhere in the file):
    sniff_source(source: Source) -> bool   asked only after sniff(head) said True

A reader attaches a score to its span (`Span.scores`) when the span is in the file, and yields a
`ScoreFor` when it is not (files of scores or feedback only): the store keeps those with spans
already stored or still to come.

Readers never raise for bad records: they call `source.skip(where, reason)` and go on. They raise
`FormatError` only when nothing in the file can be read.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

import zstandard

from spanscope.core.model import ScoreFor, Span

HEAD_BYTES = 64 * 1024
GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_ZSTD_CHUNK = 1 << 20

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
    """A file being read: transparent gzip and zstd, progress in on-disk bytes, and skipped-record reports."""

    path: Path
    problems: list[Problem] = field(default_factory=list)
    _raw: BinaryIO | None = None

    @property
    def size(self) -> int:
        return self.path.stat().st_size

    @property
    def compressed(self) -> bool:
        with self.path.open("rb") as f:
            magic = f.read(4)
        return magic[:2] == GZIP_MAGIC or magic == ZSTD_MAGIC

    def head(self, n: int = HEAD_BYTES) -> bytes:
        """The first `n` decompressed bytes, for sniffing."""
        try:
            with self._open_stream(report_truncation=False) as f:
                return f.read(n)
        except OSError as exc:
            raise FormatError(f"{self.path}: cannot read: {exc.strerror or exc}") from exc

    def open(self) -> BinaryIO:
        """The decompressed content; `position()` tells how far into the file on disk it has read.

        A compressed file that is cut short reads up to where it ends, with one problem reported."""
        return self._open_stream(report_truncation=True)

    def position(self) -> int:
        return self._raw.tell() if self._raw is not None and not self._raw.closed else 0

    def skip(self, where: str | int, reason: str) -> None:
        label = f"line {where}" if isinstance(where, int) else where
        self.problems.append(Problem(str(self.path), label, reason))

    def _open_stream(self, *, report_truncation: bool) -> BinaryIO:
        raw = self.path.open("rb")
        self._raw = raw
        magic = raw.read(4)
        raw.seek(0)
        if magic[:2] == GZIP_MAGIC:
            return _GzipUntilTruncation(raw, self if report_truncation else None)  # type: ignore[return-value]
        if magic == ZSTD_MAGIC:
            return io.BufferedReader(_ZstdUntilTruncation(raw, self if report_truncation else None))
        return raw


class _GzipUntilTruncation(gzip.GzipFile):
    """A gzip stream that ends cleanly where a truncated file ends, so what came before is kept."""

    def __init__(self, raw: BinaryIO, source: Source | None) -> None:
        super().__init__(fileobj=raw, mode="rb")
        self._source = source

    def read(self, size: int | None = -1) -> bytes:
        """Up to `size` bytes (all when negative), gathered step by step so a cut keeps the rest."""
        parts: list[bytes] = []
        remaining = size if size is not None and size >= 0 else None
        while remaining is None or remaining > 0:
            try:
                part = self.read1(-1 if remaining is None else remaining)
            except EOFError:
                self._cut_short()
                break
            if not part:
                break
            parts.append(part)
            if remaining is not None:
                remaining -= len(part)
        return b"".join(parts)

    def readline(self, size: int | None = -1) -> bytes:
        try:
            return super().readline(size)
        except EOFError:
            self._cut_short()
            return b""

    def _cut_short(self) -> None:
        if self._source is not None:
            self._source.skip("end of file", "the compressed file is cut short; what came before was read")
            self._source = None


class _ZstdUntilTruncation(io.RawIOBase):
    """Zstandard frames one after another (what `zstd` and the Collector's compression write), read
    until a frame is cut short or corrupt, so what came before is kept, with one problem reported."""

    def __init__(self, raw: BinaryIO, source: Source | None) -> None:
        self._raw, self._source = raw, source
        self._decoder = zstandard.ZstdDecompressor().decompressobj()
        self._in_frame = self._corrupt = self._ended = False
        self._out = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._out:
            chunk = b"" if self._corrupt or self._ended else self._raw.read(_ZSTD_CHUNK)
            if not chunk:
                if not self._ended and (self._corrupt or self._in_frame):
                    self._cut_short("corrupt" if self._corrupt else "cut short")
                self._ended = True
                return 0
            self._out = memoryview(self._decode(chunk))
        n = min(len(buffer), len(self._out))
        buffer[:n] = self._out[:n]
        self._out = self._out[n:]
        return n

    def _decode(self, chunk: bytes) -> bytes:
        """What the chunk completes, across frames; corrupt data ends the stream after what preceded."""
        parts = []
        try:
            while chunk:
                self._in_frame = True
                parts.append(self._decoder.decompress(chunk))
                if not self._decoder.eof:
                    break
                chunk = self._decoder.unused_data
                self._decoder = zstandard.ZstdDecompressor().decompressobj()
                self._in_frame = False
        except zstandard.ZstdError:
            self._corrupt = True
        return b"".join(parts)

    def _cut_short(self, how: str) -> None:
        if self._source is not None:
            self._source.skip("end of file", f"the compressed file is {how}; what came before was read")
            self._source = None

    def close(self) -> None:
        self._raw.close()
        super().close()


class FormatModule(Protocol):
    NAME: str
    DESCRIPTION: str

    def sniff(self, head: bytes) -> bool: ...

    def read(self, source: Source, progress: Progress) -> Iterator[Span | ScoreFor]: ...
