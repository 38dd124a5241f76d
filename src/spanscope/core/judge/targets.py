"""Which spans a judge run judges: those a search finds (the search language of core/search, model
calls by default), within one trace or the whole store, never the judge's own calls."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from spanscope.core.search.find import COUNT_CAP, search
from spanscope.core.store.db import Database

#: What is judged when no filter is given: every model call.
DEFAULT_FILTER = "kind:llm"


@dataclass(frozen=True)
class Selection:
    #: (trace id, span id), best match first (newest first for filters only).
    targets: list[tuple[str, str]]
    #: More spans matched than the limit let through.
    more: bool


def select_spans(
    db: Database,
    is_judge_trace: Callable[[str], bool],
    *,
    filter_text: str | None = None,
    trace_id: str | None = None,
    limit: int = 100,
) -> Selection:
    """The spans matching `filter_text` (DEFAULT_FILTER when None) in trace `trace_id` (a full id;
    None: every trace), at most `limit`, leaving out the spans of judge traces. Raises
    QuerySyntaxError for a filter the search cannot read. Covers what the search index holds, so a
    filter with words needs the index built first (filters on columns alone do not)."""
    query = (filter_text or "").strip() or DEFAULT_FILTER
    if trace_id is not None:
        query = f"{query} trace:{trace_id}"
    asked = limit
    while True:
        result = search(db, query, limit=asked)
        judges: dict[str, bool] = {}
        kept = [
            (hit.trace_id, hit.span_id)
            for hit in result.hits
            if not judges.setdefault(hit.trace_id, is_judge_trace(hit.trace_id))
        ]
        every_hit = len(result.hits) >= result.count and not result.more
        if len(kept) >= limit or every_hit or asked >= COUNT_CAP:
            return Selection(kept[:limit], len(kept) > limit or (not every_hit and len(kept) >= limit))
        asked = min(COUNT_CAP, asked * 4)


def select_in_traces(
    db: Database,
    is_judge_trace: Callable[[str], bool],
    trace_ids: list[str],
    *,
    filter_text: str | None = None,
    limit: int = 100,
) -> Selection:
    """`select_spans` over several traces (the search takes one trace at a time), in their order."""
    found: list[tuple[str, str]] = []
    for trace_id in trace_ids:
        if len(found) >= limit:
            return Selection(found, True)
        chosen = select_spans(
            db, is_judge_trace, filter_text=filter_text, trace_id=trace_id, limit=limit - len(found)
        )
        found += chosen.targets
        if chosen.more:
            return Selection(found, True)
    return Selection(found, False)
