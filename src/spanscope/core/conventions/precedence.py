"""The registered conventions in their fixed precedence, joined into what the hot path reads.

Every field takes the first value found in CONVENTIONS order, and values from different conventions
are never added. Input and output go by form first, then by that order: chat messages, then messages
carried by span events, then plain values (text, JSON, retrieved documents).

The joined key tuples and the key-to-bit table are built once, here; per span, `_present` tells from
the span's key layout (memoized) which fields have a source at all, and only those are looked up.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from spanscope.core.conventions import (
    adk,
    genai,
    langfuse,
    mastra,
    mcp,
    openinference,
    openllmetry,
    pydantic_ai,
    vercel,
)
from spanscope.core.conventions.base import (
    CHAT_IN,
    CHAT_OUT,
    COST,
    KIND,
    MODEL,
    PROVIDER,
    SESSION,
    STATUS,
    TOKEN_BITS,
    TOKEN_FIELDS,
    TTFT,
    TTFT_EVENT,
    USAGE_JSON,
    USER,
    VALUE_IN,
    VALUE_OUT,
    Convention,
    Reader,
    TimeUnit,
)
from spanscope.core.conventions.logs import log_sources
from spanscope.core.conventions.parse import Getter, as_float, as_int, as_text, epoch_ns, first_text, unwrap
from spanscope.core.model import Event, Kind, LogRecord, Span, Status

__all__ = ["CONVENTIONS", "DERIVATION", "apply_fields", "derived_io", "inherits_input"]

#: The conventions, first to last in precedence. A new convention is a module and a line here.
CONVENTIONS: tuple[Convention, ...] = (
    openinference.CONVENTION,
    mastra.CONVENTION,
    pydantic_ai.CONVENTION,
    genai.CONVENTION,
    vercel.CONVENTION,
    adk.CONVENTION,
    mcp.CONVENTION,
    openllmetry.CONVENTION,
    langfuse.CONVENTION,
)
#: The version of `derived_io`: raise it whenever a change here or in a convention module changes
#: the input or output derived for any span; stored documents record it and the search index is
#: rebuilt when it differs.
DERIVATION = 4
#: Distinct attribute-key layouts remembered by `_present` before the memo starts over.
_MAX_SHAPES = 4096
_SHAPES: dict[tuple[str, ...], int] = {}


def _joined(field: str) -> tuple[str, ...]:
    return tuple(key for convention in CONVENTIONS for key in getattr(convention, field))


def _readers(field: str) -> tuple[Reader, ...]:
    """The readers of one kind of source, in precedence order (bare functions: the read path calls
    them for every span)."""
    return tuple(source.read for convention in CONVENTIONS for source in getattr(convention, field))


_MODEL_KEYS = _joined("model")
_REQUESTED_MODEL = _readers("requested_model")
_PROVIDER_KEYS = _joined("provider")
_SESSION_KEYS = _joined("session")
_USER_KEYS = _joined("user")
_KIND_SOURCES = _joined("kinds")
_TOKEN_SOURCES = tuple(
    (field, bit, tuple(key for c in CONVENTIONS for key in c.tokens.get(field, ())))
    for field, bit in zip(TOKEN_FIELDS, TOKEN_BITS, strict=True)
)
_ANY_TOKENS = sum(TOKEN_BITS) | USAGE_JSON
_USAGE = tuple(c.usage for c in CONVENTIONS if c.usage is not None)
_COSTS = tuple(c.cost[1] for c in CONVENTIONS if c.cost is not None)
#: Error readers per OTel status: an unset status takes every one, in precedence; OK only failures.
_STATUSES = {
    Status.UNSET: tuple(s[1] for c in CONVENTIONS for s in (c.status, c.failure) if s is not None),
    Status.OK: tuple(c.failure[1] for c in CONVENTIONS if c.failure is not None),
}
_EVENTS = tuple(c.events for c in CONVENTIONS if c.events is not None)
_CHAT_INPUT, _CHAT_OUTPUT = _readers("chat_input"), _readers("chat_output")
_FRAMEWORK_NAMES = frozenset().union(*(c.framework_names for c in CONVENTIONS))
_HELPER_CALLS = _joined("helper_calls")
_TTFT_SOURCES = _joined("ttft")
_TTFT_EVENTS = frozenset(_joined("ttft_events"))
_TIMESTAMP = TimeUnit.TIMESTAMP
#: A first token later than this after the start is a misread value, not a measure (and a store
#: column holds 64 bits).
MAX_TTFT_NS = 86_400 * 1_000_000_000
#: Enum members read once: a class attribute lookup on an Enum costs more than the check itself.
_LLM, _CHAIN = Kind.LLM, Kind.CHAIN
_VALUE_INPUT, _VALUE_OUTPUT = _readers("value_input"), _readers("value_output")
_INPUT_FROM_PARENT = _joined("input_from_parent")


def _routes() -> dict[str, int]:
    """Map every key a field can come from to that field's bit (a key may feed several)."""
    groups: list[tuple[int, tuple[str, ...]]] = [
        (MODEL, _MODEL_KEYS),
        (MODEL, tuple(key for c in CONVENTIONS for source in c.requested_model for key in source.keys)),
        (PROVIDER, _PROVIDER_KEYS),
        (SESSION, _SESSION_KEYS),
        (USER, _USER_KEYS),
        (KIND, tuple(key for key, _ in _KIND_SOURCES)),
        (TTFT, tuple(key for key, _ in _TTFT_SOURCES)),
        (TTFT_EVENT, tuple(key for c in CONVENTIONS if c.ttft_events for key, _ in c.kinds)),
        (USAGE_JSON, tuple(key for key, _ in _USAGE)),
        *((bit, keys) for _, bit, keys in _TOKEN_SOURCES),
    ]
    for convention in CONVENTIONS:
        if convention.cost is not None:
            groups.append((COST, convention.cost[0]))
        for status in (convention.status, convention.failure):
            if status is not None:
                groups.append((STATUS, status[0]))
        for bit, sources in (
            (CHAT_IN, convention.chat_input),
            (CHAT_OUT, convention.chat_output),
            (VALUE_IN, convention.value_input),
            (VALUE_OUT, convention.value_output),
        ):
            groups.extend((bit, source.keys) for source in sources)
        groups.extend(convention.features)
    routes: dict[str, int] = {}
    for bit, keys in groups:
        for key in keys:
            routes[key] = routes.get(key, 0) | bit
    return routes


