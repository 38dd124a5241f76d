"""`spanscope replay`: re-run traces' model calls on another endpoint and model, each trace's replay
stored beside it as a trace of its own, then say how to compare them."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import TextIO

from spanscope.cli.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_PARTIAL, UsageError, report
from spanscope.cli.output import print_table
from spanscope.cli.progress import ProgressLine, interrupt_cancels
from spanscope.cli.stores import (
    Subparsers,
    add_sources,
    command_parser,
    import_sources,
    report_imports,
    store_for,
)
from spanscope.core.endpoints.chat import EndpointError
from spanscope.core.presentation import display
from spanscope.core.replay.batch import Outcome, Progress, ReplayArgs, ReplayError, ReplayState, totals
from spanscope.core.replay.batch import run as replay
from spanscope.core.search.query import SYNTAX_HELP
from spanscope.core.store import Outcome as ImportOutcome
from spanscope.core.store import connect, default_store_path, is_store
from spanscope.core.store.queries import list_traces

#: Replayed traces, notes and failures listed at most in the summary.
LISTED = 20

DESCRIPTION = """\
Send every LLM call's recorded input (messages, tools, parameters) of the chosen traces to another
endpoint and model, a few calls at a time, and store each trace's replay as a new trace with the
same shape, linked to its original: compare them with `spanscope diff`, and the models with
`spanscope stats --by model` or the app's Compare models.

