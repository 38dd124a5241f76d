"""The normalized span: one shape for every source format.

Readers turn whatever a file holds into `Span` objects (and OTLP log records into `LogRecord`s);
everything downstream (store, CLI, UI) sees only this shape. Times are integer nanoseconds since the
Unix epoch; ids are lowercase hex where the source used OpenTelemetry ids, otherwise the source's own
id as text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    """What a span does, in OpenInference's vocabulary (SPAN when nothing more is known)."""

    AGENT = "AGENT"
    CHAIN = "CHAIN"
    LLM = "LLM"
    TOOL = "TOOL"
    RETRIEVER = "RETRIEVER"
    EMBEDDING = "EMBEDDING"
    RERANKER = "RERANKER"
    GUARDRAIL = "GUARDRAIL"
    EVALUATOR = "EVALUATOR"
    PROMPT = "PROMPT"
    SPAN = "SPAN"


class Status(StrEnum):
    OK = "ok"
    ERROR = "error"
    UNSET = "unset"


#: Kinds whose token usage is the model's own (the others only repeat their children's).
MODEL_KINDS = frozenset({Kind.LLM, Kind.EMBEDDING, Kind.RERANKER})


@dataclass(slots=True)
class Event:
    """A timestamped event on a span; exceptions carry exception.type/message/stacktrace."""

    name: str
    time_ns: int | None
    attributes: dict[str, Any] = field(default_factory=dict)

    @property
    def is_exception(self) -> bool:
        return self.name == "exception" or "exception.type" in self.attributes

    @property
    def exception_type(self) -> str | None:
        return self.attributes.get("exception.type")

    @property
    def exception_message(self) -> str | None:
        return self.attributes.get("exception.message")

    @property
    def stacktrace(self) -> str | None:
        return self.attributes.get("exception.stacktrace")

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "time_ns": self.time_ns, "attributes": self.attributes}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Event:
        return cls(data["name"], data.get("time_ns"), data.get("attributes") or {})


@dataclass(frozen=True, slots=True)
class Score:
    """An evaluation of a span or a whole trace: a number, a label, or both.

    Sources call these scores, feedback, annotations or assessments. `source` says who gave it
    (e.g. HUMAN, LLM, CODE, API); `key` is the source's own id for it, so a re-read score is not
    stored twice while two scores of the same name from different annotators both are.
    """

    name: str
    value: float | None = None
    label: str | None = None
    comment: str | None = None
    source: str | None = None
    key: str = ""
    #: True when the score rates the whole trace rather than the span it is attached to.
    trace_level: bool = False
    #: True for a review given in Spanscope itself (not imported); `source` is then its author.
    local: bool = False

    @property
    def given_by(self) -> str | None:
        """Who or what gave it, as a user reads it."""
        if self.local:
            return f"{self.source} (local review)"
        return self.source

    def display_value(self) -> str:
        """The score as a user reads it: the label when there is one, else the number."""
        if self.label is not None:
            return self.label
        return "" if self.value is None else f"{self.value:.4g}"


@dataclass(frozen=True, slots=True)
class ScoreFor:
    """A score of a span or trace whose spans are not in the file being read (a file of scores
    or feedback only); the store keeps it with that span or trace, already stored or to come.

    `span_id` None: the score rates the trace (its `trace_level` must then be True). `trace_id`
    None: the source names only the span (LangSmith feedback names its run); the store finds its
    trace among the stored spans, and a score of a root span then rates the whole trace, as
    readers attach trace scores to roots. A span not in the store is reported, not kept.
    """

    trace_id: str | None
    span_id: str | None
    score: Score


