"""Headless commands: import trace files, list traces, print a trace's tree, export spans.

Every reading command takes a store (--db, or a store file given as a source) or trace files, which
are imported into a temporary store first, so `spanscope tree run.jsonl TRACE_ID` just works.
No Qt here: the desktop app is imported only when the app itself is asked for.
The commands are the modules of `commands/`; `entry.main` picks one, or opens the app.
"""

from spanscope.cli.entry import main

__all__ = ["main"]
