"""`spanscope judge`: spans scored by an LLM judge; each judgement stored as a score of the span and
the judge's own call as a trace linked to it."""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path
from typing import TextIO

from spanscope.cli.errors import EXIT_FAILED, EXIT_OK, EXIT_PARTIAL, UsageError, report
from spanscope.cli.output import one_line, print_table
from spanscope.cli.stores import Subparsers, add_sources, command_parser, store_for
from spanscope.core.endpoints.chat import EndpointError
from spanscope.core.endpoints.client import endpoint_for
from spanscope.core.endpoints.config import EndpointConfigError
from spanscope.core.evaluation.reference_metrics import ReferenceFileError, ReferenceMatcher, load_references
from spanscope.core.judge.evaluator import EvaluatorError, builtin_evaluators, find_evaluator
from spanscope.core.judge.run import JudgeArgs, JudgeRun, Progress, is_judge_trace
from spanscope.core.judge.run import run as judge
from spanscope.core.judge.targets import DEFAULT_FILTER, select_spans
from spanscope.core.search.index import build_index
from spanscope.core.search.query import QuerySyntaxError, parse
from spanscope.core.store import connect, is_store
from spanscope.core.store.queries import resolve_trace_id

JUDGE_HELP = """\
Score spans with an LLM judge: each span's input and output (and reference answer, when the
evaluator asks for one) put into the evaluator's prompt, sent to the model, its JSON answer stored as
a score of the span (shown in the app's Scores tab, the trace list and Compare models), and the
judge's own call stored as a trace linked to the span.

An evaluator is a built-in one by name ({builtins}) or a TOML file:
  name = "helpfulness"
  prompt = '''... {{{{input}}}} ... {{{{output}}}} ... {{{{reference}}}} ... {{{{tools}}}} ...'''
  [score]
  type = "scale"          # boolean (pass/fail), scale (min, max; default 1 to 5), labels
  min = 1
  max = 5
  # labels = ["a", "b"]  and optionally  values = {{ a = 1, b = 0 }}

Spans judged: the model calls (kind:llm) of --trace or of every trace, or those --filter finds (the
search syntax), newest first, at most --limit; never a judge's own calls. Exit 0 when every span
was judged, 1 when some could not be (each said on its own line), 2 when the run could not go on.
"""


def add_parser(subparsers: Subparsers) -> argparse.ArgumentParser:
    names = ", ".join(e.name for e in builtin_evaluators())
    p = command_parser(
        subparsers,
        "judge",
        "score spans with an LLM judge against a model endpoint; scores and the judge's calls are stored",
        JUDGE_HELP.format(builtins=names),
    )
    add_sources(p)
    p.add_argument("--evaluator", required=True, metavar="FILE|NAME", help=f"a TOML file or one of: {names}")
    p.add_argument(
        "--endpoint", required=True, metavar="URL|NAME", help="a saved endpoint's name or a base URL"
    )
    p.add_argument("--model", required=True, metavar="M", help="the judge model")
    p.add_argument("--trace", metavar="ID", help="judge this trace's spans only")
    p.add_argument(
        "--filter",
        metavar="EXPR",
        help=f"the spans to judge, in the search syntax (default {DEFAULT_FILTER})",
    )
    p.add_argument("--concurrency", type=int, default=4, metavar="N", help="calls at a time (default 4)")
    p.add_argument("--limit", type=int, default=100, metavar="N", help="judge at most N spans (default 100)")
    p.add_argument(
        "--references",
        metavar="FILE.jsonl",
        help="reference answers besides the source's (the format `spanscope metrics` reads)",
    )
    return p


