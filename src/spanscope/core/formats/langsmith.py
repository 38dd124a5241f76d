"""LangSmith runs: exported run lists and the bodies the LangSmith SDK posts.

Accepts JSON or JSON Lines of runs (one run per record, `{"runs": [...]}` query answers), the SDK's
single-run POST (create) and PATCH (update) payloads, its batch bodies `{"post": [...], "patch": [...]}`,
and its multipart/form-data bodies, plain or zstd-compressed (`Content-Encoding: zstd`), where each run
is a part `post.<id>` / `patch.<id>` with one more part per large field (`post.<id>.inputs`, ...).
The create and update of a run are merged by run id, the update's values laid over the create's.
Feedback (`POST /feedback` bodies, feedback.jsonl) becomes scores of the run it rates: on its span
when the run is in the same file, else yielded as a `ScoreFor`, so a file of feedback only is read
too. Feedback names its run (a span id) and, when it carries one, the trace; without it the store
finds the trace of the stored run, and reports feedback whose run is not stored yet.

A run becomes a span: its UUID is the span id, its trace_id the trace id, its parent from
parent_run_id or else from dotted_order. Only model runs (llm, embedding) own tokens and costs: a
chain's outputs may hold a model message with usage, and the server's token sums on chain runs
repeat their children's.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec

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
from spanscope.core.formats.compression import ZSTD_MAGIC
from spanscope.core.formats.json_objects import repairing
from spanscope.core.formats.json_records import first_keys, records, text_or_none
from spanscope.core.model import Event, Kind, Score, ScoreFor, Span, Status

_KINDS = {
    "llm": Kind.LLM,
    "chain": Kind.CHAIN,
    "tool": Kind.TOOL,
    "retriever": Kind.RETRIEVER,
    "embedding": Kind.EMBEDDING,
    "prompt": Kind.PROMPT,
    "parser": Kind.CHAIN,
}
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_PART_NAME = re.compile(rb'name="(?:post|patch|feedback|attachment)\.' + _UUID.encode())
#: `<YYYYMMDDTHHMMSSffffffZ><run id>`, one per ancestor, joined by dots.
_DOTTED = re.compile(r"(\d{8}T\d{12}Z)(" + _UUID + ")")
#: Epoch milliseconds beyond this are not times (nanoseconds must fit SQLite's 64-bit integers).
_MAX_EPOCH_MS = (1 << 63) // 1_000_000
#: Keys of which a run record (create or update) has at least one besides its id.
_RUN_KEYS = frozenset({"run_type", "dotted_order", "trace_id", "end_time", "outputs", "error"})
_NAME = re.compile(rb'name="([^"]*)"')
_CONTENT_TYPE = re.compile(rb"(?im)^content-type:\s*([^;\r\n]+)")
#: Run fields that are not kept as attributes (they become span fields or are too large).
_NOT_ATTRIBUTES = frozenset(
    {
        "id",
        "trace_id",
        "parent_run_id",
        "name",
        "run_type",
        "start_time",
        "end_time",
        "inputs",
        "outputs",
        "error",
        "events",
        "extra",
        "serialized",
        "attachments",
        "child_runs",
    }
)


def sniff(head: bytes) -> bool:
    """A multipart body whose parts are named `post.<uuid>` and the like (Source undoes zstd), or
    JSON whose first record is a run, a batch body, a run query answer or a feedback body."""
    text = head.lstrip(b" \t\r\n")
    if text.startswith(b"--"):
        return bool(_PART_NAME.search(text[:4096]))
    keys = first_keys(head)
    if "id" in keys and ("run_type" in keys or "dotted_order" in keys):
        return True
    if keys and keys <= {"post", "patch"}:
        return True
    if "runs" in keys and "cursors" in keys:
        return True
    return {"run_id", "key"} <= keys and bool(keys & {"score", "value", "feedback_source"})


# --- operations: what the file says about each run --------------------------------------------


@dataclass
class _Payload:
    """One create or update of a run, assembled from its record or multipart parts."""

    where: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Collected:
    posts: dict[str, _Payload] = field(default_factory=dict)
    patches: dict[str, _Payload] = field(default_factory=dict)
    feedback: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    #: Attachment parts by run id: name -> {name, mime_type, bytes} (their content is not kept).
    attachments: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)  # run ids in the order first seen

    def add(self, op: str, run: Any, where: str, source: Source) -> None:
        if not isinstance(run, dict) or not isinstance(run.get("id"), str) or not run["id"]:
            source.skip(where, f"a run {op} without an id")
            return
        table = self.posts if op == "post" else self.patches
        payload = table.get(run["id"])
        if payload is None:
            payload = table[run["id"]] = _Payload(where)
            self.order.append(run["id"])
        payload.data.update(run)
        children = run.get("child_runs")  # the API's runs may embed their children, to any depth
        for number, child in enumerate(children if isinstance(children, list) else (), start=1):
            self.add(op, child, f"{where} child_runs[{number}]", source)


def read(source: Source, progress: Progress) -> Iterator[Span | ScoreFor]:
    collected = _Collected()
    head = source.head()
    if head.startswith(ZSTD_MAGIC) or head.lstrip(b" \t\r\n").startswith(b"--"):
        _multipart(source, progress, collected)
    else:
        for where, value in records(source, progress):
            _record(value, where, source, collected)
    spans = _spans(collected, source)
    for run_id, attachments in collected.attachments.items():
        if run_id in spans:
            spans[run_id].attributes["langsmith.attachments"] = attachments
    elsewhere = _attach_feedback(spans, collected.feedback, source)
    if not spans and not elsewhere:
        raise FormatError(nothing_read(source))
    yield from sorted(
        spans.values(), key=lambda s: (s.trace_id, str(s.attributes.get("langsmith.dotted_order", "")))
    )
    yield from elsewhere


def _record(value: Any, where: str, source: Source, collected: _Collected) -> None:
    """One JSON record: a run, a batch body, a query answer or a feedback body."""
    if not isinstance(value, dict):
        source.skip(where, "not a JSON object")
        return
    if "post" in value or "patch" in value:
        for op in ("post", "patch"):
            runs = value.get(op)
            for number, run in enumerate(runs if isinstance(runs, list) else (), start=1):
                collected.add(op, run, f"{where} {op}[{number}]", source)
    elif isinstance(value.get("runs"), list):
        for number, run in enumerate(value["runs"], start=1):
            collected.add("post", run, f"{where} runs[{number}]", source)
    elif "run_id" in value and "key" in value:
        collected.feedback.append((where, value))
    elif "id" in value and not _RUN_KEYS.isdisjoint(value):
        # The SDK's create always carries inputs; an update (PATCH) never does.
        collected.add("post" if "inputs" in value else "patch", value, where, source)
    else:
        source.skip(where, "not a LangSmith run, batch or feedback record")


def _multipart(source: Source, progress: Progress, collected: _Collected) -> None:
    """A multipart/form-data body as the SDK posts it; the boundary is the body's first line."""
    body = source.read_all(progress)
    body = body.lstrip(b" \t\r\n")
    delimiter = body.split(b"\n", 1)[0].rstrip(b"\r")
    if not delimiter.startswith(b"--"):
        if source.problems:
            raise FormatError(nothing_read(source))
        raise FormatError(f"{source.path}: not a multipart body: it does not start with a boundary line")
    for number, chunk in enumerate(body.split(delimiter)[1:], start=1):
        if chunk.startswith(b"--"):
            break
        _part(number, chunk, source, collected)


