"""One Inspect AI sample (one epoch of it) as a trace of normalized spans.

The sample is the root span. `span_begin`/`span_end` events become spans with the parents Inspect
gives them; an unknown parent means the sample itself, as in Inspect's own event tree. `model`
events become LLM spans and `tool` events TOOL spans, merged with the span Inspect opens around
the call so a tool appears once. Other events stay as events of the span they happened in, except
`state` and `sample_init`, which repeat the conversation. The sample's scores are trace-level
scores on the root span.

Large strings are `attachment://<key>` references into the sample's attachments; they are resolved
before anything else, and one that is missing is reported and kept as written. Model events may
list their input as `input_refs` ranges into a pool of messages (`events_data`), and their raw
request as `call_refs` into a pool of provider messages; both are expanded.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from spanscope.core.conventions.parse import epoch_ns
from spanscope.core.model import Event, Kind, Score, Span, Status, message

#: Reports a problem: (where, reason).
Skip = Callable[[str, str], None]

_REF_PREFIXES = ("attachment://", "tc://")  # tc:// is the name older logs used
#: Span types Inspect writes (`span(name, type=...)`), by the kind they are here.
_SPAN_KINDS = {
    "agent": Kind.AGENT,
    "handoff": Kind.AGENT,
    "tool": Kind.TOOL,
    "scorer": Kind.EVALUATOR,
    "scorers": Kind.CHAIN,
    "solvers": Kind.CHAIN,
    "solver": Kind.CHAIN,
    "init": Kind.CHAIN,
    "subtask": Kind.CHAIN,
}
#: Events whose content the spans already hold (the conversation, the sample's input).
_SKIPPED_EVENTS = frozenset({"state", "sample_init", "span_begin", "span_end"})
#: Event fields that are bookkeeping rather than content.
_EVENT_META = frozenset({"event", "timestamp", "working_start", "uuid", "span_id", "pending"})
#: Inspect's letter grades (CORRECT, INCORRECT, PARTIAL, NOANSWER) as the numbers its metrics use.
_GRADES = {"C": 1.0, "I": 0.0, "P": 0.5, "N": 0.0}


@dataclass(frozen=True, slots=True)
class EvalInfo:
    """What the log says about the whole eval, repeated on each sample's root span."""

    task: str
    eval_id: str | None = None
    run_id: str | None = None
    model: str | None = None
    created_ns: int | None = None
    #: The first scorer's name, for version-1 logs whose samples hold one unnamed `score`.
    scorer: str | None = None

    @classmethod
    def from_log(cls, log: dict[str, Any]) -> EvalInfo:
        spec = _dict(log.get("eval"))
        scorers = _dict(log.get("results")).get("scores") or spec.get("scorers") or []
        first = scorers[0] if isinstance(scorers, list) and scorers and isinstance(scorers[0], dict) else {}
        return cls(
            task=_text(spec.get("task")) or "inspect",
            eval_id=_text(spec.get("eval_id")),
            run_id=_text(spec.get("run_id")),
            model=_text(spec.get("model")),
            created_ns=epoch_ns(spec.get("created")),
            scorer=_text(first.get("name")),
        )


def sample_where(sample: dict[str, Any]) -> str:
    """How problems name a sample."""
    return f"sample {sample.get('id')!s} epoch {sample.get('epoch', 1)!s}"


def sample_spans(sample: dict[str, Any], info: EvalInfo, skip: Skip, *, has_refs: bool = True) -> list[Span]:
    """The sample's spans, root first; ValueError when the sample cannot be placed in time.

    `has_refs` False (the caller saw no reference in the raw bytes) skips resolving attachments."""
    where = sample_where(sample)
    transcript = sample.get("transcript")
    if isinstance(transcript, dict) and "events" not in sample:  # logs before events moved up
        sample = {**sample, "events": transcript.get("events"), "attachments": transcript.get("content")}
    if has_refs:
        sample = _Attachments(_dict(sample.get("attachments")), where, skip).resolve(sample)
    return _Builder(sample, info).build()


def chat_message(value: Any) -> dict[str, Any]:
    """An Inspect ChatMessage as a normalized message."""
    m = _dict(value)
    calls = [
        {"id": _text(c.get("id")), "name": _text(c.get("function")), "arguments": c.get("arguments")}
        for c in m.get("tool_calls") or ()
        if isinstance(c, dict)
    ]
    role = _text(m.get("role")) or "unknown"
    return message(role, content(m.get("content")), calls, _text(m.get("tool_call_id")))


