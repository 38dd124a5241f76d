"""Which spans a dataset holds: given span ids, the spans of given traces, and the spans a search
filter matches, read page by page so a million-span selection keeps its memory bounded.

A trace or filter chooses spans of one kind, model calls (LLM) unless told otherwise: those are the
spans whose input and output make an evaluation sample. A filter that names a kind (`kind:tool`)
keeps its own, and a span named by its id is taken whatever its kind. A span chosen twice is written
once.

What is held meanwhile: the store ids of the matching spans (one list, some 40 MB for a million)
and one page of full spans; the named spans are read trace by trace.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from spanscope.core.model import Kind, Span, Status
from spanscope.core.search.index import IndexState, build_index
from spanscope.core.search.query import Query, QuerySyntaxError, parse
from spanscope.core.store.db import Database
from spanscope.core.store.queries import (
    NotFound,
    iter_priced_spans,
    priced_spans,
    resolve_span,
    resolve_trace_id,
)
from spanscope.core.store.search_index import SearchError, has_index, matching_ids

#: Spans read from the store at a time.
PAGE = 500
#: The whole of a match list: matching_ids counts and returns up to its limits.
_ALL = sys.maxsize // 2

PricedSpan = tuple[Span, float | None]


class SelectionError(ValueError):
    """The selection cannot be read: a bad filter, an unknown kind or id; the message says why."""


@dataclass(frozen=True)
class SpanRef:
    """A span to take: its id (or a unique prefix), in `trace` when given (else anywhere)."""

    span: str
    trace: str | None = None


@dataclass(frozen=True)
class Selection:
    spans: tuple[SpanRef, ...] = ()
    #: Trace ids or unique prefixes: their spans of `kind`.
    traces: tuple[str, ...] = ()
    #: A search in the search language (query.SYNTAX_HELP): the matching spans of `kind` (within
    #: `traces` when some are given).
    filter: str | None = None
    #: The kind traces and filters choose (None: every kind).
    kind: Kind | None = Kind.LLM

    @property
    def whole_store(self) -> bool:
        """Nothing named: every span of the store (of `kind`)."""
        return not self.spans and not self.traces and not self.filter


def kind_named(text: str) -> Kind | None:
    """The kind a user typed (any case; "any" or "all": every kind); SelectionError if none is."""
    if text.lower() in ("any", "all"):
        return None
    kinds = {k.value.lower(): k for k in Kind}
    if text.lower() not in kinds:
        raise SelectionError(f"{text!r} is not a span kind; use any, or one of {', '.join(sorted(kinds))}")
    return kinds[text.lower()]


def _query(selection: Selection) -> Query:
    """The filter's query with the selection's kind, unless the filter names one."""
    if selection.filter:
        try:
            query = parse(selection.filter)
        except QuerySyntaxError as exc:
            raise SelectionError(f"bad filter: {exc}") from None
        traces = query.filters.get("trace", ())
        if len(traces) > 1 or (traces and selection.traces):
            raise SelectionError("give one trace:ID in the filter, or the traces apart from it (--trace)")
    else:
        query = Query()
    if selection.kind is not None and "kind" not in query.filters:
        query.filters["kind"] = [selection.kind.value]
    return query


def check(selection: Selection) -> None:
    """Raise SelectionError if the selection's filter cannot be read (before any work is done)."""
    _query(selection)


def prepare(db_path: Path, selection: Selection, state: IndexState | None = None) -> None:
    """Bring the search index up to date when the filter searches text (its filters alone need none)."""
    if selection.filter and _query(selection).fts() is not None:
        build_index(db_path, state)


def _searches(db: Database, selection: Selection) -> list[tuple[str | None, dict[str, list[str]]]]:
    """The (FTS expression, filters) to run: one per trace, or one over the store."""
    query = _query(selection)
    expression = query.fts()
    if expression is not None and not has_index(db):
        raise SelectionError("the search index is not built yet: search the store once, then try again")
    if selection.whole_store:
        # Every span has one of the statuses: the search's way of saying "all spans".
        return [(None, query.filters or {"status": [s.value for s in Status]})]
    if not selection.traces and not selection.filter:
        return []  # spans named by id only
    if not selection.traces:
        return [(expression, query.filters)]
    return [(expression, {**query.filters, "trace": [t]}) for t in _trace_ids(db, selection)]


def _trace_ids(db: Database, selection: Selection) -> list[str]:
    try:
        return list(dict.fromkeys(resolve_trace_id(db, t) for t in selection.traces))
    except NotFound as exc:
        raise SelectionError(str(exc)) from None


def _rowids(db: Database, expression: str | None, filters: dict[str, list[str]]) -> list[int]:
    try:
        ids, _, _ = matching_ids(db, expression, filters, _ALL, _ALL)
    except (NotFound, SearchError) as exc:
        raise SelectionError(str(exc)) from None
    return sorted(ids)  # store order: the order spans were stored in, and chunks read once each


def count(db: Database, selection: Selection) -> int:
    """How many spans the selection chooses (a span named and also matched counts twice)."""
    total = len(selection.spans)
    for expression, filters in _searches(db, selection):
        try:
            total += matching_ids(db, expression, filters, 0, _ALL)[1]
        except (NotFound, SearchError) as exc:
            raise SelectionError(str(exc)) from None
    return total


def chosen_spans(
    db: Database, selection: Selection, cancelled: Callable[[], bool] = lambda: False
) -> Iterator[PricedSpan]:
    """The chosen spans with their computed costs (`iter_priced_spans`): named spans first, then
    what traces and the filter choose, in store order; stops when `cancelled()`."""
    named = _named(db, selection.spans)
    for trace_id, span_ids in named.items():
        for span, price in iter_priced_spans(db, trace_id):
            if span.span_id in span_ids:
                yield span, price
        if cancelled():
            return
    for expression, filters in _searches(db, selection):
        ids = _rowids(db, expression, filters)
        for at in range(0, len(ids), PAGE):
            if cancelled():
                return
            for span, price in priced_spans(db, ids[at : at + PAGE]):
                if span.span_id not in named.get(span.trace_id, ()):
                    yield span, price


def _named(db: Database, refs: tuple[SpanRef, ...]) -> dict[str, set[str]]:
    """{trace id: span ids} of the spans named by id."""
    found: dict[str, set[str]] = {}
    try:
        for ref in refs:
            trace_id, span_id = resolve_span(db, ref.span, ref.trace)
            found.setdefault(trace_id, set()).add(span_id)
    except NotFound as exc:
        raise SelectionError(str(exc)) from None
    return found
