"""`spanscope check`: assert rules over traces, for CI (exit 1 when one fails)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from spanscope.cli.errors import EXIT_OK, EXIT_PARTIAL, UsageError
from spanscope.cli.stores import Subparsers, add_sources, command_parser, store_for
from spanscope.core.debugging.breakpoints import ExpressionError
from spanscope.core.evaluation.assertions import SCOPE_ALL, CheckReport, check, parse_rule
from spanscope.core.evaluation.junit_report import junit_xml
from spanscope.core.presentation import display
from spanscope.core.pricing.prices import PriceBook, PriceFileError
from spanscope.core.store import connect

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


def add_parser(subparsers: Subparsers) -> argparse.ArgumentParser:
    p = command_parser(
        subparsers,
        "check",
        "assert rules over traces for CI: exit 0 when all hold, 1 when one fails, 2 for a bad rule or source",
        CHECK_HELP,
    )
    add_sources(p)
    p.add_argument(
        "--rule",
        dest="rules",
        action="append",
        required=True,
        metavar="EXPR",
        help="a rule, e.g. 'max(latency_ms) < 8000' (repeatable)",
    )
    p.add_argument("--junit", metavar="OUT.xml", help="also write the results as JUnit XML for CI")
    return p


def run(args: argparse.Namespace) -> int:
    """Exit 0 when every rule holds on every trace, 1 when one fails, 2 for a bad rule or source."""
    try:
        rules = [parse_rule(text) for text in args.rules]
    except ExpressionError as exc:
        raise UsageError(f"bad --rule:\n{exc}") from None
    try:
        book = PriceBook.load()
    except PriceFileError as exc:
        raise UsageError(str(exc)) from None
    with store_for(args.sources, args.db, strict=True) as path:
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
    out.writelines(display.printable(line) + "\n" for line in _check_lines(report))


def _check_lines(report: CheckReport) -> Iterator[str]:
    """One line per rule, then the reasons of each trace that fails it."""
    failed_rules = 0
    for number, rule in enumerate(report.rules, 1):
        verdicts = report.of(rule)
        failures = [v for v in verdicts if not v.holds]
        failed_rules += bool(failures)
        each = "over all" if rule.scope == SCOPE_ALL else "on each of"
        scope = f"{each} {report.traces:,} traces"
        yield f"{'FAIL' if failures else 'ok  '} rule {number}: {rule.text}  ({scope})"
        for verdict in failures:
            yield f"  {verdict.label}: {verdict.reason}"
            for line in verdict.lines():
                if line.startswith(" "):
                    yield f"  {line}"
        if failures and rule.scope != SCOPE_ALL:
            yield f"  {len(failures):,} of {len(verdicts):,} traces fail"
    held = len(report.rules) - failed_rules
    yield f"{len(report.rules):,} rules on {report.traces:,} traces: {held:,} hold, {failed_rules:,} fail"
