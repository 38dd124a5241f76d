"""Evaluator files: what a judge asks and what shape of score it answers with.

An evaluator is a TOML file:

    name = "helpfulness"                  # the score's name (default: the file's name)
    description = "How well the answer helps the user"
    prompt = '''Rate the answer ... {{input}} ... {{output}} ... {{reference}}'''

    [score]
    type = "scale"                        # boolean | scale | labels
    min = 1                               # scale only (default 1 to 5)
    max = 5
    # labels = ["right_tool", "wrong_tool"]     labels only
    # values = { right_tool = 1, wrong_tool = 0 }  labels only, optional

The prompt may use {{input}}, {{output}}, {{reference}} and {{tools}} (the tools a model call could
call, as recorded); a prompt that uses {{reference}} judges only spans that have a reference answer.
Every mistake is an EvaluatorError naming the file, the line and what to change, so a typo is found
before any call is paid for.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from spanscope.core.resources import resource_dir

PLACEHOLDERS = ("input", "output", "reference", "tools")
KINDS = ("boolean", "scale", "labels")
ScoreKind = Literal["boolean", "scale", "labels"]
#: The widest scale: a judge's answer is one of its whole numbers.
MAX_SCALE_STEPS = 100
#: What a boolean score's label is, by its value.
PASS, FAIL = "pass", "fail"

_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_TOP_KEYS = ("name", "description", "prompt", "score")
_SCORE_KEYS: dict[str, tuple[str, ...]] = {
    "boolean": ("type",),
    "scale": ("type", "min", "max"),
    "labels": ("type", "labels", "values"),
}


class EvaluatorError(ValueError):
    """An evaluator file that cannot be used: the message names the file, the line and the reason."""


@dataclass(frozen=True)
class ScoreSchema:
    kind: ScoreKind
    minimum: int = 1
    maximum: int = 5
    labels: tuple[str, ...] = ()
    #: The number each label stands for, where the file gives one.
    values: Mapping[str, float] = field(default_factory=dict)

    @property
    def answer_key(self) -> str:
        """The key of the JSON answer holding the verdict."""
        return "label" if self.kind == "labels" else "score"

    def json_schema(self) -> dict[str, Any]:
        """The answer's JSON schema, for endpoints that take response_format json_schema. The
        reasoning comes first, so a model writes it before it decides."""
        verdict: dict[str, Any]
        if self.kind == "boolean":
            verdict = {"type": "boolean", "description": "true: pass, false: fail"}
        elif self.kind == "scale":
            # An enum rather than minimum/maximum, which strict structured outputs long refused.
            verdict = {"type": "integer", "enum": list(range(self.minimum, self.maximum + 1))}
        else:
            verdict = {"type": "string", "enum": list(self.labels)}
        return {
            "type": "object",
            "properties": {"reasoning": {"type": "string"}, self.answer_key: verdict},
            "required": ["reasoning", self.answer_key],
            "additionalProperties": False,
        }

    def instructions(self) -> str:
        """The answer's format in words, for models that do not honour the schema."""
        if self.kind == "boolean":
            verdict = '"score": true if it passes, false if it fails'
        elif self.kind == "scale":
            verdict = f'"score": a whole number from {self.minimum} (worst) to {self.maximum} (best)'
        else:
            verdict = '"label": one of ' + ", ".join(f'"{label}"' for label in self.labels)
        return (
            "Answer with one JSON object and nothing else, with two keys: "
            f'"reasoning": a short explanation of your judgement, then {verdict}.'
        )

    def describe(self) -> str:
        """The schema in a few words, for lists of evaluators."""
        if self.kind == "boolean":
            return "pass/fail"
        if self.kind == "scale":
            return f"{self.minimum}–{self.maximum}"
        return " / ".join(self.labels)


@dataclass(frozen=True)
class Evaluator:
    name: str
    description: str
    prompt: str
    score: ScoreSchema
    #: Where it was read from: a path, or "built-in NAME".
    origin: str

    @property
    def placeholders(self) -> set[str]:
        return set(placeholders(self.prompt))

    @property
    def needs_reference(self) -> bool:
        return "reference" in self.placeholders

    def render(self, input_text: str, output_text: str, reference: str | None, tools: str = "") -> str:
        """The prompt with the span's texts in place (every placeholder in one pass, so a span's
        text that itself holds "{{output}}" stays as written)."""
        values = {"input": input_text, "output": output_text, "reference": reference or "", "tools": tools}
        return _PLACEHOLDER.sub(lambda m: values[m.group(1)], self.prompt)


def placeholders(prompt: str) -> list[str]:
    return [m.group(1) for m in _PLACEHOLDER.finditer(prompt)]


def _line_of(text: str, pattern: str) -> int | None:
    """The first line of `text` matching the regex `pattern`, if any (1-based)."""
    for number, line in enumerate(text.splitlines(), 1):
        if re.search(pattern, line):
            return number
    return None


