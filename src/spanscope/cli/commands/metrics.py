"""`spanscope metrics`: span outputs scored against reference answers (exact, F1, ROUGE-L, BLEU)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import orjson

from spanscope.cli.errors import EXIT_OK, UsageError
from spanscope.cli.output import MAX_PROBLEMS_SHOWN, one_line, print_table
from spanscope.cli.stores import Subparsers, add_sources, command_parser, store_for
from spanscope.core.evaluation.reference_metrics import (
    MetricsReport,
    ReferenceFileError,
    load_references,
    metric_texts,
    reference_metrics,
)
from spanscope.core.presentation import display
from spanscope.core.store import connect

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


def add_parser(subparsers: Subparsers) -> argparse.ArgumentParser:
    p = command_parser(
        subparsers,
        "metrics",
        "score span outputs against reference answers: exact, token F1, ROUGE-L, BLEU",
        METRICS_HELP,
    )
    add_sources(p)
    p.add_argument(
        "--references",
        metavar="FILE.jsonl",
        help='reference answers: one {"input" or "trace_id"/"span_id", "expected"} object per line',
    )
    p.add_argument("--json", action="store_true", help="one JSON document: spans, means per model, unmatched")
    return p


def run(args: argparse.Namespace) -> int:
    try:
        entries = load_references(Path(args.references)) if args.references else []
    except ReferenceFileError as exc:
        raise UsageError(str(exc)) from None
    with store_for(args.sources, args.db) as path:
        report = reference_metrics(connect(path, readonly=True), entries)
    if report.unmatched:
        shown = report.unmatched[:MAX_PROBLEMS_SHOWN]
        origins = display.printable(", ".join(e.reference.origin for e in shown))
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
            one_line(m.name, 40),
            m.model or "",
            *metric_texts(m.scores),
            one_line(" | ".join(m.reference.expected), 40),
        )
        for m in report.spans
    ]
    print_table([header, *rows], sys.stdout)
    sys.stdout.write("\nmean per model\n")
    means = [
        (g.model or "(none)", display.count(g.spans), *metric_texts(g.scores)) for g in report.by_model()
    ]
    print_table([("model", "spans", "exact", "f1", "rouge-L", "bleu"), *means], sys.stdout)
    return EXIT_OK


def _metrics_json(report: MetricsReport) -> dict:
    return {
        "spans": [m.to_json() for m in report.spans],
        "models": [g.to_json() for g in report.by_model()],
        "unmatched": [e.reference.origin for e in report.unmatched],
    }
