"""Langfuse exports: the web UI's trace download and the public API's JSON, one or many traces.

Accepts the UI download `{trace, observations}` (the trace holding its scores), the newer
`{observations, scores}`, a public API trace (`GET /api/public/traces/{id}`: the trace with its
`observations` and `scores`), list answers `{data, meta}`, and batch exports as JSON arrays or
JSON Lines of observations, traces or scores, in any mix (`{data}` also without meta). A file of
scores only (the SDK's `POST /api/public/scores` body, a list `{data: [...]}` of scores) is read
too: a score whose observation or trace is not in the file is yielded as a `ScoreFor`, kept by the
store with the trace it names (its spans imported before or after).

Each observation becomes a span; its fields are written as the `langfuse.observation.*` attributes the
Langfuse OTel SDK uses, so the semantic conventions map type to kind, usage details to tokens and cost
details to the reported cost exactly as for Langfuse OTLP traces. Times come from startTime/endTime:
`latency` is in seconds in some shapes and milliseconds in others, so it is not used. The trace's
session, user, tags and release are set on each of its spans; trace scores go on its root span.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

import orjson

from spanscope.core import conventions
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
from spanscope.core.formats.json_records import first_keys, records, text_or_none
from spanscope.core.model import Score, ScoreFor, Span

#: Told where a record that cannot be read is, and why (Source.skip for a file).
Skip = Callable[[str, str], None]

_DATA = re.compile(rb'"data"\s*:\s*\[')
#: Observation types whose cost is a model's (a 0 total on other types means "no cost", not free).
_MODEL_TYPES = frozenset({"GENERATION", "EMBEDDING"})
#: Trace fields copied onto each of its spans, as the Langfuse OTel SDK names them.
_TRACE_ATTRIBUTES = {
    "sessionId": "langfuse.session.id",
    "userId": "langfuse.user.id",
    "name": "langfuse.trace.name",
    "tags": "langfuse.trace.tags",
    "release": "langfuse.release",
    "version": "langfuse.version",
    "environment": "langfuse.environment",
}


def sniff(head: bytes) -> bool:
    """JSON whose first record is a Langfuse trace download, trace, observation or score."""
    keys = first_keys(head)
    if {"data", "meta"} <= keys or keys == {"data"}:
        match = _DATA.search(head)
        keys = first_keys(head[match.end() - 1 :]) if match else set()
    return _shape(keys) is not None


def _shape(keys: AbstractSet[str]) -> str | None:
    """What a record with these top-level keys is: download, trace, observation or score."""
    if {"id", "traceId", "type", "startTime"} <= keys:
        return "observation"
    if {"traceId", "name", "value"} <= keys and "type" not in keys:
        return "score"
    if {"id", "timestamp"} <= keys and ("observations" in keys or "htmlPath" in keys or "projectId" in keys):
        return "trace"
    if "observations" in keys and ("trace" in keys or "scores" in keys):
        return "download"
    return None


@dataclass
class _Collected:
    traces: dict[str, dict[str, Any]] = field(default_factory=dict)
    observations: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    scores: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def observation(self, where: str, data: dict[str, Any]) -> None:
        known = self.observations.get(data["id"])
        if known is not None:  # the same observation again (light and full lists): fill in the gaps
            data = {**known[1], **{k: v for k, v in data.items() if v is not None}}
        self.observations[data["id"]] = (where, data)

    def trace(self, data: dict[str, Any]) -> None:
        self.traces.setdefault(str(data["id"]), {}).update(data)


def read(source: Source, progress: Progress) -> Iterator[Span | ScoreFor]:
    collected = _collected(records(source, progress), source.skip)
    found = _found(collected, source.skip)
    if not found:
        if collected.traces:
            raise FormatError(
                f"{source.path}: holds no observations, only traces; Langfuse traces are read from "
                "exports that include their observations"
            )
        raise FormatError(nothing_read(source))
    yield from found


def from_values(values: Iterable[tuple[str, Any]], skip: Skip) -> list[Span | ScoreFor]:
    """What `read` makes of decoded Langfuse JSON (public API answers: a trace, pages of
    observations or scores), each value with where it came from; skip(where, why) is called for each
    record left out. The spans come first (with their scores), then scores of spans not given."""
    return _found(_collected(values, skip), skip)


def _collected(values: Iterable[tuple[str, Any]], skip: Skip) -> _Collected:
    collected = _Collected()
    for where, value in values:
        _record(value, where, skip, collected)
    return collected


def _found(collected: _Collected, skip: Skip) -> list[Span | ScoreFor]:
    spans = _spans(collected, skip)
    elsewhere = _attach_scores(spans, collected.scores, skip)
    return [*spans.values(), *elsewhere]


def _record(value: Any, where: str, skip: Skip, collected: _Collected) -> None:
    if not isinstance(value, dict):
        skip(where, "not a JSON object")
        return
    if isinstance(value.get("data"), list) and ("meta" in value or value.keys() == {"data"}):
        for number, item in enumerate(value["data"], start=1):
            _record(item, f"{where} data[{number}]", skip, collected)
        return
    shape = _shape(value.keys())
    if shape == "download":
        trace = value.get("trace")
        if isinstance(trace, dict) and _is_id(trace.get("id")):
            _trace(trace, where, skip, collected, with_observations=not value.get("observations"))
        _observations(value.get("observations"), where, skip, collected)
        _scores(value.get("scores"), where, skip, collected)
    elif shape == "trace" and _is_id(value["id"]):
        _trace(value, where, skip, collected, with_observations=True)
    elif shape == "observation":
        _observations([value], where, skip, collected)
    elif shape == "score":
        collected.scores.append((where, value))
    else:
        skip(where, "not a Langfuse trace, observation or score")


def _trace(
    trace: dict[str, Any], where: str, skip: Skip, collected: _Collected, *, with_observations: bool
) -> None:
    """A trace record: its own fields, and the observations and scores it embeds."""
    collected.trace({k: v for k, v in trace.items() if k not in ("observations", "scores")})
    if with_observations:
        _observations(trace.get("observations"), f"{where} trace", skip, collected)
    _scores(trace.get("scores"), f"{where} trace", skip, collected)


def _observations(raw: Any, where: str, skip: Skip, collected: _Collected) -> None:
    for number, item in enumerate(_listed(raw, where, "observations", skip), start=1):
        place = f"{where} observations[{number}]"
        if isinstance(item, str):  # the public API's trace lists name observations by id only
            continue
        if not isinstance(item, dict) or not _is_id(item.get("id")) or not _is_id(item.get("traceId")):
            skip(place, "an observation without id or traceId")
            continue
        collected.observation(place, {**item, "id": str(item["id"]), "traceId": str(item["traceId"])})


def _scores(raw: Any, where: str, skip: Skip, collected: _Collected) -> None:
    for number, item in enumerate(_listed(raw, where, "scores", skip), start=1):
        place = f"{where} scores[{number}]"
        if isinstance(item, dict):
            collected.scores.append((place, item))
        elif not isinstance(item, str):
            skip(place, "a score that is not an object")


def _is_id(value: Any) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool) and value != ""


def _listed(raw: Any, where: str, what: str, skip: Skip) -> list[Any]:
    """A list as written, or held as JSON text."""
    if raw is None:
        return []
    if isinstance(raw, str):
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError:
            skip(where, f"{what} is text that is not JSON")
            return []
    if not isinstance(raw, list):
        skip(where, f"{what} is not a list")
        return []
    return raw


# --- observations to spans ----------------------------------------------------------------------


def _spans(collected: _Collected, skip: Skip) -> dict[str, Span]:
    spans: dict[str, Span] = {}
    for where, data in collected.observations.values():
        start = epoch_ns(data.get("startTime"))
        if start is None:
            skip(where, f"observation {data['id']}: startTime missing or not a time")
            continue
        try:
            span = _span(data, start, collected.traces.get(str(data["traceId"]), {}))
            conventions.apply_fields(span)
        except RECORD_ERRORS as exc:
            skip(where, f"observation {data['id']}: {record_error(exc)}")
            continue
        spans[span.span_id] = span
    return spans


def _span(data: dict[str, Any], start: int, trace: dict[str, Any]) -> Span:
    kind = str(data.get("type") or "SPAN").upper()
    end = epoch_ns(data.get("endTime"))
    if end is None and kind == "EVENT":
        end = start  # events are points in time
    metadata = _decoded(data.get("metadata"))
    attributes = _attributes(data, kind, trace, metadata)
    resource = metadata.get("resourceAttributes") if isinstance(metadata, dict) else None
    scope = metadata.get("scope") if isinstance(metadata, dict) else None
    return Span(
        trace_id=str(data["traceId"]),
        span_id=str(data["id"]),
        parent_id=text_or_none(data.get("parentObservationId")),
        name=str(data.get("name") or kind.lower()),
        start_ns=start,
        end_ns=end,
        input=_io(data.get("input")),
        output=_io(data.get("output")),
        attributes=attributes,
        resource=resource if isinstance(resource, dict) else {},
        scope=scope if isinstance(scope, dict) else {},
        source_kind=kind,
    )


def _attributes(data: dict[str, Any], kind: str, trace: dict[str, Any], metadata: Any) -> dict[str, Any]:
    """The observation as the Langfuse OTel SDK's attributes (what semconv reads), plus trace fields."""
    found: dict[str, Any] = {
        "langfuse.observation.type": kind,
        "langfuse.observation.level": data.get("level"),
        "langfuse.observation.status_message": data.get("statusMessage"),
        "langfuse.observation.model.name": data.get("model"),
        "langfuse.observation.model.parameters": _decoded(data.get("modelParameters")) or None,
        "langfuse.observation.usage_details": _usage(data),
        "langfuse.observation.cost_details": _cost(data, kind),
        "langfuse.observation.completion_start_time": data.get("completionStartTime"),
        "langfuse.observation.prompt.name": data.get("promptName"),
        "langfuse.observation.prompt.version": data.get("promptVersion"),
        "langfuse.observation.metadata": metadata or None,
    }
    for key, name in _TRACE_ATTRIBUTES.items():
        value = trace.get(key)
        found[name] = value if value else None
    if not found["langfuse.environment"]:
        found["langfuse.environment"] = data.get("environment")
    return {k: v for k, v in found.items() if v is not None}


