"""Headless commands: import trace files, list traces, print a trace's tree, export spans.

Every reading command takes a store (--db, or a store file given as a source) or trace files, which
are imported into a temporary store first, so `spanscope tree run.jsonl TRACE_ID` just works.
No Qt here: the desktop app is imported only when the app itself is asked for.
"""

from __future__ import annotations

import argparse
import contextlib
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO

import orjson

from spanscope import __version__
from spanscope.core.analysis.analytics import GROUP_COLUMNS, GroupStats, group_stats
from spanscope.core.debugging.breakpoints import Breakpoint, ExpressionError
from spanscope.core.debugging.cursor import StepCursor
from spanscope.core.debugging.tree import TraceTree
from spanscope.core.diff import trace_diff
from spanscope.core.evaluation import grounding
from spanscope.core.evaluation.assertions import SCOPE_ALL, CheckReport, check, parse_rule
from spanscope.core.evaluation.junit_report import junit_xml
from spanscope.core.evaluation.reference_metrics import (
    MetricsReport,
    ReferenceFileError,
    load_references,
    metric_texts,
    reference_metrics,
)
from spanscope.core.presentation import display
from spanscope.core.pricing.prices import PriceBook, PriceFileError
from spanscope.core.receiver import DEFAULT_PORT, OtlpReceiver
from spanscope.core.review.export import FORMATS, export_file, write_csv, write_jsonl
from spanscope.core.search.find import Hit, search
from spanscope.core.search.index import IndexState, IndexStatus, build_index
from spanscope.core.search.query import SYNTAX_HELP, QuerySyntaxError
from spanscope.core.store import (
    FileResult,
    ImportProgress,
    ImportState,
    Outcome,
    StoreError,
    connect,
    default_store_path,
    import_files,
    is_store,
)
from spanscope.core.store.live import SpanSink
from spanscope.core.store.queries import (
    NotFound,
    TraceRow,
    get_span,
    iter_spans,
    list_traces,
    resolve_span,
    resolve_trace_id,
    trace_rows,
)
from spanscope.core.store.schema import SPAN_FIELD_COLUMNS, SchemaError

#: Export keys, in order; tokens and cost are the span's own, not rolled up.
EXPORT_KEYS = (
    *SPAN_FIELD_COLUMNS,
    "input",
    "output",
    "orphan",
    "clock_skew",
)
MAX_PROBLEMS_SHOWN = 20
CHECK_HELP = """\
Assert rules over traces, for CI. Each rule is checked on each trace on its own; prefix it with
"all:" to check it once over the spans of all traces together.

A rule compares aggregates over spans, combined with and, or, not and parentheses:
  all(COND)  any(COND)            every span / some span satisfies COND
  count(COND) OP N  count() OP N  how many spans satisfy COND / how many spans
  sum|min|max|avg|p50|p95|p99(FIELD) OP N
Each takes an optional "where COND" to look only at some spans. COND is a breakpoint condition over
one span (fields: name, kind, status, model, latency_ms, cost_usd, input_tokens, output, ...).
A span lacking a field that COND reads is not judged; min/max/avg/pNN over no values hold.
sum of tokens or cost_usd counts the model calls the trace totals count. cost_usd is the cost the
source reported, else one computed from tokens with the price table (as in `spanscope stats`).

Examples:
  spanscope check run.jsonl --rule 'count(status == "error") == 0' \\
      --rule 'p95(latency_ms where kind == "LLM") < 3000' \\
      --rule 'all: sum(cost_usd) < 0.50' --rule 'all(output not contains "As an AI")' \\
      --junit check.xml
"""
EXIT_OK, EXIT_PARTIAL, EXIT_FAILED = 0, 1, 2


class UsageError(Exception):
    """Bad arguments or sources: reported as one line, exit code 2."""


