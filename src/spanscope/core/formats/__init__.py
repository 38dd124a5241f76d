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

from collections.abc import Iterator
from types import ModuleType
from typing import Protocol

from spanscope.core.formats.base import FormatError, Problem, Progress, Source
from spanscope.core.model import ScoreFor, Span

__all__ = ["FormatError", "FormatModule", "Problem", "Progress", "Source", "detect", "registry"]


class FormatModule(Protocol):
    NAME: str
    DESCRIPTION: str

    def sniff(self, head: bytes) -> bool: ...

    def read(self, source: Source, progress: Progress) -> Iterator[Span | ScoreFor]: ...


def registry() -> list[ModuleType]:
    """Every known format, most specific first (sniffing stops at the first match)."""
    from spanscope.core.formats import (
        inspect_eval,
        jaeger,
        langfuse_export,
        langsmith,
        mlflow_sqlite,
        otlp_console,
        otlp_json,
        otlp_proto,
        phoenix_sqlite,
        zipkin,
    )

    return [
        otlp_json,
        langsmith,
        langfuse_export,
        otlp_console,
        jaeger,
        zipkin,
        inspect_eval,
        phoenix_sqlite,
        mlflow_sqlite,
        otlp_proto,
    ]


def detect(source: Source) -> ModuleType:
    """The format of `source`, judged by content; FormatError naming every format tried if none fits."""
    head = source.head()
    if not head.strip():
        raise FormatError(f"{source.path}: the file is empty")
    formats = registry()
    for fmt in formats:
        if fmt.sniff(head) and (not hasattr(fmt, "sniff_source") or fmt.sniff_source(source)):
            return fmt
    tried = ", ".join(f"{fmt.NAME} ({fmt.DESCRIPTION})" for fmt in formats)
    raise FormatError(f"{source.path}: not a trace file in any known format; tried: {tried}")
