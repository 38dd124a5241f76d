"""Each command's usage line, made from its parser: `spanscope --help`, `spanscope NAME --help` and the
README's table of commands show the same line (a test holds the README to it)."""

from __future__ import annotations

import argparse

#: The usage of `spanscope` itself: the app on files and stores, or a command.
TOP_USAGE = """spanscope [FILE_OR_STORE...]
       spanscope COMMAND [ARGUMENTS...]   (spanscope COMMAND --help for its own)
       spanscope --version"""


def usage_line(parser: argparse.ArgumentParser) -> str:
    """`spanscope NAME` with the positional arguments, then the options in the order added:
    `[--opt VALUE]` when optional, `VALUE...` / `[--opt VALUE]...` when repeatable."""
    positionals = [a for a in parser._actions if not a.option_strings]
    options = [a for a in parser._actions if a.option_strings and not isinstance(a, _NO_USAGE)]
    return " ".join([parser.prog, *map(_positional, positionals), *map(_option, options)])


_NO_USAGE = (argparse._HelpAction, argparse._VersionAction)


def _positional(action: argparse.Action) -> str:
    """A positional's word; a metavar that is already a pattern (`[SOURCE...] TRACE_ID`) is kept."""
    name = str(action.metavar or action.dest)
    if " " in name or name.startswith("["):
        return name
    return {None: name, "?": f"[{name}]", "*": f"[{name}...]", "+": f"{name}..."}[action.nargs]


def _option(action: argparse.Action) -> str:
    word = action.option_strings[0]
    if action.nargs != 0:
        value = action.metavar or (
            "|".join(map(str, action.choices)) if action.choices else action.dest.upper()
        )
        word = f"{word} {value}"
    repeated = isinstance(action, argparse._AppendAction)
    if action.required:
        return f"{word}..." if repeated else word
    return f"[{word}]..." if repeated else f"[{word}]"
