"""A running trace, fetched again every few seconds while it is the trace the main window shows.

A server keeps receiving a running trace's spans; the cache's copy is replaced whole on each refetch
(one transaction: old or new, never a mix), and the context refreshed so every panel shows the new
spans. Polling stops when the trace has ended, when another trace (or store) is shown, when it is
stopped, or on a failure that waiting will not mend (a trace the server no longer has, a refusal).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from spanscope.core.remote.base import RemoteClient
from spanscope.core.remote.cache import CacheStore
from spanscope.ui.context import QtTraceContext
from spanscope.ui.remote.tasks import Fetched, fetch
from spanscope.ui.workers import Policy, QtWorker

POLL_INTERVAL_MS = 5000


class QtTracePoll(QObject):
    """Refetches one running trace while the context shows it."""

    #: What the poll did, for a status line: a refetch, a failure, or why it stopped.
    said = Signal(str)
    #: Polling stopped (the trace ended, another was shown, or a lasting failure).
    stopped = Signal()

    def __init__(
        self, context: QtTraceContext, interval_ms: int = POLL_INTERVAL_MS, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.context = context
        self._watched: tuple[RemoteClient, str, CacheStore] | None = None
        self.timer = QTimer(self, singleShot=True, interval=interval_ms)
        self.timer.timeout.connect(self._poll)
        self.worker = QtWorker("Refetch a running trace", self, Policy.LATEST)
        self.worker.finished.connect(self._refetched)
        self.worker.failed.connect(self._crashed)
        context.trace_changed.connect(self._trace_changed)

    @property
    def trace_id(self) -> str | None:
        return None if self._watched is None else self._watched[1]

    @property
    def active(self) -> bool:
        return self._watched is not None

    def watch(self, client: RemoteClient, trace_id: str, cache: CacheStore) -> None:
        """Poll `trace_id` (cached in `cache`, shown now) until it ends or another trace is shown."""
        self.stop(quietly=True)
        self._watched = (client, trace_id, cache)
        self.timer.start()

    def stop(self, quietly: bool = False) -> None:
        if self._watched is None:
            return
        self._watched = None
        self.timer.stop()
        self.worker.cancel()
        if not quietly:
            self.stopped.emit()

    def _shown(self) -> bool:
        """The watched trace is still the one the main window shows, from the cache store."""
        if self._watched is None:
            return False
        _client, trace_id, cache = self._watched
        return self.context.trace_id == trace_id and self.context.store_path == cache.path

    def _trace_changed(self, _trace_id: object) -> None:
        if self._watched is not None and not self._shown():
            self.stop()
            self.said.emit("Stopped polling: another trace is shown.")

    def _poll(self) -> None:
        if not self._shown():
            self._trace_changed(None)
            return
        assert self._watched is not None
        client, trace_id, cache = self._watched
        self.worker.start(fetch(client, trace_id, cache, refresh=True))

    def _refetched(self, done: Fetched | None) -> None:
        if done is None or self._watched is None or done.trace_id != self._watched[1]:
            return
        if done.error is not None:
            self.said.emit(done.error)
            if done.lasting:
                self.stop()
            else:
                self.timer.start()
            return
        if self._shown():
            self.context.refresh()
        if done.running:
            self.said.emit(
                f"Trace {done.trace_id} is running: {done.spans:,} spans so far, polled again soon."
            )
            self.timer.start()
        else:
            self.stop()
            self.said.emit(f"Trace {done.trace_id} has ended ({done.spans:,} spans); polling stopped.")

    def _crashed(self, text: str) -> None:
        self.said.emit(f"Refetching the running trace failed unexpectedly: {text}")
        self.stop()
