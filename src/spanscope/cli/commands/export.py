"""`spanscope export`: normalized spans, one JSON object per line."""

from __future__ import annotations

import argparse

import orjson

from spanscope.cli.errors import EXIT_OK
from spanscope.cli.output import open_output
from spanscope.cli.stores import Subparsers, add_sources, command_parser, store_for
from spanscope.core.model import Span
from spanscope.core.store import connect
from spanscope.core.store.queries import iter_priced_spans, resolve_trace_id
from spanscope.core.store.schema import SPAN_FIELD_COLUMNS

#: Export keys, in order; tokens and cost are the span's own, not rolled up.
EXPORT_KEYS = (
    *SPAN_FIELD_COLUMNS,
    "cost_source",
    "input",
    "output",
    "orphan",
    "clock_skew",
)


def add_parser(subparsers: Subparsers) -> argparse.ArgumentParser:
    p = command_parser(
        subparsers,
        "export",
        "write normalized spans, one JSON object per line",
        "Write normalized spans, one JSON object per line, with the keys the README lists. Tokens and\n"
        "cost are each span's own: cost_usd is the cost every view shows (reported by the source, else\n"
        "computed from tokens and prices) and cost_source says which (reported, computed, unknown;\n"
        "null for a span that is no model call).",
    )
    add_sources(p)
    p.add_argument("--trace", metavar="ID", help="only this trace (id or unique prefix)")
    p.add_argument("--format", choices=["jsonl"], default="jsonl", help="jsonl (the default and only one)")
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of standard output")
    return p


def span_record(span: Span, price_usd: float | None) -> dict:
    """The span's keys, with the cost every view shows: `cost_usd` reported, else computed from
    its tokens and prices, and `cost_source` saying which (`unknown`: a model call that could not be
    priced; null: no model call, so no cost of its own)."""
    record = {key: getattr(span, key) for key in EXPORT_KEYS if key != "cost_source"}
    if span.cost_usd is not None:
        source = "reported"
    elif price_usd is not None:
        record["cost_usd"], source = price_usd, "computed"
    else:
        source = "unknown" if span.is_model_call else None
    record["cost_source"] = source
    return {key: record[key] for key in EXPORT_KEYS}


def run(args: argparse.Namespace) -> int:
    with store_for(args.sources, args.db) as path:
        db = connect(path, readonly=True)
        trace_id = resolve_trace_id(db, args.trace) if args.trace else None
        with open_output(args.output) as out:
            for span, price_usd in iter_priced_spans(db, trace_id):
                record = span_record(span, price_usd)
                out.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS))
    return EXIT_OK