def _usage(data: dict[str, Any]) -> dict[str, Any] | None:
    """usageDetails; older exports have `usage` {input, output, total} or promptTokens/completionTokens."""
    details = data.get("usageDetails")
    if isinstance(details, dict) and details:
        return details
    usage = data.get("usage")
    if isinstance(usage, dict) and any(usage.get(k) for k in ("input", "output", "total")):
        return {k: usage[k] for k in ("input", "output", "total") if usage.get(k) is not None}
    if data.get("promptTokens") or data.get("completionTokens"):
        return {
            "input": data.get("promptTokens"),
            "output": data.get("completionTokens"),
            "total": data.get("totalTokens"),
        }
    return None


def _cost(data: dict[str, Any], kind: str) -> Any:
    """costDetails, else the calculated or total cost the export reports (USD)."""
    details = data.get("costDetails")
    if isinstance(details, dict) and details:
        return details
    for key in ("calculatedTotalCost", "totalCost"):
        value = data.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and (value or kind in _MODEL_TYPES):
            return {"total": value}
    return None


def _io(value: Any) -> Any:
    decoded = _decoded(value)
    if decoded is None or decoded == "":
        return None
    return chat(decoded) or decoded


def _decoded(value: Any) -> Any:
    """Langfuse stores input, output and metadata as JSON text, sometimes encoded twice."""
    for _ in range(3):
        if not isinstance(value, str) or value[:1] not in ("{", "[", '"'):
            return value
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