_ROUTES = _routes()


def _scan(keys: tuple[str, ...]) -> int:
    """Bits of the fields that have at least one source key among `keys`."""
    routes = _ROUTES.get
    found = 0
    for key in keys:
        bit = routes(key)
        if bit is not None:
            found |= bit
    return found


def _present(attrs: dict[str, Any]) -> int:
    """`_scan` memoized per key tuple: spans from one instrumentation repeat the same keys in the same
    order, and hashing the tuple costs half of scanning it. The memo is bounded by clearing it."""
    shape = tuple(attrs)
    found = _SHAPES.get(shape)
    if found is None:
        if len(_SHAPES) >= _MAX_SHAPES:
            _SHAPES.clear()
        found = _SHAPES[shape] = _scan(shape)
    return found


# --- input and output --------------------------------------------------------------------------


def _first(readers: tuple[Reader, ...], attrs: dict[str, Any], get: Getter, found: int) -> Any:
    for read in readers:
        value = read(attrs, get, found)
        if value is not None:
            return value
    return None


def inherits_input(attributes: dict[str, Any]) -> bool:
    """Whether the span, lacking an input of its own, shows its parent's (a convention's
    `input_from_parent`): readers fetch the parent's attributes only for such spans."""
    get = attributes.get
    for key, values in _INPUT_FROM_PARENT:
        value = get(key)
        if type(value) is str and value in values:
            return True
    return False


def derived_io(
    attributes: dict[str, Any],
    events: list[Event],
    logs: Sequence[LogRecord] = (),
    parent: dict[str, Any] | None = None,
) -> tuple[Any, Any]:
    """A span's input and output as its conventions give them (chat messages, content events, values,
    retrieved documents), then, for what is still missing, as they give them from the span's log
    records (conventions/logs.py), then, for a span that `inherits_input`, the input its parent's
    attributes `parent` give; None where none does. Nothing given is changed."""
    inputs, outputs = _derived(attributes, events)
    if (inputs is None or outputs is None) and logs:
        for log_attributes, log_events in log_sources(logs):
            log_inputs, log_outputs = _derived(log_attributes, log_events)
            inputs = log_inputs if inputs is None else inputs
            outputs = log_outputs if outputs is None else outputs
    if inputs is None and parent is not None and inherits_input(attributes):
        inputs = _derived(parent, [])[0]
    return inputs, outputs


def _derived(attributes: dict[str, Any], events: list[Event]) -> tuple[Any, Any]:
    get = attributes.get
    found = _present(attributes)
    inputs = _first(_CHAT_INPUT, attributes, get, found) if found & CHAT_IN else None
    outputs = _first(_CHAT_OUTPUT, attributes, get, found) if found & CHAT_OUT else None
    if (inputs is None or outputs is None) and events:
        for read in _EVENTS:
            event_inputs, event_outputs = read(events)
            inputs = inputs or event_inputs
            outputs = outputs or event_outputs
    if inputs is None and found & VALUE_IN:
        inputs = _first(_VALUE_INPUT, attributes, get, found)
    if outputs is None and found & VALUE_OUT:
        outputs = _first(_VALUE_OUTPUT, attributes, get, found)
    return inputs, outputs


# --- the other fields --------------------------------------------------------------------------


def _kind(get: Getter) -> Kind | None:
    for key, table in _KIND_SOURCES:
        value = get(key)
        if type(value) is str:
            kind = table.get(value) or table.get(value.lower())
            if kind is not None:
                return kind
    return None


def _reported_usage(get: Getter) -> dict[str, int | None] | None:
    for key, read in _USAGE:
        raw = get(key)
        if raw is not None:
            usage = read(raw)
            if usage is not None:
                return usage
    return None