def content(value: Any) -> Any:
    """Inspect content (text, or a list of text/image/reasoning/... parts) as normalized content:
    text when every part is text, else a list of parts."""
    if not isinstance(value, list):
        return value
    parts = [_part(p) for p in value]
    if all(type(p) is str for p in parts):
        return "\n".join(parts)
    return [{"type": "text", "text": p} if type(p) is str else p for p in parts]


def _part(part: Any) -> Any:
    if not isinstance(part, dict):
        return part
    kind = part.get("type")
    if kind == "text":
        return part.get("text")
    if kind == "image":
        return {"type": "image", "url": part.get("image")}
    if kind == "reasoning":
        text = part.get("reasoning") or part.get("summary")
        return {"type": "reasoning", "text": "(redacted)" if part.get("redacted") and not text else text}
    return part


class _Attachments:
    """Replaces whole-string references by their content, reporting each missing one once."""

    def __init__(self, table: dict[str, Any], where: str, skip: Skip) -> None:
        self.table = table
        self.where = where
        self.skip = skip
        self.missing: set[str] = set()

    def resolve(self, value: Any) -> Any:
        kind = type(value)
        if kind is str:
            return self._text(value) if value.startswith(_REF_PREFIXES) else value
        if kind is dict:
            return {key: self.resolve(item) for key, item in value.items()}
        if kind is list:
            return [self.resolve(item) for item in value]
        return value

    def _text(self, ref: str) -> str:
        found = self.table.get(ref.split("://", 1)[1])
        if type(found) is str:
            return found
        if ref not in self.missing:
            self.missing.add(ref)
            self.skip(
                self.where, f"attachment {ref} is not in the sample's attachments; the reference is kept"
            )
        return ref


@dataclass(slots=True)
class _Pairing:
    """Tool events and the tool spans Inspect opened around them, both ways."""

    span_of_event: dict[int, dict[str, Any]]
    event_of_span: dict[str, dict[str, Any]]


