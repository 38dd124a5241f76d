"""A reference reading of real OTLP captures, independent of our readers and conventions, and the
store figures checked against it: spans, traces, errors, model calls, tokens and trace roll-ups.

Files are OTLP/HTTP JSON bodies, JSON lines of bodies, merged JSON or protobuf bodies (decoded by
the protobuf package itself); attributes become a plain dict, NaN and null values None.
"""

from __future__ import annotations

import base64
import json
import math
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from spanscope.core.model import MODEL_KINDS, Span, Status
from spanscope.core.store import connect, import_file
from spanscope.core.store.queries import TraceRow, iter_spans, list_traces


@dataclass
class RawSpan:
    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    status: int
    attrs: dict[str, Any]


def _value(any_value: dict[str, Any]) -> Any:
    for key, value in any_value.items():
        if key == "arrayValue":
            return [_value(v) for v in value.get("values", [])]
        if key == "intValue":
            return int(value)
        if key == "doubleValue":
            number = None if value is None else float(value)
            return None if number is None or math.isnan(number) else number
        return value
    return None


def _hex(value: str, binary: bool) -> str:
    return base64.b64decode(value).hex() if binary else value


def _bodies(path: Path) -> Iterator[tuple[dict[str, Any], bool]]:
    """(request as JSON, ids in base64)."""
    if path.is_dir():
        for part in sorted(path.iterdir()):
            yield from _bodies(part)
    elif path.suffix == ".binpb":
        request = ExportTraceServiceRequest()
        request.ParseFromString(path.read_bytes())
        yield json_format.MessageToDict(request, use_integers_for_enums=True), True
    elif path.suffix == ".jsonl":
        for line in path.read_text().splitlines():
            yield json.loads(line), False
    else:
        yield json.loads(path.read_text()), False


def raw_spans(path: Path) -> list[RawSpan]:
    return [
        RawSpan(
            _hex(s["traceId"], binary),
            _hex(s["spanId"], binary),
            _hex(s["parentSpanId"], binary) if s.get("parentSpanId") else None,
            s["name"],
            int(s.get("status", {}).get("code", 0)),
            {a["key"]: _value(a.get("value", {})) for a in s.get("attributes", [])},
        )
        for body, binary in _bodies(path)
        for rs in body["resourceSpans"]
        for ss in rs["scopeSpans"]
        for s in ss["spans"]
    ]


class Capture(NamedTuple):
    """A capture as written (raw spans) and as the store gives it back (spans by id, traces)."""

    raw: list[RawSpan]
    spans: dict[str, Span]
    traces: list[TraceRow]


def captured(path: Path, tmp_path: Path) -> Capture:
    """Import a capture file (a folder: its requests in order) into a new store and read it back."""
    db_path = tmp_path / "store.db"
    for part in sorted(path.iterdir()) if path.is_dir() else [path]:
        import_file(db_path, part)
    db = connect(db_path)
    return Capture(raw_spans(path), {s.span_id: s for s in iter_spans(db)}, list_traces(db))


def tokens(value: Any) -> int | None:
    return None if value is None else int(value)


def check_figures(
    capture: Capture,
    model_call: Callable[[RawSpan], bool],
    usage: Callable[[RawSpan], tuple[str | None, int | None, int | None]],
    failed: Callable[[RawSpan], bool] = lambda s: s.status == 2,
) -> None:
    """Spans, traces, errors, the model calls and their tokens per model, and each trace's roll-up as
    the sum over its model calls only; `usage` gives (model, input, output) of a raw model call."""
    raw, by_id, traces = capture
    spans = list(by_id.values())
    assert sorted(by_id) == sorted(s.span_id for s in raw)
    assert {t.trace_id for t in traces} == {s.trace_id for s in raw}
    assert sum(t.span_count for t in traces) == len(raw)
    assert sorted(s.span_id for s in spans if s.status == Status.ERROR) == sorted(
        s.span_id for s in raw if failed(s)
    )
    assert sum(t.error_count for t in traces) == sum(map(failed, raw))
    calls = [s for s in raw if model_call(s)]
    assert sorted(s.span_id for s in spans if s.kind in MODEL_KINDS) == sorted(s.span_id for s in calls)
    expected: dict[str | None, list[int]] = defaultdict(lambda: [0, 0])
    per_trace: dict[str, list[int | None]] = defaultdict(lambda: [None, None])
    for call in calls:
        model, input_tokens, output_tokens = usage(call)
        span = by_id[call.span_id]
        assert (span.model, span.input_tokens, span.output_tokens) == (model, input_tokens, output_tokens)
        expected[model][0] += input_tokens or 0
        expected[model][1] += output_tokens or 0
        for i, count in enumerate((input_tokens, output_tokens)):
            if count is not None:
                per_trace[call.trace_id][i] = (per_trace[call.trace_id][i] or 0) + count
    got: dict[str | None, list[int]] = defaultdict(lambda: [0, 0])
    for span in spans:
        if span.kind in MODEL_KINDS:
            got[span.model][0] += span.input_tokens or 0
            got[span.model][1] += span.output_tokens or 0
    assert got == expected
    for trace in traces:
        assert [trace.input_tokens, trace.output_tokens] == per_trace[trace.trace_id]
