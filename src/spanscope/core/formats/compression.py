"""Whole-file gzip and zstd, undone transparently for every reader, keeping what precedes a cut.

A file cut short (a copy interrupted, a writer killed) still yields what came before the cut; the
cut is reported once through `report(where, reason)`, as a skipped record would be.

Memory stays bounded whatever the file: zstd input is fed a little at a time (a few kilobytes can
inflate to a hundred megabytes), gzip inflates as much as is asked for, and a file that inflates past
limits.max_decompressed_bytes() ends there, reported like a cut.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Callable
from typing import BinaryIO

import zstandard

from spanscope.core.formats.limits import decompressed_too_large, max_decompressed_bytes

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
#: What compressed trace files are named with (after the format's own extension).
EXTENSIONS = (".gz", ".zst")
_ZSTD_CHUNK = 1 << 20
#: Compressed bytes given to the zstd decoder at a time: at zstd's largest ratio (about 32,000 to
#: one, runs of one byte) they inflate to 64 MB; ordinary traces decode no slower in such pieces.
_ZSTD_PIECE = 2048

#: Reports the cut: (where, reason).
Report = Callable[[str, str], None]


def decompressed(raw: BinaryIO, report: Report | None) -> BinaryIO:
    """`raw` (positioned at its start) decompressed when it is gzip or zstd, else `raw` itself."""
    magic = raw.read(4)
    raw.seek(0)
    if magic[:2] == GZIP_MAGIC:
        return _GzipUntilTruncation(raw, report)  # type: ignore[return-value]
    if magic == ZSTD_MAGIC:
        return io.BufferedReader(_ZstdUntilTruncation(raw, report))
    return raw


class _GzipUntilTruncation(gzip.GzipFile):
    """A gzip stream that ends cleanly where a truncated file ends, so what came before is kept."""

    def __init__(self, raw: BinaryIO, report: Report | None) -> None:
        super().__init__(fileobj=raw, mode="rb")
        self._report = report
        self._budget = max_decompressed_bytes()

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

    def read1(self, size: int = -1) -> bytes:
        if self._budget <= 0:
            self._over_budget()
            return b""
        part = super().read1(size)
        self._budget -= len(part)
        return part

    def readline(self, size: int | None = -1) -> bytes:
        if self._budget <= 0:
            self._over_budget()
            return b""
        try:
            line = super().readline(size)
        except EOFError:
            self._cut_short()
            return b""
        self._budget -= len(line)
        return line

    def _cut_short(self) -> None:
        self._tell("the compressed file is cut short; what came before was read")

    def _over_budget(self) -> None:
        self._tell(decompressed_too_large())

    def _tell(self, reason: str) -> None:
        if self._report is not None:
            self._report("end of file", reason)
            self._report = None


class _ZstdUntilTruncation(io.RawIOBase):
    """Zstandard frames one after another (what `zstd` and the Collector's compression write), read
    until a frame is cut short or corrupt, so what came before is kept, with one problem reported."""

    def __init__(self, raw: BinaryIO, report: Report | None) -> None:
        self._raw, self._report = raw, report
        self._decoder = zstandard.ZstdDecompressor().decompressobj()
        self._in_frame = self._corrupt = self._ended = False
        self._out = memoryview(b"")
        self._pending = memoryview(b"")
        self._budget = max_decompressed_bytes()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._out:
            if self._budget <= 0 and not self._ended:
                self._tell(decompressed_too_large())
                self._ended = True
            if not self._pending:
                chunk = b"" if self._corrupt or self._ended else self._raw.read(_ZSTD_CHUNK)
                if not chunk:
                    if not self._ended and (self._corrupt or self._in_frame):
                        self._cut_short("corrupt" if self._corrupt else "cut short")
                    self._ended = True
                    return 0
                self._pending = memoryview(chunk)
            piece, self._pending = self._pending[:_ZSTD_PIECE], self._pending[_ZSTD_PIECE:]
            self._out = memoryview(self._decode(piece))
            self._budget -= len(self._out)
        n = min(len(buffer), len(self._out))
        buffer[:n] = self._out[:n]
        self._out = self._out[n:]
        return n

    def _decode(self, chunk: bytes | memoryview) -> bytes:
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
            self._pending = memoryview(b"")
        return b"".join(parts)

    def _cut_short(self, how: str) -> None:
        self._tell(f"the compressed file is {how}; what came before was read")

    def _tell(self, reason: str) -> None:
        if self._report is not None:
            self._report("end of file", reason)
            self._report = None

    def close(self) -> None:
        self._raw.close()
        super().close()
