"""The search box's little language, parsed into a safe FTS5 expression plus column filters.

Users type words, "quoted phrases", prefixes (`retriev*`), exclusions (`-timeout`), text scoped to
one field (`input:refund`) and filters on span columns (`kind:llm model:gpt-4o* status:error
service:support-bot trace:4bf9`). Every piece of text reaches FTS5 quoted, so no input can make an
FTS5 syntax error; what we cannot understand is refused here with a message that says why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from spanscope.core.model import Kind, Status

#: Text fields, as the index's columns, and the names a query may scope a term with.
TEXT_FIELDS = ("name", "input", "output", "attributes")
_FIELD_ALIASES = {
    "name": "name",
    "input": "input",
    "output": "output",
    "attr": "attributes",
    "attributes": "attributes",
}
#: Span-column filters.
FILTERS = ("kind", "model", "status", "service", "trace")

SYNTAX_HELP = (
    'words match anywhere (all of them);  "exact phrase";  prefix*;  -exclude;  '
    "name:/input:/output:/attr: limit a word to one field;  "
    "filters: kind:llm  model:gpt-4o (or gpt-4*)  status:error  service:NAME  trace:ID"
)

#: A character the tokenizer keeps in a word (unicode61: letters and digits; `_` separates).
WORD_CHAR = r"[^\W_]"
_HAS_WORD = re.compile(WORD_CHAR)
_PIECE = re.compile(r'(-?)(?:([A-Za-z]+):)?("([^"]*)"|[^\s"*]+)(\*?)')


class QuerySyntaxError(ValueError):
    """The query cannot be understood; the message says what to change."""


@dataclass(frozen=True, slots=True)
class Term:
    """A word or phrase to find: its text, whether its last word is a prefix, the field it is
    limited to (None: any) and whether it must be absent."""

    text: str
    prefix: bool = False
    field: str | None = None
    negated: bool = False

    def fts(self) -> str:
        quoted = '"' + self.text.replace('"', '""') + '"' + (" *" if self.prefix else "")
        return f"{self.field} : {quoted}" if self.field else quoted


@dataclass(slots=True)
class Query:
    terms: list[Term] = field(default_factory=list)
    #: Filter name -> accepted values (any of them); `model`/`service` values may end in `*`.
    filters: dict[str, list[str]] = field(default_factory=dict)

    @property
    def positive(self) -> list[Term]:
        return [t for t in self.terms if not t.negated]

    def fts(self) -> str | None:
        """The FTS5 MATCH expression, or None when only filters were given."""
        wanted = " AND ".join(t.fts() for t in self.positive)
        if not wanted:
            return None
        unwanted = [t.fts() for t in self.terms if t.negated]
        return f"({wanted})" + "".join(f" NOT {u}" for u in unwanted)


def _filter_value(name: str, value: str) -> str:
    if name == "kind":
        kinds = {k.value.lower(): k.value for k in Kind}
        if value.lower() not in kinds:
            raise QuerySyntaxError(f"kind:{value} is not a span kind; use one of {', '.join(sorted(kinds))}")
        return kinds[value.lower()]
    if name == "status":
        statuses = {s.value for s in Status}
        if value.lower() not in statuses:
            raise QuerySyntaxError(
                f"status:{value} is not a status; use one of {', '.join(sorted(statuses))}"
            )
        return value.lower()
    return value


def parse(text: str) -> Query:
    """The query typed in `text`; raises QuerySyntaxError with a message fit for the user."""
    if text.count('"') % 2:
        raise QuerySyntaxError('a quote is not closed: add the closing " (or remove the lone one)')
    query = Query()
    at = 0
    for match in _PIECE.finditer(text):
        if text[at : match.start()].strip():
            raise QuerySyntaxError(f"cannot read {text[at : match.start()].strip()!r}")
        at = match.end()
        minus, name, body, inner, star = match.groups()
        value = inner if inner is not None else body
        name = name.lower() if name else None
        if name in FILTERS:
            if minus or not value:
                raise QuerySyntaxError(
                    f"{name}: needs a value, e.g. {name}:something (filters cannot be negated)"
                )
            query.filters.setdefault(name, []).append(_filter_value(name, value) + star)
            continue
        if name is not None and name not in _FIELD_ALIASES:
            value = f"{name}:{value}"  # not a field we know: plain text such as a URL
            name = None
        if not _HAS_WORD.search(value):
            continue  # punctuation only: the index holds no such word
        query.terms.append(Term(value, bool(star), _FIELD_ALIASES.get(name or ""), bool(minus)))
    if text[at:].strip():
        raise QuerySyntaxError(f"cannot read {text[at:].strip()!r}")
    if not query.terms and not query.filters:
        if text.strip():
            raise QuerySyntaxError(f"{text.strip()!r} has no letters or digits to search for")
        raise QuerySyntaxError("type something to search for (" + SYNTAX_HELP + ")")
    if query.terms and not query.positive:
        raise QuerySyntaxError("say what to find, not only what to exclude (-word needs a word beside it)")
    return query
