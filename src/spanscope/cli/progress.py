"""A long command's terminal progress line and its Ctrl+C: the line rewritten in place as the work
reports, and a first Ctrl+C that asks the work to stop (what is done stays) while a second one
interrupts as usual."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TextIO, TypeVar

Report = TypeVar("Report")


class ProgressLine(Generic[Report]):
    """Called with each report, writes `describe(report)` over the previous line on `out`."""

    def __init__(self, out: TextIO, describe: Callable[[Report], str]) -> None:
        self.out, self.describe, self.shown = out, describe, False

    def __call__(self, report: Report) -> None:
        self.out.write(f"\r\033[K{self.describe(report)}")
        self.out.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.out.write("\r\033[K")
            self.out.flush()


@contextmanager
def interrupt_cancels(cancel: Callable[[], None]) -> Iterator[None]:
    """Within the block, the first Ctrl+C calls `cancel` instead of interrupting; a second one
    interrupts. Only on the main thread (signals are delivered there)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def cancelled(signum: int, frame: object) -> None:
        cancel()
        signal.signal(signal.SIGINT, previous)

    previous = signal.signal(signal.SIGINT, cancelled)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
