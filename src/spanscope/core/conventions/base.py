"""What a convention module declares, and the field bits the key-layout table is made of.

A convention is data: the keys each normalized field may come from and small readers for what needs
decoding. `precedence` joins the declarations of every registered convention, in order, into the flat
key tuples and the key-to-bit table the hot path reads, so adding a convention adds no work per span
beyond looking up its keys.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields
from enum import Enum
from types import MappingProxyType
from typing import Any, NamedTuple

from spanscope.core.conventions.parse import Getter, Message, unwrap
from spanscope.core.model import Event, Kind, Span

__all__ = ["Convention", "Source", "TimeUnit", "json_source", "kind_table"]

#: Bits of the fields that have a source among a span's keys (see precedence._present).
(
    MODEL,
    PROVIDER,
    USAGE_JSON,
    COST,
    KIND,
    SESSION,
    USER,
    CHAT_IN,
    CHAT_OUT,
    VALUE_IN,
    VALUE_OUT,
    STATUS,
    TTFT,
    #: The span is of a convention that marks its first token with an event (found by its kind key).
    TTFT_EVENT,
    #: For conventions that flatten messages into keys: which optional parts any message has, so
    #: absent ones are not probed.
    PART_CONTENTS,
    PART_CALLS,
    PART_CALL_ID,
    PART_NAME,
    *TOKEN_BITS,
) = (1 << i for i in range(24))
PART_FEATURES = PART_CONTENTS | PART_CALLS | PART_CALL_ID | PART_NAME
#: The span's token fields, in the order of TOKEN_BITS.
TOKEN_FIELDS = tuple(f.name for f in fields(Span) if f.name.endswith("_tokens"))
KindSource = tuple[str, dict[str, Kind]]
#: Reads one source of input or output from (attributes, their get, the found bits); None: absent.
Reader = Callable[[dict[str, Any], Getter, int], Any]


class TimeUnit(Enum):
    """How a time-to-first-token value is written: nanoseconds per unit of a duration, or (0) the
    absolute time of the first token, from which the span's start is taken."""

    SECONDS = 1_000_000_000
    MILLISECONDS = 1_000_000
    TIMESTAMP = 0


class Source(NamedTuple):
    """Where one side of a span's input or output may be: the keys that say it is there (for the
    key-layout table) and its reader."""

    keys: tuple[str, ...]
    read: Reader


class Convention(NamedTuple):
    """One attribute convention: keys per field in its own precedence, readers for the rest."""

    name: str
    kinds: tuple[KindSource, ...] = ()
    model: tuple[str, ...] = ()
    #: Where the model asked for is when no `model` key names one (a request's parameters): a failed
    #: call has no response, and its cost and stats belong to the model it asked for.
    requested_model: tuple[Source, ...] = ()
    provider: tuple[str, ...] = ()
    session: tuple[str, ...] = ()
    user: tuple[str, ...] = ()
    #: Token field (TOKEN_FIELDS) to its keys; counts are normalized: input includes cached tokens,
    #: output includes reasoning tokens.
    tokens: Mapping[str, tuple[str, ...]] = MappingProxyType({})
    #: A usage object as JSON: its key and its reader into token fields (the last resort for tokens).
    usage: tuple[str, Callable[[Any], dict[str, int | None] | None]] | None = None
    #: The keys a reported cost comes from and its reader.
    cost: tuple[tuple[str, ...], Callable[[Getter], float | None]] | None = None
    #: An error reported while the OTel status stays unset: its keys and a reader giving the key of
    #: the error's message when the span is in error.
    status: tuple[tuple[str, ...], Callable[[dict[str, Any], Getter], str | None]] | None = None
    #: The same for an error reported while the OTel status says OK (exporters that end every span
    #: OK): it overrides that status.
    failure: tuple[tuple[str, ...], Callable[[dict[str, Any], Getter], str | None]] | None = None
    chat_input: tuple[Source, ...] = ()
    chat_output: tuple[Source, ...] = ()
    #: Input and output messages carried by span events.
    events: Callable[[list[Event]], tuple[list[Message] | None, list[Message] | None]] | None = None
    value_input: tuple[Source, ...] = ()
    value_output: tuple[Source, ...] = ()
    #: Time to first token: keys in precedence, each with the unit its value is written in.
    ttft: tuple[tuple[str, TimeUnit], ...] = ()
    #: Names of span events whose time is the first token's (looked for on spans with a `kinds` key).
    ttft_events: tuple[str, ...] = ()
    #: Extra (bit, keys) routes, e.g. the PART_* bits of flattened messages.
    features: tuple[tuple[int, tuple[str, ...]], ...] = ()
    #: Names a framework writes into a provider key that name the framework, not the model's provider
    #: (Strands' `strands-agents`): skipped, so the provider is the next key's or unknown.
    framework_names: frozenset[str] = frozenset()
    #: Ends of span names a framework marks as model calls though they make none (helpers around
    #: the call): such spans are steps (CHAIN), never counted.
    helper_calls: tuple[str, ...] = ()
    #: (key, values): a span whose key holds one of the values and that has no input of its own shows
    #: the input its parent's attributes give (Mastra's model call, whose prompt is on its step).
    input_from_parent: tuple[tuple[str, frozenset[str]], ...] = ()


def kind_table(names: dict[str, Kind]) -> dict[str, Kind]:
    """Accept the lowercase and uppercase spellings real files use."""
    table: dict[str, Kind] = {}
    for name, kind in names.items():
        table[name] = table[name.lower()] = table[name.upper()] = kind
    return table


def json_source(key: str) -> Source:
    """The value of one key, JSON decoded (tool arguments and results, raw responses)."""

    def read(attrs: dict[str, Any], get: Getter, found: int) -> Any:
        value = get(key)
        return None if value is None else unwrap(value)

    return Source((key,), read)