def _report(results: Sequence[FileResult], out: TextIO) -> int:
    """Print one line per file and its skipped records; return the import exit code."""
    imported = 0
    partial = False
    for r in results:
        if r.outcome is Outcome.IMPORTED:
            imported += 1
            read, added = (
                (f"{r.scores_read:,} scores", r.scores_added)
                if r.scores_only
                else (f"{r.spans_read:,} spans", r.spans_added)
            )
            print(f"{r.path}: {read} ({added:,} new) in {r.traces:,} traces [{r.format}]", file=out)
        elif r.outcome is Outcome.ALREADY:
            imported += 1
            print(f"{r.path}: already imported, nothing to add", file=out)
        else:
            partial = True
            print(f"{r.path}: {r.outcome}: {r.error or 'nothing imported'}", file=out)
        if r.problems:
            partial = True
            print(f"{r.path}: skipped {len(r.problems):,} records:", file=out)
            for problem in r.problems[:MAX_PROBLEMS_SHOWN]:
                print(f"  {problem}", file=out)
            if len(r.problems) > MAX_PROBLEMS_SHOWN:
                print(f"  ... and {len(r.problems) - MAX_PROBLEMS_SHOWN:,} more", file=out)
    if imported == 0:
        return EXIT_FAILED
    return EXIT_PARTIAL if partial else EXIT_OK


@contextlib.contextmanager
def _store_for(sources: Sequence[str], db: str | None, *, strict: bool = False) -> Iterator[Path]:
    """The store to read: --db, a store given as a source, or a temporary store of the given files.
    `strict`: a file that cannot be imported at all is an error, not just reported."""
    stores = [Path(s) for s in sources if is_store(Path(s))]
    files = [Path(s) for s in sources if not is_store(Path(s))]
    if len(stores) + (db is not None) > 1:
        raise UsageError("give one store at a time (--db or a store file)")
    if stores or db is not None:
        if files:
            raise UsageError("give either a store or trace files, not both")
        path = Path(db) if db is not None else stores[0]
        if not path.exists():
            raise UsageError(f"{path}: no such store")
        yield path
        return
    if not files:
        path = default_store_path()
        if not path.exists():
            raise UsageError(f"no store yet at {path}: import trace files first (spanscope import FILE...)")
        yield path
        return
    for f in files:
        if not f.exists():
            raise UsageError(f"{f}: no such file")
    with tempfile.TemporaryDirectory(prefix="spanscope-") as tmp:
        path = Path(tmp) / "store.db"
        results = import_files(path, files)
        if any(r.outcome is not Outcome.IMPORTED or r.problems for r in results):
            _report(results, sys.stderr)
        if not any(r.outcome is Outcome.IMPORTED for r in results):
            raise UsageError("nothing could be imported from the given files")
        failed = [str(r.path) for r in results if r.outcome is Outcome.FAILED]
        if strict and failed:
            raise UsageError(f"could not import {', '.join(failed)}")
        yield path


class _ProgressLine:
    """One self-rewriting line on a terminal, at most every PROGRESS_EVERY_S seconds."""

    PROGRESS_EVERY_S = 0.2

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.shown_at = 0.0

    def __call__(self, p: ImportProgress) -> None:
        now = time.monotonic()
        if now - self.shown_at < self.PROGRESS_EVERY_S:
            return
        self.shown_at = now
        self.out.write(
            f"\r{p.path.name}: {p.bytes_done / 1e6:,.0f} of {p.bytes_total / 1e6:,.0f} MB, {p.spans:,} spans "
        )
        self.out.flush()

    def clear(self) -> None:
        if self.shown_at:
            self.out.write("\r\033[K")
            self.out.flush()


def cmd_import(args: argparse.Namespace) -> int:
    db = Path(args.db) if args.db else default_store_path()
    missing = [f for f in args.files if not Path(f).exists()]
    progress = _ProgressLine(sys.stderr) if sys.stderr.isatty() else None
    state = ImportState(on_progress=progress)
    try:
        results = import_files(db, [Path(f) for f in args.files if f not in missing], state)
    finally:
        if progress is not None:
            progress.clear()
    for f in missing:
        results.append(FileResult(Path(f), Outcome.FAILED, error="no such file"))
    code = _report(results, sys.stderr)
    print(f"store: {db}", file=sys.stderr)
    return code


