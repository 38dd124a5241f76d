"""The OpenAI Agents SDK's own trace export (Python and JavaScript): the bodies its exporter POSTs to
`/v1/traces/ingest`, `{"data": [item, ...]}`, one or several (concatenated, JSON Lines), or the items
themselves one per line.

Items are `trace` objects (workflow name, `group_id`, metadata; no times) and `trace.span` objects
(`span_data` typed agent, generation, response, function, handoff, guardrail, custom, mcp_tools,
transcription, speech, speech_group). Ids are the SDK's own (`trace_<32 hex>`, `span_<24 hex>`) and
are kept as written, so they match what the SDK's dashboard shows. A trace object becomes the trace's
root span (named by the workflow, its group as the session, spanning its spans), parent of the spans
the SDK wrote without parent; it is yielded at the end, when its spans' extent is known. A trace
object without spans in the file (the JS exporter may send it in an earlier body) is reported.
A handoff's input and output are the agents it goes from and to, and a guardrail's output is whether
it tripped (`{"triggered": ...}`), so the detail of either says what happened; both stay attributes too.

Usage is repeated at every level (response and generation spans, the `turn` and `task` custom spans,
an agent run as a tool folded into its caller's turn), so only model calls carry tokens. Where the
call itself has none (the JS Responses model: response spans hold only a response id), the usage of
its `turn` is given to it when that turn holds exactly one model call. The Python export writes a
usage of zeros for a streamed call that reported none (no `include_usage`); since no model call reads
zero prompt tokens, zeros mean unknown and are read as None, never as a free call.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from spanscope.core.conventions.parse import epoch_ns
from spanscope.core.formats.base import (
    RECORD_ERRORS,
    FormatError,
    FormatSpec,
    Progress,
    Source,
    nothing_read,
    record_error,
)
from spanscope.core.formats.chat_messages import chat
from spanscope.core.formats.json_records import first_keys, records
from spanscope.core.model import Kind, Span, Status, message

_DATA = re.compile(rb'"data"\s*:\s*\[')
_OBJECT = re.compile(rb'(?<!\\)"object"\s*:\s*"trace(?:\.span)?"')
#: Attribute names are `openai_agents.<span_data key>`.
_PREFIX = "openai_agents."
_KINDS = {
    "agent": Kind.AGENT,
    "generation": Kind.LLM,
    "response": Kind.LLM,
    "transcription": Kind.LLM,
    "speech": Kind.LLM,
    "function": Kind.TOOL,
    "handoff": Kind.TOOL,
    "mcp_tools": Kind.TOOL,
    "guardrail": Kind.GUARDRAIL,
    "custom": Kind.CHAIN,
    "speech_group": Kind.CHAIN,
}
#: Span types whose usage is a model call's own.
_CALLS = frozenset({"generation", "response"})
#: The (input, output) fields of the types whose values are kept as written.
_PLAIN_IO = {
    "transcription": ("input", "output"),
    "speech": ("input", "output"),
    "speech_group": ("input", None),
    "mcp_tools": (None, "result"),
}
#: span_data fields that are the span's input and output, by type (the rest become attributes).
_IO_FIELDS = {
    "generation": ("input", "output"),
    "response": ("input", "_input", "response", "_response"),
    "function": ("input", "output"),
    **{kind: tuple(f for f in fields if f) for kind, fields in _PLAIN_IO.items()},
}
#: The names of each count in the SDK's usage (Responses names, Chat Completions names, turn/task).
_COUNTS = {
    "input_tokens": (("input_tokens",), ("prompt_tokens",)),
    "output_tokens": (("output_tokens",), ("completion_tokens",)),
    "total_tokens": (("total_tokens",),),
    "cache_read_tokens": (
        ("input_tokens_details", "cached_tokens"),
        ("prompt_tokens_details", "cached_tokens"),
        ("cached_input_tokens",),
    ),
    "cache_write_tokens": (("input_tokens_details", "cache_write_tokens"), ("cache_write_input_tokens",)),
    "reasoning_tokens": (
        ("output_tokens_details", "reasoning_tokens"),
        ("completion_tokens_details", "reasoning_tokens"),
    ),
}
Usage = dict[str, int]


def sniff(head: bytes) -> bool:
    """An ingest body `{"data": [...]}` (or a JSON Lines item) whose first item is a trace or span."""
    keys = first_keys(head)
    if keys == {"data"}:
        match = _DATA.search(head)
        keys = first_keys(head[match.end() :]) if match else set()
    item = {"object", "id"} <= keys and bool(keys & {"workflow_name", "trace_id"})
    return item and _OBJECT.search(head) is not None


def read(source: Source, progress: Progress) -> Iterator[Span]:
    reader = _Reader(source)
    for where, value in records(source, progress):
        yield from reader.record(where, value)
    yield from reader.finish()
    if not reader.count:
        raise FormatError(nothing_read(source))


@dataclass
class _Trace:
    """A trace object and the extent of its spans read so far."""

    where: str = ""
    name: str | None = None
    group: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    start: int | None = None
    end: int | None = None
    running: bool = False


class _Reader:
    """The items of one file in order; holds back only what a later item completes: spans without
    parent (their trace object may follow) and model calls without usage (their turn follows)."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.traces: dict[str, _Trace] = defaultdict(_Trace)
        self.roots: list[Span] = []
        self.waiting: dict[str, list[Span]] = defaultdict(list)
        self.calls: dict[str, int] = defaultdict(int)
        self.count = 0

    def record(self, where: str, value: Any) -> Iterator[Span]:
        if isinstance(value, dict) and "object" not in value and isinstance(value.get("data"), list):
            for number, item in enumerate(value["data"], start=1):
                yield from self.item(f"{where} data[{number}]", item)
        else:
            yield from self.item(where, value)

    def item(self, where: str, item: Any) -> Iterator[Span]:
        kind = item.get("object") if isinstance(item, dict) else None
        if kind == "trace":
            self.trace(where, item)
        elif kind == "trace.span":
            yield from self.span(where, item)
        else:
            self.source.skip(where, "not an ingest body, trace or trace.span object")

    def trace(self, where: str, item: dict[str, Any]) -> None:
        trace_id = item.get("id")
        if not isinstance(trace_id, str) or not trace_id:
            self.source.skip(where, "a trace without id")
            return
        metadata = item.get("metadata")
        trace = self.traces[trace_id]
        trace.where = trace.where or where
        trace.name = _text(item.get("workflow_name")) or trace.name
        trace.group = _text(item.get("group_id")) or trace.group
        if isinstance(metadata, dict):
            trace.metadata.update(metadata)

    def span(self, where: str, item: dict[str, Any]) -> Iterator[Span]:
        try:
            span, data = _span(item)
        except RECORD_ERRORS as exc:
            self.source.skip(where, f"span {item.get('id')!r}: {record_error(exc)}")
            return
        self.count += 1
        trace = self.traces.get(span.trace_id)
        if trace is not None and trace.group:
            span.session_id = trace.group
        self._extend(span)
        parent = span.parent_id
        if span.source_kind in _CALLS and parent is not None:
            self.calls[parent] += 1
            if span.input_tokens is None:
                self.waiting[parent].append(span)
                return
        if parent is None:
            self.roots.append(span)
        else:
            yield span
        yield from self._release(span, data)

    def finish(self) -> Iterator[Span]:
        for spans in self.waiting.values():
            yield from spans
        self.waiting.clear()
        for span in self.roots:
            if self.traces.get(span.trace_id, _Trace()).where:
                span.parent_id = span.trace_id
            yield span
        for trace_id, trace in self.traces.items():
            if not trace.where:
                continue
            if trace.start is None:
                self.source.skip(trace.where, f"trace {trace_id}: no spans in this file, so it is not kept")
                continue
            self.count += 1
            yield _root(trace_id, trace, trace.start)

    def _extend(self, span: Span) -> None:
        trace = self.traces[span.trace_id]
        trace.start = span.start_ns if trace.start is None else min(trace.start, span.start_ns)
        if span.end_ns is None:
            trace.running = True
        else:
            trace.end = span.end_ns if trace.end is None else max(trace.end, span.end_ns)

    def _release(self, span: Span, data: dict[str, Any]) -> Iterator[Span]:
        """The model calls held for `span`, the turn's usage on its one call when it has none."""
        held = self.waiting.pop(span.span_id, [])
        calls = self.calls.pop(span.span_id, 0)
        usage = _turn_usage(data)
        if usage and calls == 1 and len(held) == 1:
            _set_usage(held[0], usage)
            held[0].attributes[_PREFIX + "usage_from"] = "turn"
        yield from held


