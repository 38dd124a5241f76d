"""`spanscope traces`: one line per trace, as a table or JSON."""

from __future__ import annotations

import argparse
import sys
from collections import Counter

import orjson

from spanscope.cli.errors import EXIT_OK
from spanscope.cli.listing import print_traces
from spanscope.cli.output import one_line
from spanscope.cli.stores import Subparsers, add_sources, command_parser, store_for
from spanscope.core.store import connect
from spanscope.core.store.db import Database
from spanscope.core.store.logs import log_counts, unattached_logs
from spanscope.core.store.queries import TraceRow, list_traces

#: How many groups (trace, service) of log records of no stored span are listed.
MAX_WAITING_GROUPS = 10

#: --sort values: the table's column names, and the store's column under each.
SORT_COLUMNS = {
    "start": "start_ns",
    "id": "trace_id",
    "root": "root_name",
    "latency": "duration_ns",
    "spans": "span_count",
    "errors": "error_count",
    "in": "input_tokens",
    "out": "output_tokens",
    "cost": "cost_usd",
    "models": "models",
    "session": "session_id",
    "user": "user_id",
    "service": "service",
}


def _sort_column(text: str) -> str:
    """A --sort value: a column name of the table, or of the JSON (start_ns, duration_ns, ...)."""
    if text in SORT_COLUMNS:
        return SORT_COLUMNS[text]
    if text in SORT_COLUMNS.values():
        return text
    raise argparse.ArgumentTypeError(f"cannot sort by {text!r}: choose from {', '.join(SORT_COLUMNS)}")


def add_parser(subparsers: Subparsers) -> argparse.ArgumentParser:
    p = command_parser(subparsers, "traces", "list the traces in a store or in trace files")
    add_sources(p)
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument(
        "--sort",
        type=_sort_column,
        default="start_ns",
        metavar="COLUMN",
        help=f"sort by {', '.join(SORT_COLUMNS)} (default: start), or a JSON key such as duration_ns",
    )
    p.add_argument("--desc", action="store_true", help="sort descending")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="list at most N traces")
    return p


def _trace_json(t: TraceRow) -> bytes:
    return orjson.dumps(
        {
            "trace_id": t.trace_id,
            "root_name": t.root_name,
            "start_ns": t.start_ns,
            "duration_ns": t.duration_ns,
            "span_count": t.span_count,
            "error_count": t.error_count,
            "input_tokens": t.input_tokens,
            "output_tokens": t.output_tokens,
            "cost_usd": t.cost_usd,
            "models": list(t.models),
        }
    )


def run(args: argparse.Namespace) -> int:
    with store_for(args.sources, args.db) as path:
        db = connect(path, readonly=True)
        traces = list_traces(db, order_by=args.sort, descending=args.desc, limit=args.limit)
        out = sys.stdout
        if args.json:
            for t in traces:
                out.write(_trace_json(t).decode() + "\n")
            return EXIT_OK
        print_traces(traces, out)
        _report_waiting_logs(db)
    return EXIT_OK


def _report_waiting_logs(db: Database) -> None:
    """Log records of no stored span, counted by trace and service (on standard error: the table
    stays parseable), so a logs file imported before its spans is visibly kept."""
    waiting = log_counts(db).waiting
    if not waiting:
        return
    print(f"{waiting:,} log records belong to no span in the store (yet):", file=sys.stderr)
    records = unattached_logs(db)
    groups = Counter((r.trace_id, r.service) for r in records)
    for (trace_id, service), count in groups.most_common(MAX_WAITING_GROUPS):
        where = f"trace {one_line(trace_id)}" if trace_id else "no trace"
        print(
            f"  {count:,} of {where}" + (f", service {one_line(service)}" if service else ""), file=sys.stderr
        )
    shown = sum(count for _, count in groups.most_common(MAX_WAITING_GROUPS))
    if shown < waiting:
        print(f"  ... and {waiting - shown:,} more", file=sys.stderr)