class _Builder:
    def __init__(self, sample: dict[str, Any], info: EvalInfo) -> None:
        self.sample = sample
        self.info = info
        sample_id, epoch = sample.get("id"), sample.get("epoch", 1)
        self.sample_id, self.epoch = str(sample_id), epoch
        self.trace_id = _text(sample.get("uuid")) or f"{info.eval_id or info.task}:{sample_id}:{epoch}"
        self.root_id = f"{sample_id}_epoch_{epoch}"
        pools = _dict(sample.get("events_data"))
        self.message_pool = _list(pools.get("messages"))
        self.call_pool = _list(pools.get("calls"))
        self.spans: dict[str, Span] = {}
        self.known: set[str] = set()
        self.generated = 0

    def build(self) -> list[Span]:
        events = [e for e in _list(self.sample.get("events")) if isinstance(e, dict)]
        root = self._root(events)
        self.spans[root.span_id] = root
        self._events(events, root.span_id)
        for span in self.spans.values():
            # A call that failed has no completion time; it ended by the time its span did.
            parent = self.spans.get(span.parent_id or "")
            if span.end_ns is None and span.kind in (Kind.LLM, Kind.TOOL) and parent is not None:
                span.end_ns = parent.end_ns
        return list(self.spans.values())

    # --- the sample ----------------------------------------------------------------------------

    def _root(self, events: list[dict[str, Any]]) -> Span:
        s, info = self.sample, self.info
        # Inspect opens the init span just before it stamps the sample's start: the root spans both.
        starts = [epoch_ns(s.get("started_at")), *(epoch_ns(e.get("timestamp")) for e in events)]
        ends = [epoch_ns(s.get("completed_at")), *(epoch_ns(e.get("completed")) for e in events)]
        start = min((t for t in starts if t is not None), default=info.created_ns)
        if start is None:
            raise ValueError("the sample has no start time and no timed events")
        end = max((t for t in ends + starts[1:] if t is not None), default=None)
        output = _dict(s.get("output"))
        span = Span(
            trace_id=self.trace_id,
            span_id=self.root_id,
            parent_id=None,
            name=f"{info.task} {self.sample_id} epoch {self.epoch}",
            start_ns=start,
            end_ns=end,
            kind=Kind.CHAIN,
            status=Status.OK,
            input=self._input(s.get("input")),
            output=output.get("completion") or self._choices(output) or None,
            service=info.task,
            attributes=_present(
                {
                    "inspect.sample_id": s.get("id"),
                    "inspect.epoch": self.epoch,
                    "inspect.target": s.get("target"),
                    "inspect.task": info.task,
                    "inspect.eval_id": info.eval_id,
                    "inspect.run_id": info.run_id,
                    "inspect.model": info.model,
                    "inspect.total_time": s.get("total_time"),
                    "inspect.working_time": s.get("working_time"),
                    "inspect.limit": s.get("limit"),
                    "inspect.error_retries": len(s.get("error_retries") or ()) or None,
                    **{f"metadata.{k}": v for k, v in _dict(s.get("metadata")).items()},
                }
            ),
            scores=self._scores(),
        )
        error = s.get("error")
        if error:
            _fail(span, error, start if end is None else end)
        return span

    def _input(self, value: Any) -> Any:
        if isinstance(value, list):
            return [chat_message(m) for m in value]
        return value

    def _scores(self) -> list[Score]:
        scores = _dict(self.sample.get("scores"))
        if not scores and isinstance(self.sample.get("score"), dict):
            scores = {self.info.scorer or "score": self.sample["score"]}
        found: list[Score] = []
        for scorer, score in scores.items():
            score = _dict(score)
            comment = _text(score.get("explanation"))
            value = score.get("value")
            values = value.items() if isinstance(value, dict) else [(None, value)]
            for part, item in values:
                name = scorer if part is None else f"{scorer}/{part}"
                number, label = _score_value(item)
                key = f"{name}:{self.sample_id}:{self.epoch}"
                found.append(Score(name, number, label, comment, scorer, key, trace_level=True))
        return found

    # --- events --------------------------------------------------------------------------------

    def _events(self, events: list[dict[str, Any]], default_parent: str) -> None:
        begins = {e["id"]: e for e in events if e.get("event") == "span_begin" and type(e.get("id")) is str}
        ends = {e["id"]: e for e in events if e.get("event") == "span_end" and type(e.get("id")) is str}
        self.known.update(begins)
        pairing = _pair_tools(events, begins)
        plain: list[dict[str, Any]] = []
        for index, event in enumerate(events):
            kind = _text(event.get("event"))
            if kind == "span_begin" and _text(event.get("id")) in begins:
                self._span(
                    event, ends.get(event["id"]), pairing.event_of_span.get(event["id"]), default_parent
                )
            elif kind == "model":
                self._model(event, default_parent)
            elif kind == "tool":
                if index not in pairing.span_of_event:
                    self._tool(event, default_parent)
            elif kind not in _SKIPPED_EVENTS:
                plain.append(event)
        for event in plain:
            self._plain(event, default_parent)

    def _parent(self, span_id: Any, default: str) -> str:
        return span_id if type(span_id) is str and span_id in self.known else default

    def _new_id(self, event: dict[str, Any]) -> str:
        uuid = _text(event.get("uuid"))
        if uuid and uuid not in self.spans:
            return uuid
        self.generated += 1
        return f"{event.get('event')}-{self.generated}"

    def _add(self, span: Span) -> Span:
        self.spans[span.span_id] = span
        return span

    def _span(
        self, begin: dict[str, Any], end: dict[str, Any] | None, tool: dict[str, Any] | None, default: str
    ) -> None:
        start = epoch_ns(begin.get("timestamp"))
        if start is None:
            return
        span_type = _text(begin.get("type"))
        span = self._add(
            Span(
                trace_id=self.trace_id,
                span_id=begin["id"],
                parent_id=self._parent(begin.get("parent_id"), default),
                name=_text(begin.get("name")) or span_type or "span",
                start_ns=start,
                end_ns=epoch_ns(end.get("timestamp")) if end else None,
                kind=_SPAN_KINDS.get(span_type or "", Kind.SPAN),
                status=Status.UNSET,
                attributes=_present({"inspect.span_type": span_type}),
                source_kind=span_type,
            )
        )
        if tool is not None:
            self._fill_tool(span, tool)

    def _model(self, event: dict[str, Any], default: str) -> None:
        start = epoch_ns(event.get("timestamp"))
        if start is None:
            return
        output = _dict(event.get("output"))
        name = _text(event.get("model")) or "model"
        provider, _, model = name.partition("/") if "/" in name else ("", "", name)
        usage = _dict(output.get("usage"))
        span = self._add(
            Span(
                trace_id=self.trace_id,
                span_id=self._new_id(event),
                parent_id=self._parent(event.get("span_id"), default),
                name=name,
                start_ns=start,
                end_ns=self._end(event, start, output.get("time")),
                kind=Kind.LLM,
                status=Status.OK,
                model=model,
                provider=provider or None,
                input=[chat_message(m) for m in self._model_input(event)],
                output=None
                if event.get("error") and not output.get("completion")
                else self._choices(output) or None,
                cost_usd=_number(usage.get("total_cost")),
                attributes=_present(
                    {
                        "inspect.role": event.get("role"),
                        "inspect.output.model": output.get("model"),
                        "inspect.stop_reason": _first_choice(output).get("stop_reason"),
                        "inspect.output.error": output.get("error"),
                        "inspect.tools": event.get("tools") or None,
                        "inspect.tool_choice": event.get("tool_choice"),
                        "inspect.config": event.get("config") or None,
                        "inspect.cache": event.get("cache"),
                        "inspect.retries": event.get("retries"),
                        "inspect.working_time": event.get("working_time"),
                        **self._call(event.get("call")),
                    }
                ),
            )
        )
        _usage(span, usage)
        if event.get("error"):
            _fail(
                span, {"message": event["error"], "traceback": event.get("traceback")}, span.end_ns or start
            )

    def _model_input(self, event: dict[str, Any]) -> list[Any]:
        given = _list(event.get("input"))
        return given if given else _expand(event.get("input_refs"), self.message_pool)

    def _call(self, call: Any) -> dict[str, Any]:
        """The raw provider request (its pooled messages put back) and response."""
        if not isinstance(call, dict):
            return {}
        request = _dict(call.get("request"))
        if call.get("call_refs") is not None:
            request = {
                **request,
                _text(call.get("call_key")) or "messages": _expand(call["call_refs"], self.call_pool),
            }
        return {"inspect.call.request": request or None, "inspect.call.response": call.get("response")}

    def _choices(self, output: dict[str, Any]) -> list[dict[str, Any]]:
        return [chat_message(c.get("message")) for c in _list(output.get("choices")) if isinstance(c, dict)]

    def _tool(self, event: dict[str, Any], default: str) -> None:
        start = epoch_ns(event.get("timestamp"))
        if start is None:
            return
        span = self._add(
            Span(
                trace_id=self.trace_id,
                span_id=self._new_id(event),
                parent_id=self._parent(event.get("span_id"), default),
                name=_text(event.get("function")) or "tool",
                start_ns=start,
                kind=Kind.TOOL,
            )
        )
        self._fill_tool(span, event)

    def _fill_tool(self, span: Span, event: dict[str, Any]) -> None:
        """Put a tool event's call and result on its span; a tool span takes in the event's times."""
        start = epoch_ns(event.get("timestamp"))
        if start is not None and start < span.start_ns:
            span.start_ns = start
        end = self._end(event, span.start_ns, None)
        if end is not None and (span.end_ns is None or end > span.end_ns):
            span.end_ns = end
        span.kind = Kind.TOOL
        span.name = _text(event.get("function")) or span.name
        span.input = event.get("arguments")
        span.output = content(event.get("result"))
        span.status = Status.OK
        span.attributes.update(
            _present(
                {
                    "inspect.tool_call_id": event.get("id"),
                    "inspect.truncated": event.get("truncated"),
                    "inspect.agent": event.get("agent"),
                    "inspect.failed": event.get("failed"),
                    "inspect.working_time": event.get("working_time"),
                }
            )
        )
        error = event.get("error")
        if isinstance(error, dict):
            span.status = Status.ERROR
            span.status_message = ": ".join(str(p) for p in (error.get("type"), error.get("message")) if p)
        nested = [e for e in _list(event.get("events")) if isinstance(e, dict)]
        if nested:  # logs from before tool calls had their own spans
            self._events(nested, span.span_id)

    def _plain(self, event: dict[str, Any], default: str) -> None:
        kind = _text(event.get("event")) or "event"
        owner = self.spans.get(self._parent(event.get("span_id"), default)) or self.spans[self.root_id]
        time_ns = epoch_ns(event.get("timestamp"))
        if kind == "error":
            _fail(owner, event.get("error"), time_ns)
            return
        attributes = {
            k: v for k, v in event.items() if k not in _EVENT_META and v is not None and k != "events"
        }
        owner.events.append(Event(kind, time_ns, attributes))
        nested = [e for e in _list(event.get("events")) if isinstance(e, dict)]
        if nested:  # subtask events of older logs carry their own transcript
            self._events(nested, owner.span_id)

    def _end(self, event: dict[str, Any], start: int, seconds: Any) -> int | None:
        end = epoch_ns(event.get("completed"))
        if end is None and (duration := _number(seconds)) is not None:
            end = start + int(duration * 1e9)
        return end


