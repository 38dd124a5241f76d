"""`spanscope diff`: two traces compared step by step, with word-level diffs and totals."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import orjson

from spanscope.cli.errors import EXIT_OK, UsageError
from spanscope.cli.stores import Subparsers, command_parser, store_for
from spanscope.core.diff import trace_diff
from spanscope.core.store import connect
from spanscope.core.store.queries import resolve_trace_id


def add_parser(subparsers: Subparsers) -> argparse.ArgumentParser:
    p = command_parser(
        subparsers, "diff", "compare two traces step by step: aligned steps, word-level diffs, totals"
    )
    p.add_argument(
        "args",
        nargs="+",
        metavar="[SOURCE...] TRACE_A TRACE_B",
        help="sources, then two trace ids or prefixes",
    )
    p.add_argument("--json", action="store_true", help="one JSON object")
    return p


def run(args: argparse.Namespace) -> int:
    if len(args.args) < 2 or any(Path(t).exists() for t in args.args[-2:]):
        raise UsageError(
            "give two trace ids (or prefixes) after the sources: diff [SOURCE...] TRACE_A TRACE_B"
        )
    *sources, trace_a, trace_b = args.args
    with store_for(sources, args.db) as path:
        db = connect(path, readonly=True)
        diff = trace_diff.diff_traces(db, resolve_trace_id(db, trace_a), resolve_trace_id(db, trace_b))
        if args.json:
            sys.stdout.write(orjson.dumps(diff.to_json()).decode() + "\n")
        else:
            sys.stdout.writelines(line + "\n" for line in trace_diff.report_lines(diff))
    return EXIT_OK
