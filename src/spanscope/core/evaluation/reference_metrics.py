"""Automatic metrics of span outputs against reference answers: exact match, token F1, ROUGE-L, BLEU.

References come from the source or from a dataset file the user attaches:
- Inspect: each sample's target (one text or a list of acceptable ones), kept on the sample's root span
  as the `inspect.target` attribute.
- MLflow: expectations (assessments of type expectation, stored as scores whose source says
  "expectation"), on the span they name or, for the trace, on its root span.
- A JSONL file, one object per line with "expected" (a text or a list of texts) and either
  "trace_id" (+ optional "span_id"; a trace alone means its root spans), "span_id" alone, or "input":
  the spans whose input, as text, is that input (whitespace aside), and chat calls whose last message
  is a user message with that text. A reference from the file replaces the source's for that span.
LangSmith runs name their dataset example but do not carry its reference outputs: attach those as a file.

With several references a span gets the best score against any of them. A span with a reference but no
output scores 0 (an unanswered question is a wrong answer). Metrics:
- exact: 1 when the output equals a reference after SQuAD normalisation (lower case, punctuation and
  the articles a/an/the removed, whitespace collapsed), else 0.
- f1: SQuAD token F1 of the normalised words.
- rouge_l: ROUGE-L F-measure by Google's rouge-score (Porter stemmer on), 0 to 1.
- bleu: sentence BLEU by sacrebleu (13a tokens, exponential smoothing, effective order), 0 to 100.
"""

from __future__ import annotations

import functools
import itertools
import re
import string
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from spanscope.core.debugging.cursor import payload_text
from spanscope.core.model import Kind, Span, is_messages
from spanscope.core.store.db import Database
from spanscope.core.store.queries import iter_spans

if TYPE_CHECKING:
    from rouge_score.rouge_scorer import RougeScorer
    from sacrebleu.metrics import BLEU

INSPECT_TARGET = "inspect.target"
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


# --- the metrics -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scores:
    exact: float
    f1: float
    rouge_l: float
    bleu: float


def metric_texts(s: Scores) -> tuple[str, str, str, str]:
    """Exact, F1, ROUGE-L and BLEU as shown to the user (BLEU is on sacrebleu's 0-100 scale)."""
    return (f"{s.exact:.2f}", f"{s.f1:.3f}", f"{s.rouge_l:.3f}", f"{s.bleu:.1f}")


def normalize(text: str) -> str:
    """SQuAD's answer normalisation: lower case, no punctuation, no articles, single spaces."""
    return " ".join(_ARTICLES.sub(" ", text.lower().translate(_PUNCTUATION)).split())


def exact_match(prediction: str, references: Sequence[str]) -> float:
    return float(any(normalize(prediction) == normalize(r) for r in references))


def token_f1(prediction: str, references: Sequence[str]) -> float:
    return max(_f1(normalize(prediction).split(), normalize(r).split()) for r in references)


