"""Grounding: which retrieved passages back each sentence of a model's answer, by shared words.

This is lexical evidence, not proof: a sentence can share every word with a passage and still
contradict it (a dropped "not", a swapped number), and a faithful paraphrase can share few words.

- Documents: the outputs of the RETRIEVER and RERANKER spans that ran before the LLM span in the
  nearest chain around it (started before it and sharing its deepest ancestor that has any; the last
  MAX_RETRIEVERS of them). Without any, passages marked in the prompt: blocks starting `[1]`,
  `Document 2:`, `Passage 3:`, `Source 4:` in the system, user or tool messages, or lists of
  documents in a JSON input.
- Sentences: the answer is cut at line breaks and after `.`, `!` or `?` followed by a space (not
  after common abbreviations); passages are the documents' sentences, cut the same way.
- Terms: lowercase words and numbers (`224.10`, `brightline.com/support` stay whole), English
  stopwords removed, plural and -ing/-ed endings trimmed.
- Score: the share of a sentence's distinct terms found in its supporting passages (ROUGE-1 recall
  against them). Supporting passages are picked greedily: the passage covering most of the
  sentence's terms, then up to MAX_PASSAGES - 1 more that each add a term not yet covered, each
  covering at least MIN_PASSAGE_SCORE of the sentence on its own.
- Verdict: SUPPORTED at or above SUPPORTED_AT, PARTLY at or above PARTLY_AT, else NOT_FOUND:
  possibly not grounded. Sentences with fewer than MIN_TERMS terms are not judged.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from weakref import ref

from spanscope.core.debugging.cursor import payload_text
from spanscope.core.debugging.tree import TraceTree
from spanscope.core.model import Kind, Span, is_messages
from spanscope.core.presentation.content import compact, document, is_documents
from spanscope.core.store.db import Database
from spanscope.core.store.queries import get_span, trace_rows

SUPPORTED_AT = 0.6
PARTLY_AT = 0.3
MIN_SHARED = 2
MAX_PASSAGES = 3
MIN_TERMS = 2
MAX_RETRIEVERS = 10
COMMON_PASSAGES = 50
DOCUMENT_KINDS = frozenset({Kind.RETRIEVER, Kind.RERANKER})

STOPWORDS = frozenset(
    re.findall(
        r"\S+",
        """a about above after again against all also am an and any are aren't as at be because been before
    being below between both but by can can't cannot could couldn't did didn't do does doesn't doing don't
    down during each either else ever every few for from further get gets got had hadn't has hasn't have
    haven't having he her here hers herself him himself his how however i if in into is isn't it it's its
    itself just let's me might more most must mustn't my myself neither no nor not now of off on once
    only or other ought our ours ourselves out over own same shall she should shouldn't so some such than
    that that's the their theirs them themselves then there there's these they they're this those
    through to too under until up upon us very was wasn't we we'll we're were weren't what when where
    which while who whom whose why will with won't would wouldn't yes yet you you'd you'll you're your
    yours yourself yourselves""",
    )
)
_TERM = re.compile(r"\w+(?:[.,'’/:]\w+)*")
_ABBREVIATIONS = frozenset(
    ("e.g", "i.e", "etc", "vs", "mr", "mrs", "ms", "dr", "st", "no", "approx", "inc", "fig")
)
_SENTENCE_END = re.compile(r"[.!?]+[\"')\]]*\s+")
_BULLET = re.compile(r"\s*(?:[-*•]|\d+[.)])\s+")
_PASSAGE_MARK = re.compile(
    r"^\s*(?:\[\d+\]|(?:document|passage|source|context)\s*#?\d+\s*[:.\]])", re.I | re.M
)


class Verdict(StrEnum):
    SUPPORTED = "supported"
    PARTLY = "partly supported"
    NOT_FOUND = "possibly not grounded"
    NOT_JUDGED = "not judged"


# --- text -----------------------------------------------------------------------------------------


def _stem(word: str) -> str:
    if word.endswith("'s") or word.endswith("’s"):
        word = word[:-2]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 5 and word.endswith("ing"):
        return word[:-3]
    if len(word) > 4 and word.endswith("ed"):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def terms(text: str) -> Iterator[tuple[str, int, int]]:
    """(term, start, end) for each word of `text` that is not a stopword."""
    for m in _TERM.finditer(text):
        word = m.group().lower()
        if word not in STOPWORDS:
            yield _stem(word), m.start(), m.end()


def sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence, whitespace and list bullets left out."""
    found: list[tuple[int, int]] = []
    for line in re.finditer(r"[^\n]+", text):
        start = line.start()
        bullet = _BULLET.match(line.group())
        if bullet:
            start += bullet.end()
        for end in _sentence_ends(text, start, line.end()):
            piece = text[start:end]
            if piece.strip():
                lead = len(piece) - len(piece.lstrip())
                found.append((start + lead, start + len(piece.rstrip())))
            start = end
    return found