def _part(number: int, chunk: bytes, source: Source, collected: _Collected) -> None:
    """One part `post.<id>`, `post.<id>.<field>`, `patch...`, `feedback.<id>` or `attachment...`."""
    chunk = chunk.removeprefix(b"\r\n").removeprefix(b"\n")
    separator = b"\r\n\r\n" if b"\r\n\r\n" in chunk else b"\n\n"
    headers, _, content = chunk.partition(separator)
    content = content.removesuffix(b"\n").removesuffix(b"\r")
    name_match = _NAME.search(headers)
    name = name_match.group(1).decode("utf-8", "replace") if name_match else ""
    where = f"part {number} ({name or 'unnamed'})"
    op, _, rest = name.partition(".")
    run_id, _, field_name = rest.partition(".")
    if op == "attachment":
        kind = _CONTENT_TYPE.search(headers)
        attachment = {
            "name": field_name,
            "mime_type": kind.group(1).decode() if kind else None,
            "bytes": len(content),
        }
        collected.attachments.setdefault(run_id, {})[field_name] = attachment
        return
    if op not in ("post", "patch", "feedback") or not run_id:
        source.skip(where, "not a LangSmith run part (post.<id>, patch.<id>, feedback.<id>)")
        return
    try:
        value = repairing(msgspec.json.decode)(content)
    except msgspec.DecodeError as exc:
        source.skip(where, f"not JSON: {exc}")
        return
    if op == "feedback":
        if isinstance(value, dict):
            collected.feedback.append((where, value))
        else:
            source.skip(where, "the feedback part is not a JSON object")
    elif field_name:
        collected.add(op, {"id": run_id, field_name: value}, where, source)
    elif isinstance(value, dict):
        collected.add(op, {**value, "id": value.get("id") or run_id}, where, source)
    else:
        source.skip(where, "the run part is not a JSON object")


