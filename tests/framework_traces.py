"""Agent-framework fixtures two ways: the raw OTLP JSON read here with plain json (the reference), and
the same file imported into a store (what every view reads)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from raw_models import raw_model
from spanscope.core.model import Span
from spanscope.core.store import Outcome, connect, import_file
from spanscope.core.store.queries import TraceRow, iter_spans, list_traces
from spanscope.core.store.span_io import trace_io


def _value(value: dict[str, Any]) -> Any:
    kind, inner = next(iter(value.items())) if value else (None, None)
    if kind == "arrayValue":
        return [_value(item) for item in inner.get("values", [])]
    if kind == "kvlistValue":
        return {kv["key"]: _value(kv.get("value", {})) for kv in inner.get("values", [])}
    return inner


def _attrs(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {item["key"]: _value(item.get("value", {})) for item in items}


@dataclass
class RawSpan:
    trace: str
    span: str
    parent: str | None
    name: str
    error: bool
    attrs: dict[str, Any]
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def raw_spans(spans_file: Path) -> list[RawSpan]:
    """The spans of the base's `.otlp.jsonl` (every encoding of a base holds the same spans)."""
    base = spans_file.name.split(".otlp")[0]
    spans = []
    for line in (spans_file.parent / f"{base}.otlp.jsonl").read_text().splitlines():
        for resource in json.loads(line)["resourceSpans"]:
            for scope in resource["scopeSpans"]:
                for s in scope["spans"]:
                    spans.append(
                        RawSpan(
                            s["traceId"],
                            s["spanId"],
                            s.get("parentSpanId") or None,
                            s["name"],
                            s.get("status", {}).get("code") == 2,
                            _attrs(s.get("attributes", [])),
                            [(e["name"], _attrs(e.get("attributes", []))) for e in s.get("events", [])],
                        )
                    )
    return spans


#: Token and model keys of GenAI model-call spans.
GENAI_TOKENS = ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens")
GENAI_MODEL = ("gen_ai.response.model", "gen_ai.request.model")


def operation(name: str) -> Callable[[list[RawSpan]], list[RawSpan]]:
    """Selects the spans of one `gen_ai.operation.name` (a framework's model calls)."""
    return lambda raw: [s for s in raw if s.attrs.get("gen_ai.operation.name") == name]


def spans_files(folder: Path, variant: str = "") -> list[Path]:
    """Every spans file of a fixture folder (of one variant: `-{variant}.otlp.`), in every encoding
    (OTLP log files are not spans)."""
    return sorted(
        p
        for p in folder.iterdir()
        if ".otlp." in p.name
        and ".otlp-logs." not in p.name
        and (not variant or f"-{variant}.otlp." in p.name)
    )


@dataclass
class Imported:
    spans: dict[str, Span]
    counted: set[str]
    traces: dict[str, TraceRow]
    io: dict[str, tuple[Any, Any]]


def imported(store: Path, spans_file: Path) -> Imported:
    assert import_file(store, spans_file).outcome is Outcome.IMPORTED
    db = connect(store, readonly=True)
    counted = {span_id for (span_id,) in db.execute("SELECT span_id FROM spans WHERE counted = 1")}
    traces = {t.trace_id: t for t in list_traces(db)}
    io = {span_id: pair for trace in traces for span_id, pair in trace_io(db, trace).items()}
    return Imported({s.span_id: s for s in iter_spans(db)}, counted, traces, io)


def loaded(store_dir: Path, spans_file: Path) -> tuple[list[RawSpan], Imported]:
    """The file read raw, and imported into a new store in `store_dir`."""
    return raw_spans(spans_file), imported(store_dir / "s.db", spans_file)


def texts(value: Any) -> str:
    """Every string inside a value (messages, their parts, tool call arguments), joined: what a text
    read from the raw file must be found in."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "\n".join(texts(v) for v in value.values())
    if isinstance(value, list):
        return "\n".join(texts(v) for v in value)
    return "" if value is None else json.dumps(value)


def usage_by_model(spans: list[RawSpan], model_keys: tuple[str, ...], token_keys: tuple[str, str]) -> dict:
    """Input and output tokens per model summed from raw attributes of the given model-call spans;
    a call that reported none adds nothing."""
    totals: dict[str, list[int]] = {}
    for s in spans:
        model = raw_model(s.attrs, model_keys)
        row = totals.setdefault(model, [0, 0])
        for i, key in enumerate(token_keys):
            row[i] += int(s.attrs.get(key, 0))
    return totals


def stored_usage(result: Imported) -> dict:
    """The same figures from the store: counted model calls, per model."""
    totals: dict[str, list[int]] = {}
    for span_id in result.counted:
        s = result.spans[span_id]
        row = totals.setdefault(s.model, [0, 0])
        row[0] += s.input_tokens or 0
        row[1] += s.output_tokens or 0
    return totals


def check_structure(result: Imported, raw: list[RawSpan], calls: list[RawSpan], token_keys: tuple[str, str]):
    """Spans, traces, errors, the counted model calls, and each trace's roll-up = its calls' raw sum."""
    assert len(result.spans) == len(raw)
    assert set(result.traces) == {s.trace for s in raw}
    assert sum(t.error_count for t in result.traces.values()) == sum(s.error for s in raw)
    assert result.counted == {s.span for s in calls}
    for trace_id, trace in result.traces.items():
        mine = [s for s in calls if s.trace == trace_id]
        reported = [s for s in mine if token_keys[0] in s.attrs]
        expected_in = sum(int(s.attrs[token_keys[0]]) for s in reported) if reported else None
        expected_out = sum(int(s.attrs[token_keys[1]]) for s in reported) if reported else None
        assert (trace.input_tokens, trace.output_tokens) == (expected_in, expected_out), trace.root_name


def check_every_encoding(
    store_dir: Path,
    paths: list[Path],
    model_calls: Callable[[list[RawSpan]], list[RawSpan]],
    model_keys: tuple[str, ...] = GENAI_MODEL,
    token_keys: tuple[str, str] = GENAI_TOKENS,
) -> None:
    """Each file imports with the raw figures: structure, counted calls, roll-ups, tokens per model."""
    assert paths
    for n, path in enumerate(paths):
        raw = raw_spans(path)
        calls = model_calls(raw)
        result = imported(store_dir / f"{n}.db", path)
        check_structure(result, raw, calls, token_keys)
        assert stored_usage(result) == usage_by_model(calls, model_keys, token_keys)
