"""`spanscope dataset`: chosen spans written as an evaluation dataset (ours, Inspect's, OpenAI evals')."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from spanscope.cli.errors import EXIT_FAILED, EXIT_OK, UsageError, report
from spanscope.cli.stores import Subparsers, add_sources, command_parser, store_for
from spanscope.core.datasets.export import Request, export_to_file, write_dataset
from spanscope.core.datasets.formats import FORMATS
from spanscope.core.datasets.records import Link
from spanscope.core.datasets.selection import Selection, SelectionError, SpanRef, check, kind_named, prepare
from spanscope.core.evaluation.reference_metrics import ReferenceFileError, load_references
from spanscope.core.presentation.display import printable
from spanscope.core.search.query import SYNTAX_HELP
from spanscope.core.store import StoreError, connect, is_store

DESCRIPTION = """\
Write chosen spans as a dataset, one JSON record per line: the span's input, the expected answer
(its reference answer when there is one: an Inspect target, an MLflow expectation or a line of
--references; else the output it recorded), metadata (model, provider, trace and span names, kind,
tokens, latency, cost, scores) and a link back to the span (store, trace and span ids, and the
command that shows its trace).

Spans: those named with --span (whatever their kind), the spans of each --trace, the spans matching
--filter (within the --trace traces when given), or, with none of these, every span of the store.
Traces, filters and the whole store choose model calls (--kind llm) unless told otherwise; a filter
with kind: keeps its own. Spans with no input, or with neither a reference nor an output, are
skipped and counted on standard error.

Formats: jsonl (ours: id, input, expected, expected_from, metadata, link), inspect (Inspect AI
Sample lines: input, target, id, metadata; read by json_dataset), openai-evals (OpenAI Evals API
jsonl data source rows: {"item": {input, ideal, id, metadata}}, input as Responses input items)."""


def add_parser(subparsers: Subparsers) -> argparse.ArgumentParser:
    p = command_parser(subparsers, "dataset", "write chosen spans as an evaluation dataset", DESCRIPTION)
    add_sources(p)
    p.add_argument("--trace", action="append", default=[], metavar="ID", help="a trace's spans (repeatable)")
    p.add_argument("--span", action="append", default=[], metavar="ID", help="one span (repeatable)")
    p.add_argument("--filter", metavar="EXPR", help=f"spans matching a search: {SYNTAX_HELP}")
    p.add_argument(
        "--kind",
        default="llm",
        metavar="KIND",
        help="the kind traces and filters choose, or any (default llm)",
    )
    p.add_argument("--format", choices=FORMATS, default="jsonl", help="the dataset's format (default jsonl)")
    p.add_argument(
        "-o", "--output", metavar="FILE", help="write here (replaced when complete), not to stdout"
    )
    p.add_argument("--limit", type=int, metavar="N", help="write at most N records")
    p.add_argument(
        "--references",
        metavar="FILE.jsonl",
        help='reference answers: one {"input" or "trace_id"/"span_id", "expected"} object per line',
    )
    return p


def _link(sources: list[str], db: str | None, store: Path) -> Link:
    """A link to the store given, or to the trace files a temporary store was made of."""
    if db is not None or any(is_store(Path(s)) for s in sources):
        path = str(store.resolve())
        return Link(path, ("--db", path))
    return Link(None, tuple(str(Path(s).resolve()) for s in sources))


def run(args: argparse.Namespace) -> int:
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be 1 or more")
    try:
        references = tuple(load_references(Path(args.references))) if args.references else ()
        selection = Selection(
            spans=tuple(SpanRef(s) for s in args.span),
            traces=tuple(args.trace),
            filter=args.filter,
            kind=kind_named(args.kind),
        )
        check(selection)
    except (ReferenceFileError, SelectionError) as exc:
        raise UsageError(str(exc)) from None
    with store_for(args.sources, args.db) as path:
        try:
            prepare(path, selection)
        except StoreError as exc:
            report(f"cannot update the search index ({exc}); searching what it holds")
        request = Request(selection, args.format, _link(args.sources, args.db, path), references, args.limit)
        db = connect(path, readonly=True)
        try:
            if args.output and args.output != "-":
                summary = export_to_file(db, request, Path(args.output))
            else:
                summary = write_dataset(db, request, sys.stdout.buffer)
                sys.stdout.buffer.flush()
        except SelectionError as exc:
            raise UsageError(str(exc)) from None
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise UsageError(f"{args.output}: {exc.strerror or exc}") from None
    where = f" to {args.output}" if args.output and args.output != "-" and summary.records else ""
    print(printable(f"{summary.text()}{where} [{args.format}]"), file=sys.stderr)
    if summary.records == 0:
        what = "the filter" if args.filter else "the selection"
        if summary.spans:
            why = f"none of the {summary.spans:,} spans {what} chose has an input and an expected answer"
        else:
            kind = "" if selection.kind is None else f" of kind {selection.kind.value} (see --kind)"
            why = f"{what} matched no span{kind}"
        unwritten = f"; {args.output} was not written" if args.output and args.output != "-" else ""
        report(f"no records: {why}{unwritten}")
        return EXIT_FAILED
    return EXIT_OK
