"""`spanscope traces`: one line per trace, as a table or JSON; of a store, trace files, or a trace
server's list (read a page at a time, nothing fetched)."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import orjson

from spanscope.cli.commands.pull import with_schemes_help
from spanscope.cli.errors import EXIT_FAILED, EXIT_OK, UsageError, report
from spanscope.cli.listing import print_traces
from spanscope.cli.output import one_line, print_table
from spanscope.cli.stores import Subparsers, add_sources, command_parser, store_for
from spanscope.core.presentation import display
from spanscope.core.remote.base import RemoteClient, RemoteError, RemoteTrace, TraceQuery
from spanscope.core.remote.cache import CacheStore, cache_path
from spanscope.core.remote.pull import PAGE_SIZE, since_ns
from spanscope.core.store import connect
from spanscope.core.store.db import Database
from spanscope.core.store.logs import log_counts, unattached_logs
from spanscope.core.store.queries import TraceRow, list_traces

#: How many groups (trace, service) of log records of no stored span are listed.
MAX_WAITING_GROUPS = 10

#: How many traces of a server's list are shown unless --limit says.
REMOTE_LIMIT = 50
#: The remote list's columns: L marks a trace in the local cache (or --db).
REMOTE_HEADER = (
    "",
    "start (UTC)",
    "trace id",
    "root",
    "latency",
    "spans",
    "error",
    "tokens",
    "cost",
    "project",
)

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
    p = command_parser(
        subparsers, "traces", "list the traces in a store, in trace files or on a trace server"
    )
    add_sources(p, "trace files or folders of them, a store, or a server URL (its list, nothing fetched)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument(
        "--sort",
        type=_sort_column,
        default="start_ns",
        metavar="COLUMN",
        help=f"sort by {', '.join(SORT_COLUMNS)} (default: start), or a JSON key such as duration_ns",
    )
    p.add_argument("--desc", action="store_true", help="sort descending")
    p.add_argument(
        "--limit",
        type=int,
        default=None,
        metavar="N",
        help=f"list at most N traces (of a server: {REMOTE_LIMIT})",
    )
    server = p.add_argument_group("of a server URL")
    server.add_argument("--project", metavar="P", help="the project, experiment or service to list")
    server.add_argument(
        "--since", metavar="AGE|DATE", help="traces since then: 30m, 12h, 2d, 1w or 2026-12-01"
    )
    server.add_argument("--filter", metavar="EXPR", help="the server's own filter, passed as written")
    with_schemes_help(p)
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
    if args.sources and "+" in args.sources[0].partition("://")[0]:
        return _list_remote(args)
    if args.project or args.since or args.filter:
        raise UsageError("--project, --since and --filter are for a server's list: give its URL first")
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


def _remote_cells(t: RemoteTrace, local: bool) -> tuple[str, ...]:
    return (
        "L" if local else "",
        display.timestamp(t.start_ns),
        t.trace_id,
        t.name or "",
        display.duration(t.duration_ns),
        display.count(t.span_count),
        {True: "error", False: "", None: "?"}[t.error],
        display.count(t.total_tokens),
        "" if t.cost_usd is None else display.cost(t.cost_usd),
        t.project or "",
    )


def _remote_json(t: RemoteTrace, local: bool) -> str:
    fields = ("trace_id", "name", "start_ns", "duration_ns", "span_count", "error", "project")
    row = {name: getattr(t, name) for name in (*fields, "total_tokens", "cost_usd")}
    return orjson.dumps({**row, "local": local}).decode()


def _list_remote(args: argparse.Namespace) -> int:
    """A server's traces, newest first, read a page at a time until --limit; those in the server's
    cache store (or --db) marked L. Nothing is fetched."""
    from spanscope.core.remote.registry import client_for, parse_server_url  # loads the HTTP client

    if len(args.sources) > 1:
        raise UsageError("give one server URL, without trace files or stores")
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be at least 1")
    try:
        url = parse_server_url(args.sources[0])
        since = None if args.since is None else since_ns(args.since)
    except (RemoteError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    store = CacheStore(Path(args.db) if args.db else cache_path(url), url)
    query = TraceQuery(project=args.project, since_ns=since, filter=args.filter)
    try:
        return _print_pages(client_for(url), query, store, args.limit or REMOTE_LIMIT, args.json)
    except RemoteError as exc:
        report(str(exc))
        return EXIT_FAILED


def _print_pages(
    client: RemoteClient, query: TraceQuery, store: CacheStore, limit: int, as_json: bool
) -> int:
    out, shown, cursor, header = sys.stdout, 0, None, True
    while shown < limit:
        page = client.list_traces(replace(query, page_size=min(PAGE_SIZE, limit - shown), cursor=cursor))
        traces = page.traces[: limit - shown]
        local = store.local(t.trace_id for t in traces)
        if as_json:
            out.writelines(_remote_json(t, t.trace_id in local) + "\n" for t in traces)
        elif traces:
            rows = [_remote_cells(t, t.trace_id in local) for t in traces]
            print_table([REMOTE_HEADER, *rows] if header else rows, out)
            header = False
        out.flush()
        shown += len(traces)
        cursor = page.next_cursor
        if cursor is None or not traces:
            break
    if cursor is not None and shown >= limit:
        print(f"more on the server: --limit N lists more (these are the newest {shown:,})", file=sys.stderr)
    elif shown == 0:
        print("no traces on the server match", file=sys.stderr)
    return EXIT_OK
