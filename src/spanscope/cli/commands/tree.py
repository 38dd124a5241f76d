"""`spanscope tree`: one trace as an indented tree, a line per span."""

from __future__ import annotations

import argparse
import sys

from spanscope.cli.errors import EXIT_OK
from spanscope.cli.output import one_line
from spanscope.cli.stores import Subparsers, command_parser, store_for
from spanscope.core.debugging.tree import TraceTree
from spanscope.core.presentation import display
from spanscope.core.presentation.tree_text import indent
from spanscope.core.store import connect
from spanscope.core.store.queries import resolve_trace_id, trace_rows


def add_parser(subparsers: Subparsers) -> argparse.ArgumentParser:
    p = command_parser(subparsers, "tree", "print one trace as an indented tree")
    p.add_argument(
        "args", nargs="+", metavar="[SOURCE...] TRACE_ID", help="sources, then a trace id or prefix"
    )
    return p


def _tree_line(row: dict) -> str:
    parts = [f"{row['name']}", f"[{row['kind']}]"]
    if row["model"]:
        parts.append(row["model"])
    duration = None if row["end_ns"] is None else row["end_ns"] - row["start_ns"]
    parts.append(display.duration(duration))
    if row["input_tokens"] is not None or row["output_tokens"] is not None:
        parts.append(
            f"in {display.count(row['input_tokens']) or '?'} out {display.count(row['output_tokens']) or '?'}"
        )
    if row["cost_usd"] is not None:
        parts.append(display.cost(row["cost_usd"]))
    if row["status"] == "error":
        message = one_line(row["status_message"]) if row["status_message"] else ""
        parts.append(f"ERROR: {message}" if message else "ERROR")
    if row["orphan"]:
        parts.append(f"(orphan: parent {row['parent_id']} missing)")
    if row["clock_skew"]:
        parts.append("(clock skew: starts before its parent)")
    parts.append(f"#{row['span_id']}")
    return "  ".join(parts)


def run(args: argparse.Namespace) -> int:
    *sources, trace = args.args
    with store_for(sources, args.db) as path:
        db = connect(path, readonly=True)
        trace_id = resolve_trace_id(db, trace)
        tree = TraceTree.build(trace_rows(db, trace_id))
        out = sys.stdout
        out.write(f"trace {trace_id}: {len(tree.rows):,} spans\n")
        for i, depth in tree.walk():
            out.write(indent(depth) + _tree_line(tree.rows[i]) + "\n")
    return EXIT_OK