def _f1(predicted: list[str], expected: list[str]) -> float:
    if not predicted or not expected:
        return float(predicted == expected)
    common = sum((Counter(predicted) & Counter(expected)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(expected)
    return 2 * precision * recall / (precision + recall)


def rouge_l(prediction: str, references: Sequence[str]) -> float:
    return float(_rouge().score_multi(list(references), prediction)["rougeL"].fmeasure)


def bleu(prediction: str, references: Sequence[str]) -> float:
    return _bleu().sentence_score(prediction, list(references)).score


# The libraries are imported on first use: with nltk they take a tenth of a second to import, which
# every command and the app would otherwise pay at start.
@functools.cache
def _rouge() -> RougeScorer:
    from rouge_score.rouge_scorer import RougeScorer

    return RougeScorer(["rougeL"], use_stemmer=True)


@functools.cache
def _bleu() -> BLEU:
    from sacrebleu.metrics import BLEU

    return BLEU(effective_order=True)


def score(prediction: str, references: Sequence[str]) -> Scores:
    return Scores(
        exact_match(prediction, references),
        token_f1(prediction, references),
        rouge_l(prediction, references),
        bleu(prediction, references),
    )


# --- where references come from --------------------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    expected: tuple[str, ...]
    #: Where it came from: "inspect target", "mlflow expectation expected_answer", "refs.jsonl:3".
    origin: str


class ReferenceFileError(ValueError):
    """A references file that cannot be used; the message names the file, the line and the reason."""


@dataclass(frozen=True)
class ReferenceEntry:
    """One line of a references file: what it points at, and the expected answer."""

    reference: Reference
    trace_id: str | None = None
    span_id: str | None = None
    #: The input it matches, whitespace collapsed.
    input: str | None = None


def load_references(path: Path) -> list[ReferenceEntry]:
    try:
        lines = path.read_bytes().splitlines()
    except OSError as exc:
        raise ReferenceFileError(f"{path}: {exc.strerror or exc}") from None
    entries = []
    for number, line in enumerate(lines, 1):
        if line.strip():
            entries.append(_entry(line, f"{path.name}:{number}", f"{path}, line {number}"))
    return entries


def _entry(line: bytes, origin: str, where: str) -> ReferenceEntry:
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ReferenceFileError(f"{where}: not JSON: {exc}") from None
    if not isinstance(record, dict):
        raise ReferenceFileError(f"{where}: expected a JSON object")
    expected = _texts(record.get("expected"))
    if expected is None:
        raise ReferenceFileError(f'{where}: "expected" must be a text or a list of texts')
    trace_id, span_id, given = record.get("trace_id"), record.get("span_id"), record.get("input")
    if not any(isinstance(v, str) and v for v in (trace_id, span_id)) and given is None:
        raise ReferenceFileError(
            f'{where}: give "input", "trace_id" or "span_id" to say which spans it is for'
        )
    if any(v is not None and not isinstance(v, str) for v in (trace_id, span_id)):
        raise ReferenceFileError(f'{where}: "trace_id" and "span_id" must be texts')
    text = None if given is None else _squash(payload_text(given) or "")
    return ReferenceEntry(Reference(expected, origin), trace_id or None, span_id or None, text)


def _texts(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def _squash(text: str) -> str:
    return " ".join(text.split())


def source_reference(span: Span) -> Reference | None:
    """The reference answer the source itself holds for this span, if any."""
    target = _texts(span.attributes.get(INSPECT_TARGET))
    if target is not None:
        return Reference(target, "inspect target")
    for s in span.scores:
        if s.source and s.source.endswith("expectation") and s.label is not None:
            return Reference((s.label,), f"mlflow expectation {s.name}")
    return None


class ReferenceMatcher:
    """Finds a span's reference: the references file's entry for it, else the source's own."""

    def __init__(self, entries: Iterable[ReferenceEntry]) -> None:
        self.entries = list(entries)
        self.by_span: dict[tuple[str | None, str], ReferenceEntry] = {}
        self.by_trace: dict[str, ReferenceEntry] = {}
        self.by_input: dict[str, ReferenceEntry] = {}
        for e in self.entries:
            if e.span_id is not None:
                self.by_span[(e.trace_id, e.span_id)] = e
            elif e.trace_id is not None:
                self.by_trace[e.trace_id] = e
            elif e.input is not None:
                self.by_input[e.input] = e
        self.used: set[int] = set()

    def reference(self, span: Span) -> Reference | None:
        return self.find(span) or source_reference(span)

    def find(self, span: Span) -> Reference | None:
        entry = (
            self.by_span.get((span.trace_id, span.span_id))
            or self.by_span.get((None, span.span_id))
            or (self.by_trace.get(span.trace_id) if span.parent_id is None else None)
            or self._by_input(span)
        )
        if entry is None:
            return None
        self.used.add(id(entry))
        return entry.reference

    def _by_input(self, span: Span) -> ReferenceEntry | None:
        if not self.by_input or span.input is None:
            return None
        found = self.by_input.get(_squash(payload_text(span.input) or ""))
        if found is None and is_messages(span.input) and span.input and span.input[-1].get("role") == "user":
            found = self.by_input.get(_squash(payload_text([span.input[-1]]) or ""))
        return found

    def unmatched(self) -> list[ReferenceEntry]:
        return [e for e in self.entries if id(e) not in self.used]


# --- per span and per model ------------------------------------------------------------------------


@dataclass(frozen=True)
class SpanMetrics:
    trace_id: str
    span_id: str
    name: str
    #: The span's model, else the models of the LLM calls beneath it (a sample's or chain's root).
    model: str | None
    output: str
    reference: Reference
    scores: Scores

    def to_json(self) -> dict[str, Any]:
        return {
            "trace_id": self.trace_id,
            "span_id": self.span_id,
            "name": self.name,
            "model": self.model,
            "output": self.output,
            "expected": list(self.reference.expected),
            "reference": self.reference.origin,
            **vars(self.scores),
        }


@dataclass(frozen=True)
class ModelMeans:
    model: str | None
    spans: int
    scores: Scores

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "spans": self.spans, **vars(self.scores)}


@dataclass(frozen=True)
class MetricsReport:
    spans: list[SpanMetrics]
    #: File entries that matched no span.
    unmatched: list[ReferenceEntry]

    def by_model(self) -> list[ModelMeans]:
        """Mean of each metric per model, models by name (spans without one last)."""
        groups: dict[str | None, list[Scores]] = {}
        for m in self.spans:
            groups.setdefault(m.model, []).append(m.scores)
        return [
            ModelMeans(model, len(scores), _mean(scores))
            for model, scores in sorted(groups.items(), key=lambda item: (item[0] is None, item[0] or ""))
        ]


def _mean(scores: list[Scores]) -> Scores:
    n = len(scores)
    return Scores(*(sum(getattr(s, f) for s in scores) / n for f in ("exact", "f1", "rouge_l", "bleu")))


def reference_metrics(db: Database, entries: Iterable[ReferenceEntry] = ()) -> MetricsReport:
    """Metrics for every span of the store that has a reference, trace by trace."""
    matcher = ReferenceMatcher(entries)
    results: list[SpanMetrics] = []
    for _, spans in itertools.groupby(iter_spans(db), key=lambda s: s.trace_id):
        results.extend(_trace_metrics(list(spans), matcher))
    return MetricsReport(results, matcher.unmatched())


def _trace_metrics(spans: list[Span], matcher: ReferenceMatcher) -> Iterator[SpanMetrics]:
    children: dict[str, list[Span]] = {}
    for s in spans:
        if s.parent_id is not None:
            children.setdefault(s.parent_id, []).append(s)
    for span in spans:
        reference = matcher.reference(span)
        if reference is None:
            continue
        output = payload_text(span.output) or ""
        yield SpanMetrics(
            span.trace_id,
            span.span_id,
            span.name,
            span.model or _models_below(span, children),
            output,
            reference,
            score(output, reference.expected),
        )


def _models_below(span: Span, children: dict[str, list[Span]]) -> str | None:
    models: set[str] = set()
    pending, seen = [span.span_id], {span.span_id}
    while pending:
        for child in children.get(pending.pop(), ()):
            if child.span_id in seen:
                continue
            seen.add(child.span_id)
            if child.kind is Kind.LLM and child.model:
                models.add(child.model)
            pending.append(child.span_id)
    return ", ".join(sorted(models)) or None