def _pair_tools(events: list[dict[str, Any]], begins: dict[str, dict[str, Any]]) -> _Pairing:
    """Match each tool event with the span Inspect opened around the call.

    Newer Inspect records the event inside that span (its span_id is the span); older versions
    record it in the calling span, next to a span named after the function that opens while the
    call runs."""
    pairing = _Pairing({}, {})
    beside: dict[tuple[Any, Any], list[dict[str, Any]]] = defaultdict(list)
    for begin in begins.values():
        if begin.get("type") in (None, "tool"):
            beside[_text(begin.get("parent_id")), _text(begin.get("name"))].append(begin)
    for index, event in enumerate(events):
        if event.get("event") != "tool":
            continue
        function, span_id = _text(event.get("function")), _text(event.get("span_id"))
        inside = begins.get(span_id) if span_id else None
        if inside is not None and inside.get("type") == "tool" and inside.get("name") == function:
            match: dict[str, Any] | None = inside
        else:
            match = _opened_during(event, beside[span_id, function], pairing)
        if match is not None and match["id"] not in pairing.event_of_span:
            pairing.span_of_event[index] = match
            pairing.event_of_span[match["id"]] = event
    return pairing


def _opened_during(
    event: dict[str, Any], candidates: list[dict[str, Any]], pairing: _Pairing
) -> dict[str, Any] | None:
    """The first candidate span not yet paired that opened while the tool call ran."""
    started = epoch_ns(event.get("timestamp"))
    completed = epoch_ns(event.get("completed"))
    if started is None:
        return None
    for begin in candidates:
        begun = epoch_ns(begin.get("timestamp"))
        if begin["id"] in pairing.event_of_span or begun is None:
            continue
        if started <= begun and (completed is None or begun <= completed):
            return begin
    return None


