"""A review walk: the traces of one trace-list filter, in its order, one at a time, with how many of
them the reviewer has reviewed, and what each trace was asked and finally answered.

The traces are fixed when the walk starts (an array of traces-table rowids, 8 bytes a trace), so
traces arriving meanwhile never shift the reviewer's place. A trace counts as reviewed once the
reviewer gave the whole trace a score, a label or a comment.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from typing import Any

from spanscope.core.model import Span
from spanscope.core.store.db import Database
from spanscope.core.store.lookups import llm_span_ids, root_span_id, trace_rowid
from spanscope.core.store.queries import NotFound, TraceRow, get_span
from spanscope.core.store.review import reviewed_rowids
from spanscope.core.store.trace_query import TraceFilter, fetch_rows, sorted_trace_ids

#: How many model calls, newest first, are searched for an output when the root span has none.
OUTPUT_SEARCH_LIMIT = 50


@dataclass(frozen=True, slots=True)
class TraceIO:
    """What a trace was given and what it finally answered, and the spans each came from."""

    input: Any
    input_span: Span | None
    output: Any
    output_span: Span | None


def _root_span(db: Database, trace_id: str) -> Span | None:
    span_id = root_span_id(db, trace_id)
    return None if span_id is None else get_span(db, trace_id, span_id)


def _llm_spans(db: Database, trace_id: str, newest_first: bool) -> list[str]:
    return llm_span_ids(db, trace_id, newest_first, OUTPUT_SEARCH_LIMIT)


def _first_with(db: Database, trace_id: str, span_ids: list[str], field: str) -> Span | None:
    for span_id in span_ids:
        try:
            span = get_span(db, trace_id, span_id)
        except NotFound:
            continue
        if getattr(span, field) is not None:
            return span
    return None


def trace_io(db: Database, trace_id: str) -> TraceIO:
    """The root span's input and output; where it has none, the first model call's input and the
    last model call's output instead."""
    root = _root_span(db, trace_id)
    input_span = root if root is not None and root.input is not None else None
    output_span = root if root is not None and root.output is not None else None
    if input_span is None:
        input_span = _first_with(db, trace_id, _llm_spans(db, trace_id, newest_first=False), "input")
    if output_span is None:
        output_span = _first_with(db, trace_id, _llm_spans(db, trace_id, newest_first=True), "output")
    return TraceIO(
        None if input_span is None else input_span.input,
        input_span,
        None if output_span is None else output_span.output,
        output_span,
    )


class ReviewWalk:
    """The reviewer's place in the traces of a filter, and which of them they reviewed."""

    def __init__(
        self,
        db: Database,
        trace_filter: TraceFilter,
        order_by: str = "start_ns",
        descending: bool = False,
        author: str = "",
        rowids: array | None = None,
    ) -> None:
        """`rowids`: the filter's traces already sorted (a list showing them has them), else read here."""
        self.db = db
        self.trace_filter = trace_filter
        self.order_by, self.descending = order_by, descending
        self.author = author
        self._rowids = sorted_trace_ids(db, trace_filter, order_by, descending) if rowids is None else rowids
        # Traces keep their rowid when an import updates them and new ones get higher rowids, so
        # this bounds the filter to the traces the walk holds.
        self._last_rowid = max(self._rowids, default=0)
        self._reviewed = self._reviewed_rowids()
        self.position = 0

    def _reviewed_rowids(self) -> set[int]:
        return reviewed_rowids(self.db, self.trace_filter, self._last_rowid, self.author)

    def __len__(self) -> int:
        return len(self._rowids)

    @property
    def reviewed_count(self) -> int:
        return len(self._reviewed)

    def trace(self, position: int | None = None) -> TraceRow | None:
        """The trace at `position` (default: the current one); None past the end or if it is gone."""
        position = self.position if position is None else position
        if not 0 <= position < len(self._rowids):
            return None
        return fetch_rows(self.db, self._rowids[position : position + 1])[0]

    def is_reviewed(self, position: int | None = None) -> bool:
        position = self.position if position is None else position
        return 0 <= position < len(self._rowids) and self._rowids[position] in self._reviewed

    def move(self, step: int) -> bool:
        """Go `step` traces on (negative: back), stopping at either end; False if it did not move."""
        target = max(0, min(len(self._rowids) - 1, self.position + step))
        moved = target != self.position
        self.position = max(target, 0)
        return moved

    def go_to(self, trace_id: str | None) -> bool:
        """Make `trace_id` current if the walk holds it; False otherwise."""
        if trace_id is None:
            return False
        rowid = trace_rowid(self.db, trace_id)
        if rowid is None:
            return False
        try:
            self.position = self._rowids.index(rowid)
        except ValueError:
            return False
        return True

    def next_unreviewed(self) -> bool:
        """Go to the first trace after this one (wrapping round) not yet reviewed; False if none."""
        count = len(self._rowids)
        for offset in range(1, count + 1):
            position = (self.position + offset) % count
            if self._rowids[position] not in self._reviewed:
                self.position = position
                return True
        return False

    def recount(self) -> None:
        """Read again which traces the reviewer reviewed (after a review was given or taken back)."""
        self._reviewed = self._reviewed_rowids()