def _sentence_ends(text: str, start: int, stop: int) -> Iterator[int]:
    for m in _SENTENCE_END.finditer(text, start, stop):
        word = text[max(start, m.start() - 8) : m.start()].split()[-1:] or [""]
        if text[m.start()] == "." and word[0].lower().rstrip(".") in _ABBREVIATIONS:
            continue
        if m.end() < stop and text[m.end()].islower():
            continue
        yield m.end()
    yield stop


# --- documents ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourceDocument:
    label: str
    text: str


def _span_documents(span: Span) -> list[SourceDocument]:
    if not is_documents(span.output):
        return []
    out = []
    for position, item in enumerate(span.output, 1):
        doc = document(item)
        out.append(
            SourceDocument(f"{span.name} #{position}" + (f" ({doc.id})" if doc.id else ""), doc.content)
        )
    return out


def _marked_passages(text: str, where: str) -> list[SourceDocument]:
    marks = [m.start() for m in _PASSAGE_MARK.finditer(text)]
    out = []
    for k, start in enumerate(marks):
        end = marks[k + 1] if k + 1 < len(marks) else len(text)
        block = text[start:end]
        blank = re.search(r"\n\s*\n", block)
        block = block[: blank.start()] if blank else block
        out.append(SourceDocument(f"{where}: {block.strip().splitlines()[0][:40]}", block.strip()))
    return out