def _apply_tokens(span: Span, get: Getter, found: int) -> None:
    reported = _reported_usage(get) if found & USAGE_JSON else None
    for field, bit, keys in _TOKEN_SOURCES:
        value = None
        if found & bit:
            for key in keys:
                value = get(key)
                if value is not None:
                    value = value if type(value) is int and value >= 0 else as_int(value)
                    if value is not None:
                        break
        if value is None and reported is not None:
            value = reported[field]
        if value is not None:
            setattr(span, field, value)
    if span.total_tokens is None and span.input_tokens is not None and span.output_tokens is not None:
        span.total_tokens = span.input_tokens + span.output_tokens


def _cost(get: Getter) -> float | None:
    for read in _COSTS:
        cost = read(get)
        if cost is not None:
            return cost
    return None


def _apply_status(span: Span, attrs: dict[str, Any], get: Getter) -> None:
    """Conventions that report an error while the OTel status stays unset (or says OK: failures)."""
    for read in _STATUSES[span.status]:
        message_key = read(attrs, get)
        if message_key is not None:
            span.status = Status.ERROR
            if span.status_message is None:
                span.status_message = as_text(get(message_key))
            return


def _provider(get: Getter) -> str | None:
    for key in _PROVIDER_KEYS:
        value = get(key)
        if value is not None:
            value = as_text(value)
            if value is not None and value not in _FRAMEWORK_NAMES:
                return value
    return None


def _offset(value: Any, unit: TimeUnit, start_ns: int) -> int | None:
    """A time-to-first-token value in nanoseconds from the start; None when it is not a time."""
    if unit is _TIMESTAMP:
        at = epoch_ns(unwrap(value))  # Langfuse writes the time JSON-quoted
        return None if at is None else at - start_ns
    amount = as_float(value)
    if amount is None:
        return None
    ns = amount * unit.value
    return round(ns) if math.isfinite(ns) else None


def _ttft(span: Span, get: Getter, found: int) -> int | None:
    """Nanoseconds from the span's start to its first token: the first value of the conventions' keys,
    in its unit, then the first first-token event of a convention that writes one. A value that is
    not a time, or that puts the first token before the start or over MAX_TTFT_NS after it, counts as
    absent; one after the span's end is kept (LlamaIndex ends its streaming span when it hands back
    the stream, before the first token)."""
    start = span.start_ns
    if found & TTFT:
        for key, unit in _TTFT_SOURCES:
            value = get(key)
            if value is not None:
                ns = _offset(value, unit, start)
                if ns is not None and 0 <= ns <= MAX_TTFT_NS:
                    return ns
    for event in span.events if found & TTFT_EVENT else ():
        if event.name in _TTFT_EVENTS and event.time_ns is not None:
            ns = event.time_ns - start
            if 0 <= ns <= MAX_TTFT_NS:
                return ns
    return None


def without_provider(model: str, provider: str) -> str:
    """`openai/gpt-4o-mini` from provider `openai` is `gpt-4o-mini`: LiteLLM (Google ADK's route to
    other providers) names a failed call's model with its provider in front, while the response of a
    successful one names it bare, so the same model would be counted as two. A prefix naming another
    provider (a router's `openai/…` from `openrouter`) is part of the name and stays."""
    head, slash, rest = model.partition("/")
    return rest if slash and rest and head.lower() == provider.lower() else model


def _has_usage(span: Span) -> bool:
    return span.input_tokens is not None or span.output_tokens is not None


def apply_fields(span: Span) -> int:
    """Fill the span's normalized fields but input and output (derived when it is read: see
    derived_io) from its attribute conventions, in place; fields no convention provides keep the
    reader's values. Returns the found bits. span.attributes is only read."""
    attrs = span.attributes
    get = attrs.get
    found = _present(attrs)
    if found & MODEL:
        span.model = first_text(get, _MODEL_KEYS) or span.model or _first(_REQUESTED_MODEL, attrs, get, found)
    if found & PROVIDER:
        span.provider = _provider(get) or span.provider
    if span.model is not None and span.provider is not None:
        span.model = without_provider(span.model, span.provider)
    if found & _ANY_TOKENS:
        _apply_tokens(span, get, found)
    if found & COST:
        cost = _cost(get)
        if cost is not None:
            span.cost_usd = cost
    kind = _kind(get) if found & KIND else None
    if kind is _LLM and span.name.endswith(_HELPER_CALLS):
        kind = _CHAIN
    if kind is not None:
        span.kind = kind
    elif span.kind == Kind.SPAN and span.model and _has_usage(span):
        span.kind = Kind.LLM
    if found & SESSION:
        span.session_id = first_text(get, _SESSION_KEYS) or span.session_id
    if found & USER:
        span.user_id = first_text(get, _USER_KEYS) or span.user_id
    service = span.resource.get("service.name")
    if service is not None:
        span.service = as_text(service) or span.service
    if found & STATUS and span.status != Status.ERROR:
        _apply_status(span, attrs, get)
    if found & TTFT or (found & TTFT_EVENT and span.events):
        ttft = _ttft(span, get, found)
        if ttft is not None:
            span.ttft_ns = ttft
    return found
