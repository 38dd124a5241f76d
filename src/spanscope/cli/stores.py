"""The store a command works on, from its --db option and sources, and the report of imports."""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO, TypeAlias

from spanscope.cli.errors import EXIT_FAILED, EXIT_OK, EXIT_PARTIAL, UsageError
from spanscope.cli.output import MAX_PROBLEMS_SHOWN
from spanscope.core.formats.folders import expand_folders
from spanscope.core.presentation import display
from spanscope.core.pricing.prices import user_price_book
from spanscope.core.store import FileResult, ImportState, Outcome, default_store_path, import_files, is_store
from spanscope.core.store.finalize import prepare_store
from spanscope.core.store.undo import recover_imports

#: What `add_parser` of a command module is given: the subcommands of `spanscope`.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def command_parser(
    subparsers: Subparsers, name: str, help_text: str, description: str | None = None
) -> argparse.ArgumentParser:
    """A command's parser: every command reads or writes a store, so every one takes --db.
    A `description` (else the help text) is for `spanscope NAME --help`, kept as laid out."""
    layout = {} if description is None else {"formatter_class": argparse.RawDescriptionHelpFormatter}
    p = subparsers.add_parser(name, help=help_text, description=description or help_text, **layout)
    p.add_argument("--db", metavar="STORE", help="the store to use (default: the user's store)")
    return p


def add_sources(
    parser: argparse.ArgumentParser, help_text: str = "trace files or folders of them, or a store"
) -> None:
    """The SOURCE arguments that `store_for` takes, with --db."""
    parser.add_argument("sources", nargs="*", metavar="SOURCE", help=help_text)


def import_sources(db: Path, paths: Sequence[Path], state: ImportState | None = None) -> list[FileResult]:
    """Import trace files and the trace files in folders into `db`: one result per file, and a
    SKIPPED result for each file of a folder that no format claims."""
    sources = expand_folders(paths)
    results = import_files(db, sources.files, state)
    return results + [FileResult(path, Outcome.SKIPPED, error=why) for path, why in sources.skipped]


def report_imports(results: Sequence[FileResult], out: TextIO) -> int:
    """Print one line per file and its skipped records; return the import exit code. What a line
    quotes of a file (a bad value, a name) has its control characters escaped."""

    def say(line: str) -> None:
        out.write(display.printable(line) + "\n")

    imported = 0
    partial = False
    for r in results:
        if r.outcome is Outcome.IMPORTED:
            imported += 1
            read, added = (
                (f"{r.scores_read:,} scores", r.scores_added)
                if r.scores_only
                else (f"{r.spans_read:,} spans", r.spans_added)
            )
            if r.logs_only:
                say(f"{r.path}: {r.logs_read:,} log records [{r.format}]")
            else:
                say(f"{r.path}: {read} ({added:,} new) in {r.traces:,} traces [{r.format}]")
            if r.logs_read:
                say(
                    f"{r.path}: {r.logs_added:,} new log records kept, {r.logs_waiting:,} of them waiting "
                    "for their spans"
                )
        elif r.outcome is Outcome.ALREADY:
            imported += 1
            say(f"{r.path}: already imported, nothing to add")
        elif r.outcome is Outcome.SKIPPED:
            say(f"{r.path}: skipped: {r.error}")
        else:
            partial = True
            why = (r.error or "nothing imported").removeprefix(f"{r.path}: ")
            say(f"{r.path}: {r.outcome}: {why}")
        if r.problems:
            partial = True
            say(f"{r.path}: skipped {len(r.problems):,} records:")
            for problem in r.problems[:MAX_PROBLEMS_SHOWN]:
                say(f"  {problem}")
            if len(r.problems) > MAX_PROBLEMS_SHOWN:
                say(f"  ... and {len(r.problems) - MAX_PROBLEMS_SHOWN:,} more")
    if imported == 0:
        return EXIT_FAILED
    return EXIT_PARTIAL if partial else EXIT_OK


def _existing_store(stores: list[Path], db: str | None, files: list[Path]) -> Path | None:
    """The store named by --db or a source, else the user's store when no files are given; None
    when the files are to be imported into a temporary store."""
    if len(stores) + (db is not None) > 1:
        raise UsageError("give one store at a time (--db or a store file)")
    if stores or db is not None:
        if files:
            raise UsageError("give either a store or trace files, not both")
        path = Path(db) if db is not None else stores[0]
        if not path.exists():
            raise UsageError(f"{path}: no such store")
        return path
    if not files:
        path = default_store_path()
        if not path.exists():
            raise UsageError(f"no store yet at {path}: import trace files first (spanscope import FILE...)")
        return path
    return None


@contextlib.contextmanager
def store_for(sources: Sequence[str], db: str | None, *, strict: bool = False) -> Iterator[Path]:
    """The store to read: --db, a store given as a source, or a temporary store of the given files.
    An existing store is first brought up to date (imports whose process died undone, schema,
    prices for what an upgrade left unpriced, with the user's price book). `strict`: a file that
    cannot be imported at all is an error, not just reported."""
    stores = [Path(s) for s in sources if is_store(Path(s))]
    files = [Path(s) for s in sources if not is_store(Path(s))]
    path = _existing_store(stores, db, files)
    if path is not None:
        recover_imports(path)
        prepare_store(path, user_price_book())
        yield path
        return
    for f in files:
        if not f.exists():
            raise UsageError(f"{f}: no such file or folder")
    with tempfile.TemporaryDirectory(prefix="spanscope-") as tmp:
        path = Path(tmp) / "store.db"
        results = import_sources(path, files)
        if any(r.outcome is not Outcome.IMPORTED or r.problems for r in results):
            report_imports(results, sys.stderr)
        if not any(r.outcome is Outcome.IMPORTED for r in results):
            raise UsageError("nothing could be imported from the given files")
        failed = [str(r.path) for r in results if r.outcome is Outcome.FAILED]
        if strict and failed:
            raise UsageError(f"could not import {', '.join(failed)}")
        yield path
