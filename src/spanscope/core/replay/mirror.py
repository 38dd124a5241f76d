"""A replayed trace as a trace of its own that mirrors the original's tree, so the trace diff aligns
original and replay step by step.

Every span gets a new id, one to one (parents follow), under a new trace id. The replayed model
calls become the spans `call_span` makes of their answers (linked to the calls they replay); every
other span is a copy: name, kind, status, attributes, input and output as recorded, in the project
(service) of Spanscope's replays, as the replayed calls are, so the trace list keeps replays apart
from the user's own traces. The mirror keeps the original's timeline, moved to when the replay
started: every span sits where it sat relative to the trace's start, a replayed call with the
duration it took now (the calls ran a few at a time, not one after another as recorded, so their own
clock times would put children before their parents). Scores stay with the original (nobody rated
the replay) and log records are not copied (the copies carry their input and output themselves).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from spanscope.core.endpoints.chat import ChatRequest, Completion
from spanscope.core.endpoints.config import Endpoint
from spanscope.core.model import Event, Span
from spanscope.core.replay.spans import SERVICES, call_span, new_span_id, new_trace_id


class _Ids(dict[str, str]):
    """Original span id -> new span id, made on first use (a parent outside the trace, an orphan's,
    gets one too, so orphans stay siblings of each other)."""

    def __missing__(self, old: str) -> str:
        self[old] = new = new_span_id()
        return new


def _shifted(ns: int | None, offset: int) -> int | None:
    return None if ns is None else ns + offset


def _copy(span: Span, trace_id: str, ids: _Ids, offset: int) -> Span:
    return dataclasses.replace(
        span,
        trace_id=trace_id,
        span_id=ids[span.span_id],
        parent_id=None if span.parent_id is None else ids[span.parent_id],
        start_ns=span.start_ns + offset,
        end_ns=_shifted(span.end_ns, offset),
        events=[Event(e.name, _shifted(e.time_ns, offset), e.attributes) for e in span.events],
        attributes=dict(span.attributes),
        service=SERVICES["replay"],
        resource={**span.resource, "service.name": SERVICES["replay"]},
        scores=[],
        logs=[],
        orphan=False,
        clock_skew=False,
    )


def mirror_trace(
    original: Sequence[Span],
    answers: Mapping[str, tuple[ChatRequest, Completion]],
    *,
    endpoint: Endpoint,
    run: str,
) -> list[Span]:
    """The replay of `original` (one trace's spans) as new spans: `answers` maps each replayed span's
    id to the request sent and the completion it got; spans not in it are copied."""
    trace_id, ids = new_trace_id(), _Ids()
    offset = 0
    if answers and original:
        offset = min(c.start_ns for _, c in answers.values()) - min(s.start_ns for s in original)
    spans = []
    for span in original:
        if span.span_id not in answers:
            spans.append(_copy(span, trace_id, ids, offset))
            continue
        request, completion = answers[span.span_id]
        replayed = call_span(
            request,
            completion,
            endpoint=endpoint,
            purpose="replay",
            of_trace_id=span.trace_id,
            of_span_id=span.span_id,
            run=run,
            trace_id=trace_id,
            span_id=ids[span.span_id],
            parent_id=None if span.parent_id is None else ids[span.parent_id],
            name=span.name,
        )
        start_ns = span.start_ns + offset
        end_ns = start_ns + completion.end_ns - completion.start_ns
        spans.append(dataclasses.replace(replayed, start_ns=start_ns, end_ns=end_ns))
    return spans
