"""The one way the app does work off the GUI thread: a plain function on a worker thread.

Like napari's `thread_worker` and Hotspot's job tracker: a `QtWorker` runs functions `fn(state)` on
its own small thread pool. `state` (a `TaskState`, like Orange3's) reports progress and says when to
stop; its `cancel_event` can be handed straight to core's ImportState and IndexState. Results,
progress and failures come back on the GUI thread through queued signals, so slots may touch
widgets. What happens to a request made while another runs is the worker's `Policy`.

Every unexpected exception of every worker goes to one place, `worker_errors().raised`, which the
main window shows in its status bar; the worker's own `failed` lets a panel say it in place too.

Rules kept here: functions never touch nor hold widgets or other Qt objects (what a function holds
is let go on its worker thread, and Qt objects are freed only on the GUI thread, where Python's
cycle collector runs: see ui/app.py); each thread reads the store through its own connection
(`thread_db`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal

from spanscope.core.store import connect
from spanscope.core.store.db import Database, interrupt

log = logging.getLogger(__name__)

Task = Callable[["TaskState"], Any]
Read = Callable[[Database], Any]

#: The name a single-function request's result goes by inside the worker.
_SINGLE = ""


class Policy(Enum):
    """What a request made while others are still running does."""

    #: Every request runs, in the order made (on one thread: one after another, a single writer).
    QUEUE = "queue"
    #: A newer request cancels the older ones; their results and failures are dropped.
    LATEST = "latest"
    #: The running request goes on; the newest request made meanwhile runs once after it.
    ONCE_MORE = "once more"


class TaskState:
    """Handed to a worker function: report progress, check whether to stop."""

    def __init__(self, report: Callable[[object], None], interval_s: float) -> None:
        self.cancel_event = threading.Event()
        self._report, self._interval_s = report, interval_s
        self._last = 0.0
        self._lock = threading.Lock()
        self._db: Database | None = None

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def cancel(self) -> None:
        """Ask the function to stop; a query it runs through `interrupting` stops at once."""
        with self._lock:
            self.cancel_event.set()
            if self._db is not None:
                interrupt(self._db)

    def report(self, value: object, final: bool = False) -> None:
        """Send progress to the GUI thread, at most once per the worker's interval (more would
        only flood the event loop) unless `final`."""
        now = time.monotonic()
        if final or now - self._last >= self._interval_s:
            self._last = now
            self._report(value)

    @contextmanager
    def interrupting(self, db: Database) -> Iterator[None]:
        """While inside, cancelling interrupts `db`'s query (and never a later one of its thread)."""
        with self._lock:
            self._db = db
        try:
            yield
        finally:
            with self._lock:
                self._db = None


_local = threading.local()


def thread_db(path: Path) -> Database:
    """This thread's read-only connection to `path`, opened on first use (one connection per thread)."""
    held = getattr(_local, "held", None)
    if held is None or held[0] != path:
        if held is not None:
            held[1].conn.close()
        _local.held = held = (path, connect(path, readonly=True))
    return held[1]


def reading(path: Path, read: Read) -> Task:
    """A task running `read` on its thread's connection to the store at `path`; cancelling it
    interrupts the query, and a task cancelled before it starts reads nothing."""

    def task(state: TaskState) -> Any:
        if state.cancelled:
            return None
        db = thread_db(Path(path))
        with state.interrupting(db):
            return read(db)

    return task


class QtWorkerErrors(QObject):
    """The one place unexpected worker exceptions go: (what failed, the error's text)."""

    raised = Signal(str, str)


_errors: QtWorkerErrors | None = None


def worker_errors() -> QtWorkerErrors:
    """The app's error reporter, made on first use (on the GUI thread: every QtWorker asks for it)."""
    global _errors
    if _errors is None:
        _errors = QtWorkerErrors()
    return _errors


@dataclass
class _Request:
    """One start: its parts (run in parallel), what they returned so far, their states."""

    number: int
    single: bool
    waiting: set[str]
    states: list[TaskState] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)
    failed: bool = False


class _Run(QRunnable):
    def __init__(self, worker: QtWorker, number: int, name: str, task: Task, state: TaskState) -> None:
        super().__init__()
        self._worker, self._number, self._name, self._task, self._state = worker, number, name, task, state

    def run(self) -> None:
        try:
            value = self._task(self._state)
        except Exception as exc:  # goes to the one error reporter, on the GUI thread
            self._worker._done.emit(self._number, self._name, False, exc)
            return
        self._worker._done.emit(self._number, self._name, True, value)


