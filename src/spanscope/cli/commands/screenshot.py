"""`spanscope screenshot`: the main window rendered offscreen to a PNG (Qt loaded only when run)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from spanscope.cli.errors import EXIT_OK
from spanscope.cli.stores import Subparsers, add_sources, command_parser, store_for


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size like 1600x1000") from None
    if not (200 <= width <= 8000 and 200 <= height <= 8000):
        raise argparse.ArgumentTypeError(f"{text!r}: width and height must be 200 to 8000 pixels")
    return width, height


def add_parser(subparsers: Subparsers) -> argparse.ArgumentParser:
    p = command_parser(subparsers, "screenshot", "render the main window offscreen to a PNG")
    add_sources(p)
    p.add_argument("out", metavar="OUT.png", help="the PNG file to write")
    p.add_argument("--trace", metavar="ID", help="the trace to show (default: the first with an error)")
    p.add_argument("--span", metavar="ID", help="the span to select (default: its first error, or root)")
    p.add_argument("--size", type=_size, default=(1600, 1000), metavar="WxH", help="window size (1600x1000)")
    return p


def run(args: argparse.Namespace) -> int:
    from spanscope.ui.screenshot import screenshot

    with store_for(args.sources, args.db) as path:
        out = screenshot(path, Path(args.out), args.trace, args.span, args.size)
    print(f"wrote {out}", file=sys.stderr)
    return EXIT_OK
