"""Finding the JSON objects in a file, whichever way they are laid out, without stopping at bad ones.

Real files hold either one object per line (the Collector's file exporter) or whole documents
concatenated, pretty-printed or not, with or without newlines between them (the Python SDK's console
exporter, `cat` of several exports). `read_objects` yields every top-level object of either shape,
with the line it starts on, and reports what it cannot read to the source instead of stopping.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import mmap
import re
from collections.abc import Callable, Iterator
from typing import BinaryIO, TypeVar

import msgspec

from spanscope.core.formats.base import Progress, Source
from spanscope.core.formats.limits import max_record_bytes, record_too_large

T = TypeVar("T")
Buffer = bytes | bytearray | memoryview
#: Reports a skipped object: (line, reason).
Skip = Callable[[int, str], None]

#: Objects are looked for in chunks of this size, and progress is reported about this often.
CHUNK = 1 << 20
#: A chunk grows up to this size while one very long string is being scanned, so rescans stay linear.
MAX_CHUNK = 64 << 20
# From a position outside any string: everything up to and including the next structural brace.
# Possessive quantifiers keep it linear when no brace follows (the rest of the buffer is scanned once).
_TO_BRACE = re.compile(rb'(?:[^"{}]++|"(?:[^"\\]++|\\.)*+")*+[{}]', re.DOTALL)
# Where a well-formed object can end: a `}` before the next `{` (in JSON, a `}` inside an object is
# followed by `,`, `}` or `]`, so elsewhere this only occurs inside a string).
_BEFORE_NEXT = re.compile(rb"\}[ \t\r\n]*+(?=\{)")
#: The next byte that is neither JSON whitespace nor part of a UTF-8 byte order mark.
_CONTENT = re.compile(rb"[^ \t\r\n\xef\xbb\xbf]")
_OPEN = ord("{")
# An escaped backslash (so the parity of backslashes is kept), an escaped surrogate pair, or an
# escaped surrogate on its own, which no JSON decoder here accepts.
_ESCAPES = re.compile(
    rb"\\\\|\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|\\u[dD][89a-fA-F][0-9a-fA-F]{2}"
)
_LONE = len(rb"\ud800")
_REPLACEMENT = rb"\ufffd"


def without_lone_surrogates(data: Buffer) -> bytes | None:
    """`data` with each escaped lone surrogate (`\\ud800` with no pair) as U+FFFD; None when it has
    none. Python's own JSON writes such escapes from broken text; the rest of the value is kept."""
    found = False

    def replaced(match: re.Match[bytes]) -> bytes:
        nonlocal found
        if len(match.group()) != _LONE:
            return match.group()
        found = True
        return _REPLACEMENT

    fixed = _ESCAPES.sub(replaced, bytes(data))
    return fixed if found else None


def repairing(decode: Callable[[Buffer], T]) -> Callable[[Buffer], T]:
    """`decode`, tried once more with lone surrogates replaced when the JSON does not decode."""

    def decoded(data: Buffer) -> T:
        try:
            return decode(data)
        except ValueError:  # msgspec's and orjson's decode errors are ValueErrors
            fixed = without_lone_surrogates(data)
            if fixed is None:
                raise
            return decode(fixed)

    return decoded


def one_object_per_line(head: bytes) -> bool:
    """True when the file starts with a whole object on its first line (JSON Lines), not a
    pretty-printed document whose first line only opens it."""
    text = head.lstrip(b" \t\r\n\xef\xbb\xbf")
    end = text.find(b"\n")
    first = text if end < 0 else text[:end].rstrip()
    return first.startswith(b"{") and (end < 0 or first.endswith(b"}"))


def split_objects(
    read: Callable[[int], bytes], skip: Skip, first_line: int = 1
) -> Iterator[tuple[int, bytearray]]:
    """Yield (line, bytes) of each top-level JSON object in a concatenation, reading in chunks."""
    return _Splitter(read, skip, first_line).objects()


