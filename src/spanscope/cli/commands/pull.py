"""`spanscope pull`: a trace server's traces into a store for offline use, each trace whole, resumable."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from spanscope.cli.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_PARTIAL, UsageError, report
from spanscope.cli.progress import ProgressLine, interrupt_cancels
from spanscope.cli.stores import Subparsers, command_parser
from spanscope.core.presentation import display
from spanscope.core.remote.base import RemoteError, ServerURL, TraceQuery
from spanscope.core.remote.cache import (
    CacheConfigError,
    CacheStore,
    cache_path,
    parse_size,
    read_cache_limit,
    write_cache_limit,
)
from spanscope.core.remote.pull import PAGE_SIZE, PullArgs, PullOutcome, PullProgress, PullState, since_ns
from spanscope.core.remote.pull import run as pull

#: Failures and problems listed at most in the summary.
LISTED = 20

DESCRIPTION = """\
Fetch a trace server's traces into a store, so they open, search and compare offline like any other:
the server's list (of a project or experiment, since a time, with the server's own filter), or the
traces named with --trace. Each trace is fetched whole, a few at a time, and stored whole — a trace
that fails is listed and not stored at all. Traces already in the store are skipped, so Ctrl+C (or a
failure) loses nothing: run the same command again to go on.

The store is the server's cache (the one the app's Connect to Server uses; its size limit, 2 GB unless
set with --cache-limit, evicts the least recently opened traces, never those of this pull), or --db.
Credentials come from the environment variables of the server kind, or the system keyring."""


def with_schemes_help(parser: argparse.ArgumentParser) -> None:
    """Add the server URL schemes to the parser's --help; looked up when asked for, since finding the
    server kinds loads their HTTP client, which no other command needs at start."""
    plain = parser.format_help

    def format_help() -> str:
        from spanscope.core.remote.registry import schemes_help

        return f"{plain()}\nserver URLs:\n{schemes_help()}\n"

    parser.format_help = format_help  # type: ignore[method-assign]


def add_parser(subparsers: Subparsers) -> argparse.ArgumentParser:
    p = command_parser(
        subparsers, "pull", "fetch a trace server's traces into a store (resumable)", DESCRIPTION
    )
    p.add_argument("url", metavar="URL", help="the server, e.g. phoenix+http://localhost:6006")
    which = p.add_mutually_exclusive_group()
    which.add_argument(
        "--project", metavar="P", help="the project (Phoenix, Langfuse) or service (Jaeger, Tempo)"
    )
    which.add_argument("--experiment", metavar="E", help="the MLflow experiment (id or name)")
    p.add_argument("--since", metavar="AGE|DATE", help="traces since then: 30m, 12h, 2d, 1w or 2026-12-01")
    p.add_argument("--filter", metavar="EXPR", help="the server's own filter, passed as written")
    p.add_argument(
        "--trace", action="append", default=[], metavar="ID", help="fetch this trace (repeat for more)"
    )
    p.add_argument(
        "--concurrency", type=int, default=4, metavar="N", help="traces fetched at a time (default 4)"
    )
    p.add_argument("--limit", type=int, metavar="N", help="fetch at most N traces this time")
    p.add_argument(
        "--cache-limit",
        metavar="SIZE",
        help="set the size limit of server caches (500MB, 2GB), kept for next time and the app",
    )
    with_schemes_help(p)
    return p


def _store(url: ServerURL, db: str | None, limit: str | None) -> CacheStore:
    try:
        if limit is not None:
            write_cache_limit(parse_size(limit))
        if db is not None:
            return CacheStore(Path(db), url, None)
        return CacheStore(cache_path(url), url, read_cache_limit())
    except CacheConfigError as exc:
        raise UsageError(str(exc)) from None


def _query(args: argparse.Namespace) -> TraceQuery:
    if args.trace and (args.project or args.experiment or args.since or args.filter):
        raise UsageError("--trace names the traces itself: give it without --project, --since or --filter")
    try:
        since = None if args.since is None else since_ns(args.since)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return TraceQuery(
        project=args.project or args.experiment, since_ns=since, filter=args.filter, page_size=PAGE_SIZE
    )


def _described(p: PullProgress) -> str:
    failed = f", {p.failed:,} failed" if p.failed else ""
    return (
        f"pulling… {p.fetched:,} fetched ({p.spans:,} spans), "
        f"{p.already:,} of {p.listed:,} listed already here{failed}"
    )


def run(args: argparse.Namespace) -> int:
    if args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be at least 1")
    from spanscope.core.remote.registry import client_for, parse_server_url  # loads the HTTP client

    try:
        url = parse_server_url(args.url)
    except RemoteError as exc:
        raise UsageError(str(exc)) from None
    query = _query(args)
    store = _store(url, args.db, args.cache_limit)
    progress = ProgressLine(sys.stderr, _described) if sys.stderr.isatty() else None
    state = PullState(on_progress=progress)
    pull_args = PullArgs(client_for(url), store, query, tuple(args.trace), args.concurrency, args.limit)
    try:
        with interrupt_cancels(state.cancel):
            outcome = pull(pull_args, state)
    except RemoteError as exc:
        report(str(exc))
        return EXIT_FAILED
    finally:
        if progress is not None:
            progress.clear()
    _summary(store, outcome, sys.stdout)
    if state.cancelled:
        report("stopped: the traces fetched so far are stored; run the same command again to go on")
        return EXIT_INTERRUPTED
    if outcome.stopped is not None:
        report(f"stopped: {outcome.stopped}")
        return EXIT_FAILED if not outcome.fetched else EXIT_PARTIAL
    if outcome.failures:
        report(
            f"{_many(len(outcome.failures), 'trace')} not stored (listed above): run the same pull to retry"
        )
        return EXIT_PARTIAL
    return EXIT_OK


def _many(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def _summary(store: CacheStore, outcome: PullOutcome, out: TextIO) -> None:
    def say(line: str) -> None:
        out.write(display.printable(line) + "\n")

    for failure in outcome.failures[:LISTED]:
        say(f"failed {failure.trace_id}: {' '.join(failure.message.split())}")
    if len(outcome.failures) > LISTED:
        say(f"  ... and {len(outcome.failures) - LISTED:,} more failed")
    for trace_id, where, why in outcome.problems[:LISTED]:
        say(f"note {trace_id}: {where}: {why}")
    if len(outcome.problems) > LISTED:
        say(f"  ... and {len(outcome.problems) - LISTED:,} more notes")
    said = [f"fetched {_many(len(outcome.fetched), 'trace')} ({_many(outcome.spans, 'span')})"]
    if outcome.already:
        said.append(f"{outcome.already:,} already in the store")
    if outcome.failures:
        said.append(f"{len(outcome.failures):,} failed")
    if outcome.evicted:
        said.append(f"{len(outcome.evicted):,} least recently opened evicted")
    say(", ".join(said))
    say(f"store: {store.path}")
    if store.limit_bytes is not None and (size := store.size()) > store.limit_bytes:
        say(
            f"the cache holds {size / 1e6:,.0f} MB, over its {store.limit_bytes / 1e6:,.0f} MB limit "
            "(this pull's traces are kept): raise it with --cache-limit"
        )