# --- runs to spans ------------------------------------------------------------------------------


def _spans(collected: _Collected, source: Source) -> dict[str, Span]:
    spans: dict[str, Span] = {}
    for run_id in collected.order:
        if run_id in spans:
            continue
        post, patch = collected.posts.get(run_id), collected.patches.get(run_id)
        run = dict(post.data) if post else {}
        if patch:
            run.update({k: v for k, v in patch.data.items() if v is not None})
        if post is None:
            assert patch is not None
            if not run.get("start_time") or not (run.get("trace_id") or run.get("dotted_order")):
                source.skip(
                    patch.where, f"run {run_id}: an update (PATCH) without its create (POST); skipped"
                )
                continue
            source.skip(
                patch.where,
                f"run {run_id}: an update (PATCH) without its create (POST); read without the run's inputs",
            )
        try:
            spans[run_id] = _span(run_id, run)
        except RECORD_ERRORS as exc:
            source.skip((post or patch).where, f"run {run_id}: {record_error(exc)}")  # type: ignore[union-attr]
    return spans


def _span(run_id: str, run: dict[str, Any]) -> Span:
    ancestry = _DOTTED.findall(str(run.get("dotted_order") or ""))
    start = _time(run.get("start_time")) or (_time(ancestry[-1][0]) if ancestry else None)
    if start is None:
        raise ValueError("start_time missing or not a time")
    trace_id = run.get("trace_id") or (ancestry[0][1] if ancestry else None)
    parent = run.get("parent_run_id") or (ancestry[-2][1] if len(ancestry) > 1 else None)
    if not trace_id:
        if parent:
            raise ValueError("trace_id missing")
        trace_id = run_id
    run_type = str(run.get("run_type") or "")
    kind = _KINDS.get(run_type, Kind.SPAN)
    extra = _dict(run.get("extra"))
    metadata = _dict(extra.get("metadata"))
    end = _time(run.get("end_time"))
    error = run.get("error")
    span = Span(
        trace_id=str(trace_id).lower(),
        span_id=run_id.lower(),
        parent_id=str(parent).lower() if parent else None,
        name=str(run.get("name") or run_type or "run"),
        start_ns=start,
        end_ns=end,
        kind=kind,
        status=Status.ERROR if error else (Status.OK if end is not None else Status.UNSET),
        status_message=_first_line(error) if error else None,
        model=_model(run, extra, metadata),
        provider=text_or_none(metadata.get("ls_provider")),
        input=_io(run.get("inputs")),
        output=_io(run.get("outputs")),
        session_id=text_or_none(
            metadata.get("session_id") or metadata.get("thread_id") or metadata.get("conversation_id")
        ),
        user_id=text_or_none(metadata.get("user_id")),
        service=text_or_none(run.get("session_name")),
        attributes=_attributes(run, extra),
        events=_events(run.get("events"), error, end),
        source_kind=run_type or None,
    )
    if span.is_model_call:
        _usage(span, run, metadata)
    return span