METRICS_HELP = """\
Score span outputs against reference answers, per span and as a mean per model.

References come from the source (Inspect sample targets; MLflow expectations) or from --references,
a JSONL file with one object per line: "expected" (a text or a list of acceptable texts) and what it
is for: "trace_id" (its root span), "trace_id" + "span_id", "span_id", or "input" (spans whose input
is that text, and chat calls whose last user message is). The file wins over the source.

  exact    1 if the output equals a reference after SQuAD normalisation, else 0
  f1       SQuAD token F1
  rouge-L  ROUGE-L F-measure (rouge-score, stemmed), 0 to 1
  bleu     sentence BLEU (sacrebleu), 0 to 100
With several references, the best score counts. A span with a reference and no output scores 0.
A span without its own model is credited to the LLM calls beneath it.
"""


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


def cmd_traces(args: argparse.Namespace) -> int:
    with _store_for(args.sources, args.db) as path:
        db = connect(path, readonly=True)
        traces = list_traces(db, order_by=args.sort, descending=args.desc, limit=args.limit)
        out = sys.stdout
        if args.json:
            for t in traces:
                out.write(_trace_json(t).decode() + "\n")
            return EXIT_OK
        header = (
            "start (UTC)",
            "trace id",
            "root",
            "latency",
            "spans",
            "errors",
            "in",
            "out",
            "cost",
            "models",
        )
        table = [header] + [
            (
                display.timestamp(t.start_ns),
                t.trace_id,
                t.root_name or "",
                display.duration(t.duration_ns),
                display.count(t.span_count),
                display.count(t.error_count),
                display.count(t.input_tokens),
                display.count(t.output_tokens),
                display.cost(t.cost_usd),
                ", ".join(t.models),
            )
            for t in traces
        ]
        _print_table(table, out)
    return EXIT_OK


def _stats_row(g: GroupStats) -> tuple[str, ...]:
    latency = "/".join("" if v is None else f"{v:,.0f}" for v in g.latency_ms.values())
    unknown = g.cost_source["unknown"]
    cost = display.cost(g.cost_usd) + (f" (+{unknown:,} unpriced)" if unknown else "")
    return (
        "(none)" if g.group is None else g.group,
        display.count(g.calls),
        display.count(g.errors),
        display.count(g.input_tokens),
        display.count(g.output_tokens),
        display.count(g.cache_read_tokens),
        cost,
        latency,
        "" if g.tokens_per_s is None else f"{g.tokens_per_s:,.1f}",
    )


def cmd_stats(args: argparse.Namespace) -> int:
    with _store_for(args.sources, args.db) as path:
        try:
            book = PriceBook.load()
        except PriceFileError as exc:
            raise UsageError(str(exc)) from None
        stats = group_stats(connect(path, readonly=True), args.by, args.reprice_as, book)
        out = sys.stdout
        if args.json:
            for g in stats:
                out.write(orjson.dumps(g.to_json()).decode() + "\n")
            return EXIT_OK
        header = (args.by, "calls", "errors", "in", "out", "cached", "cost", "p50/p95/p99 ms", "tok/s")
        _print_table([header, *map(_stats_row, stats)], out)
    return EXIT_OK


def _print_table(table: list[tuple[str, ...]], out: TextIO) -> None:
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        out.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() + "\n")


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
        message = _one_line(row["status_message"]) if row["status_message"] else ""
        parts.append(f"ERROR: {message}" if message else "ERROR")
    if row["orphan"]:
        parts.append(f"(orphan: parent {row['parent_id']} missing)")
    if row["clock_skew"]:
        parts.append("(clock skew: starts before its parent)")
    parts.append(f"#{row['span_id']}")
    return "  ".join(parts)


