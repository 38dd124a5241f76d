"""One trace of a pathological shape as OTLP/JSON: a parent chain (each span the parent of the next) or
a fan-out (one root with every other span its child). Shared by the deep-tree tests and
benchmarks/bench_deep_trees.py.

Spans are a realistic mix so every command has work: every RETRIEVER_EVERY-th span is a retriever
returning two documents, every LLM_EVERY-th an LLM call with a prompt, an answer and token counts, the
rest chains; every ERROR_EVERY-th failed. The last span (the deepest of a chain) is always an LLM call
whose answer the retrieved documents support, so grounding has something to check.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import orjson

from otlp import request, span
from spanscope.core.store import Outcome, connect, import_file
from spanscope.core.store.queries import trace_rows

Shape = Literal["chain", "fan"]
TRACE_ID = "d11d11d11d11d11d11d11d11d11d11d1"
WRAPPED_TRACE_ID = "e" * 32
WRAPPER_ID = "00000000ffffffff"
RETRIEVER_EVERY = 7
LLM_EVERY = 5
#: Every ERROR_EVERY-th span failed (in a chain, as an exception passing up through its callers).
ERROR_EVERY = 3
#: Spans per ExportTraceServiceRequest line, as a collector batches them.
BATCH = 1000
ANSWER = "The Brightline train leaves Miami at nine. Tickets cost forty dollars."
DOCUMENTS = (
    "The Brightline train leaves Miami at nine every morning.",
    "Tickets for the Brightline train cost forty dollars one way.",
)


@dataclass(frozen=True)
class DeepTrace:
    path: Path
    trace_id: str
    spans: int
    #: The last span: the deepest of a chain, the last child of a fan-out; an LLM call.
    last_span: str


def span_id(i: int) -> str:
    return f"{i + 1:016x}"


def _attributes(i: int, last: bool) -> dict[str, object]:
    if last or i % LLM_EVERY == LLM_EVERY - 1:
        return {
            "openinference.span.kind": "LLM",
            "llm.model_name": "gpt-4o-mini",
            "llm.token_count.prompt": 20 + i % 13,
            "llm.token_count.completion": 5 + i % 7,
            "input.value": orjson.dumps({"messages": [{"role": "user", "content": f"When? {i}"}]}).decode(),
            "input.mime_type": "application/json",
            "output.value": ANSWER,
        }
    if i % RETRIEVER_EVERY == RETRIEVER_EVERY - 1:
        attrs: dict[str, object] = {"openinference.span.kind": "RETRIEVER", "input.value": f"query {i}"}
        for k, text in enumerate(DOCUMENTS):
            attrs[f"retrieval.documents.{k}.document.id"] = f"doc-{i}-{k}"
            attrs[f"retrieval.documents.{k}.document.content"] = text
        return attrs
    return {"openinference.span.kind": "CHAIN", "input.value": f"step {i}", "output.value": f"done {i}"}


def write_deep_trace(
    path: Path, shape: Shape, spans: int, *, trace_id: str = TRACE_ID, wrapped: int | None = None
) -> DeepTrace:
    """`spans` spans of one trace in `shape`, starting a microsecond apart; a chain's spans each
    enclose the next, a fan-out's children each last half a microsecond. `wrapped`: that span is
    wrapped in an extra AGENT span `wrapper` (a step moved one level down, for diffs)."""
    with path.open("wb") as out:
        for first in range(0, spans, BATCH):
            batch = []
            for i in range(first, min(first + BATCH, spans)):
                parent = None if i == 0 else span_id(i - 1 if shape == "chain" else 0)
                start = i * 1_000
                end = start + (spans - i) * 1_000 if shape == "chain" or i == 0 else start + 500
                if i == wrapped:
                    attrs = {"openinference.span.kind": "AGENT"}
                    batch.append(
                        span(
                            WRAPPER_ID,
                            parent,
                            trace=trace_id,
                            name="wrapper",
                            start=start,
                            end=end,
                            attrs=attrs,
                        )
                    )
                    parent = WRAPPER_ID
                batch.append(
                    span(
                        span_id(i),
                        parent,
                        trace=trace_id,
                        name=f"step-{i}",
                        start=start,
                        end=end,
                        attrs=_attributes(i, i == spans - 1),
                        error="ToolError: step failed" if i % ERROR_EVERY == ERROR_EVERY - 1 else None,
                    )
                )
            out.write(orjson.dumps(request(*batch)) + b"\n")
    return DeepTrace(path, trace_id, spans + (wrapped is not None), span_id(spans - 1))


@dataclass(frozen=True)
class DeepStore:
    path: Path
    shape: Shape
    trace: DeepTrace
    #: The same trace with its second span wrapped in an extra step: a move for the diff.
    wrapped: DeepTrace
    #: CPU seconds to read the trace's rows from the store (best of three): the floor every command
    #: and view is measured against.
    floor: float


def cpu_seconds(work: Callable[[], object]) -> float:
    """CPU seconds of this process doing `work`: the machine running the tests may be busy."""
    start = time.process_time()
    work()
    return time.process_time() - start


def deep_store(folder: Path, shape: Shape, spans: int) -> DeepStore:
    """A store in `folder` holding a trace of `shape` and its wrapped variant."""
    trace = write_deep_trace(folder / "trace.jsonl", shape, spans)
    wrapped = write_deep_trace(folder / "wrapped.jsonl", shape, spans, trace_id=WRAPPED_TRACE_ID, wrapped=1)
    store = folder / "store.db"
    for written in (trace, wrapped):
        assert import_file(store, written.path).outcome is Outcome.IMPORTED
    db = connect(store, readonly=True)
    floor = min(cpu_seconds(lambda: trace_rows(db, trace.trace_id)) for _ in range(3))
    db.conn.close()
    return DeepStore(store, shape, trace, wrapped, floor)