class _Splitter:
    """One pass over a concatenation of JSON objects, holding at most one object and a chunk.

    An object's end is first guessed (the first `}` followed by the next `{` or by the end of the
    input) and the guess checked by validating the JSON, which runs at C speed; only when that fails
    (a `} {` inside a string, a malformed object) is the object scanned brace by brace, tracking
    strings. Text between objects is reported and skipped. An object still open at the end of the
    input is reported, and scanning resumes at the next line inside it that starts with `{` (a
    truncated line among objects one per line), so one bad object does not take the rest with it.
    """

    def __init__(self, read: Callable[[int], bytes], skip: Skip, line: int) -> None:
        self.read, self.skip = read, skip
        self.buf = bytearray()
        self.pos = 0  # scan position in buf
        self.start = -1  # where the open object starts in buf; -1 between objects
        self.line, self.counted = line, 0  # the line number of buf[counted]
        self.want = CHUNK
        self.eof = False
        self.limit = max_record_bytes()

    def objects(self) -> Iterator[tuple[int, bytearray]]:
        while True:
            if self.start < 0 and not self._next_start():
                return
            try:
                end = self._guessed_end()
                if end < 0 or not _is_json(self.buf, self.start, end):
                    self.pos = self.start
                    end = self._scanned_end()
            except _TooLarge:
                self._skip_large()
                continue
            if end < 0:
                self._unclosed()
                continue
            line = self.line
            obj = self._take(end)
            yield line, obj
            del obj

    def _next_start(self) -> bool:
        """Move to the next `{` outside an object, reporting text in between; False at the end."""
        junk = False
        while True:
            buf = self.buf
            found = _CONTENT.search(buf, self.pos)
            pos = found.start() if found else len(buf)
            if pos < len(buf):
                self.line += buf.count(b"\n", self.counted, pos)
                self.counted = pos
                if buf[pos] == _OPEN:
                    self.start = self.pos = pos
                    return True
                if not junk:
                    self.skip(self.line, "text outside any JSON object")
                    junk = True
                nxt = buf.find(b"{", pos)
                pos = len(buf) if nxt < 0 else nxt
            self.pos = pos
            if pos == len(buf) and not self._refill():
                return False

    def _guessed_end(self) -> int:
        """The end of the open object if it is well-formed: just after the first `}` followed by
        the next `{` or by blanks up to the end of the input; -1 if there is no such `}`."""
        pos = self.pos
        while True:
            buf = self.buf
            found = _BEFORE_NEXT.search(buf, pos)
            if found is not None:
                return found.start() + 1
            last = buf.rfind(b"}", pos)
            at_end = last >= 0 and _CONTENT.search(buf, last + 1) is None
            self.pos = last if at_end else len(buf)  # what is left to search once more is read
            if not self._refill():  # the end of the input: self.pos is that `}`, if any
                return self.pos + 1 if at_end else -1
            pos = self.pos

    def _scanned_end(self) -> int:
        """The end of the open object found brace by brace, or -1 if the input ends first."""
        depth, pos = 0, self.pos
        while True:
            buf, scanned_from = self.buf, pos
            while (match := _TO_BRACE.match(buf, pos)) is not None:
                pos = match.end()
                depth += 1 if buf[pos - 1] == _OPEN else -1
                if depth == 0:
                    return pos
            self.pos = pos
            if not self._refill(grow=pos == scanned_from):
                return -1
            pos = self.pos

    def _take(self, end: int) -> bytearray:
        """Cut the object off the buffer; one that fills it from 0 is handed over, not copied."""
        buf, start = self.buf, self.start
        self.start = -1
        if start:
            self.pos = end
            return buf[start:end]
        self.buf = buf[end:]
        del buf[end:]
        self.line += buf.count(b"\n")
        self.pos = self.counted = 0
        return buf

    def _skip_large(self) -> None:
        """Report the open object, too large to hold, and go on at the next line starting with `{`
        after it, reading on without keeping what is passed over."""
        self.skip(self.line, record_too_large("this JSON object"))
        self.start = -1
        while (nxt := self.buf.find(b"\n{", self.pos)) < 0:
            self.pos = max(len(self.buf) - 1, 0)
            if not self._refill():
                self.pos = len(self.buf)
                return
        self.pos = nxt + 1

    def _unclosed(self) -> None:
        self.skip(self.line, "JSON object not closed before the end of the input")
        nxt = self.buf.find(b"\n{", self.start)
        self.start = -1
        self.pos = len(self.buf) if nxt < 0 else nxt + 1

    def _refill(self, grow: bool = False) -> bool:
        """Drop what is done and append a chunk; False at the end of the input.

        A brace-by-brace scan that found nothing asks for a bigger chunk each time, so one very long
        string is rescanned a logarithmic number of times, not once per chunk.
        """
        if self.eof:
            return False
        keep = self.start if self.start >= 0 else self.pos
        self.line += self.buf.count(b"\n", self.counted, keep)
        del self.buf[:keep]
        self.pos -= keep
        self.counted = 0
        if self.start >= 0:
            self.start = 0
            if len(self.buf) > self.limit:
                raise _TooLarge
        chunk = self.read(self.want)
        self.want = min(self.want * 2, MAX_CHUNK) if grow else CHUNK
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True


class _TooLarge(Exception):
    """The open object has grown past max_record_bytes()."""


def _is_json(buf: bytearray, start: int, end: int) -> bool:
    """Whether buf[start:end] is well-formed JSON, checked without building anything."""
    with memoryview(buf) as view, view[start:end] as part:
        try:
            msgspec.json.decode(part, type=msgspec.Raw)
        except msgspec.DecodeError:
            return False
    return True