def _turn_usage(data: dict[str, Any]) -> Usage | None:
    """The usage of a custom `turn` span: one model call's, repeated."""
    if data.get("type") != "custom":
        return None
    inner = data.get("data")
    if not isinstance(inner, dict) or "turn" not in (data.get("name"), inner.get("sdk_span_type")):
        return None
    try:
        return _usage(inner.get("usage"))
    except ValueError:
        return None


# --- one span -------------------------------------------------------------------------------------


def _span(item: dict[str, Any]) -> tuple[Span, dict[str, Any]]:
    """The span of a `trace.span` item and its span_data; ValueError for a bad value."""
    span_id, trace_id = item.get("id"), item.get("trace_id")
    if not isinstance(span_id, str) or not span_id or not isinstance(trace_id, str) or not trace_id:
        raise ValueError("id or trace_id missing or not text")
    parent = item.get("parent_id")
    if parent is not None and not isinstance(parent, str):
        raise ValueError("parent_id is not text")
    start = epoch_ns(item.get("started_at"))
    if start is None:
        raise ValueError("started_at missing or not an ISO 8601 time")
    end = epoch_ns(item.get("ended_at"))
    if end is None and item.get("ended_at") is not None:
        raise ValueError("ended_at is not an ISO 8601 time")
    data = item.get("span_data")
    if not isinstance(data, dict):
        raise ValueError("span_data missing or not an object")
    kind = data.get("type")
    kind = kind if isinstance(kind, str) else ""
    span = Span(
        trace_id=trace_id,
        span_id=span_id,
        parent_id=parent or None,
        name=_name(kind, data),
        start_ns=start,
        end_ns=end,
        kind=_KINDS.get(kind, Kind.SPAN),
        source_kind=kind or None,
    )
    io_fields = _IO_FIELDS.get(kind, ())
    span.attributes = {_PREFIX + k: v for k, v in data.items() if k not in io_fields and v is not None}
    _error(span, item.get("error"))
    if kind == "function":
        span.input, span.output = _json_text(data.get("input")), _json_text(data.get("output"))
    elif kind in _CALLS:
        _model_call(span, data)
    elif kind == "handoff":
        span.input, span.output = _text(data.get("from_agent")), _text(data.get("to_agent"))
    elif kind == "guardrail" and isinstance(data.get("triggered"), bool):
        span.output = {"triggered": data["triggered"]}
    elif kind in _PLAIN_IO:
        inputs, outputs = _PLAIN_IO[kind]
        span.input = _present(data.get(inputs)) if inputs else None
        span.output = _present(data.get(outputs)) if outputs else None
    return span, data


