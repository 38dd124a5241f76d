"""`spanscope import`: add trace files (or the trace files in folders) to a store, reporting what
each file gave."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TextIO

from spanscope.cli.stores import Subparsers, command_parser, import_sources, report_imports
from spanscope.core.formats.registry import registry
from spanscope.core.presentation import display
from spanscope.core.store import FileResult, ImportProgress, ImportState, Outcome, default_store_path


def add_parser(subparsers: Subparsers) -> argparse.ArgumentParser:
    p = command_parser(subparsers, "import", "import trace files into a store", _description())
    p.add_argument(
        "files",
        nargs="+",
        metavar="FILE_OR_FOLDER",
        help="trace files, or folders: every file in them (and their subfolders) that is a trace file",
    )
    return p


def _description() -> str:
    """The help's text: what import does, and the formats it reads (each file's is found by its
    content, in this order)."""
    formats = "\n".join(f"  {spec.name:<16} {spec.description}" for spec in registry())
    return (
        "Import trace files (or the trace files in folders) into a store: the format of each is\n"
        f"found from its content. The formats, in the order they are tried:\n{formats}"
    )


class _ProgressLine:
    """One self-rewriting line on a terminal, at most every PROGRESS_EVERY_S seconds."""

    PROGRESS_EVERY_S = 0.2

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.shown_at = 0.0

    def __call__(self, p: ImportProgress) -> None:
        now = time.monotonic()
        if now - self.shown_at < self.PROGRESS_EVERY_S:
            return
        self.shown_at = now
        done = f"{p.bytes_done / 1e6:,.0f} of {p.bytes_total / 1e6:,.0f} MB, {p.spans:,} spans "
        self.out.write(f"\r{display.printable(p.path.name)}: {done}")
        self.out.flush()

    def clear(self) -> None:
        if self.shown_at:
            self.out.write("\r\033[K")
            self.out.flush()


def run(args: argparse.Namespace) -> int:
    db = Path(args.db) if args.db else default_store_path()
    missing = [f for f in args.files if not Path(f).exists()]
    progress = _ProgressLine(sys.stderr) if sys.stderr.isatty() else None
    state = ImportState(on_progress=progress)
    try:
        results = import_sources(db, [Path(f) for f in args.files if f not in missing], state)
    finally:
        if progress is not None:
            progress.clear()
    for f in missing:
        results.append(FileResult(Path(f), Outcome.FAILED, error="no such file or folder"))
    code = report_imports(results, sys.stderr)
    print(f"store: {db}", file=sys.stderr)
    return code
