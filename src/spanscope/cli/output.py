"""Output shared by several commands: aligned tables, one-line texts, reports, standard output or a
file. Trace data reaches the terminal only through these (or `display.printable`), so a span named
with escape sequences is shown, not obeyed."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import TextIO

from spanscope.core.presentation import display

#: How many problems (skipped records, unmatched references) are listed before "... and N more".
MAX_PROBLEMS_SHOWN = 20


def print_table(table: Sequence[Sequence[str]], out: TextIO) -> None:
    """Columns aligned by terminal width (CJK names included), control characters escaped."""
    out.writelines(line + "\n" for line in display.table_lines(table))


def write_lines(lines: Iterable[str], out: TextIO) -> None:
    """A report's lines (a diff, a grounding, a check), control characters escaped; line breaks
    inside one (an input shown over several lines) are kept."""
    out.writelines(display.printable(line, lines=True) + "\n" for line in lines)


def one_line(text: str, limit: int = 120) -> str:
    """A message on one line, shortened for a tree row (the export has the whole of it)."""
    flat = display.printable(" ".join(text.split()))
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


@contextlib.contextmanager
def open_output(path: str | None) -> Iterator:
    """Bytes to standard output (no path, or "-") or to the file at path."""
    if path is None or path == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
    else:
        with open(path, "wb") as f:
            yield f
