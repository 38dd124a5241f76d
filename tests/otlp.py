"""Build small OTLP/JSON files for tests, the way the Collector's file exporter writes them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from raw_models import raw_model

TRACE = "0af7651916cd43dd8448eb211c80319c"


def value(v: Any) -> dict[str, Any]:
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    return {"stringValue": v}


def span(
    span_id: str,
    parent: str | None = None,
    *,
    trace: str = TRACE,
    name: str | None = None,
    start: int = 1_000,
    end: int | None = 2_000,
    attrs: dict[str, Any] | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    s: dict[str, Any] = {
        "traceId": trace,
        "spanId": span_id,
        "name": name or f"span-{span_id[-2:]}",
        "kind": 1,
        "startTimeUnixNano": str(1_700_000_000_000_000_000 + start),
        "attributes": [{"key": k, "value": value(v)} for k, v in (attrs or {}).items()],
        "status": {"code": 2, "message": error} if error else {},
    }
    if end is not None:
        s["endTimeUnixNano"] = str(1_700_000_000_000_000_000 + end)
    if parent:
        s["parentSpanId"] = parent
    return s


def llm(
    span_id: str, parent: str | None, model: str, tokens_in: int, tokens_out: int, **kw: Any
) -> dict[str, Any]:
    attrs = {
        "openinference.span.kind": "LLM",
        "llm.model_name": model,
        "llm.token_count.prompt": tokens_in,
        "llm.token_count.completion": tokens_out,
        "llm.token_count.total": tokens_in + tokens_out,
        **kw.pop("attrs", {}),
    }
    return span(span_id, parent, attrs=attrs, **kw)


def request(*spans: dict[str, Any], service: str = "test-service") -> dict[str, Any]:
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
                "scopeSpans": [{"scope": {"name": "tests"}, "spans": list(spans)}],
            }
        ]
    }


def write_jsonl(path: Path, *lines: dict[str, Any] | bytes) -> Path:
    path.write_bytes(b"".join((ln if isinstance(ln, bytes) else orjson.dumps(ln)) + b"\n" for ln in lines))
    return path


def raw_model_calls(path) -> dict[str | None, list[int]]:
    """calls, prompt and completion tokens per model, straight from the OTLP JSON."""
    totals: dict[str | None, list[int]] = {}
    for line in path.read_bytes().splitlines():
        for resource in orjson.loads(line)["resourceSpans"]:
            for scope in resource["scopeSpans"]:
                for s in scope["spans"]:
                    attrs = {a["key"]: next(iter(a["value"].values())) for a in s.get("attributes", [])}
                    if attrs.get("openinference.span.kind") not in ("LLM", "EMBEDDING"):
                        continue
                    model = raw_model(attrs)
                    row = totals.setdefault(model, [0, 0, 0])
                    row[0] += 1
                    row[1] += int(attrs.get("llm.token_count.prompt", 0))
                    row[2] += int(attrs.get("llm.token_count.completion", 0))
    return totals
