"""Live capture in the app: the OTLP/HTTP receiver writes into the open store while views refresh.

The receiver and its writer run on their own threads (core); this only starts and stops them,
polls their counts, and tells the context when spans were stored, at most twice a second.

Stopping answers the requests already read, which may wait for the store (up to the receiver's
deadline while an import holds it): unchecking Listen does that on a worker, so the window never
waits; opening another store or quitting waits for it, since the store is about to close.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction

from spanscope.core.receiver import DEFAULT_PORT, OtlpReceiver
from spanscope.core.store import StoreError
from spanscope.core.store.live import SpanSink
from spanscope.ui.context import QtTraceContext
from spanscope.ui.workers import QtWorker

POLL_MS = 500


class QtListener(QObject):
    """Owns the checkable "Listen" action; `status` says where it listens and what arrived."""

    status = Signal(str)
    failed = Signal(str, str)

    def __init__(
        self, context: QtTraceContext, parent: QObject | None = None, port: int = DEFAULT_PORT
    ) -> None:
        super().__init__(parent)
        self.context = context
        self.port = port
        self.sink: SpanSink | None = None
        self.receiver: OtlpReceiver | None = None
        self._stored = 0
        self.action = QAction("&Listen for Traces (OTLP/HTTP)", self, checkable=True)
        self.action.setToolTip(f"Receive spans from running apps on http://127.0.0.1:{port}/v1/traces")
        self.action.toggled.connect(self._toggled)
        self._timer = QTimer(self, interval=POLL_MS)
        self._timer.timeout.connect(self._poll)
        self._stopping = QtWorker("Stopping the listener", self)
        self._stopping.idle.connect(self._stopped)

    @property
    def listening(self) -> bool:
        return self.receiver is not None

    def start(self) -> bool:
        """Listen into the open store; False (and `failed` emitted) when that is not possible."""
        if self.listening:
            return True
        path = self.context.store_path
        if path is None:
            self.failed.emit("Cannot listen", "Open a store first: received spans are stored in it.")
            return self._unchecked()
        try:
            self.sink = SpanSink(path, f"otlp-http://127.0.0.1:{self.port}")
            self.receiver = OtlpReceiver(self.sink, "127.0.0.1", self.port)
        except StoreError as exc:
            self.failed.emit("Cannot listen", f"Received spans could not be stored: {exc}")
            return self._unchecked()
        except OSError as exc:
            if self.sink is not None:
                self.sink.close()
            self.sink = None
            self.failed.emit(f"Cannot listen on port {self.port}", exc.strerror or str(exc))
            return self._unchecked()
        self.receiver.start()
        self._stored = 0
        self._timer.start()
        self.action.setChecked(True)
        self._poll()
        return True

    def stop(self, wait: bool = True) -> None:
        """Stop receiving; spans already accepted are stored before this returns, or, without
        `wait`, on a worker (Listen is disabled until then, as the port is still taken)."""
        receiver, sink = self.receiver, self.sink
        if receiver is None or sink is None:
            return
        self._timer.stop()
        self._poll()
        self.receiver = self.sink = None
        self.action.setChecked(False)
        if wait:
            _shut_down(receiver, sink)
            self.status.emit("")
            return
        self.action.setEnabled(False)
        self.status.emit("Stopping: storing the spans already received…")
        self._stopping.start(lambda _state: _shut_down(receiver, sink))

    def _stopped(self) -> None:
        """The worker stored what was received: Listen may start again, and views show it all."""
        self.action.setEnabled(True)
        self.status.emit("")
        self.context.refresh()

    def _toggled(self, on: bool) -> None:
        if on:
            self.start()
        else:
            self.stop(wait=False)

    def _unchecked(self) -> bool:
        self.action.setChecked(False)
        return False

    def _poll(self) -> None:
        if self.receiver is None or self.sink is None:
            return
        received, stored = self.receiver.stats(), self.sink.stats()
        if stored.spans_stored != self._stored:
            self._stored = stored.spans_stored
            self.context.refresh()
        text = f"Listening on {self.receiver.address}: {received.spans_accepted:,} spans received"
        if received.logs_accepted:
            text += f" and {received.logs_accepted:,} log records"
        if received.rejected or received.bad_requests or received.refused:
            text += (
                f", {received.rejected:,} rejected, {received.bad_requests:,} bad requests, "
                f"{received.refused:,} refused while the store could not take them"
            )
        if stored.last_error:
            text += f" ({stored.last_error})"
        self.status.emit(text)


def _shut_down(receiver: OtlpReceiver, sink: SpanSink) -> None:
    receiver.stop()
    sink.close()
