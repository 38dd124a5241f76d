"""A replayed trace as a trace of its own that mirrors the original's tree, so the trace diff aligns
original and replay step by step.

Every span gets a new id, one to one (parents follow), under a new trace id. The replayed model calls
become the spans `call_span` makes of their answers (linked to the calls they replay); every other
span is a copy: name, kind, status, attributes, input and output as recorded. The copies move in time
by one offset, the one that puts the first replayed call where its answer started: the mirror reads
as a run of today with the original's shape, not as a trace stretched from the day it was recorded.
Scores stay with the original (nobody rated the replay) and log records are not copied (the copies
carry their input and output themselves).
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Mapping, Sequence

from spanscope.core.endpoints.chat import ChatRequest, Completion
from spanscope.core.endpoints.config import Endpoint
from spanscope.core.model import Event, Span
from spanscope.core.replay.spans import call_span


def new_trace_id() -> str:
    return secrets.token_hex(16)


def new_span_id() -> str:
    return secrets.token_hex(8)


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
    replayed = [s for s in original if s.span_id in answers]
    if replayed:
        first = min(replayed, key=lambda s: s.start_ns)
        offset = min(c.start_ns for _, c in answers.values()) - first.start_ns
    else:
        offset = 0
    spans = []
    for span in original:
        if span.span_id not in answers:
            spans.append(_copy(span, trace_id, ids, offset))
            continue
        request, completion = answers[span.span_id]
        spans.append(
            call_span(
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
        )
    return spans
