"""What changed in a model call's input conversation since the trace's previous model call.

An agent loop resends the whole transcript on every call, so the interesting part of each LLM step
is the difference: usually the assistant turn and tool results appended since last time, sometimes
a rewritten system prompt or a trimmed history. Messages are aligned with difflib on a key of role,
content text and tool calls; a replaced run whose roles line up counts as edits, not remove + add.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from spanscope.core.debugging.cursor import StepCursor, payload_text
from spanscope.core.model import is_messages

ChangeKind = Literal["added", "removed", "edited", "same"]
_WORDS = re.compile(r"\s+|\S+")


@dataclass(frozen=True)
class Change:
    """One message's fate: `index` is its place in the current list (the previous one for removed)."""

    kind: ChangeKind
    index: int
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def message_text(message: dict[str, Any]) -> str:
    """The message's content as plain text, followed by its tool calls as `name(arguments)` lines."""
    calls = [
        f"{call.get('name')}({_arguments(call.get('arguments'))})" for call in message.get("tool_calls") or []
    ]
    return "\n".join([payload_text([message]) or "", *calls]).strip("\n")


def _arguments(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)


def _key(message: dict[str, Any]) -> str:
    return f"{message.get('role')}\x00{message.get('tool_call_id') or ''}\x00{message_text(message)}"


def diff_messages(previous: list[dict[str, Any]] | None, current: list[dict[str, Any]]) -> list[Change]:
    """`current` against `previous` (None: nothing before, so every message is added), in order."""
    if previous is None:
        return [Change("added", i, None, m) for i, m in enumerate(current)]
    matcher = difflib.SequenceMatcher(None, [_key(m) for m in previous], [_key(m) for m in current], False)
    changes: list[Change] = []
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        if tag == "equal":
            changes += [Change("same", b0 + k, previous[a0 + k], current[b0 + k]) for k in range(a1 - a0)]
            continue
        paired = min(a1 - a0, b1 - b0) if tag == "replace" else 0
        for k in range(paired):
            before, after = previous[a0 + k], current[b0 + k]
            if before.get("role") == after.get("role"):
                changes.append(Change("edited", b0 + k, before, after))
            else:
                changes += [Change("removed", a0 + k, before, None), Change("added", b0 + k, None, after)]
        changes += [Change("removed", i, previous[i], None) for i in range(a0 + paired, a1)]
        changes += [Change("added", i, None, current[i]) for i in range(b0 + paired, b1)]
    return changes


def word_diff(before: str, after: str) -> list[tuple[str, str]]:
    """(`same` | `removed` | `added`, text) runs turning `before` into `after`, word by word."""
    old, new = _WORDS.findall(before), _WORDS.findall(after)
    runs: list[tuple[str, str]] = []
    for tag, a0, a1, b0, b1 in difflib.SequenceMatcher(None, old, new, False).get_opcodes():
        if tag == "equal":
            runs.append(("same", "".join(old[a0:a1])))
            continue
        if a1 > a0:
            runs.append(("removed", "".join(old[a0:a1])))
        if b1 > b0:
            runs.append(("added", "".join(new[b0:b1])))
    return runs


def previous_llm_step(cursor: StepCursor, step: int) -> int | None:
    """The nearest LLM step before `step` in execution order."""
    if cursor.tree is None:
        return None
    kinds = cursor.tree.rows.columns["kind"]
    return next((s for s in range(step - 1, -1, -1) if kinds[cursor.order[s]] == "LLM"), None)


def previous_llm_messages(
    cursor: StepCursor, step: int, fetch: Callable[[str], tuple[Any, Any]]
) -> list[dict[str, Any]] | None:
    """The input conversation of the LLM call before `step`; None when there is none (or no transcript)."""
    before = previous_llm_step(cursor, step)
    if before is None or cursor.tree is None:
        return None
    value = fetch(cursor.tree.rows.columns["span_id"][cursor.order[before]])[0]
    return value if is_messages(value) else None
