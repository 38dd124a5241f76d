"""Runs core imports off the GUI thread and reports back through queued signals.

The work itself is core's `import_files(db, paths, state)`, tested without Qt; this adapter only
starts it on a worker thread, throttles its progress reports, and delivers results to the GUI
thread. Files are imported one at a time (the store has a single writer): opening more files while
an import runs queues them behind it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from spanscope.core.store import FileResult, ImportProgress, ImportState, Outcome, import_file

#: Progress is reported at most this often; more would only flood the event loop.
PROGRESS_INTERVAL_S = 0.1


class QtImportQueue(QObject):
    """Imports queued files into a store, one after another, on a worker thread."""

    #: path, bytes done, bytes total, spans read so far
    progress = Signal(object, int, int, int)
    #: one file finished (imported, skipped records, failed or cancelled)
    file_done = Signal(object)
    #: the queue ran empty
    idle = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._queue: deque[tuple[Path, Path]] = deque()
        self._lock = threading.Lock()
        self._state: ImportState | None = None
        self._thread: threading.Thread | None = None
        self._running = False

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._running

    def add(self, store: Path, paths: list[Path]) -> None:
        with self._lock:
            self._queue.extend((store, Path(p)) for p in paths)
            if not self._running:
                self._running = True
                self._thread = threading.Thread(target=self._run, name="spanscope-import", daemon=True)
                self._thread.start()

    def cancel(self) -> None:
        """Stop the running import (rolled back) and drop the queued ones."""
        with self._lock:
            dropped = list(self._queue)
            self._queue.clear()
            if self._state is not None:
                self._state.cancel()
        for _, path in dropped:
            self.file_done.emit(FileResult(path, Outcome.CANCELLED))

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the queue is empty (for tests and the screenshot command)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.busy

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    self._state = None
                    self._running = False
                    break
                store, path = self._queue.popleft()
                self._state = state = ImportState(on_progress=self._throttled(path))
            self.file_done.emit(import_file(store, path, state))
        self.idle.emit()

    def _throttled(self, path: Path) -> Callable[[ImportProgress], None]:
        last = [0.0]

        def report(p: ImportProgress) -> None:
            now = time.monotonic()
            if now - last[0] >= PROGRESS_INTERVAL_S or p.bytes_done >= p.bytes_total:
                last[0] = now
                self.progress.emit(path, p.bytes_done, p.bytes_total, p.spans)

        return report
