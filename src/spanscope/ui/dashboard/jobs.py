"""Chart data worked out off the GUI thread, the newest request winning.

Each request gets a generation number; its parts (plain functions of a read-only connection) run
in parallel on a small pool, each thread with its own connection to the store. A new request
interrupts the queries of older ones, and their results, if any arrive, are dropped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from spanscope.core.store import connect
from spanscope.core.store.db import Database, interrupt

Part = Callable[[Database], Any]
_local = threading.local()


def _thread_db(path: Path) -> Database:
    """This thread's connection to `path`, opened on first use (one connection per thread)."""
    held = getattr(_local, "held", None)
    if held is None or held[0] != path:
        if held is not None:
            held[1].conn.close()
        _local.held = held = (path, connect(path, readonly=True))
    return held[1]


class _Relay(QObject):
    """Carries a finished part back to the GUI thread (queued: it lives there)."""

    done = Signal(int, str, object)


class _Run(QRunnable):
    def __init__(self, job: QtLatestJob, generation: int, path: Path, name: str, part: Part) -> None:
        super().__init__()
        self._job, self._generation, self._path, self._name, self._part = job, generation, path, name, part

    def run(self) -> None:
        if self._generation != self._job.generation:
            return
        try:
            db = _thread_db(self._path)
            self._job.running(self._generation, db, True)
            try:
                value: Any = self._part(db)
            finally:
                self._job.running(self._generation, db, False)
        except Exception as exc:  # shown in the tab; an interrupted stale query is dropped there
            value = exc
        self._job.relay.done.emit(self._generation, self._name, value)


class QtLatestJob(QObject):
    """Runs named parts; `finished` gets {name: value} once all parts of the newest request are in,
    `failed` a message if one of them raised."""

    finished = Signal(object)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None, threads: int = 2) -> None:
        super().__init__(parent)
        self.generation = 0
        self.relay = _Relay(self)
        self.relay.done.connect(self._on_done)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(threads)
        self._lock = threading.Lock()
        self._running: dict[int, tuple[int, Database]] = {}
        self._results: dict[str, Any] = {}
        self._expected: set[str] = set()

    def submit(self, path: Path, parts: dict[str, Part]) -> int:
        """Start a request; older ones are interrupted and forgotten. Returns its generation."""
        self.cancel()
        self._expected = set(parts)
        for name, part in parts.items():
            self._pool.start(_Run(self, self.generation, Path(path), name, part))
        return self.generation

    def cancel(self) -> None:
        """Forget every request so far and interrupt the queries still running for them."""
        self.generation += 1
        self._results, self._expected = {}, set()
        with self._lock:
            for generation, db in self._running.values():
                if generation < self.generation:
                    interrupt(db)

    def running(self, generation: int, db: Database, started: bool) -> None:
        with self._lock:
            if started:
                self._running[threading.get_ident()] = (generation, db)
            else:
                self._running.pop(threading.get_ident(), None)

    def wait(self, msecs: int = -1) -> bool:
        return self._pool.waitForDone(msecs)

    def _on_done(self, generation: int, name: str, value: Any) -> None:
        if generation != self.generation or name not in self._expected:
            return
        if isinstance(value, Exception):
            self._expected = set()
            self.failed.emit(f"{type(value).__name__}: {value}")
            return
        self._results[name] = value
        if set(self._results) == self._expected:
            self._expected = set()
            self.finished.emit(self._results)