@dataclass(slots=True)
class LogRecord:
    """One OTLP log record. Instrumentations that record message content as log events (GenAI
    events, Pydantic AI's logs mode, Google ADK) put a model call's input and output here, joined to
    its span by (trace_id, span_id); either may be None for a record of no span.

    `time_ns` is the record's time, else the time it was observed; `body` is the record's AnyValue as
    plain JSON values (a string that holds JSON stays a string); `event_name` is the OTLP `eventName`
    field, else the `event.name` attribute."""

    trace_id: str | None
    span_id: str | None
    time_ns: int | None
    severity_number: int | None = None
    severity_text: str | None = None
    event_name: str | None = None
    body: Any = None
    attributes: dict[str, Any] = field(default_factory=dict)
    resource: dict[str, Any] = field(default_factory=dict)
    scope: dict[str, Any] = field(default_factory=dict)

    @property
    def service(self) -> str | None:
        service = self.resource.get("service.name")
        return service if isinstance(service, str) else None

    def to_json(self) -> dict[str, Any]:
        """The record's content as stored (its ids and time are columns of their own)."""
        found: dict[str, Any] = {
            "attributes": self.attributes,
            "resource": self.resource,
            "scope": self.scope,
        }
        for key in ("severity_number", "severity_text", "event_name", "body"):
            value = getattr(self, key)
            if value is not None:
                found[key] = value
        return found

    @classmethod
    def from_json(
        cls, trace_id: str | None, span_id: str | None, time_ns: int | None, data: dict[str, Any]
    ) -> LogRecord:
        return cls(
            trace_id,
            span_id,
            time_ns,
            data.get("severity_number"),
            data.get("severity_text"),
            data.get("event_name"),
            data.get("body"),
            data.get("attributes") or {},
            data.get("resource") or {},
            data.get("scope") or {},
        )


@dataclass(slots=True)
class Span:
    """One unit of work. `input`/`output` hold text, a JSON value, or a list of chat messages
    (dicts with role, content, tool_calls, tool_call_id) when the source has them.

    Token counts follow the OpenAI/GenAI convention: input_tokens include cached tokens and
    output_tokens include reasoning tokens. `cost_usd` is only a cost the source itself reported.
    """

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    start_ns: int
    end_ns: int | None = None
    kind: Kind = Kind.SPAN
    status: Status = Status.UNSET
    status_message: str | None = None
    model: str | None = None
    provider: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None
    cost_usd: float | None = None
    input: Any = None
    output: Any = None
    session_id: str | None = None
    user_id: str | None = None
    service: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    #: Resource attributes and instrumentation scope, kept apart from the span's own attributes.
    resource: dict[str, Any] = field(default_factory=dict)
    scope: dict[str, Any] = field(default_factory=dict)
    #: The source's own span kind (e.g. OTel "CLIENT"), kept for display.
    source_kind: str | None = None
    #: Evaluations of this span, and of its trace when a score is trace-level (readers attach
    #: those to the trace's root span).
    scores: list[Score] = field(default_factory=list)
    #: Other spans this one is causally linked to (OTLP links: a batch job's inputs, a retried
    #: request), each a dict with trace_id, span_id and attributes.
    links: list[dict[str, Any]] = field(default_factory=list)
    #: The OTLP log records of this span, in time order (set by the store on read: logs are read
    #: apart from spans and joined by trace and span id).
    logs: list[LogRecord] = field(default_factory=list)
    #: Set by the store once the whole trace is known.
    orphan: bool = False
    clock_skew: bool = False
    #: Time to first token of a streamed model call, in ns from the start (conventions.apply_fields
    #: reads it from each convention's own field and unit); None when unknown.
    ttft_ns: int | None = None

    @property
    def duration_ns(self) -> int | None:
        return None if self.end_ns is None else self.end_ns - self.start_ns

    @property
    def is_model_call(self) -> bool:
        return self.kind in MODEL_KINDS


def is_messages(value: Any) -> bool:
    """True when `value` is a chat transcript in the normalized message shape."""
    return isinstance(value, list) and bool(value) and all(isinstance(m, dict) and "role" in m for m in value)


def message(
    role: str,
    content: Any = None,
    tool_calls: list[dict[str, Any]] | None = None,
    tool_call_id: str | None = None,
) -> dict[str, Any]:
    """Build one normalized chat message; tool_calls are dicts with id, name and arguments."""
    return {"role": role, "content": content, "tool_calls": tool_calls or [], "tool_call_id": tool_call_id}