class _State:
    """The run's state on the command line: progress on a terminal, Ctrl+C to cancel."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.tty = sys.stderr.isatty()

    @property
    def cancelled(self) -> bool:
        return self.stop.is_set()

    def report(self, value: object, final: bool = False) -> None:
        if self.tty and isinstance(value, Progress):
            end = "\r\033[K" if final else ""
            print(f"\r\033[Kjudged {value.done:,} of {value.total:,} spans{end}", end="", file=sys.stderr)


def _arguments(args: argparse.Namespace) -> None:
    if args.concurrency < 1:
        raise UsageError(f"--concurrency must be at least 1, not {args.concurrency}")
    if args.limit < 1:
        raise UsageError(f"--limit must be at least 1, not {args.limit}")


def run(args: argparse.Namespace) -> int:
    _arguments(args)
    try:
        evaluator = find_evaluator(args.evaluator)
        endpoint = endpoint_for(args.endpoint)
        entries = load_references(Path(args.references)) if args.references else []
        query = parse(args.filter) if args.filter else None
    except (EvaluatorError, EndpointError, EndpointConfigError, ReferenceFileError) as exc:
        raise UsageError(str(exc)) from None
    except QuerySyntaxError as exc:
        raise UsageError(f"bad --filter: {exc}") from None
    kept = args.db is not None or not args.sources or any(is_store(Path(s)) for s in args.sources)
    with store_for(args.sources, args.db) as path:
        if query is not None and query.fts() is not None:
            build_index(path)
        db = connect(path, readonly=True)
        try:
            trace_id = resolve_trace_id(db, args.trace) if args.trace else None
            selection = select_spans(
                db,
                lambda t: is_judge_trace(db, t),
                filter_text=args.filter,
                trace_id=trace_id,
                limit=args.limit,
            )
        except QuerySyntaxError as exc:
            raise UsageError(f"bad --filter: {exc}") from None
        finally:
            db.conn.close()
        if not selection.targets:
            raise UsageError(f"no spans to judge: none matches {args.filter or DEFAULT_FILTER!r}")
        matcher = ReferenceMatcher(entries)
        judge_args = JudgeArgs(
            path, evaluator, endpoint, args.model, selection.targets, args.concurrency, matcher.reference
        )
        result = _run(judge_args)
        _print(result, sys.stdout)
    if selection.more:
        report(f"more spans match than --limit {args.limit}: the first {args.limit} were judged")
    if not kept and result.scored:
        report("the judgements went to a temporary store: import the files (spanscope import) to keep them")
    return _exit_code(result)


def _run(judge_args: JudgeArgs) -> JudgeRun:
    """Run the judge on a thread of its own, so Ctrl+C cancels it and waits for the calls to stop."""
    state = _State()
    outcome: dict[str, JudgeRun | BaseException] = {}

    def work() -> None:
        try:
            outcome["run"] = judge(judge_args, state)
        except BaseException as exc:  # handed to the main thread, raised there
            outcome["run"] = exc

    thread = threading.Thread(target=work, name="judge run")
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.1)
    except KeyboardInterrupt:
        state.stop.set()
        thread.join()
    found = outcome["run"]
    if isinstance(found, BaseException):
        raise found
    return found


def _print(result: JudgeRun, out: TextIO) -> None:
    rows = [["trace", "span", "name", result.evaluator.name, "reasoning"]]
    for j in result.judgements:
        if j.score is not None:
            first = next(iter((j.score.comment or "").strip().splitlines()), "")
            name = one_line(j.span_name, 40)
            rows.append([j.trace_id, j.span_id, name, j.score.display_value(), one_line(first, 80)])
    if len(rows) > 1:
        print_table(rows, out)
    for j in result.failures:
        report(f"span {j.span_id} ({j.span_name}) of trace {j.trace_id}: {j.problem}")
    print(result.summary(), file=out)
    if result.cancelled:
        report("cancelled: the spans judged so far are stored")
    if result.stopped:
        report(f"stopped: {result.stopped}")


def _exit_code(result: JudgeRun) -> int:
    if result.stopped or not result.scored:
        return EXIT_FAILED
    if result.failures or result.cancelled:
        return EXIT_PARTIAL
    return EXIT_OK
