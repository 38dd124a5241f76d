"""Pydantic AI's own attributes, beside the GenAI ones it writes (instrumentation versions 1-5).

Agent spans (`invoke_agent <agent>`, `agent run` before version 3) carry the run's whole history,
`pydantic_ai.all_messages` in the parts format (version 2 on) or `all_messages_events` (version 1),
and its answer, `final_result`. Version 1 in `event_mode="attributes"` puts each chat span's message
events into one JSON attribute, `events`; tool spans before version 3 carry `tool_arguments` and
`tool_response` instead of `gen_ai.tool.call.*`. The run's usage on agent spans (`gen_ai.aggregated_usage.*`,
and `gen_ai.usage.*` in version 1) is not read as a model call's: agent spans are AGENT, never counted.
"""

from __future__ import annotations

from typing import Any

from spanscope.core.conventions.base import Convention, Source
from spanscope.core.conventions.genai import event_messages, json_value, parts_messages, system_message
from spanscope.core.conventions.parse import Getter, Message, loads
from spanscope.core.model import Event

_EVENTS = "events"
_HISTORY_EVENTS = "all_messages_events"
_HISTORY = "pydantic_ai.all_messages"


def _events(value: Any) -> list[Event] | None:
    """Version 1's JSON list of event bodies, each naming its event under `event.name`, as events."""
    items = loads(value)
    if not isinstance(items, list):
        return None
    events = [
        Event(item["event.name"], None, item)
        for item in items
        if isinstance(item, dict) and type(item.get("event.name")) is str
    ]
    return events or None


def _input(attrs: dict[str, Any], get: Getter, found: int) -> list[Message] | None:
    """An agent's history (after its system instructions), else a version 1 chat's input events."""
    raw = get(_HISTORY)
    if raw is not None:
        system = system_message(get("gen_ai.system_instructions"))
        return [*([system] if system else []), *parts_messages(raw, "user")] or None
    if _HISTORY_EVENTS not in attrs and _EVENTS not in attrs:
        return None
    events = _events(get(_HISTORY_EVENTS) or get(_EVENTS))
    return None if events is None else event_messages(events)[0]


def _output(attrs: dict[str, Any], get: Getter, found: int) -> list[Message] | None:
    events = _events(get(_EVENTS)) if _EVENTS in attrs else None
    return None if events is None else event_messages(events)[1]


CONVENTION = Convention(
    name="Pydantic AI",
    chat_input=(Source((_HISTORY, _HISTORY_EVENTS, _EVENTS), _input),),
    chat_output=(Source((_EVENTS,), _output),),
    value_input=(json_value("tool_arguments"),),
    value_output=(json_value("tool_response"), json_value("final_result")),
)
