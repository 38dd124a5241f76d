"""`spanscope tree`: one trace as an indented tree, a line per span."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from spanscope.cli.errors import EXIT_FAILED, EXIT_OK, report
from spanscope.cli.listing import print_choices, split_trace_ids
from spanscope.cli.output import one_line
from spanscope.cli.stores import Subparsers, command_parser, store_for
from spanscope.core.debugging.tree import TraceTree
from spanscope.core.debugging.tree_costs import TreeCosts
from spanscope.core.presentation import display
from spanscope.core.presentation.tree_text import indent
from spanscope.core.pricing.prices import user_price_book
from spanscope.core.store import connect
from spanscope.core.store.db import Database
from spanscope.core.store.queries import count_traces, list_traces, resolve_trace_id, trace_rows


def add_parser(subparsers: Subparsers) -> argparse.ArgumentParser:
    p = command_parser(
        subparsers,
        "tree",
        "print one trace as an indented tree",
        "Print one trace as an indented tree, a line per span. Without a trace id, a source of one\n"
        "trace shows that trace; a source of several lists them to choose from.",
    )
    p.add_argument(
        "args",
        nargs="*",
        metavar="[SOURCE...] [TRACE_ID]",
        help="trace files, folders or a store, then a trace id or unique prefix",
    )
    return p


def _tree_line(row: dict, cost: str) -> str:
    parts = [f"{row['name']}", f"[{row['kind']}]"]
    if row["model"]:
        parts.append(row["model"])
    duration = None if row["end_ns"] is None else row["end_ns"] - row["start_ns"]
    parts.append(display.duration(duration))
    if row["input_tokens"] is not None or row["output_tokens"] is not None:
        parts.append(
            f"in {display.count(row['input_tokens']) or '?'} out {display.count(row['output_tokens']) or '?'}"
        )
    if cost:
        parts.append(cost)
    if row["status"] == "error":
        message = one_line(row["status_message"]) if row["status_message"] else ""
        parts.append(f"ERROR: {message}" if message else "ERROR")
    if row["orphan"]:
        parts.append(f"(orphan: parent {row['parent_id']} missing)")
    if row["clock_skew"]:
        parts.append("(clock skew: starts before its parent)")
    parts.append(f"#{row['span_id']}")
    return display.printable("  ".join(parts))


def _print_tree(db: Database, trace_id: str, out: TextIO) -> None:
    """Each span's own cost as the span tree shows it: reported, `~` computed, `?` unknown."""
    tree = TraceTree.build(trace_rows(db, trace_id))
    costs = TreeCosts.build(tree, user_price_book())
    out.write(f"trace {display.printable(trace_id)}: {len(tree.rows):,} spans\n")
    for i, depth in tree.walk():
        source = costs.source(i)
        cost = display.cost(costs.usd[i], computed=source == "computed", unknown=source == "unknown")
        out.write(indent(depth) + _tree_line(tree.rows[i], cost) + "\n")


def run(args: argparse.Namespace) -> int:
    sources, ids = split_trace_ids(args.args, 1)
    with store_for(sources, args.db) as path:
        db = connect(path, readonly=True)
        if ids:
            _print_tree(db, resolve_trace_id(db, ids[0]), sys.stdout)
        elif count_traces(db) == 1:
            _print_tree(db, list_traces(db)[0].trace_id, sys.stdout)
        else:
            total = print_choices(db, sys.stdout)
            report(f"{total:,} traces: name one after the sources, by its id or a unique prefix")
            return EXIT_FAILED
    return EXIT_OK
