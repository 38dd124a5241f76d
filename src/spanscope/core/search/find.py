"""Running a search: matching spans, best first, each with the field it matched in and a snippet.

The index is contentless, so snippets are cut here from the spans' own payloads, for the page of
hits only (store/search_index.py finds them and reads their chunks once each), and the query's
words are found again in the text the indexer indexed (texts.span_texts), folded the way the
tokenizer folds (case and diacritics).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from spanscope.core.search.query import TEXT_FIELDS, WORD_CHAR, QuerySyntaxError, Term, parse
from spanscope.core.search.texts import span_texts
from spanscope.core.store.db import Database
from spanscope.core.store.queries import NotFound
from spanscope.core.store.search_index import (
    IndexStatus,
    SearchError,
    has_index,
    hit_rows,
    index_status,
    matching_ids,
)

#: Hits counted at most: a count of a million costs more than the search and says no more.
COUNT_CAP = 10_000
#: Characters of context shown before the first match, and a snippet's length.
SNIPPET_BEFORE, SNIPPET_CHARS = 50, 180


@dataclass(frozen=True, slots=True)
class Hit:
    trace_id: str
    span_id: str
    trace_name: str | None
    span_name: str | None
    kind: str
    status: str
    model: str | None
    #: The field the snippet comes from: name, input, output or attributes (for a search by filters
    #: only, the first of input, output and name that has text; None if none has).
    field: str | None
    snippet: str
    #: (start, end) of each match within `snippet`.
    marks: tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class SearchResult:
    hits: list[Hit]
    #: Matching spans, counted up to COUNT_CAP; `more`: there are more, and the hits are then the
    #: best of the newest COUNT_CAP matches.
    count: int
    more: bool
    index: IndexStatus


class _FoldTable(dict):
    """str.translate table: each character to its lower case without diacritics, if that is one
    character (so positions in the folded text are positions in the original); filled on demand."""

    def __missing__(self, code: int) -> str:
        lower = chr(code).lower()
        folded = unicodedata.normalize("NFD", lower)[0] if len(lower) == 1 else chr(code)
        self[code] = folded
        return folded


_FOLD = _FoldTable()


def _fold(text: str) -> str:
    return text.lower() if text.isascii() else text.translate(_FOLD)


def _pattern(terms: list[Term]) -> re.Pattern[str] | None:
    """One regex finding any wanted word or phrase, the way the tokenizer splits words."""
    alternatives = []
    for term in terms:
        words = re.findall(f"{WORD_CHAR}+", _fold(term.text))
        if not words:
            continue
        body = r"[\W_]+".join(map(re.escape, words))
        tail = f"{WORD_CHAR}*" if term.prefix else f"(?!{WORD_CHAR})"
        alternatives.append(f"(?<!{WORD_CHAR}){body}{tail}")
    return re.compile("|".join(alternatives)) if alternatives else None


def _find(pattern: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    """Where the pattern matches in `text`, case and diacritics aside."""
    return [m.span() for m in pattern.finditer(_fold(text))]


def _snippet(text: str, pattern: re.Pattern[str] | None) -> tuple[str, tuple[tuple[int, int], ...]] | None:
    """A one-line window of `text` around its first match, with the matches in it; None: no match."""
    first = _find(pattern, text)[:1] if pattern is not None else [(0, 0)]
    if not first:
        return None
    start = max(0, first[0][0] - SNIPPET_BEFORE)
    if start:  # begin at a word, not inside one
        space = text.find(" ", start, first[0][0])
        start = space + 1 if space >= 0 else start
    window = " ".join(text[start : start + SNIPPET_CHARS * 2].split())[:SNIPPET_CHARS]
    window = ("…" if start else "") + window + ("…" if len(text) > start + len(window) else "")
    marks = tuple(_find(pattern, window)) if pattern is not None else ()
    return window, marks


def _best_field(
    texts: tuple[str, ...], terms: list[Term], pattern: re.Pattern[str] | None
) -> tuple[str | None, str, tuple]:
    """The field to show: the first (by rank weight) that matches; the input when none does."""
    scoped = {t.field for t in terms if t.field}
    order = [f for f in TEXT_FIELDS if not scoped or f in scoped]
    for name in order:
        cut = _snippet(texts[TEXT_FIELDS.index(name)], pattern) if pattern is not None else None
        if cut is not None:
            return name, *cut
    fallback = next((i for i in (1, 2, 0) if texts[i]), None)
    if fallback is None:
        return None, "", ()
    text, _ = _snippet(texts[fallback], None) or ("", ())
    return TEXT_FIELDS[fallback], text, ()


def search(db: Database, text: str, limit: int = 100) -> SearchResult:
    """The spans matching `text` (see query.SYNTAX_HELP), best first; raises QuerySyntaxError with a
    message for the user when the query cannot be understood. Covers what is indexed so far."""
    query = parse(text)
    status = index_status(db)
    expression = query.fts()
    if expression is not None and not has_index(db):
        return SearchResult([], 0, False, status)
    if len(query.filters.get("trace", ())) > 1:
        raise QuerySyntaxError("give one trace:ID at a time")
    try:
        ids, count, more = matching_ids(db, expression, query.filters, limit, COUNT_CAP)
    except NotFound as exc:
        raise QuerySyntaxError(str(exc)) from None
    except SearchError as exc:
        raise QuerySyntaxError(str(exc)) from None
    pattern = _pattern(query.positive)
    hits = []
    for span in hit_rows(db, ids):
        field, snippet, marks = _best_field(
            span_texts(span.name, span.status_message, span.doc, span.logs, span.parent),
            query.positive,
            pattern,
        )
        hits.append(
            Hit(
                span.trace_id,
                span.span_id,
                span.trace_name,
                span.name,
                span.kind,
                span.status,
                span.model,
                field,
                snippet,
                marks,
            )
        )
    return SearchResult(hits, count, more, status)