def _attributes(run: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    attributes = {f"langsmith.{k}": v for k, v in run.items() if k not in _NOT_ATTRIBUTES and v is not None}
    for key in ("metadata", "invocation_params", "runtime"):
        if extra.get(key):
            attributes[f"langsmith.{key}"] = extra[key]
    inputs = run.get("inputs")
    if isinstance(inputs, dict) and isinstance(inputs.get("messages"), list):
        # A wrapped client's request: its messages become the input; its tools and sampling
        # parameters stay here, so the call can be replayed as it was made.
        request = {k: v for k, v in inputs.items() if k != "messages"}
        if request:
            attributes["langsmith.request"] = request
    return attributes


def _events(raw: Any, error: Any, end: int | None) -> list[Event]:
    events = []
    for item in raw if isinstance(raw, list) else ():
        if isinstance(item, dict) and item.get("name"):
            attributes = item.get("kwargs") if isinstance(item.get("kwargs"), dict) else {}
            events.append(Event(str(item["name"]), _time(item.get("time")), attributes))
    if error:
        text = str(error)
        events.append(
            Event(
                "exception",
                end,
                {
                    "exception.type": _error_type(text),
                    "exception.message": _first_line(text),
                    "exception.stacktrace": text,
                },
            )
        )
    return events


def _first_line(error: Any) -> str:
    return str(error).strip().split("\n", 1)[0]


def _error_type(text: str) -> str | None:
    """`ValueError('...')` as the SDK writes errors: the class name before the parenthesis."""
    match = re.match(r"([A-Za-z_][\w.]*)\(", text.strip())
    return match.group(1) if match else None


def _io(value: Any) -> Any:
    if value is None or value == {}:
        return None
    return chat(value) or value


def _model(run: dict[str, Any], extra: dict[str, Any], metadata: dict[str, Any]) -> str | None:
    params = _dict(extra.get("invocation_params"))
    outputs = _dict(run.get("outputs"))
    llm_output = _dict(outputs.get("llm_output"))
    for value in (
        metadata.get("ls_model_name"),
        params.get("model"),
        params.get("model_name"),
        llm_output.get("model_name"),
        outputs.get("model"),
    ):
        if isinstance(value, str) and value:
            return value
    return None


# --- usage ------------------------------------------------------------------------------------


def _usage(span: Span, run: dict[str, Any], metadata: dict[str, Any]) -> None:
    """Tokens and cost of a model run: the client's usage_metadata, LangChain's llm_output, or the
    server's prompt/completion tokens, whichever comes first."""
    outputs = _dict(run.get("outputs"))
    usage = outputs.get("usage_metadata") or metadata.get("usage_metadata") or _generation_usage(outputs)
    if isinstance(usage, dict):
        details_in = _dict(usage.get("input_token_details"))
        details_out = _dict(usage.get("output_token_details"))
        span.input_tokens = _int(usage.get("input_tokens"))
        span.output_tokens = _int(usage.get("output_tokens"))
        span.total_tokens = _int(usage.get("total_tokens"))
        span.cache_read_tokens = _int(details_in.get("cache_read"))
        span.cache_write_tokens = _int(details_in.get("cache_creation"))
        span.reasoning_tokens = _int(details_out.get("reasoning"))
        span.cost_usd = _cost(usage.get("total_cost"), usage.get("input_cost"), usage.get("output_cost"))
    else:
        llm_output = _dict(outputs.get("llm_output"))
        counts = llm_output.get("token_usage") or llm_output.get("usage")
        if not isinstance(counts, dict):
            counts = run
        span.input_tokens = _int(counts.get("prompt_tokens"))
        span.output_tokens = _int(counts.get("completion_tokens"))
        span.total_tokens = _int(counts.get("total_tokens"))
        prompt_details = counts.get("prompt_tokens_details")
        if isinstance(prompt_details, dict):
            span.cache_read_tokens = _int(prompt_details.get("cached_tokens"))
        completion_details = counts.get("completion_tokens_details")
        if isinstance(completion_details, dict):
            span.reasoning_tokens = _int(completion_details.get("reasoning_tokens"))
    if span.cost_usd is None:
        span.cost_usd = _cost(run.get("total_cost"), run.get("prompt_cost"), run.get("completion_cost"))
    if span.total_tokens is None and span.input_tokens is not None and span.output_tokens is not None:
        span.total_tokens = span.input_tokens + span.output_tokens


def _generation_usage(outputs: dict[str, Any]) -> dict[str, Any] | None:
    """usage_metadata of the message inside LangChain's generations[][] (summed over generations)."""
    found: list[dict[str, Any]] = []
    generations = outputs.get("generations")
    for batch in generations if isinstance(generations, list) else ():
        for generation in batch if isinstance(batch, list) else ():
            msg = generation.get("message") if isinstance(generation, dict) else None
            kwargs = msg.get("kwargs", msg) if isinstance(msg, dict) else None
            usage = kwargs.get("usage_metadata") if isinstance(kwargs, dict) else None
            if isinstance(usage, dict):
                found.append(usage)
    if len(found) <= 1:
        return found[0] if found else None
    return {
        key: sum(_int(u.get(key)) or 0 for u in found)
        for key in ("input_tokens", "output_tokens", "total_tokens")
    }


def _cost(total: Any, first: Any, second: Any) -> float | None:
    """A reported total, else the sum of its parts; costs may be numbers or decimal strings."""
    value = _float(total)
    if value is not None:
        return value
    parts = [p for p in (_float(first), _float(second)) if p is not None]
    return sum(parts) if parts else None


# --- feedback -----------------------------------------------------------------------------------


def _attach_feedback(
    spans: dict[str, Span], feedback: list[tuple[str, dict[str, Any]]], source: Source
) -> list[ScoreFor]:
    """Put feedback on the runs it rates; returns that for runs not in the file.

    A root run's feedback rates its trace (a root run's id is its trace id)."""
    elsewhere: list[ScoreFor] = []
    for where, item in feedback:
        run_id = str(item.get("run_id") or "").lower()
        if not run_id:
            source.skip(where, f"feedback {item.get('id')} names no run (run_id)")
            continue
        span = spans.get(run_id)
        trace_id = span.trace_id if span else text_or_none(item.get("trace_id"))
        trace_id = trace_id.lower() if trace_id else None
        score = _feedback_score(item, trace_level=(span.parent_id is None) if span else run_id == trace_id)
        if span is not None:
            span.scores.append(score)
        else:
            elsewhere.append(ScoreFor(trace_id, run_id, score))
    return elsewhere


def _feedback_score(item: dict[str, Any], *, trace_level: bool) -> Score:
    value = item.get("score")
    label = item.get("value")
    origin = item.get("feedback_source")
    return Score(
        name=str(item.get("key") or "feedback"),
        value=float(value) if isinstance(value, int | float) else None,
        label=label if isinstance(label, str) else None,
        comment=text_or_none(item.get("comment")),
        source=text_or_none(origin.get("type")) if isinstance(origin, dict) else None,
        key=str(item.get("id") or ""),
        trace_level=trace_level,
    )


# --- values -------------------------------------------------------------------------------------


def _time(value: Any) -> int | None:
    """Nanoseconds since the epoch of an ISO time (naive means UTC), a dotted_order stamp, or epoch
    milliseconds (the JS SDK)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        if not (math.isfinite(value) and 0 <= value < _MAX_EPOCH_MS):
            return None
        # Integers exactly, floats to the microsecond (as far as a float holds it).
        return value * 1_000_000 if isinstance(value, int) else round(value * 1_000) * 1_000
    if isinstance(value, str) and len(value) == 22 and value[8:9] == "T" and value.endswith("Z"):
        try:
            stamp = datetime.strptime(value, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC)
        except ValueError:
            return None
        return epoch_ns(stamp.isoformat())
    return epoch_ns(value)


def _dict(value: Any) -> dict[str, Any]:
    """`value` when it is an object, else an empty one (fields of the wrong shape are ignored)."""
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


SPEC = FormatSpec(
    name="langsmith",
    description="LangSmith runs (JSON, JSON Lines, SDK POST/PATCH, batch and multipart bodies, zstd)",
    written_by="run lists as JSON or JSON Lines, and what the LangSmith SDK posts: single-run POST/PATCH "
    'payloads, batch bodies `{"post", "patch"}`, multipart bodies plain or zstd (a run\'s create and update '
    "are merged by run id); feedback (`feedback.jsonl`, `POST /feedback` bodies) becomes scores of its "
    "runs, in the same file or imported after them (feedback for a run not yet imported is named and "
    "refused, unless it carries its `trace_id`), e.g. `spanscope import runs.jsonl feedback.jsonl && "
    "spanscope tree TRACE_ID`",
    extensions=(".json", ".jsonl"),
    sniff=sniff,
    read=read,
)