def _name(kind: str, data: dict[str, Any]) -> str:
    """The name the SDK's dashboard shows: the agent's, function's, guardrail's, or the model."""
    name = _text(data.get("name"))
    if kind == "handoff":
        return f"Handoff: {_text(data.get('from_agent')) or '?'} → {_text(data.get('to_agent')) or '?'}"
    if kind in ("generation", "response", "transcription", "speech"):
        return _text(data.get("model")) or _response_model(data) or kind
    if kind == "mcp_tools":
        server = _text(data.get("server"))
        return f"MCP tools: {server}" if server else "MCP tools"
    return name or kind or "span"


def _error(span: Span, error: Any) -> None:
    """`error: {message, data}`: the span failed; data's own error text is added to the message."""
    if error is None:
        return
    if not isinstance(error, dict):
        raise ValueError("error is not an object")
    text = _text(error.get("message"))
    detail = error.get("data")
    inner = _text(detail.get("error")) if isinstance(detail, dict) else None
    if inner and (text is None or inner not in text):
        text = f"{text}: {inner}" if text else inner
    span.status, span.status_message = Status.ERROR, text or "error"
    if detail is not None:
        span.attributes[_PREFIX + "error.data"] = detail


def _model_call(span: Span, data: dict[str, Any]) -> None:
    """A generation (Chat Completions messages) or response (a Response object, when the SDK
    exports one): messages, model and the call's own usage."""
    if data.get("type") == "generation":
        span.model = _text(data.get("model"))
        span.input = _present(_messages(data.get("input")))
        output = data.get("output")
        span.output = _present(_messages(output))
        raw = output[0] if isinstance(output, list) and len(output) == 1 else None
    else:
        raw = _first_present(data, "response", "_response")
        span.model = _response_model(data)
        span.input = _present(_messages(_first_present(data, "input", "_input")))
        span.output = _present(_messages([raw])) if isinstance(raw, dict) else None
    usage = _usage(data.get("usage"))
    if usage is None and isinstance(raw, dict):
        usage = _usage(raw.get("usage"))
    if usage is not None:
        _set_usage(span, usage)


def _response_model(data: dict[str, Any]) -> str | None:
    raw = _first_present(data, "response", "_response")
    return _text(raw.get("model")) if isinstance(raw, dict) else None


