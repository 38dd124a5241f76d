"""`spanscope`: a command, or the desktop app on the trace files and stores given (or none)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from spanscope import __version__
from spanscope.cli.commands import command_modules
from spanscope.cli.errors import run_reporting_errors
from spanscope.cli.usage import TOP_USAGE, usage_line


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The parser of every command module, each run by its module's `run`, and the commands' parsers
    by name, each with its usage line (the README's)."""
    parser = argparse.ArgumentParser(
        prog="spanscope",
        usage=TOP_USAGE,
        description="Inspect LLM application traces offline. With trace files or stores (or nothing), "
        "opens the desktop app on them (on the demo traces); with a command, runs it.",
    )
    parser.add_argument("--version", action="version", version=f"spanscope {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", prog="spanscope")
    for module in command_modules():
        command = module.add_parser(sub)
        command.set_defaults(run=module.run)
        command.usage = usage_line(command)
    return parser, dict(sub.choices)


def open_app(args: argparse.Namespace) -> int:
    """The desktop app; Qt is imported only here, so the commands run without it."""
    from spanscope.ui.app import run_app

    return run_app(args.sources)


def _app_arguments(argv: list[str]) -> argparse.Namespace:
    app = argparse.ArgumentParser(
        prog="spanscope", usage=TOP_USAGE, description="Open trace files or stores in the app."
    )
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
