"""`spanscope annotations`: the reviews given in the app (scores, labels, comments) as JSONL or CSV."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from spanscope.cli.errors import EXIT_OK, UsageError
from spanscope.cli.output import open_output
from spanscope.cli.stores import Subparsers, command_parser, store_for
from spanscope.core.review.export import FORMATS, export_file, write_csv, write_jsonl
from spanscope.core.store import connect, is_store


def add_parser(subparsers: Subparsers) -> argparse.ArgumentParser:
    p = command_parser(
        subparsers, "annotations", "write the reviews given in the app (scores, labels, comments)"
    )
    p.add_argument("store", nargs="?", metavar="STORE", help="a store (default: --db, else the user's store)")
    p.add_argument("--format", choices=list(FORMATS), default="jsonl", help="jsonl (default) or csv")
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of standard output")
    return p


def run(args: argparse.Namespace) -> int:
    """Reviews live in the store they were given in: trace files have none to write."""
    if args.store is not None and Path(args.store).exists() and not is_store(Path(args.store)):
        raise UsageError(f"{args.store}: not a store; reviews are kept in the store they were given in")
    with store_for([] if args.store is None else [args.store], args.db) as path:
        db = connect(path, readonly=True)
        if args.output not in (None, "-"):
            count = export_file(db, Path(args.output), args.format)
        elif args.format == "csv":
            count = write_csv(db, sys.stdout)
        else:
            with open_output(None) as out:
                count = write_jsonl(db, out)
    print(f"{count:,} reviews", file=sys.stderr)
    return EXIT_OK
