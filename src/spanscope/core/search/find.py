"""Running a search: matching spans, best first, each with the field it matched in and a snippet.

The index is contentless, so snippets are cut here from the spans' own payloads, for the page of
hits only: their chunks are read once each, and the query's words are found again in the text the
indexer indexed (texts.span_texts), folded the way the tokenizer folds (case and diacritics).
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from dataclasses import dataclass

import sqlite_utils

from spanscope.core.search.index import IndexStatus, has_index, index_status
from spanscope.core.search.query import TEXT_FIELDS, WORD_CHAR, Query, QuerySyntaxError, Term, parse
from spanscope.core.search.texts import span_texts
from spanscope.core.store import payload
from spanscope.core.store.queries import NotFound, resolve_trace_id

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


def _filter_sql(query: Query, db: sqlite_utils.Database) -> tuple[str, list, tuple[int, int] | None]:
    """SQL conditions on `s` (spans) for the query's filters, their arguments, and the rowid range
    a trace filter confines the search to."""
    conditions, args, id_range = [], [], None
    for name, values in query.filters.items():
        if name == "trace":
            if len(values) > 1:
                raise QuerySyntaxError("give one trace:ID at a time")
            try:
                trace_id = resolve_trace_id(db, values[0].rstrip("*"))
            except NotFound as exc:
                raise QuerySyntaxError(str(exc)) from None
            low, high = db.execute(
                "SELECT min(id), max(id) FROM spans WHERE trace_id = ?", (trace_id,)
            ).fetchone()
            id_range = (low, high)
            conditions.append("s.trace_id = ?")
            args.append(trace_id)
            continue
        parts = []
        for value in values:
            if value.endswith("*") and name in ("model", "service"):
                escaped = value[:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                parts.append(f"s.{name} LIKE ? ESCAPE '\\'")
                args.append(escaped + "%")
            else:
                parts.append(f"s.{name} = ? COLLATE NOCASE")
                args.append(value.rstrip("*"))
        conditions.append("(" + " OR ".join(parts) + ")")
    return " AND ".join(conditions), args, id_range


def _matching_ids(db: sqlite_utils.Database, query: Query, limit: int) -> tuple[list[int], int, bool]:
    """Ids of the best `limit` matches, best first, how many match (capped), and whether more do.

    Ranking costs a few microseconds a match, so a word in every span of a million would take
    seconds: past COUNT_CAP matches only the newest COUNT_CAP are ranked.
    """
    where, args, id_range = _filter_sql(query, db)
    expression = query.fts()
    if expression is None:
        base = f"FROM spans s WHERE {where}"
        if id_range is not None:
            base += " AND s.id BETWEEN ? AND ?"
            args = [*args, *id_range]
        column, order = "s.id", "s.id DESC"
    else:
        base = "FROM search_fts f"
        conditions = ["search_fts MATCH ?"]
        if id_range is not None:
            conditions.append("f.rowid BETWEEN ? AND ?")
        if where:
            base += " CROSS JOIN spans s ON s.id = f.rowid"
            conditions.append(where)
        base += " WHERE " + " AND ".join(conditions)
        args = [expression, *(id_range or ()), *args]
        column, order = "f.rowid", "f.rank"
    capped = f"SELECT count(*) FROM (SELECT 1 {base} LIMIT ?)"
    (count,) = db.execute(capped, (*args, COUNT_CAP + 1)).fetchone()
    more = count > COUNT_CAP
    if more and expression is not None:
        sql = (
            f"SELECT id FROM (SELECT f.rowid AS id, f.rank AS score {base} ORDER BY f.rowid DESC LIMIT ?) "
            "ORDER BY score LIMIT ?"
        )
        ids = [r[0] for r in db.execute(sql, (*args, COUNT_CAP, limit))]
    else:
        ids = [r[0] for r in db.execute(f"SELECT {column} {base} ORDER BY {order} LIMIT ?", (*args, limit))]
    return ids, min(count, COUNT_CAP), more


_HIT_SQL = (
    "SELECT s.id, s.trace_id, s.span_id, t.root_name, s.name, s.kind, s.status, s.model, s.status_message, "
    "s.payload_chunk, s.payload_index FROM spans s LEFT JOIN traces t ON t.trace_id = s.trace_id "
    "WHERE s.id IN ({})"
)


def search(db: sqlite_utils.Database, text: str, limit: int = 100) -> SearchResult:
    """The spans matching `text` (see query.SYNTAX_HELP), best first; raises QuerySyntaxError with a
    message for the user when the query cannot be understood. Covers what is indexed so far."""
    query = parse(text)
    status = index_status(db)
    if query.fts() is not None and not has_index(db):
        return SearchResult([], 0, False, status)
    try:
        ids, count, more = _matching_ids(db, query, limit)
    except sqlite3.OperationalError as exc:
        raise QuerySyntaxError(f"the search could not run: {exc}") from None
    rows = {r[0]: r for r in db.execute(_HIT_SQL.format(",".join("?" * len(ids))), ids)}
    pattern = _pattern(query.positive)
    docs: dict[int, list] = {}
    hits = []
    for span in (rows[i] for i in ids if i in rows):
        chunk, index = span[9], span[10]
        if chunk is not None and chunk not in docs:
            blob = db.execute("SELECT data FROM chunks WHERE id = ?", (chunk,)).fetchone()
            docs[chunk] = payload.unpack(blob[0]) if blob else []
        found = docs.get(chunk, [])
        doc = found[index] if index is not None and index < len(found) else None
        field, snippet, marks = _best_field(span_texts(span[4], span[8], doc), query.positive, pattern)
        hits.append(Hit(span[1], span[2], span[3], span[4], span[5], span[6], span[7], field, snippet, marks))
    return SearchResult(hits, count, more, status)
