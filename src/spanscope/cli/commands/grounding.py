"""`spanscope grounding`: which retrieved passages support each sentence of an LLM call's answer."""

from __future__ import annotations

import argparse
import sys

import orjson

from spanscope.cli.errors import EXIT_OK, UsageError
from spanscope.cli.output import write_lines
from spanscope.cli.stores import Subparsers, add_sources, command_parser, store_for
from spanscope.core.evaluation import grounding
from spanscope.core.store import connect
from spanscope.core.store.queries import get_span, resolve_span


def add_parser(subparsers: Subparsers) -> argparse.ArgumentParser:
    p = command_parser(
        subparsers, "grounding", "which retrieved passages support each sentence of an LLM call's answer"
    )
    add_sources(p)
    p.add_argument("--span", required=True, metavar="ID", help="the LLM span (id or unique prefix)")
    p.add_argument("--trace", metavar="ID", help="the span's trace, when its id is not unique in the store")
    p.add_argument("--json", action="store_true", help="one JSON object")
    return p


def run(args: argparse.Namespace) -> int:
    with store_for(args.sources, args.db) as path:
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
            write_lines(grounding.report_lines(found), sys.stdout)
    return EXIT_OK
