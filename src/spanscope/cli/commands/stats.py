"""`spanscope stats`: calls, tokens, cost, latency and time to first token of model calls, grouped."""

from __future__ import annotations

import argparse
import sys

import orjson

from spanscope.cli.errors import EXIT_OK, UsageError
from spanscope.cli.output import print_table
from spanscope.cli.stores import Subparsers, add_sources, command_parser, store_for
from spanscope.core.analysis.analytics import GROUP_COLUMNS, GroupStats, group_stats
from spanscope.core.presentation import display
from spanscope.core.pricing.prices import PriceBook, PriceFileError
from spanscope.core.store import connect


def add_parser(subparsers: Subparsers) -> argparse.ArgumentParser:
    p = command_parser(
        subparsers,
        "stats",
        "calls, tokens, cost, latency and time to first token of model calls, per model (or name, ...)",
    )
    add_sources(p)
    p.add_argument("--by", choices=list(GROUP_COLUMNS), default="model", help="what to group by")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument(
        "--reprice-as",
        metavar="MODEL",
        help="what-if: price every call as this model, ignoring reported costs",
    )
    return p


#: The table's columns after the group's.
COLUMNS = ("calls", "errors", "in", "out", "cached", "cost", "p50/p95/p99 ms", "TTFT p50/p95 ms", "tok/s")


def _ms(values: dict[str, float | None]) -> str:
    """Percentiles as `p50/p95/...` in whole ms; empty when none is known."""
    if all(v is None for v in values.values()):
        return ""
    return "/".join("" if v is None else f"{v:,.0f}" for v in values.values())


def _stats_row(g: GroupStats) -> tuple[str, ...]:
    unknown = g.cost_source["unknown"]
    cost = display.cost(g.cost_usd, computed=g.cost_source["computed"] > 0, unknown=unknown > 0)
    cost += f" ({unknown:,} unpriced)" if unknown else ""
    return (
        "(none)" if g.group is None else g.group,
        display.count(g.calls),
        display.count(g.errors),
        display.count(g.input_tokens),
        display.count(g.output_tokens),
        display.count(g.cache_read_tokens),
        cost,
        _ms(g.latency_ms),
        _ms(g.ttft_ms),
        "" if g.tokens_per_s is None else f"{g.tokens_per_s:,.1f}",
    )


def run(args: argparse.Namespace) -> int:
    with store_for(args.sources, args.db) as path:
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
        header = (args.by, *COLUMNS)
        print_table([header, *map(_stats_row, stats)], out)
    return EXIT_OK
