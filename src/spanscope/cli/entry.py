"""`spanscope`: a command, or the desktop app on the trace files and stores given (or none)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from spanscope import __version__
from spanscope.cli.commands import command_modules
from spanscope.cli.errors import run_reporting_errors


def build_parser() -> tuple[argparse.ArgumentParser, list[str]]:
    """The parser of every command module, each run by its module's `run`, and the commands' names."""
    parser = argparse.ArgumentParser(
        prog="spanscope",
        description="Inspect LLM application traces offline. With no command, opens the desktop app.",
    )
    parser.add_argument("--version", action="version", version=f"spanscope {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in command_modules():
        module.add_parser(sub).set_defaults(run=module.run)
    return parser, list(sub.choices)


def open_app(args: argparse.Namespace) -> int:
    """The desktop app; Qt is imported only here, so the commands run without it."""
    from spanscope.ui.app import run_app

    return run_app(args.sources)


def _app_arguments(argv: list[str]) -> argparse.Namespace:
    app = argparse.ArgumentParser(prog="spanscope", description="Open trace files or stores in the app.")
    app.add_argument("sources", nargs="*", metavar="FILE_OR_STORE")
    app.set_defaults(run=open_app)
    return app.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """A command, an option, or files and stores to open in the app; a first word that is none of
    them is an error naming the commands, not a file for the app to fail on."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser, names = build_parser()
    if argv and (argv[0] in names or argv[0].startswith("-")):
        args = parser.parse_args(argv)
    elif not argv or Path(argv[0]).exists():
        args = _app_arguments(argv)
    else:
        parser.error(
            f"{argv[0]!r} is neither a command nor an existing file or store (commands: {', '.join(names)})"
        )
    return run_reporting_errors(args.run, args)
