"""Exit codes and the one place that turns a failed command into a `spanscope: ...` line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from spanscope.core.presentation import display
from spanscope.core.store import StoreError
from spanscope.core.store.queries import NotFound
from spanscope.core.store.schema import SchemaError

EXIT_OK, EXIT_PARTIAL, EXIT_FAILED = 0, 1, 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """Bad arguments or sources: reported as one line, exit code 2."""


def report(message: str) -> None:
    """Tell the user on standard error, named as spanscope's so it stands out among a pipeline's
    output; what it quotes of a file (a name, a bad value) is shown, never obeyed by the terminal."""
    print(f"spanscope: {display.printable(message, lines=True)}", file=sys.stderr)


def run_reporting_errors(run: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a command; expected failures are one line and an exit code, not a traceback."""
    try:
        return run(args)
    except (UsageError, NotFound, StoreError, SchemaError) as exc:
        report(str(exc))
        return EXIT_FAILED
    except BrokenPipeError:
        return EXIT_OK
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
