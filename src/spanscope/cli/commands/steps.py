"""`spanscope steps`: a trace's spans in execution order, or only where breakpoints stop."""

from __future__ import annotations

import argparse
import functools
import sys

from spanscope.cli.errors import EXIT_OK, UsageError
from spanscope.cli.output import print_table
from spanscope.cli.stores import Subparsers, add_sources, command_parser, store_for
from spanscope.core.debugging.breakpoints import Breakpoint, ExpressionError
from spanscope.core.debugging.cursor import StepCursor
from spanscope.core.debugging.tree import TraceTree
from spanscope.core.presentation import display
from spanscope.core.store import connect
from spanscope.core.store.queries import resolve_trace_id, trace_rows
from spanscope.core.store.span_io import span_io


def add_parser(subparsers: Subparsers) -> argparse.ArgumentParser:
    p = command_parser(
        subparsers,
        "steps",
        "print a trace's spans in execution order, or where breakpoints stop",
        "Print a trace's spans in execution order, numbered from 1 as the app's stepping counts them\n"
        "(step 1 of 27), or, with --break, only the steps where a breakpoint would stop.",
    )
    add_sources(p)
    p.add_argument("--trace", required=True, metavar="ID", help="the trace (id or unique prefix)")
    p.add_argument(
        "--break",
        dest="breaks",
        action="append",
        default=[],
        metavar="EXPR",
        help="only steps where this matches, e.g. 'kind == \"LLM\" and latency_ms > 2000' (repeatable)",
    )
    return p


def run(args: argparse.Namespace) -> int:
    try:
        breakpoints = [Breakpoint.from_text(text) for text in args.breaks]
    except ExpressionError as exc:
        raise UsageError(f"bad --break expression: {exc}") from None
    with store_for(args.sources, args.db) as path:
        db = connect(path, readonly=True)
        trace_id = resolve_trace_id(db, args.trace)
        tree = TraceTree.build(trace_rows(db, trace_id))
        cursor = StepCursor()

        def line(step: int) -> tuple[str, ...]:
            row = tree.rows[cursor.order[step]]
            latency = display.duration(None if row["end_ns"] is None else row["end_ns"] - row["start_ns"])
            tokens = ""
            if row["input_tokens"] is not None or row["output_tokens"] is not None:
                used_in, used_out = display.count(row["input_tokens"]), display.count(row["output_tokens"])
                tokens = f"in {used_in or '?'} out {used_out or '?'}"
            return (str(step + 1), row["span_id"], row["kind"], row["name"], latency, tokens)

        cursor.load(tree, functools.partial(span_io, db, trace_id))
        steps = [s for s in range(len(cursor)) if not breakpoints or cursor.hits(s, breakpoints)]
        print_table([("step", "span id", "kind", "name", "latency", "tokens"), *map(line, steps)], sys.stdout)
    return EXIT_OK
