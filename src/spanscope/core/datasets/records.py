"""One chosen span as a dataset record: its input, the expected answer, metadata and a link back.

The expected answer is the span's reference when there is one (the source's own: an Inspect target,
an MLflow expectation; or an attached references file's, see evaluation/reference_metrics), else what
the span recorded as its output. A span with no input, or with neither a reference nor an output,
makes no record: `skip_reason` says why, for the summary.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

from spanscope.core.evaluation.reference_metrics import ReferenceMatcher
from spanscope.core.model import Span, Status

RECORDED_OUTPUT = "recorded output"


@dataclass(frozen=True)
class Link:
    """Where records point back to: the store's path (None for a temporary store of trace files),
    and the words that open it in a command (`--db STORE`, or the trace files)."""

    store: str | None
    opens: tuple[str, ...]

    def command(self, trace_id: str) -> str:
        """The command that shows the record's trace."""
        return shlex.join(["spanscope", "tree", *self.opens, trace_id])


@dataclass(frozen=True)
class Record:
    """A span's dataset record in our own terms; `formats` writes it in each format's."""

    trace_id: str
    span_id: str
    #: The span's shown input: normalized chat messages, a text or a JSON value.
    input: Any
    #: The reference's texts (one or more), else the recorded output (messages, text or JSON).
    expected: Any
    #: "reference: <where from>" or "recorded output".
    expected_from: str
    metadata: dict[str, Any]
    link: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.trace_id}:{self.span_id}"


def skip_reason(span: Span, has_reference: bool) -> str | None:
    """Why the span makes no record, or None when it makes one."""
    if span.input in (None, "", [], {}):
        return "no input recorded"
    if not has_reference and span.output in (None, "", [], {}):
        return "no output (the call failed)" if span.status is Status.ERROR else "no output recorded"
    return None


def cost_fields(span: Span, price_usd: float | None) -> dict[str, Any]:
    """The cost every view shows and where it came from (as `spanscope export` gives it)."""
    if span.cost_usd is not None:
        return {"cost_usd": span.cost_usd, "cost_source": "reported"}
    if price_usd is not None:
        return {"cost_usd": price_usd, "cost_source": "computed"}
    return {"cost_usd": None, "cost_source": "unknown" if span.is_model_call else None}


def _latency_ms(span: Span) -> float | None:
    return None if span.end_ns is None else (span.end_ns - span.start_ns) / 1e6


def make_record(
    span: Span, price_usd: float | None, trace_name: str | None, references: ReferenceMatcher, link: Link
) -> Record | str:
    """The span's record, or the reason it makes none."""
    reference = references.reference(span)
    why = skip_reason(span, reference is not None)
    if why is not None:
        return why
    if reference is not None:
        expected: Any = reference.expected[0] if len(reference.expected) == 1 else list(reference.expected)
        expected_from = f"reference: {reference.origin}"
    else:
        expected, expected_from = span.output, RECORDED_OUTPUT
    metadata = {
        "model": span.model,
        "provider": span.provider,
        "trace_name": trace_name,
        "span_name": span.name,
        "kind": span.kind.value,
        "status": span.status.value,
        "input_tokens": span.input_tokens,
        "output_tokens": span.output_tokens,
        "total_tokens": span.total_tokens,
        "cache_read_tokens": span.cache_read_tokens,
        "reasoning_tokens": span.reasoning_tokens,
        "latency_ms": _latency_ms(span),
        **cost_fields(span, price_usd),
        "scores": [
            {"name": s.name, "value": s.value, "label": s.label, "comment": s.comment, "source": s.source}
            for s in span.scores
        ],
    }
    back = {
        "store": link.store,
        "trace_id": span.trace_id,
        "span_id": span.span_id,
        "open": link.command(span.trace_id),
    }
    return Record(span.trace_id, span.span_id, span.input, expected, expected_from, metadata, back)