def read_objects(
    source: Source, progress: Progress, decode: Callable[[Buffer], T]
) -> Iterator[tuple[int, T]]:
    """Each top-level JSON object of the file, decoded, with the line it starts on.

    `decode` raises msgspec.DecodeError for malformed JSON and ValueError for JSON it cannot use;
    either way the object is reported to the source and skipped. In a file of one object per line,
    a line that is not one whole object is split, so objects run together on a line are still read.
    """
    per_line = one_object_per_line(source.head())
    decode = repairing(decode)
    with source.open() as stream:
        content = _Content(source, stream, progress)
        try:
            if not per_line:
                yield from _decode_each(split_objects(content.read, source.skip), decode, source.skip)
                return
            for number, line in content.lines():
                try:
                    obj = decode(line)
                except ValueError as exc:
                    yield from _recover(number, line, exc, decode, source.skip)
                else:
                    yield number, obj
        finally:
            content.close()


def _recover(
    number: int, line: Buffer, exc: ValueError, decode: Callable[[Buffer], T], skip: Skip
) -> Iterator[tuple[int, T]]:
    """A line that did not decode: split it if it is not one well-formed object, else report it."""
    if type(exc) is not msgspec.DecodeError:
        skip(number, str(exc))
        return
    yield from _decode_each(split_objects(io.BytesIO(line).read, skip, number), decode, skip)


def _decode_each(
    objects: Iterator[tuple[int, bytearray]], decode: Callable[[Buffer], T], skip: Skip
) -> Iterator[tuple[int, T]]:
    for line, raw in objects:
        try:
            obj = decode(raw)
        except ValueError as exc:
            skip(line, str(exc))
        else:
            yield line, obj


class _Content:
    """The decompressed content. An uncompressed file is memory-mapped, so each line is decoded
    where it lies instead of being copied out first (a large share of the time for JSON Lines).

    The pages read are released as the reading moves on (they stay in the OS's file cache), so the
    import's memory stays flat however large the file: mapped pages once read count in its resident
    memory otherwise, 3.3 GB for a 3.2 GB file."""

    def __init__(self, source: Source, stream: BinaryIO, progress: Progress) -> None:
        self._source, self._stream, self._progress = source, stream, progress
        self._map = memory_map(stream)
        self._released = 0

    def _release(self, upto: int) -> None:
        """Drop the mapped pages before `upto` from memory; a line still held reads them back."""
        end = upto - upto % mmap.PAGESIZE
        if self._map is not None and end > self._released:
            self._map.madvise(mmap.MADV_DONTNEED, self._released, end - self._released)
            self._released = end

    def lines(self) -> Iterator[tuple[int, Buffer]]:
        """(line number, line) pairs, reporting progress about every CHUNK bytes; a line longer than
        max_record_bytes() is reported and skipped, never held whole."""
        limit = max_record_bytes()
        lines = self._stream_lines(limit) if self._map is None else self._mapped_lines(self._map)
        for number, line in lines:
            if len(line) > limit:
                self._source.skip(number, record_too_large("this line"))
            else:
                yield number, line

    def read(self, size: int) -> bytes:
        chunk = (self._stream if self._map is None else self._map).read(size)
        position = self._position()
        self._release(position)
        self._progress(position)
        return chunk

    def close(self) -> None:
        self._progress(self._position())
        if self._map is not None:
            with contextlib.suppress(BufferError):  # a caller still holds a line; it unmaps later
                self._map.close()

    def _position(self) -> int:
        return self._source.position() if self._map is None else self._map.tell()

    def _stream_lines(self, limit: int) -> Iterator[tuple[int, Buffer]]:
        """Lines of at most `limit` + 1 bytes: the rest of a longer line is read past, not kept."""
        done, report, number = 0, CHUNK, 0
        while line := self._stream.readline(limit + 1):
            number += 1
            if len(line) > limit and not line.endswith(b"\n"):
                while (rest := self._stream.readline(CHUNK)) and not rest.endswith(b"\n"):
                    done += len(rest)
            yield number, line
            done += len(line)
            if done >= report:
                self._progress(self._source.position())
                report = done + CHUNK

    def _mapped_lines(self, mapped: mmap.mmap) -> Iterator[tuple[int, Buffer]]:
        view, size = memoryview(mapped), len(mapped)
        pos, number, report = 0, 0, CHUNK
        try:
            while pos < size:
                end = mapped.find(b"\n", pos)
                end = size if end < 0 else end
                number += 1
                yield number, view[pos:end]
                pos = end + 1
                if pos >= report:
                    self._release(pos)
                    self._progress(min(pos, size))
                    report = pos + CHUNK
            mapped.seek(size)
        finally:
            view.release()


def memory_map(stream: BinaryIO) -> mmap.mmap | None:
    """The uncompressed file behind `stream` mapped into memory, or None (compressed, empty, a pipe)."""
    if isinstance(stream, gzip.GzipFile):
        return None
    try:
        return mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):  # empty file, pipe, or a file system without mmap
        return None