def _usage(raw: Any) -> Usage | None:
    """Token counts in any of the SDK's usage shapes; None when absent or all zero (unknown, see
    the module's docstring); ValueError for a count that is not a whole number."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ValueError("usage is not an object")
    found: Usage = {}
    for name, paths in _COUNTS.items():
        for path in paths:
            value = _at(raw, path)
            if value is None:
                continue
            if type(value) is not int or value < 0:
                raise ValueError(f"usage {'.'.join(path)} is not a whole number: {value!r}")
            found[name] = value
            break
    if not found.get("input_tokens") and not found.get("output_tokens"):
        return None
    if "total_tokens" not in found and "input_tokens" in found and "output_tokens" in found:
        found["total_tokens"] = found["input_tokens"] + found["output_tokens"]
    return found


def _at(raw: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = raw
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _set_usage(span: Span, usage: Usage) -> None:
    for name, value in usage.items():
        setattr(span, name, value)


# --- messages -------------------------------------------------------------------------------------


def _messages(value: Any) -> Any:
    """Chat messages from Chat Completions messages, raw chat completions, Response objects or
    Responses input items; the value as written when it is none of those."""
    if isinstance(value, str):
        return [message("user", value)] if value else None
    if not isinstance(value, list) or not value:
        return value
    found = chat(value)
    if found is not None:
        return found
    out: list[dict[str, Any]] = []
    for item in value:
        part = _item_messages(item)
        if part is None:
            return value
        out += part
    return out


def _item_messages(item: Any) -> list[dict[str, Any]] | None:
    """One element: a raw completion (`choices`), a Response (`output` items) or a Responses item."""
    if not isinstance(item, dict):
        return None
    if isinstance(item.get("choices"), list):
        return chat(item)
    if item.get("object") == "response" and isinstance(item.get("output"), list):
        out: list[dict[str, Any]] = []
        for entry in item["output"]:
            part = _item_messages(entry)
            if part is None:
                return None
            out += part
        return out
    kind = item.get("type")
    if kind == "function_call":
        call = {"id": _text(item.get("call_id")), "name": _text(item.get("name"))}
        return [message("assistant", None, [{**call, "arguments": _json_text(item.get("arguments"))}])]
    if kind == "function_call_output":
        return [message("tool", _json_text(item.get("output")), tool_call_id=_text(item.get("call_id")))]
    if kind == "reasoning":
        return []
    if isinstance(item.get("role"), str) and "content" in item:
        return [message(item["role"], _content(item["content"]))]
    return None


def _content(content: Any) -> Any:
    """Text when every part is text (input_text, output_text, refusal), else the parts as written."""
    if not isinstance(content, list):
        return content
    texts = []
    for part in content:
        text = part.get("text", part.get("refusal")) if isinstance(part, dict) else None
        if not isinstance(text, str):
            return content
        texts.append(text)
    return "\n".join(texts)


# --- small values ---------------------------------------------------------------------------------


def _json_text(value: Any) -> Any:
    """A tool's arguments or result: decoded when it is a JSON object or array, else as written."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return _present(value)


def _present(value: Any) -> Any:
    return None if value in (None, "", [], {}) else value


def _first_present(data: dict[str, Any], *keys: str) -> Any:
    return next((data[k] for k in keys if data.get(k) is not None), None)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _root(trace_id: str, trace: _Trace, start: int) -> Span:
    """The trace object as the root span of its spans."""
    attributes: dict[str, Any] = {f"{_PREFIX}metadata.{k}": v for k, v in trace.metadata.items()}
    if trace.group:
        attributes[_PREFIX + "group_id"] = trace.group
    return Span(
        trace_id=trace_id,
        span_id=trace_id,
        parent_id=None,
        name=trace.name or "trace",
        start_ns=start,
        end_ns=None if trace.running else trace.end,
        kind=Kind.CHAIN,
        session_id=trace.group,
        attributes=attributes,
        source_kind="trace",
    )


SPEC = FormatSpec(
    name="openai-agents",
    description="OpenAI Agents SDK trace export, its traces ingest bodies (JSON, JSON Lines)",
    written_by="the OpenAI Agents SDK's own tracing exporter, Python (`BackendSpanExporter`, tested with "
    "openai-agents 0.25.0) and JavaScript (`OpenAITracingExporter`, tested with @openai/agents 0.20.0), as "
    'POSTed to `/v1/traces/ingest` (`{"data": [...]}`, one body or several, or a folder of them): the '
    "workflow as the trace, `group_id` as its session, the SDK's ids (`trace_…`, `span_…`) kept. Responses "
    "API calls are exported with a response id only (no model or messages), so they show tokens but no "
    "input, output or cost: "
    "`spanscope import traces.json && spanscope tree trace_6c68`",
    extensions=(".json", ".jsonl"),
    sniff=sniff,
    read=read,
)