Trace files given are imported into the store first (--db, else yours), and their traces are the
ones replayed (unless --trace says which); --filter keeps the LLM calls it matches (of the traces
given, or of the whole store). A trace with a failed call is not stored; it is listed, and running
the same command again replays only what is missing (the run id is made from the endpoint, model
and selection; --run names it). Ctrl+C stops: what finished stays."""


def add_parser(subparsers: Subparsers) -> argparse.ArgumentParser:
    p = command_parser(
        subparsers,
        "replay",
        "re-run traces' model calls with another model; each replay stored as a trace",
        DESCRIPTION,
    )
    add_sources(p, "trace files or folders (imported into the store first), or a store")
    p.add_argument(
        "--endpoint",
        required=True,
        metavar="URL|NAME",
        help="an OpenAI-compatible base URL (its key, if any, from $SPANSCOPE_API_KEY) or a saved endpoint",
    )
    p.add_argument("--model", required=True, metavar="MODEL", help="the model to run the calls on")
    p.add_argument(
        "--trace", action="append", default=[], metavar="ID", help="a trace to replay (id or unique prefix)"
    )
    p.add_argument(
        "--filter", metavar="EXPR", help="replay the LLM calls this search matches: " + SYNTAX_HELP
    )
    p.add_argument("--concurrency", type=int, default=4, metavar="N", help="calls at a time (default 4)")
    # dest: `run` is the command's own function (entry.py's set_defaults)
    p.add_argument(
        "--run", dest="run_id", metavar="ID", help="name the run (to resume it, or to run a selection again)"
    )
    p.add_argument("--limit", type=int, metavar="N", help="replay at most N traces this time")
    return p


def _target(sources: list[str], db: str | None) -> tuple[Path, list[Path]]:
    """The store the replays go to and the trace files to import into it first."""
    stores = [Path(s) for s in sources if is_store(Path(s))]
    files = [Path(s) for s in sources if not is_store(Path(s))]
    if len(stores) + (db is not None) > 1:
        raise UsageError("give one store at a time (--db or a store file)")
    if stores and files:
        raise UsageError("give either a store or trace files, not both")
    for f in files:
        if not f.exists():
            raise UsageError(f"{f}: no such file or folder")
    return (Path(db) if db is not None else stores[0] if stores else default_store_path()), files


def _files_traces(files: list[Path]) -> list[str]:
    """The traces the files hold, read into a store of their own."""
    with store_for([str(f) for f in files], None) as path:
        db = connect(path, readonly=True)
        try:
            return [t.trace_id for t in list_traces(db)]
        finally:
            db.conn.close()


def _import(store: Path, files: list[Path]) -> None:
    results = import_sources(store, files)
    if any(r.outcome not in (ImportOutcome.IMPORTED, ImportOutcome.ALREADY) or r.problems for r in results):
        report_imports(results, sys.stderr)
    if not any(r.outcome in (ImportOutcome.IMPORTED, ImportOutcome.ALREADY) for r in results):
        raise UsageError("nothing could be imported from the given files")


def _described(p: Progress) -> str:
    failed = f", {p.traces_failed:,} failed" if p.traces_failed else ""
    return (
        f"replaying… {p.calls_done:,} of {p.calls_total:,} calls, "
        f"{p.traces_stored:,} of {p.traces_total:,} traces stored{failed}"
    )


def run(args: argparse.Namespace) -> int:
    if args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be at least 1")
    from spanscope.core.endpoints.client import endpoint_for  # on use: every command imports this module

    try:
        endpoint = endpoint_for(args.endpoint)
    except EndpointError as exc:
        raise UsageError(str(exc)) from None
    store, files = _target(args.sources, args.db)
    traces = list(args.trace)
    if files:
        if not traces:
            traces = _files_traces(files)
        _import(store, files)
        print(f"store: {store}", file=sys.stderr)
    elif not traces and args.filter is None:
        raise UsageError(
            "say which traces to replay: --trace ID or --filter EXPR (spanscope traces lists them)"
        )
    progress = ProgressLine(sys.stderr, _described) if sys.stderr.isatty() else None
    state = ReplayState(on_progress=progress)
    with store_for([], str(store)) as path:
        replay_args = ReplayArgs(
            path,
            endpoint,
            args.model,
            traces=tuple(traces),
            search=args.filter,
            concurrency=args.concurrency,
            run=args.run_id,
            limit=args.limit,
        )
        try:
            with interrupt_cancels(state.cancel):
                outcome = replay(replay_args, state)
        except ReplayError as exc:
            raise UsageError(str(exc)) from None
        finally:
            if progress is not None:
                progress.clear()
        _summary(path, endpoint.base_url, outcome, sys.stdout)
    if outcome.stopped is not None:
        report(f"stopped: {outcome.stopped}")
    elif outcome.failures:
        failed = len({f.trace_id for f in outcome.failures})
        report(
            f"{_many(failed, 'trace')} not replayed (listed above); run the same command again to retry them"
        )
    if outcome.cancelled:
        return EXIT_INTERRUPTED
    if outcome.stopped is not None or (outcome.failures and not outcome.replayed):
        return EXIT_FAILED
    return EXIT_PARTIAL if outcome.failures else EXIT_OK


def _many(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def _summary(store: Path, url: str, outcome: Outcome, out: TextIO) -> None:
    def say(line: str = "") -> None:
        out.write(display.printable(line) + "\n")

    say(f"run {outcome.run}: {outcome.model} at {url}")
    said = [f"replayed {_many(len(outcome.replayed), 'trace')} ({_many(outcome.calls, 'call')})"]
    if outcome.already:
        said.append(f"{len(outcome.already):,} replayed before in this run")
    if outcome.failures:
        said.append(f"{len({f.trace_id for f in outcome.failures}):,} failed")
    if outcome.left:
        said.append(f"{outcome.left:,} not done (run the same command again to go on)")
    say(", ".join(said))
    if outcome.cancelled:
        say("cancelled: the traces whose calls all answered are stored, the others are not")
    if not outcome.replayed and not outcome.failures and outcome.already and not outcome.left:
        say("nothing left to replay in this run (--run NAME starts another)")
    for trace_id, why in outcome.skipped:
        say(f"skipped {trace_id}: {why}")
    if outcome.replayed:
        db = connect(store, readonly=True)
        try:
            before = totals(db, [r.original for r in outcome.replayed])
            after = totals(db, [r.replay for r in outcome.replayed])
        finally:
            db.conn.close()
        table = [("", "original", "replay")]
        table.append(("models", ", ".join(before.models), ", ".join(after.models)))
        table.append(("tokens in", display.count(before.input_tokens), display.count(after.input_tokens)))
        table.append(("tokens out", display.count(before.output_tokens), display.count(after.output_tokens)))
        table.append(
            (
                "cost",
                display.cost(before.cost_usd, computed=before.computed, unknown=before.unknown),
                display.cost(after.cost_usd, computed=after.computed, unknown=after.unknown),
            )
        )
        print_table(table, out)
        for r in outcome.replayed[:LISTED]:
            say(f"  {r.original} -> {r.replay}  ({_many(r.calls, 'call')})")
        if len(outcome.replayed) > LISTED:
            say(f"  ... and {len(outcome.replayed) - LISTED:,} more")
    if outcome.notes:
        say(f"{len(outcome.notes):,} notes on what the replayed calls could not carry of the recorded ones:")
        for note in outcome.notes[:LISTED]:
            say(f"  {note.trace_id} span {note.span_id}: {note.text}")
        if len(outcome.notes) > LISTED:
            say(f"  ... and {len(outcome.notes) - LISTED:,} more")
    if outcome.failures:
        say("failed (not stored; run the same command again to retry them):")
        for f in outcome.failures[:LISTED]:
            where = f"{f.trace_id} span {f.span_id}" if f.span_id else f.trace_id
            say(f"  {where}: {f.message}")
        if len(outcome.failures) > LISTED:
            say(f"  ... and {len(outcome.failures) - LISTED:,} more")
    if outcome.replayed:
        first = outcome.replayed[0]
        db_arg = "" if store == default_store_path() else f" --db {shlex.quote(str(store))}"
        say("next:")
        say(f"  spanscope diff{db_arg} {first.original} {first.replay}")
        say(f"  spanscope stats{db_arg} --by model   (or Compare models in the app)")
