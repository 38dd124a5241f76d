"""Keeping the full-text index up with the store, lazily and outside the import.

Imports never touch the index (they are the tracked hot path). Instead `build_index` catches up:
spans with an id above a stored watermark are read in id order, their payload chunks decompressed
one chunk at a time, and their text added in short transactions of their own, so an import waiting
for the write lock waits a fraction of a second at most, and the indexer simply retries while an
import holds it. Spans already indexed whose log records came later are indexed again (`refresh`),
as are spans that were running, whose input may be their parent's and whose parent came later, or
whose status message finalizing changed (`restatus`).
The index is derived: `drop_index` forgets it and the next build starts over, as it does when the
derivation of input and output changed (store/search_index.py holds the SQL).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from spanscope.core.search.texts import span_texts
from spanscope.core.store.db import store_errors
from spanscope.core.store.search_index import (
    IndexStatus,
    IndexWriter,
    PendingSpan,
    StaleSpan,
    drop_index,
    has_index,
    index_started,
    index_status,
)

__all__ = [
    "IndexState",
    "IndexStatus",
    "build_index",
    "drop_index",
    "has_index",
    "index_started",
    "index_status",
]

#: Spans per transaction: about a tenth of a second of indexing, so imports never wait long.
BATCH_SPANS = 1000
#: name, input and output count this much more than attribute values when ranking matches.
RANK_SQL = "bm25(8.0, 4.0, 4.0, 1.0)"


@dataclass
class IndexState:
    """Progress reporting and cancellation for a running build, free of any UI toolkit."""

    on_progress: Callable[[IndexStatus], None] | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event)

    def cancel(self) -> None:
        self.cancel_event.set()

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()


def _texts(span: PendingSpan | StaleSpan) -> tuple[str, ...]:
    return span_texts(span.name, span.status_message, span.doc, span.logs, span.parent)


def build_index(db_path: Path, state: IndexState | None = None) -> IndexStatus:
    """Index every span not indexed yet; returns the coverage reached (less than all if cancelled).

    Safe beside imports and beside another build: each batch is checked against the watermark
    inside its transaction, so no span is indexed twice. SQLite's errors (a full disk, a damaged
    store) come out as StoreError.
    """
    state = state or IndexState()
    with store_errors(db_path):
        index = IndexWriter(db_path, lambda: state.cancelled)
        try:
            index.ensure(RANK_SQL)
            for table, stale in (
                ("search_running", index.completed()),
                ("search_waiting", index.found_parents()),
            ):
                if stale:
                    index.replace(stale, [_texts(s) for s in stale], table)
            index.refresh(span_texts)
            index.restatus(span_texts)
            status = index.status()
            if state.on_progress is not None:
                state.on_progress(status)
            while not state.cancelled:
                last, indexed, spans = index.pending(BATCH_SPANS)
                if not spans:
                    break
                rows = [(s.id, *_texts(s)) for s in spans]
                running = [row for row, span in zip(rows, spans, strict=True) if span.running]
                waiting = [
                    row for row, span in zip(rows, spans, strict=True) if span.waiting and not span.running
                ]
                if index.add(last, spans, rows, running, waiting) and state.on_progress is not None:
                    done = indexed + len(rows)
                    state.on_progress(IndexStatus(done, max(done, status.total)))
            return index.status()
        finally:
            index.close()
