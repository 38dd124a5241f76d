"""Traces as a table, and the trace ids of commands that take `[SOURCE...] TRACE_ID`: given a file
without an id, such a command lists the file's traces to choose from, rather than looking for a trace
named like the file."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from spanscope.cli.errors import UsageError
from spanscope.cli.output import print_table
from spanscope.core.formats import compression
from spanscope.core.formats.registry import registry
from spanscope.core.presentation import display
from spanscope.core.store.db import Database
from spanscope.core.store.queries import TraceRow, count_traces, list_traces

TRACE_HEADER = (
    "start (UTC)",
    "trace id",
    "root",
    "latency",
    "spans",
    "errors",
    "in",
    "out",
    "cost",
    "models",
)
#: How many traces a command given no trace id lists to choose from (`traces` lists them all).
CHOICES_SHOWN = 20


def trace_cells(t: TraceRow) -> tuple[str, ...]:
    """A trace's row: its cost as the trace list shows it (`~` computed, `+?` some calls unpriced)."""
    return (
        display.timestamp(t.start_ns),
        t.trace_id,
        t.root_name or "",
        display.duration(t.duration_ns),
        display.count(t.span_count),
        display.count(t.error_count),
        display.count(t.input_tokens),
        display.count(t.output_tokens),
        display.cost(t.cost_usd, computed=bool(t.cost_computed), unknown=bool(t.cost_unknown)),
        ", ".join(t.models),
    )


def print_traces(traces: Sequence[TraceRow], out: TextIO) -> None:
    print_table([TRACE_HEADER, *map(trace_cells, traces)], out)


def split_trace_ids(words: Sequence[str], wanted: int) -> tuple[list[str], list[str]]:
    """`[SOURCE...] ID...` split into the sources and up to `wanted` trace ids: the trailing words
    that are not paths (a mistyped file name stays a source, so it is reported as missing rather
    than looked for as a trace)."""
    sources, ids = list(words), []
    while sources and len(ids) < wanted and not _is_path(sources[-1]):
        ids.insert(0, sources.pop())
    return sources, ids


def _is_path(word: str) -> bool:
    """An existing file, folder or store, or a word written as a path (with a folder or the
    extension of a trace file): no trace id has either."""
    path = Path(word)
    extensions = {ext for spec in registry() for ext in spec.extensions} | set(compression.EXTENSIONS)
    return path.exists() or len(path.parts) > 1 or path.suffix.lower() in extensions


def print_choices(db: Database, out: TextIO) -> int:
    """The first traces of the store, to pick an id from, and how many more there are; returns how
    many traces there are (UsageError when none)."""
    total = count_traces(db)
    if total == 0:
        raise UsageError("no traces in the store to choose from")
    print_traces(list_traces(db, limit=CHOICES_SHOWN), out)
    if total > CHOICES_SHOWN:
        out.write(f"... and {total - CHOICES_SHOWN:,} more (spanscope traces lists them all)\n")
    return total
