"""Reading a judge's reply: the JSON object it was asked for, found in plain text when the model
wrapped it in prose or a code fence, and checked against the evaluator's score schema."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from spanscope.core.judge.evaluator import FAIL, PASS, ScoreSchema

#: How much of an unreadable reply a problem quotes.
QUOTED_CHARS = 200
_TRUE = {"true", "pass", "passed", "yes", "1"}
_FALSE = {"false", "fail", "failed", "no", "0"}


class UnreadableAnswer(ValueError):
    """The reply holds no verdict the schema accepts; the message says why and quotes its start."""


@dataclass(frozen=True)
class Verdict:
    value: float | None
    label: str | None
    reasoning: str


def quoted(text: str) -> str:
    """The start of a reply, as a problem quotes it."""
    return repr(text[:QUOTED_CHARS]) + ("…" if len(text) > QUOTED_CHARS else "")


def json_objects(text: str) -> list[dict[str, Any]]:
    """The JSON objects in `text`: the whole of it when it is one, else each object that starts at
    a "{" and parses (prose or a ```json fence around it)."""
    try:
        whole = json.loads(text)
    except ValueError:
        whole = None
    if isinstance(whole, dict):
        return [whole]
    decoder, found, at = json.JSONDecoder(), [], text.find("{")
    while at != -1:
        try:
            value, end = decoder.raw_decode(text, at)
        except ValueError:
            at = text.find("{", at + 1)
            continue
        if isinstance(value, dict):
            found.append(value)
        at = text.find("{", end)
    return found


def read_answer(text: str, schema: ScoreSchema) -> Verdict:
    """The verdict in a reply; UnreadableAnswer when there is none."""
    objects = json_objects(text)
    if not objects:
        raise UnreadableAnswer(f"the judge's reply holds no JSON object: {quoted(text)}")
    keyed = [o for o in objects if schema.answer_key in o or (schema.kind == "labels" and "score" in o)]
    if not keyed:
        raise UnreadableAnswer(f'the judge\'s reply has no "{schema.answer_key}": {quoted(text)}')
    answer = keyed[0]
    reasoning = answer.get("reasoning")
    reasoning = reasoning.strip() if isinstance(reasoning, str) else ""
    verdict = answer.get(schema.answer_key, answer.get("score"))
    try:
        value, label = _verdict(verdict, schema)
    except ValueError as exc:
        raise UnreadableAnswer(f"{exc}: {quoted(text)}") from None
    return Verdict(value, label, reasoning)


def _verdict(verdict: Any, schema: ScoreSchema) -> tuple[float | None, str | None]:
    if schema.kind == "boolean":
        said = str(verdict).strip().lower() if not isinstance(verdict, bool) else str(verdict).lower()
        if said in _TRUE:
            return 1.0, PASS
        if said in _FALSE:
            return 0.0, FAIL
        raise ValueError(f"the judge's score {verdict!r} is not true or false")
    if schema.kind == "scale":
        number = _number(verdict)
        if number is None or not schema.minimum <= number <= schema.maximum:
            raise ValueError(
                f"the judge's score {verdict!r} is not a number from {schema.minimum} to {schema.maximum}"
            )
        return number, None
    if isinstance(verdict, str):
        for label in schema.labels:
            if label.casefold() == verdict.strip().casefold():
                return schema.values.get(label), label
    raise ValueError(f"the judge's label {verdict!r} is not one of {', '.join(schema.labels)}")


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None