def _usage(span: Span, usage: dict[str, Any]) -> None:
    """Inspect's ModelUsage on the span, input tokens including cached ones.

    Providers differ: OpenAI's input count includes cache reads, Anthropic's does not. Inspect's
    total tells which: when it adds the cache counts on top of input and output, they were apart."""
    if not usage:
        return
    given, output = _int(usage.get("input_tokens")), _int(usage.get("output_tokens"))
    read, write = _int(usage.get("input_tokens_cache_read")), _int(usage.get("input_tokens_cache_write"))
    total = _int(usage.get("total_tokens"))
    cached = (read or 0) + (write or 0)
    if given is not None and cached and total == given + (output or 0) + cached:
        given += cached
    span.input_tokens, span.output_tokens, span.total_tokens = given, output, total
    span.cache_read_tokens, span.cache_write_tokens = read, write
    span.reasoning_tokens = _int(usage.get("reasoning_tokens"))


def _fail(span: Span, error: Any, time_ns: int | None) -> None:
    """Mark the span failed, keeping Inspect's error (message and traceback) as an exception event."""
    error = error if isinstance(error, dict) else {"message": error}
    text = _text(error.get("message")) or str(error.get("message") or "error")
    span.status, span.status_message = Status.ERROR, text
    if any(e.is_exception and e.exception_message == text for e in span.events):
        return  # the sample's error is also an error event of its transcript
    attributes = _present({"exception.message": text, "exception.stacktrace": _text(error.get("traceback"))})
    span.events.append(Event("exception", time_ns, attributes))


def _score_value(value: Any) -> tuple[float | None, str | None]:
    """(value, label) of one score value: numbers stay numbers, letter grades get their number."""
    if type(value) is bool:
        return float(value), None
    if isinstance(value, int | float):
        return float(value), None
    if isinstance(value, str):
        return _GRADES.get(value), value
    if value is None:
        return None, None
    return None, orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _expand(refs: Any, pool: list[Any]) -> list[Any]:
    """Inspect's range-encoded references, [start, end) pairs, against a pool."""
    found: list[Any] = []
    for ref in _list(refs):
        if isinstance(ref, list) and len(ref) == 2 and all(type(i) is int for i in ref):
            found.extend(pool[ref[0] : ref[1]])
    return found


def _first_choice(output: dict[str, Any]) -> dict[str, Any]:
    choices = _list(output.get("choices"))
    return _dict(choices[0]) if choices else {}


def _present(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    return value if type(value) is str and value else None


def _int(value: Any) -> int | None:
    return value if type(value) is int else None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and type(value) is not bool else None
