"""The contract between Spanscope and its format readers: the file being read (`Source`), what a
reader reports (`Problem`, `FormatError`, progress) and what a reader module declares (`FormatSpec`).

A reader attaches a score to its span (`Span.scores`) when the span is in the file, and yields a
`ScoreFor` when it is not (files of scores or feedback only): the store keeps those with spans
already stored or still to come. Readers of OTLP logs yield `LogRecord`s, which the store likewise
joins to their spans, in either order.

Readers never raise for bad records: they call `source.skip(where, reason)` and go on. They raise
`FormatError` only when nothing in the file can be read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from spanscope.core.formats.compression import GZIP_MAGIC, ZSTD_MAGIC, decompressed
from spanscope.core.formats.limits import RecordTooLarge, read_at_most
from spanscope.core.model import LogRecord, ScoreFor, Span

HEAD_BYTES = 64 * 1024
#: What reading one malformed record can raise in a reader's own code (a value of a type or shape it
#: did not expect: a list where a name was, an object as a dict key): caught where each record is
#: read, so such a value costs that record, never the file.
RECORD_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError, RecursionError)

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

    def read_all(self, progress: Progress) -> bytes:
        """The whole decompressed content, for formats whose file is one document; FormatError when
        it is larger than one record may be (limits.py), so a bomb is never inflated into memory."""
        with self.open() as stream:
            try:
                data = read_at_most(stream, "the file's (decompressed) content")
            except RecordTooLarge as exc:
                raise FormatError(f"{self.path}: {exc}") from exc
            progress(self.position())
        return data

    def position(self) -> int:
        return self._raw.tell() if self._raw is not None and not self._raw.closed else 0

    def skip(self, where: str | int, reason: str) -> None:
        label = f"line {where}" if isinstance(where, int) else where
        self.problems.append(Problem(str(self.path), label, reason))

    def _open_stream(self, *, report_truncation: bool) -> BinaryIO:
        raw = self.path.open("rb")
        self._raw = raw
        return decompressed(raw, self.skip if report_truncation else None)


def record_error(exc: Exception) -> str:
    """Why a record was skipped, from one of RECORD_ERRORS."""
    if isinstance(exc, ValueError):
        return str(exc)
    return f"a value of an unexpected type or shape ({type(exc).__name__}: {exc})"


def nothing_read(source: Source, what: str = "span") -> str:
    """The FormatError message of a reader that found no span (or other `what`), with the first
    problem met."""
    if source.problems:
        return f"{source.path}: no {what} could be read (first problem: {source.problems[0]})"
    return f"{source.path}: the file holds no {what}s"


@dataclass(frozen=True, slots=True)
class FormatSpec:
    """What a reader module declares as its `SPEC`; the registry, the file dialog and the README's
    table of formats are all derived from these, so a new format touches only its own module."""

    #: Short name shown to users and recorded with each imported file ("otlp-json").
    name: str
    #: One line naming the format, for the README and error messages.
    description: str
    #: What writes files of this format, for the README's table (Markdown).
    written_by: str
    #: Usual file name endings, for the file dialog (detection never looks at names).
    extensions: tuple[str, ...]
    #: True when the (decompressed) first bytes look like this format.
    sniff: Callable[[bytes], bool]
    #: The file's spans, scores of spans that are not in it, and log records.
    read: Callable[[Source, Progress], Iterator[Span | ScoreFor | LogRecord]]
    #: Asked only after `sniff` said True, when the head alone cannot tell (a SQLite store's tables
    #: may lie anywhere in the file).
    sniff_source: Callable[[Source], bool] | None = None
    #: Names of formats to try before this one: those whose files this sniffer may also claim.
    after: tuple[str, ...] = ()

    def claims(self, source: Source, head: bytes) -> bool:
        """Whether `source`, whose first bytes are `head`, is in this format."""
        return self.sniff(head) and (self.sniff_source is None or self.sniff_source(source))
