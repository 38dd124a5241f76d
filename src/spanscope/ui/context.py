"""The one shared "current state" of the app: the open store, the current trace and span.

Like RenderDoc's capture context: every panel implements `QtObserver` and registers here; a panel
registered late is told the current state at once. Span changes are coalesced, so when the user
holds a key down only the newest span is rendered.

Panels navigate through it too: they ask for a span, a trace or a view by name (`open_span`,
`show_trace`, `show_view`), and whoever owns the views (the main window) brings the right one
forward. No panel knows where the others are.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from spanscope.core.debugging.tree import TraceTree
from spanscope.core.interpreter import paused_gc
from spanscope.core.span_rows import SpanRows
from spanscope.core.store import connect
from spanscope.core.store.db import Database
from spanscope.core.store.queries import trace_rows, trace_span_count

#: The tree of no trace, shown while nothing is selected.
EMPTY_TREE = TraceTree.build(SpanRows.from_dicts([]))


class View(Enum):
    """The views a panel can ask to bring forward."""

    #: The trace list, the span tree and the step detail.
    TRACES = "traces"
    DASHBOARD = "dashboard"
    COMPARE = "compare"
    REVIEW = "review"
    SEARCH = "search"


class QtObserver:
    """What a panel hears from the context; override the calls it cares about."""

    def on_store_loaded(self, context: QtTraceContext) -> None:
        """A store was opened, or new traces arrived in it."""

    def on_store_closed(self) -> None:
        """The store went away: drop everything shown from it."""

    def on_trace_changed(self, trace_id: str | None) -> None:
        """Another trace is current (None: no trace)."""

    def on_span_changed(self, trace_id: str | None, span_id: str | None) -> None:
        """Another span is current (None: no span)."""


class QtTraceContext(QObject):
    """Holds the GUI thread's read-only connection and the selection; notifies observers."""

    #: Emitted alongside the observer calls, for widgets that prefer signals.
    store_loaded = Signal()
    trace_changed = Signal(object)
    span_changed = Signal(object, object)
    #: A panel asked for a view (a `View`) to be brought forward.
    view_requested = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._observers: list[QtObserver] = []
        self._db: Database | None = None
        self.store_path: Path | None = None
        self.trace_id: str | None = None
        self.span_id: str | None = None
        self._pending_span: tuple[str | None, str | None] | None = None
        #: Bumped whenever the store's content may have changed, so cached trees are rebuilt.
        self._generation = 0
        self._tree_cache: tuple[int, str, TraceTree] | None = None
        self._span_timer = QTimer(self, singleShot=True, interval=0)
        self._span_timer.timeout.connect(self._deliver_span)

    @property
    def db(self) -> Database | None:
        return self._db

    def trace_tree(self, trace_id: str | None) -> TraceTree:
        """The span tree of `trace_id`, read and built once per store state and shared by every panel
        (the tree, timeline and stepping each need it; a 100k-span trace takes a quarter second)."""
        if trace_id is None or self._db is None:
            return EMPTY_TREE
        cached = self._tree_cache
        if cached is not None and cached[0] == self._generation and cached[1] == trace_id:
            return cached[2]
        with paused_gc():
            tree = TraceTree.build(trace_rows(self._db, trace_id))
        self._tree_cache = (self._generation, trace_id, tree)
        return tree

    def trace_grew(self, trace_id: str | None, shown_spans: int) -> bool:
        """Whether the store now holds a different number of spans for `trace_id` than a panel shows
        (an import added some: one trace can span several files)."""
        if trace_id is None or self._db is None:
            return False
        return trace_span_count(self._db, trace_id) != shown_spans

    def register(self, observer: QtObserver) -> None:
        """Add a panel and bring it up to date immediately."""
        self._observers.append(observer)
        if self._db is not None:
            observer.on_store_loaded(self)
            observer.on_trace_changed(self.trace_id)
            observer.on_span_changed(self.trace_id, self.span_id)

    def unregister(self, observer: QtObserver) -> None:
        self._observers.remove(observer)

    def open_store(self, path: Path) -> None:
        """Switch to the store at `path` (read-only here: imports write through their own thread)."""
        self.close_store()
        self._db = connect(Path(path), readonly=True)
        self.store_path = Path(path)
        self.refresh()

    def refresh(self) -> None:
        """New data arrived in the open store (an import committed)."""
        if self._db is None:
            return
        self._generation += 1
        for observer in list(self._observers):
            observer.on_store_loaded(self)
        self.store_loaded.emit()

    def close_store(self) -> None:
        if self._db is None:
            return
        self.select_trace(None)
        self._generation += 1
        self._tree_cache = None
        self._db.conn.close()
        self._db = None
        self.store_path = None
        for observer in list(self._observers):
            observer.on_store_closed()

    def select_trace(self, trace_id: str | None) -> None:
        if trace_id == self.trace_id:
            return
        self.trace_id = trace_id
        self.span_id = None
        self._pending_span = None
        for observer in list(self._observers):
            observer.on_trace_changed(trace_id)
        self.trace_changed.emit(trace_id)

    def select_span(self, span_id: str | None) -> None:
        """Make `span_id` (of the current trace) current; rapid calls deliver only the newest."""
        self._pending_span = (self.trace_id, span_id)
        self._span_timer.start()

    def _deliver_span(self) -> None:
        if self._pending_span is None:
            return
        trace_id, span_id = self._pending_span
        self._pending_span = None
        if trace_id != self.trace_id or span_id == self.span_id:
            return
        self.span_id = span_id
        for observer in list(self._observers):
            observer.on_span_changed(trace_id, span_id)
        self.span_changed.emit(trace_id, span_id)

    # --- navigation -------------------------------------------------------------------------------

    def show_view(self, view: View) -> None:
        """Ask for `view` to be brought forward."""
        self.view_requested.emit(view)

    def show_trace(self, trace_id: str) -> None:
        """Make `trace_id` current and show it in the Traces view."""
        self.select_trace(trace_id)
        self.show_view(View.TRACES)

    def open_span(self, trace_id: str, span_id: str) -> None:
        """Make a span current (its trace too) and show it in the Traces view: revealed in the span
        tree, detailed beside it."""
        self.select_trace(trace_id)
        self.select_span(span_id)
        self.show_view(View.TRACES)