# --- scores -------------------------------------------------------------------------------------


def _attach_scores(
    spans: dict[str, Span], scores: list[tuple[str, dict[str, Any]]], skip: Skip
) -> list[ScoreFor]:
    """Put scores on the spans they rate; returns those whose observation or trace is not in the file."""
    roots: dict[str, Span] = {}
    # A trace's root: a span without parent, else one whose parent is missing; the earliest of those.
    for span in sorted(
        spans.values(), key=lambda s: (s.parent_id in spans, s.parent_id is not None, s.start_ns)
    ):
        roots.setdefault(span.trace_id, span)
    seen: set[str] = set()
    elsewhere: list[ScoreFor] = []
    for where, item in scores:
        key = str(item.get("id") or "")
        if key and key in seen:
            continue
        seen.add(key)
        trace = item.get("traceId")
        observation = text_or_none(item.get("observationId"))
        target = spans.get(observation) if observation else roots.get(str(trace))
        score = _score(item, key, trace_level=observation is None)
        if target is not None:
            target.scores.append(score)
        elif _is_id(trace):
            elsewhere.append(ScoreFor(str(trace), observation, score))
        else:
            skip(where, f"score {item.get('name')!r} names no trace (traceId)")
    return elsewhere


def _score(item: dict[str, Any], key: str, *, trace_level: bool) -> Score:
    value = item.get("value")
    label = item.get("stringValue")
    if isinstance(value, str):
        label, value = label or value, None
    number = float(value) if isinstance(value, int | float) else None
    if item.get("dataType") == "NUMERIC":
        label = None
    return Score(
        name=str(item.get("name") or "score"),
        value=number,
        label=text_or_none(label),
        comment=text_or_none(item.get("comment")),
        source=text_or_none(item.get("source")),
        key=key,
        trace_level=trace_level,
    )


SPEC = FormatSpec(
    name="langfuse-export",
    description="Langfuse trace downloads and public API / batch exports (JSON, JSON Lines)",
    written_by="the web UI's trace download `{trace, observations}`, the newer `{observations, scores}`, "
    "public API traces and lists, batch exports as JSON or JSON Lines; scores kept, also from files of "
    "scores only (the SDK's `POST /api/public/scores` body, `{data: [...]}` score lists), which attach to "
    "their traces imported before or after, e.g. `spanscope import trace.json scores.json && spanscope "
    "tree TRACE_ID`",
    extensions=(".json", ".jsonl"),
    sniff=sniff,
    read=read,
)