class _Reader:
    """Reads one file's table, each complaint naming the file and, where it can be found, the line."""

    def __init__(self, origin: str, text: str) -> None:
        self.origin, self.text = origin, text

    def fail(self, reason: str, pattern: str | None = None) -> EvaluatorError:
        line = _line_of(self.text, pattern) if pattern is not None else None
        where = f"{self.origin}, line {line}" if line is not None else self.origin
        return EvaluatorError(f"{where}: {reason}")

    def key_fail(self, key: str, reason: str) -> EvaluatorError:
        return self.fail(reason, rf"^\s*{re.escape(key)}\s*=")

    def parse(self) -> dict[str, Any]:
        try:
            return tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as exc:
            match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
            reason = str(exc)[: match.start()].strip() if match else str(exc)
            where = f"{self.origin}, line {match.group(1)}" if match else self.origin
            raise EvaluatorError(f"{where}: not valid TOML: {reason}") from None

    def text_value(self, table: dict[str, Any], key: str, default: str | None = None) -> str:
        value = table.get(key, default)
        if value is None:
            raise self.fail(f'"{key}" is missing: every evaluator needs one')
        if not isinstance(value, str) or not value.strip():
            raise self.key_fail(key, f'"{key}" must be a non-empty text')
        return value.strip() if key != "prompt" else value

    def unknown_keys(self, table: dict[str, Any], known: tuple[str, ...], what: str) -> None:
        for key in table:
            if key not in known:
                raise self.key_fail(key, f'unknown key "{key}" in {what} (known: {", ".join(known)})')

    def prompt(self, table: dict[str, Any]) -> str:
        prompt = self.text_value(table, "prompt")
        used = placeholders(prompt)
        for name in used:
            if name not in PLACEHOLDERS:
                raise self.fail(
                    f'unknown placeholder "{{{{{name}}}}}" in the prompt (use {{{{input}}}}, '
                    "{{output}}, {{reference}} or {{tools}})",
                    r"\{\{\s*" + re.escape(name) + r"\s*\}\}",
                )
        if "input" not in used and "output" not in used:
            raise self.key_fail(
                "prompt", "the prompt uses neither {{input}} nor {{output}}: it judges nothing"
            )
        return prompt

    def score(self, table: dict[str, Any]) -> ScoreSchema:
        score = table.get("score")
        if score is None:
            raise self.fail('the [score] table is missing: say type = "boolean", "scale" or "labels"')
        if not isinstance(score, dict):
            raise self.key_fail("score", 'score must be a table: [score] type = "scale" ...')
        kind = score.get("type")
        if kind not in KINDS:
            raise self.fail(f"[score] type must be one of {', '.join(KINDS)}, not {kind!r}", r"^\s*type\s*=")
        self.unknown_keys(score, _SCORE_KEYS[kind], f'a "{kind}" [score]')
        if kind == "boolean":
            return ScoreSchema("boolean")
        if kind == "scale":
            return self._scale(score)
        return self._labels(score)

    def _scale(self, score: dict[str, Any]) -> ScoreSchema:
        bounds = []
        for key, default in (("min", 1), ("max", 5)):
            value = score.get(key, default)
            if not isinstance(value, int) or isinstance(value, bool):
                raise self.key_fail(key, f"[score] {key} must be a whole number")
            bounds.append(value)
        if bounds[0] >= bounds[1]:
            raise self.key_fail("max", f"[score] max ({bounds[1]}) must be above min ({bounds[0]})")
        if bounds[1] - bounds[0] > MAX_SCALE_STEPS:
            raise self.key_fail(
                "max", f"[score] a scale spans at most {MAX_SCALE_STEPS} steps (e.g. 0 to 100)"
            )
        return ScoreSchema("scale", minimum=bounds[0], maximum=bounds[1])

    def _labels(self, score: dict[str, Any]) -> ScoreSchema:
        labels = score.get("labels")
        if not isinstance(labels, list) or not labels:
            raise self.key_fail("labels", "[score] labels must be a non-empty list of texts: labels = [...]")
        if not all(isinstance(label, str) and label.strip() for label in labels):
            raise self.key_fail("labels", "[score] labels must all be non-empty texts")
        labels = [label.strip() for label in labels]
        if len({label.casefold() for label in labels}) < len(labels):
            raise self.key_fail("labels", "[score] labels must differ from each other (case aside)")
        values = score.get("values", {})
        if not isinstance(values, dict):
            raise self.key_fail("values", "[score] values must be a table: values = { label = 1, ... }")
        for label, value in values.items():
            if label not in labels:
                raise self.key_fail(
                    "values", f'[score] values names "{label}", which is not one of the labels'
                )
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise self.key_fail("values", f'[score] values: "{label}" must be a number')
        return ScoreSchema("labels", labels=tuple(labels), values={k: float(v) for k, v in values.items()})


def parse_evaluator(text: str, origin: str, default_name: str) -> Evaluator:
    reader = _Reader(origin, text)
    table = reader.parse()
    reader.unknown_keys(table, _TOP_KEYS, "the evaluator")
    return Evaluator(
        name=reader.text_value(table, "name", default_name),
        description=reader.text_value(table, "description", "") if table.get("description") else "",
        prompt=reader.prompt(table),
        score=reader.score(table),
        origin=origin,
    )


def load_evaluator(path: Path) -> Evaluator:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise EvaluatorError(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise EvaluatorError(f"{path}: not UTF-8 text; an evaluator is a TOML file") from None
    return parse_evaluator(text, str(path), path.stem)


def builtin_evaluators() -> list[Evaluator]:
    """The evaluators shipped with Spanscope (resources/evaluators), by name."""
    found = []
    for entry in sorted((resource_dir() / "evaluators").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            stem = entry.name.removesuffix(".toml")
            found.append(parse_evaluator(entry.read_text(encoding="utf-8"), f"built-in {stem}", stem))
    return found


def find_evaluator(spec: str) -> Evaluator:
    """A built-in evaluator by name, else the file at `spec`."""
    path = Path(spec)
    if not path.suffix and not path.exists():
        builtins = builtin_evaluators()
        for evaluator in builtins:
            if evaluator.name == spec:
                return evaluator
        names = ", ".join(e.name for e in builtins)
        raise EvaluatorError(f"no evaluator named {spec!r}: use one of {names}, or the path of a TOML file")
    return load_evaluator(path)
