"""`spanscope diff`: two traces compared step by step, with word-level diffs and totals."""

from __future__ import annotations

import argparse
import sys

import orjson

from spanscope.cli.errors import EXIT_FAILED, EXIT_OK, report
from spanscope.cli.listing import print_choices, split_trace_ids
from spanscope.cli.output import write_lines
from spanscope.cli.stores import Subparsers, command_parser, store_for
from spanscope.core.diff import text_report, trace_diff
from spanscope.core.store import connect
from spanscope.core.store.queries import resolve_trace_id


def add_parser(subparsers: Subparsers) -> argparse.ArgumentParser:
    p = command_parser(
        subparsers,
        "diff",
        "compare two traces step by step: aligned steps, word-level diffs, totals",
        "Compare two traces step by step: the totals of each, the steps aligned, and word-level diffs of\n"
        "each changed step's input and output. Without two trace ids, lists the traces to choose from.",
    )
    p.add_argument(
        "args",
        nargs="*",
        metavar="[SOURCE...] TRACE_A TRACE_B",
        help="trace files, folders or a store, then two trace ids or unique prefixes",
    )
    p.add_argument("--json", action="store_true", help="one JSON object")
    return p


def run(args: argparse.Namespace) -> int:
    sources, ids = split_trace_ids(args.args, 2)
    with store_for(sources, args.db) as path:
        db = connect(path, readonly=True)
        if len(ids) < 2:
            print_choices(db, sys.stdout)
            report(
                "give two trace ids (or unique prefixes) after the sources: diff [SOURCE...] TRACE_A TRACE_B"
            )
            return EXIT_FAILED
        diff = trace_diff.diff_traces(db, resolve_trace_id(db, ids[0]), resolve_trace_id(db, ids[1]))
        if args.json:
            sys.stdout.write(orjson.dumps(diff.to_json()).decode() + "\n")
        else:
            write_lines(text_report.report_lines(diff), sys.stdout)
    return EXIT_OK