class QtWorker(QObject):
    """Runs tasks on `threads` threads of its own; tells the GUI thread what became of them.

    `finished` gets a request's result (a `start_parts` request: {name: result} once all are in),
    `progress` what its tasks reported, `failed` the text of an unexpected exception (also sent to
    `worker_errors()` titled `title`), and `idle` when nothing is running or waiting any more.
    """

    finished = Signal(object)
    progress = Signal(object)
    failed = Signal(str)
    idle = Signal()
    #: From the worker threads; queued to the GUI thread.
    _done = Signal(int, str, bool, object)
    _reported = Signal(int, object)

    def __init__(
        self,
        title: str,
        parent: QObject | None = None,
        policy: Policy = Policy.QUEUE,
        threads: int = 1,
        progress_interval_s: float = 0.0,
    ) -> None:
        super().__init__(parent)
        self.title, self.policy, self._interval_s = title, policy, progress_interval_s
        self._errors = worker_errors()
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(threads)
        self._requests: dict[int, _Request] = {}
        self._numbered = 0
        #: With LATEST, requests numbered below this are forgotten.
        self._wanted_from = 0
        #: With ONCE_MORE, the request to run after the running one: its parts, whether single.
        self._again: tuple[dict[str, Task], bool] | None = None
        self._done.connect(self._on_done, Qt.ConnectionType.QueuedConnection)
        self._reported.connect(self._on_reported, Qt.ConnectionType.QueuedConnection)

    @property
    def busy(self) -> bool:
        """A request is running or waiting."""
        return bool(self._requests) or self._again is not None

    def start(self, task: Task) -> None:
        """Run `task(state)` on a worker thread; `finished` gets what it returns."""
        self._submit({_SINGLE: task}, single=True)

    def start_parts(self, parts: dict[str, Task]) -> None:
        """Run the parts of one request in parallel; `finished` gets {name: result} once all are in,
        or `failed` the first failure."""
        self._submit(parts, single=False)

    def start_reads(self, path: Path, reads: dict[str, Read]) -> None:
        """`start_parts` for read-only queries of the store at `path`, each on its thread's connection."""
        self.start_parts({name: reading(path, read) for name, read in reads.items()})

    def cancel(self) -> None:
        """Ask every running and waiting task to stop and forget a pending re-run. With LATEST
        their results are dropped too; otherwise they arrive (an import reports itself cancelled)."""
        self._again = None
        if self.policy is Policy.LATEST:
            self._wanted_from = self._numbered + 1
        for request in self._requests.values():
            for state in request.states:
                state.cancel()

    def wait(self, msecs: int = -1) -> bool:
        """Block until the threads are done (closing, tests); results still arrive as queued events."""
        return self._pool.waitForDone(msecs)

    def _submit(self, parts: dict[str, Task], single: bool) -> None:
        if self.policy is Policy.ONCE_MORE and self._requests:
            self._again = parts, single
            return
        if self.policy is Policy.LATEST:
            self.cancel()
        self._numbered += 1
        number = self._numbered
        request = _Request(number, single, set(parts))
        self._requests[number] = request
        for name, task in parts.items():
            state = TaskState(lambda value, n=number: self._reported.emit(n, value), self._interval_s)
            request.states.append(state)
            self._pool.start(_Run(self, number, name, task, state))

    def _wanted(self, number: int) -> bool:
        return number >= self._wanted_from

    def _on_reported(self, number: int, value: object) -> None:
        if self._wanted(number):
            self.progress.emit(value)

    def _on_done(self, number: int, name: str, ok: bool, value: Any) -> None:
        request = self._requests[number]
        request.waiting.discard(name)
        if self._wanted(number) and not request.failed:
            if ok:
                request.results[name] = value
                if not request.waiting:
                    self.finished.emit(value if request.single else request.results)
            else:
                request.failed = True
                self._report(value)
        if request.waiting:
            return
        del self._requests[number]
        if self._requests:
            return
        if self._again is not None:
            (parts, single), self._again = self._again, None
            self._submit(parts, single)
        else:
            self.idle.emit()

    def _report(self, exc: BaseException) -> None:
        """The one place a worker's unexpected exception is reported."""
        message = f"{type(exc).__name__}: {exc}"
        log.error("%s: %s", self.title, message, exc_info=exc)
        self.failed.emit(message)
        self._errors.raised.emit(self.title, message)
