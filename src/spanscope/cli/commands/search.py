"""`spanscope search`: spans found by the text of their name, input, output and attributes."""

from __future__ import annotations

import argparse
import sys

import orjson

from spanscope.cli.errors import EXIT_OK, UsageError, report
from spanscope.cli.stores import Subparsers, add_sources, command_parser, store_for
from spanscope.core.presentation.display import printable
from spanscope.core.search.find import Hit, search
from spanscope.core.search.index import IndexState, IndexStatus, build_index
from spanscope.core.search.query import SYNTAX_HELP, QuerySyntaxError
from spanscope.core.store import StoreError, connect


def add_parser(subparsers: Subparsers) -> argparse.ArgumentParser:
    p = command_parser(
        subparsers, "search", "find spans by the text of their name, input, output and attributes"
    )
    add_sources(p)
    p.add_argument("query", metavar="QUERY", help=SYNTAX_HELP)
    p.add_argument("--limit", type=int, default=20, metavar="N", help="show at most N spans (default 20)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    return p


def _marked(hit: Hit, bold: bool) -> str:
    """The snippet with its matches in bold on a terminal, in [brackets] otherwise (the snippet's
    own control characters escaped, piece by piece, so the marks stay where they belong)."""
    opening, closing = ("\033[1m", "\033[0m") if bold else ("[", "]")
    text, at = [], 0
    for start, end in hit.marks:
        text += [printable(hit.snippet[at:start]), opening, printable(hit.snippet[start:end]), closing]
        at = end
    return "".join([*text, printable(hit.snippet[at:])])


def run(args: argparse.Namespace) -> int:
    with store_for(args.sources, args.db) as path:
        progress = sys.stderr.isatty()

        def show(status: IndexStatus) -> None:
            if progress and not status.complete:
                print(
                    f"\r\033[Kindexing… {status.indexed:,} of {status.total:,} spans", end="", file=sys.stderr
                )

        try:
            build_index(path, IndexState(on_progress=show))
        except StoreError as exc:
            report(f"cannot update the search index ({exc}); searching what it holds")
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
            where = f"{h.trace_id}  {h.span_id}  {h.kind}  {h.trace_name or ''} › {h.span_name or ''}"
            out.write(f"{printable(where)}\n    {printable(h.field or '-')}: {_marked(h, bold)}\n")
        more = "+" if result.more else ""
        print(f"{result.count:,}{more} matching spans, {len(result.hits):,} shown", file=sys.stderr)
    return EXIT_OK
