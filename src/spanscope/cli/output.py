"""Output shared by several commands: aligned tables, one-line texts, standard output or a file."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import TextIO

#: How many problems (skipped records, unmatched references) are listed before "... and N more".
MAX_PROBLEMS_SHOWN = 20


def print_table(table: list[tuple[str, ...]], out: TextIO) -> None:
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        out.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() + "\n")


def one_line(text: str, limit: int = 120) -> str:
    """A message on one line, shortened for a tree row (the export has the whole of it)."""
    flat = " ".join(text.split())
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
