"""Which format a file is in: every known format module, asked in turn about the file's head.

Kept apart from the package's contract (Source, FormatError, ...), which every format module
imports, so that knowing all formats does not make the package import its own modules.
"""

from __future__ import annotations

from types import ModuleType

from spanscope.core.formats import (
    FormatError,
    Source,
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


def registry() -> list[ModuleType]:
    """Every known format, most specific first (sniffing stops at the first match)."""
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