def _json_documents(value: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    if is_documents(value):
        yield from value
    elif depth < 3 and isinstance(value, dict):
        for item in value.values():
            yield from _json_documents(item, depth + 1)


def prompt_documents(value: Any) -> list[SourceDocument]:
    """Passages marked in a prompt (see the module docstring)."""
    if is_messages(value):
        out = []
        for k, m in enumerate(value):
            if m.get("role") in ("system", "user", "tool", "developer"):
                out += _marked_passages(payload_text([m]) or "", f"prompt {m.get('role')} message {k + 1}")
        return out
    if isinstance(value, dict):
        return [
            SourceDocument(f"prompt document {k}", document(d).content)
            for k, d in enumerate(_json_documents(value), 1)
        ]
    return _marked_passages(value, "prompt") if isinstance(value, str) else []


#: The last tree's retriever and reranker rows (the tree held weakly): stepping through a trace asks
#: for every model call of the same tree.
_last_rows: tuple[ref[TraceTree], list[int]] | None = None


def _document_rows(tree: TraceTree) -> list[int]:
    global _last_rows
    if _last_rows is None or _last_rows[0]() is not tree:
        kinds = tree.rows.columns["kind"]
        _last_rows = (ref(tree), [i for i, k in enumerate(kinds) if k in DOCUMENT_KINDS])
    return _last_rows[1]


#: What `_meeting_depth` gives for a row below the LLM span itself (never its chain's documents).
_BELOW = -2


def retriever_rows(tree: TraceTree, row: int) -> list[int]:
    """Rows of the retriever and reranker spans of the nearest chain around `row` that ran before it:
    of those that started before `row` (and are not below it), the ones sharing the deepest ancestor
    with it, nearest last. A walk up from each retriever of the trace, each row on the way remembered:
    linear even on a 100,000-span trace, where walking a chain's subtree (or up a deep chain from
    every retriever) would not be."""
    columns = tree.rows.columns
    start = columns["start_ns"][row]
    meets = {ancestor: depth for depth, ancestor in enumerate(tree.path(row)[:-1])}
    meets[row] = _BELOW
    found: list[tuple[int, int]] = []
    for i in _document_rows(tree):
        if i == row or columns["start_ns"][i] > start:
            continue
        depth = _meeting_depth(tree.parent, i, meets)
        if depth != _BELOW:
            found.append((depth, i))
    if not found:
        return []
    nearest = max(depth for depth, _ in found)
    rows = sorted((i for depth, i in found if depth == nearest), key=lambda i: (columns["start_ns"][i], i))
    return rows[-MAX_RETRIEVERS:]


def _meeting_depth(parent: Sequence[int], i: int, meets: dict[int, int]) -> int:
    """The depth of the deepest ancestor `i` shares with the LLM span (-1: none, another root's
    tree; _BELOW: `i` is below the span), given `meets` holding it for the span's ancestors, the span
    and every row already walked, to which the rows walked now are added."""
    walked = []
    above = parent[i]
    while above >= 0 and above not in meets:
        walked.append(above)
        above = parent[above]
    depth = meets.get(above, -1)
    meets.update(dict.fromkeys(walked, depth))
    return depth


@dataclass(frozen=True, slots=True)
class Documents:
    #: Where the documents came from, for the reader: the spans, or the prompt.
    origin: str
    items: list[SourceDocument]


def documents_for(db: Database, span: Span, tree: TraceTree | None = None) -> Documents | None:
    """The documents an LLM span's answer can be checked against; None when it has none."""
    if span.kind is not Kind.LLM:
        return None
    tree = tree or TraceTree.build(trace_rows(db, span.trace_id))
    row = tree.index.get(span.span_id)
    if row is not None:
        ids = [tree.rows.columns["span_id"][i] for i in retriever_rows(tree, row)]
        spans = [get_span(db, span.trace_id, i) for i in ids]
        items = [d for s in spans for d in _span_documents(s)]
        if items:
            names = ", ".join(dict.fromkeys(s.name for s in spans if is_documents(s.output)))
            return Documents(f"retrieved by {names} before this call", _unique(items))
    items = prompt_documents(span.input)
    return Documents("passages marked in the prompt", _unique(items)) if items else None


def _unique(items: list[SourceDocument]) -> list[SourceDocument]:
    seen: set[str] = set()
    out = []
    for item in items:
        if item.text.strip() and item.text not in seen:
            seen.add(item.text)
            out.append(item)
    return out


# --- scoring --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Passage:
    document: int
    start: int
    end: int
    terms: frozenset[str]


@dataclass(frozen=True, slots=True)
class Support:
    """A passage backing a sentence: where it is, its own score, and the character ranges (in its
    document) of the words it shares with the sentence."""

    document: int
    start: int
    end: int
    score: float
    overlap: list[tuple[int, int]]


@dataclass(frozen=True, slots=True)
class SentenceGrounding:
    start: int
    end: int
    text: str
    score: float
    verdict: Verdict
    supports: list[Support]
    #: Character ranges (in the answer) of the sentence's terms found / not found in its passages.
    matched: list[tuple[int, int]] = field(default_factory=list)
    unmatched: list[tuple[int, int]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Grounding:
    answer: str
    documents: Documents
    sentences: list[SentenceGrounding]

    def counts(self) -> dict[str, int]:
        found = {v.value: 0 for v in Verdict}
        for s in self.sentences:
            found[s.verdict.value] += 1
        return found

    def to_json(self) -> dict[str, Any]:
        return {
            "documents_from": self.documents.origin,
            "documents": [{"label": d.label, "text": d.text} for d in self.documents.items],
            "counts": self.counts(),
            "sentences": [
                {
                    "text": s.text,
                    "start": s.start,
                    "end": s.end,
                    "score": round(s.score, 3),
                    "verdict": s.verdict.value,
                    "unmatched_terms": [self.answer[a:b] for a, b in s.unmatched],
                    "supports": [
                        {
                            "document": sup.document,
                            "label": self.documents.items[sup.document].label,
                            "text": self.documents.items[sup.document].text[sup.start : sup.end],
                            "score": round(sup.score, 3),
                        }
                        for sup in s.supports
                    ],
                }
                for s in self.sentences
            ],
        }


def _passages(docs: Sequence[SourceDocument]) -> list[Passage]:
    return [
        Passage(k, a, b, frozenset(t for t, _, _ in terms(doc.text[a:b])))
        for k, doc in enumerate(docs)
        for a, b in sentences(doc.text)
    ]


def _verdict(score: float, judged: bool) -> Verdict:
    if not judged:
        return Verdict.NOT_JUDGED
    if score >= SUPPORTED_AT:
        return Verdict.SUPPORTED
    return Verdict.PARTLY if score >= PARTLY_AT else Verdict.NOT_FOUND


class _Index:
    """Passages by term, so a sentence only looks at the passages sharing a word with it.

    A term found in more than COMMON_PASSAGES passages (and in more than a tenth of them) does not
    by itself make a passage a candidate: with thousands of passages, a word on every page (the
    product's name) would make every passage one. It still counts once a passage is a candidate."""

    def __init__(self, passages: list[Passage]) -> None:
        self.passages = passages
        self.by_term: dict[str, list[int]] = defaultdict(list)
        for k, p in enumerate(passages):
            for term in p.terms:
                self.by_term[term].append(k)
        self.common = max(COMMON_PASSAGES, len(passages) // 10)

    def sharing(self, wanted: frozenset[str], enough: int) -> list[tuple[Passage, frozenset[str]]]:
        """Passages sharing at least `enough` of `wanted`, with the terms they share, in document order."""
        rare = (self.by_term.get(t, ()) for t in wanted)
        found = sorted({k for postings in rare if len(postings) <= self.common for k in postings})
        shared = ((self.passages[k], self.passages[k].terms & wanted) for k in found)
        return [(p, terms) for p, terms in shared if len(terms) >= enough]


def _ground_sentence(
    answer: str, start: int, end: int, index: _Index, docs: Sequence[SourceDocument]
) -> SentenceGrounding:
    words = list(terms(answer[start:end]))
    wanted = frozenset(t for t, _, _ in words)
    judged = len(wanted) >= MIN_TERMS
    chosen: list[Passage] = []
    covered: set[str] = set()
    candidates = index.sharing(wanted, min(MIN_SHARED, len(wanted))) if wanted else []
    while candidates and len(chosen) < MAX_PASSAGES:
        at = max(
            range(len(candidates)), key=lambda k: (len(candidates[k][1] - covered), len(candidates[k][1]))
        )
        best, shared = candidates.pop(at)
        if not shared - covered:
            break
        chosen.append(best)
        covered |= shared
    score = len(covered) / len(wanted) if wanted else 0.0
    supports = [
        Support(
            p.document,
            p.start,
            p.end,
            len(p.terms & wanted) / len(wanted),
            [
                (p.start + a, p.start + b)
                for t, a, b in terms(docs[p.document].text[p.start : p.end])
                if t in wanted
            ],
        )
        for p in chosen
    ]
    return SentenceGrounding(
        start=start,
        end=end,
        text=answer[start:end],
        score=score,
        verdict=_verdict(score, judged),
        supports=supports,
        matched=[(start + a, start + b) for t, a, b in words if t in covered],
        unmatched=[(start + a, start + b) for t, a, b in words if t not in covered],
    )


def ground(answer: str, documents: Documents) -> Grounding:
    """Each sentence of `answer` with the passages of `documents` that share its words."""
    index = _Index(_passages(documents.items))
    rows = [_ground_sentence(answer, a, b, index, documents.items) for a, b in sentences(answer)]
    return Grounding(answer, documents, rows)


def answer_text(span: Span) -> str:
    """The model's answer as plain text: the assistant messages' content, else the output as text."""
    if span.output is None:
        return ""
    if is_messages(span.output):
        return payload_text(span.output) or ""
    return compact(span.output)


def ground_span(db: Database, span: Span, tree: TraceTree | None = None) -> Grounding | None:
    """The grounding of an LLM span's answer; None when the span is no LLM call or has no documents."""
    docs = documents_for(db, span, tree)
    return None if docs is None else ground(answer_text(span), docs)


# --- text report -----------------------------------------------------------------------------------

FLAG = "!"


def report_lines(grounding: Grounding) -> Iterator[str]:
    """The grounding as text: each sentence with its score and verdict, then its passages with the
    shared words in [brackets]; unsupported sentences are marked with FLAG."""
    docs = grounding.documents
    yield f"Lexical evidence, not proof: shared words between the answer and {len(docs.items)} documents"
    yield f"({docs.origin})."
    yield ", ".join(f"{n} {verdict}" for verdict, n in grounding.counts().items() if n)
    for k, s in enumerate(grounding.sentences, 1):
        mark = FLAG if s.verdict is Verdict.NOT_FOUND else " "
        score = "" if s.verdict is Verdict.NOT_JUDGED else f"{s.score:.2f} "
        yield ""
        yield f"{mark} {k}. [{score}{s.verdict.value}] {s.text}"
        missing = [grounding.answer[a:b] for a, b in s.unmatched]
        if missing and s.verdict is not Verdict.NOT_JUDGED:
            yield f"     unsupported words: {', '.join(dict.fromkeys(missing))}"
        for sup in s.supports:
            doc = docs.items[sup.document]
            yield f"     {sup.score:.2f} {doc.label}: {bracketed(doc.text, sup.start, sup.end, sup.overlap)}"


def bracketed(text: str, start: int, end: int, ranges: list[tuple[int, int]]) -> str:
    """text[start:end] with each of `ranges` (absolute offsets) put in [brackets]."""
    out, at = [], start
    for a, b in ranges:
        out += [text[at:a], "[", text[a:b], "]"]
        at = b
    out.append(text[at:end])
    return "".join(out)