def _one_line(text: str, limit: int = 120) -> str:
    """A message on one line, shortened for a tree row (the export has the whole of it)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def cmd_tree(args: argparse.Namespace) -> int:
    *sources, trace = args.args
    with _store_for(sources, args.db) as path:
        db = connect(path, readonly=True)
        trace_id = resolve_trace_id(db, trace)
        tree = TraceTree.build(trace_rows(db, trace_id))
        out = sys.stdout
        out.write(f"trace {trace_id}: {len(tree.rows):,} spans\n")
        for i, depth in tree.walk():
            out.write("  " * depth + _tree_line(tree.rows[i]) + "\n")
    return EXIT_OK


def cmd_steps(args: argparse.Namespace) -> int:
    try:
        breakpoints = [Breakpoint.from_text(text) for text in args.breaks]
    except ExpressionError as exc:
        raise UsageError(f"bad --break expression: {exc}") from None
    with _store_for(args.sources, args.db) as path:
        db = connect(path, readonly=True)
        trace_id = resolve_trace_id(db, args.trace)
        tree = TraceTree.build(trace_rows(db, trace_id))
        cursor = StepCursor()

        def payloads(span_id: str) -> tuple:
            span = get_span(db, trace_id, span_id)
            return span.input, span.output

        def line(step: int) -> tuple[str, ...]:
            row = tree.rows[cursor.order[step]]
            latency = display.duration(None if row["end_ns"] is None else row["end_ns"] - row["start_ns"])
            tokens = ""
            if row["input_tokens"] is not None or row["output_tokens"] is not None:
                used_in, used_out = display.count(row["input_tokens"]), display.count(row["output_tokens"])
                tokens = f"in {used_in or '?'} out {used_out or '?'}"
            return (str(step), row["span_id"], row["kind"], row["name"], latency, tokens)

        cursor.load(tree, payloads)
        steps = [s for s in range(len(cursor)) if not breakpoints or cursor.hits(s, breakpoints)]
        _print_table(
            [("step", "span id", "kind", "name", "latency", "tokens"), *map(line, steps)], sys.stdout
        )
    return EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    if len(args.args) < 2 or any(Path(t).exists() for t in args.args[-2:]):
        raise UsageError(
            "give two trace ids (or prefixes) after the sources: diff [SOURCE...] TRACE_A TRACE_B"
        )
    *sources, trace_a, trace_b = args.args
    with _store_for(sources, args.db) as path:
        db = connect(path, readonly=True)
        diff = trace_diff.diff_traces(db, resolve_trace_id(db, trace_a), resolve_trace_id(db, trace_b))
        if args.json:
            sys.stdout.write(orjson.dumps(diff.to_json()).decode() + "\n")
        else:
            sys.stdout.writelines(line + "\n" for line in trace_diff.report_lines(diff))
    return EXIT_OK


def cmd_grounding(args: argparse.Namespace) -> int:
    with _store_for(args.sources, args.db) as path:
        db = connect(path, readonly=True)
        span = get_span(db, *resolve_span(db, args.span, args.trace))
        if span.kind != "LLM":
            raise UsageError(
                f"span {span.span_id} is a {span.kind} span: grounding checks an LLM call's answer"
            )
        found = grounding.ground_span(db, span)
        if found is None:
            raise UsageError(
                f"LLM span {span.span_id} has no documents: no retriever ran before it in its chain "
                "and its prompt marks no passages"
            )
        if args.json:
            sys.stdout.write(orjson.dumps({"span_id": span.span_id, **found.to_json()}).decode() + "\n")
        else:
            sys.stdout.writelines(line + "\n" for line in grounding.report_lines(found))
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    """Exit 0 when every rule holds on every trace, 1 when one fails, 2 for a bad rule or source."""
    try:
        rules = [parse_rule(text) for text in args.rules]
    except ExpressionError as exc:
        raise UsageError(f"bad --rule:\n{exc}") from None
    try:
        book = PriceBook.load()
    except PriceFileError as exc:
        raise UsageError(str(exc)) from None
    with _store_for(args.sources, args.db, strict=True) as path:
        report = check(connect(path, readonly=True), rules, book)
    if report.traces == 0:
        raise UsageError("no traces to check")
    _print_check(report, sys.stdout)
    if args.junit:
        try:
            Path(args.junit).write_bytes(junit_xml(report))
        except OSError as exc:
            raise UsageError(f"{args.junit}: cannot write the JUnit report: {exc.strerror or exc}") from None
    return EXIT_OK if report.holds else EXIT_PARTIAL


def _print_check(report: CheckReport, out: TextIO) -> None:
    failed_rules = 0
    for number, rule in enumerate(report.rules, 1):
        verdicts = report.of(rule)
        failures = [v for v in verdicts if not v.holds]
        failed_rules += bool(failures)
        each = "over all" if rule.scope == SCOPE_ALL else "on each of"
        scope = f"{each} {report.traces:,} traces"
        out.write(f"{'FAIL' if failures else 'ok  '} rule {number}: {rule.text}  ({scope})\n")
        for verdict in failures:
            out.write(f"  {verdict.label}: {verdict.reason}\n")
            for line in verdict.lines():
                if line.startswith(" "):
                    out.write(f"  {line}\n")
        if failures and rule.scope != SCOPE_ALL:
            out.write(f"  {len(failures):,} of {len(verdicts):,} traces fail\n")
    held = len(report.rules) - failed_rules
    out.write(
        f"{len(report.rules):,} rules on {report.traces:,} traces: {held:,} hold, {failed_rules:,} fail\n"
    )


def cmd_metrics(args: argparse.Namespace) -> int:
    try:
        entries = load_references(Path(args.references)) if args.references else []
    except ReferenceFileError as exc:
        raise UsageError(str(exc)) from None
    with _store_for(args.sources, args.db) as path:
        report = reference_metrics(connect(path, readonly=True), entries)
    if report.unmatched:
        origins = ", ".join(e.reference.origin for e in report.unmatched[:MAX_PROBLEMS_SHOWN])
        more = len(report.unmatched) - MAX_PROBLEMS_SHOWN
        print(f"{len(report.unmatched):,} references matched no span: {origins}", file=sys.stderr)
        if more > 0:
            print(f"  ... and {more:,} more", file=sys.stderr)
    if args.json:
        sys.stdout.write(orjson.dumps(_metrics_json(report), option=orjson.OPT_INDENT_2).decode() + "\n")
        return EXIT_OK
    if not report.spans:
        print("no span has a reference answer (see spanscope metrics --help)", file=sys.stderr)
        return EXIT_OK
    header = ("trace", "span", "name", "model", "exact", "f1", "rouge-L", "bleu", "expected")
    rows = [
        (
            m.trace_id,
            m.span_id,
            _one_line(m.name, 40),
            m.model or "",
            *metric_texts(m.scores),
            _one_line(" | ".join(m.reference.expected), 40),
        )
        for m in report.spans
    ]
    _print_table([header, *rows], sys.stdout)
    sys.stdout.write("\nmean per model\n")
    means = [
        (g.model or "(none)", display.count(g.spans), *metric_texts(g.scores)) for g in report.by_model()
    ]
    _print_table([("model", "spans", "exact", "f1", "rouge-L", "bleu"), *means], sys.stdout)
    return EXIT_OK


def _metrics_json(report: MetricsReport) -> dict:
    return {
        "spans": [m.to_json() for m in report.spans],
        "models": [g.to_json() for g in report.by_model()],
        "unmatched": [e.reference.origin for e in report.unmatched],
    }


def cmd_export(args: argparse.Namespace) -> int:
    with _store_for(args.sources, args.db) as path:
        db = connect(path, readonly=True)
        trace_id = resolve_trace_id(db, args.trace) if args.trace else None
        with _output(args.output) as out:
            for span in iter_spans(db, trace_id):
                record = {key: getattr(span, key) for key in EXPORT_KEYS}
                out.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS))
    return EXIT_OK


def cmd_annotations(args: argparse.Namespace) -> int:
    with _store_for(args.sources, args.db) as path:
        db = connect(path, readonly=True)
        if args.output not in (None, "-"):
            count = export_file(db, Path(args.output), args.format)
        elif args.format == "csv":
            count = write_csv(db, sys.stdout)
        else:
            with _output(None) as out:
                count = write_jsonl(db, out)
    print(f"{count:,} reviews", file=sys.stderr)
    return EXIT_OK


@contextlib.contextmanager
def _output(path: str | None) -> Iterator:
    if path is None or path == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
    else:
        with open(path, "wb") as f:
            yield f


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size like 1600x1000") from None
    if not (200 <= width <= 8000 and 200 <= height <= 8000):
        raise argparse.ArgumentTypeError(f"{text!r}: width and height must be 200 to 8000 pixels")
    return width, height


def cmd_serve(args: argparse.Namespace) -> int:
    """Receive spans over OTLP/HTTP until interrupted, then store what is still pending."""
    db = Path(args.db) if args.db else default_store_path()
    try:
        sink = SpanSink(db, f"otlp-http://{args.host}:{args.port}")
    except OSError as exc:
        raise UsageError(f"cannot open the store {db}: {exc}") from exc
    try:
        receiver = OtlpReceiver(sink, args.host, args.port)
    except OSError as exc:
        sink.close()
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from exc
    receiver.start()
    print(f"listening on {receiver.address} (OTLP/HTTP, JSON or protobuf); store: {db}", file=sys.stderr)
    print(f"point an app at it: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT={receiver.address}", file=sys.stderr)
    shown = None
    try:
        while args.seconds is None or args.seconds > 0:
            time.sleep(1.0 if args.seconds is None else min(1.0, args.seconds))
            if args.seconds is not None:
                args.seconds -= 1.0
            counts = _serve_counts(receiver, sink)
            if counts != shown and sys.stderr.isatty():
                print(f"\r\033[K{counts}", end="", file=sys.stderr, flush=True)
            shown = counts
    except KeyboardInterrupt:
        pass
    finally:
        receiver.stop()
        sink.close()
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(_serve_counts(receiver, sink), file=sys.stderr)
    return EXIT_OK if sink.stats().spans_failed == 0 else EXIT_PARTIAL


def _serve_counts(receiver: OtlpReceiver, sink: SpanSink) -> str:
    r, s = receiver.stats(), sink.stats()
    text = f"{r.requests:,} requests, {r.spans_accepted:,} spans accepted, {s.spans_stored:,} stored"
    if r.spans_rejected or r.bad_requests:
        text += f", {r.spans_rejected:,} spans rejected, {r.bad_requests:,} bad requests"
    if s.last_error:
        text += f" ({s.last_error})"
    return text


def _marked(hit: Hit, bold: bool) -> str:
    """The snippet with its matches in bold on a terminal, in [brackets] otherwise."""
    opening, closing = ("\033[1m", "\033[0m") if bold else ("[", "]")
    text, at = [], 0
    for start, end in hit.marks:
        text += [hit.snippet[at:start], opening, hit.snippet[start:end], closing]
        at = end
    return "".join([*text, hit.snippet[at:]])


def cmd_search(args: argparse.Namespace) -> int:
    with _store_for(args.sources, args.db) as path:
        progress = sys.stderr.isatty()

        def show(status: IndexStatus) -> None:
            if progress and not status.complete:
                print(
                    f"\r\033[Kindexing… {status.indexed:,} of {status.total:,} spans", end="", file=sys.stderr
                )

        try:
            build_index(path, IndexState(on_progress=show))
        except (StoreError, sqlite3.Error) as exc:
            print(
                f"spanscope: cannot update the search index ({exc}); searching what it holds", file=sys.stderr
            )
        finally:
            if progress:
                print("\r\033[K", end="", file=sys.stderr)
        db = connect(path, readonly=True)
        try:
            result = search(db, args.query, limit=args.limit)
        except QuerySyntaxError as exc:
            raise UsageError(f"bad query: {exc}") from None
        out = sys.stdout
        if args.json:
            for h in result.hits:
                record = {key: getattr(h, key) for key in Hit.__slots__}
                out.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE).decode())
            return EXIT_OK
        bold = out.isatty()
        for h in result.hits:
            out.write(f"{h.trace_id}  {h.span_id}  {h.kind}  {h.trace_name or ''} › {h.span_name or ''}\n")
            out.write(f"    {h.field or '-'}: {_marked(h, bold)}\n")
        more = "+" if result.more else ""
        print(f"{result.count:,}{more} matching spans, {len(result.hits):,} shown", file=sys.stderr)
    return EXIT_OK


def cmd_screenshot(args: argparse.Namespace) -> int:
    from spanscope.ui.screenshot import screenshot

    with _store_for(args.sources, args.db) as path:
        out = screenshot(path, Path(args.out), args.trace, args.span, args.size)
    print(f"wrote {out}", file=sys.stderr)
    return EXIT_OK


def cmd_app(args: argparse.Namespace) -> int:
    from spanscope.ui.app import run_app

    return run_app(args.sources)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spanscope",
        description="Inspect LLM application traces offline. With no command, opens the desktop app.",
    )
    parser.add_argument("--version", action="version", version=f"spanscope {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--db", metavar="STORE", help="the store to use (default: the user's store)")
        return p

    p = command("import", "import trace files into a store")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.set_defaults(func=cmd_import)

    p = command("traces", "list the traces in a store or in trace files")
    p.add_argument("sources", nargs="*", metavar="SOURCE", help="trace files, or a store")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument(
        "--sort", default="start_ns", metavar="COLUMN", help="start_ns, duration_ns, cost_usd, ..."
    )
    p.add_argument("--desc", action="store_true", help="sort descending")
    p.add_argument("--limit", type=int, default=None)
    p.set_defaults(func=cmd_traces)

    p = command("stats", "calls, tokens, cost and latency of model calls, per model (or name, ...)")
    p.add_argument("sources", nargs="*", metavar="SOURCE", help="trace files, or a store")
    p.add_argument("--by", choices=list(GROUP_COLUMNS), default="model", help="what to group by")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument(
        "--reprice-as",
        metavar="MODEL",
        help="what-if: price every call as this model, ignoring reported costs",
    )
    p.set_defaults(func=cmd_stats)

    p = command("tree", "print one trace as an indented tree")
    p.add_argument(
        "args", nargs="+", metavar="[SOURCE...] TRACE_ID", help="sources, then a trace id or prefix"
    )
    p.set_defaults(func=cmd_tree)

    p = command("steps", "print a trace's spans in execution order, or where breakpoints stop")
    p.add_argument("sources", nargs="*", metavar="SOURCE", help="trace files, or a store")
    p.add_argument("--trace", required=True, metavar="ID", help="the trace (id or unique prefix)")
    p.add_argument(
        "--break",
        dest="breaks",
        action="append",
        default=[],
        metavar="EXPR",
        help="only steps where this matches, e.g. 'kind == \"LLM\" and latency_ms > 2000' (repeatable)",
    )
    p.set_defaults(func=cmd_steps)

    p = command("diff", "compare two traces step by step: aligned steps, word-level diffs, totals")
    p.add_argument(
        "args",
        nargs="+",
        metavar="[SOURCE...] TRACE_A TRACE_B",
        help="sources, then two trace ids or prefixes",
    )
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(func=cmd_diff)

    p = command("grounding", "which retrieved passages support each sentence of an LLM call's answer")
    p.add_argument("sources", nargs="*", metavar="SOURCE", help="trace files, or a store")
    p.add_argument("--span", required=True, metavar="ID", help="the LLM span (id or unique prefix)")
    p.add_argument("--trace", metavar="ID", help="the span's trace, when its id is not unique in the store")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(func=cmd_grounding)

    p = command(
        "check",
        "assert rules over traces for CI: exit 0 when all hold, 1 when one fails, 2 for a bad rule or source",
    )
    p.description = CHECK_HELP
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("sources", nargs="*", metavar="SOURCE", help="trace files, or a store")
    p.add_argument(
        "--rule",
        dest="rules",
        action="append",
        required=True,
        metavar="EXPR",
        help="a rule, e.g. 'max(latency_ms) < 8000' (repeatable)",
    )
    p.add_argument("--junit", metavar="OUT.xml", help="also write the results as JUnit XML for CI")
    p.set_defaults(func=cmd_check)

    p = command("metrics", "score span outputs against reference answers: exact, token F1, ROUGE-L, BLEU")
    p.description = METRICS_HELP
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("sources", nargs="*", metavar="SOURCE", help="trace files, or a store")
    p.add_argument(
        "--references",
        metavar="FILE.jsonl",
        help='reference answers: one {"input" or "trace_id"/"span_id", "expected"} object per line',
    )
    p.add_argument("--json", action="store_true", help="one JSON document: spans, means per model, unmatched")
    p.set_defaults(func=cmd_metrics)

    p = command("export", "write normalized spans, one JSON object per line")
    p.add_argument("sources", nargs="*", metavar="SOURCE", help="trace files, or a store")
    p.add_argument("--trace", metavar="ID", help="only this trace (id or unique prefix)")
    p.add_argument("--format", choices=["jsonl"], default="jsonl")
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of standard output")
    p.set_defaults(func=cmd_export)

    p = command("annotations", "write the reviews given in the app (scores, labels, comments)")
    p.add_argument("sources", nargs="*", metavar="SOURCE", help="a store (default: the user's store)")
    p.add_argument("--format", choices=list(FORMATS), default="jsonl", help="jsonl (default) or csv")
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of standard output")
    p.set_defaults(func=cmd_annotations)

    p = command("serve", "receive spans from running apps over OTLP/HTTP (POST /v1/traces) into a store")
    p.add_argument("--host", default="127.0.0.1", help="the address to listen on (default: loopback only)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"the port (default {DEFAULT_PORT})")
    p.add_argument("--seconds", type=float, default=None, help="stop after this long (default: until Ctrl+C)")
    p.set_defaults(func=cmd_serve)

    p = command("search", "find spans by the text of their name, input, output and attributes")
    p.add_argument("sources", nargs="*", metavar="SOURCE", help="trace files, or a store")
    p.add_argument("query", metavar="QUERY", help=SYNTAX_HELP)
    p.add_argument("--limit", type=int, default=20, help="show at most this many spans (default 20)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=cmd_search)

    p = command("screenshot", "render the main window offscreen to a PNG")
    p.add_argument("sources", nargs="*", metavar="SOURCE", help="trace files, or a store")
    p.add_argument("out", metavar="OUT.png")
    p.add_argument("--trace", metavar="ID", help="the trace to show (default: the first with an error)")
    p.add_argument("--span", metavar="ID", help="the span to select (default: its first error, or root)")
    p.add_argument("--size", type=_size, default=(1600, 1000), metavar="WxH", help="window size (1600x1000)")
    p.set_defaults(func=cmd_screenshot)
    return parser


COMMANDS = (
    "import",
    "traces",
    "stats",
    "tree",
    "steps",
    "diff",
    "grounding",
    "check",
    "metrics",
    "export",
    "annotations",
    "serve",
    "search",
    "screenshot",
)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in COMMANDS and argv[0] not in ("-h", "--help", "--version"):
        app = argparse.ArgumentParser(prog="spanscope", description="Open trace files or stores in the app.")
        app.add_argument("sources", nargs="*", metavar="FILE_OR_STORE")
        args = app.parse_args(argv)
        args.func = cmd_app
    elif not argv:
        args = argparse.Namespace(sources=[], func=cmd_app)
    else:
        args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (UsageError, NotFound, StoreError, SchemaError) as exc:
        print(f"spanscope: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except BrokenPipeError:
        return EXIT_OK
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
