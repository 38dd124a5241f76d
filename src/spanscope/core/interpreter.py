"""Interpreter settings for bursts of object creation (parsing a file, building a big tree)."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cycle collector for a burst that makes many objects but no cycles.

    Its full passes over a heap growing by tens of thousands of containers cost about as much as
    the parsing or tree building itself, and find nothing to collect."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
