"""Breakpoint conditions: short expressions over span fields, parsed by our own grammar (never eval).

    expr       := or
    or         := and (("or" | "||") and)*
    and        := not (("and" | "&&") not)*
    not        := ("not" | "!") not | "(" expr ")" | comparison
    comparison := FIELD op literal | FIELD ["not"] "contains" STRING
    op         := "==" | "!=" | "<" | "<=" | ">" | ">=" | "~"

A condition never raises while matching: a comparison with a missing (None) field is false, so a
breakpoint on `cost_usd > 0.01` simply skips spans without a cost.

`ConditionParser` is also the base of the trace-assertion grammar (core/assertions.py), which
replaces the atom (`_atom`) with aggregates over spans and parses span conditions inside them.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

#: Field name -> its type: "text", "number" or "bool".
FIELDS: dict[str, str] = {
    "name": "text",
    "kind": "text",
    "status": "text",
    "model": "text",
    "provider": "text",
    "span_id": "text",
    "parent_id": "text",
    "error": "text",
    "input": "text",
    "output": "text",
    "latency_ms": "number",
    "start_ms": "number",
    "input_tokens": "number",
    "output_tokens": "number",
    "total_tokens": "number",
    "cache_read_tokens": "number",
    "reasoning_tokens": "number",
    "cost_usd": "number",
    "orphan": "bool",
    "clock_skew": "bool",
}
#: Text fields compared case-insensitively with == and != (their values are a small vocabulary).
CASELESS_FIELDS = frozenset({"kind", "status"})
#: Fields whose values cost a payload read: a cursor fetches them only when a condition names them.
PAYLOAD_FIELDS = frozenset({"input", "output"})

_ORDERING: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_EQUALITY = ("==", "!=")
_KEYWORDS = {"and", "or", "not", "contains", "true", "false", "null"}
_SYMBOLS = ("==", "!=", "<=", ">=", "&&", "||", "<", ">", "~", "!", "(", ")")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'"}
_NUMBER = re.compile(r"-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
_NAME = re.compile(r"[A-Za-z_]\w*")
#: How deep `not`s and parentheses may nest: parsing and matching recurse once per level, and Python
#: stops at 1,000 (a RecursionError traceback, not a message).
MAX_NESTING = 100


class ExpressionError(ValueError):
    """A bad expression; str() shows the expression with a caret under `position`."""

    def __init__(self, message: str, position: int, text: str = "") -> None:
        super().__init__(message)
        self.message, self.position, self.text = message, position, text

    def __str__(self) -> str:
        if not self.text:
            return f"{self.message} (at {self.position})"
        return f"{self.message}\n  {self.text}\n  {' ' * self.position}^"


class Condition(Protocol):
    """A parsed expression: `fields` it reads, and whether a span's field values satisfy it.

    `required` are the fields it needs a value of to judge a span at all: every field it reads
    except those only compared with null.
    """

    @property
    def fields(self) -> frozenset[str]: ...

    @property
    def required(self) -> frozenset[str]: ...

    def matches(self, values: Mapping[str, Any]) -> bool: ...


@dataclass(frozen=True)
class Token:
    kind: str  # "name", "keyword", "string", "number", "symbol", "end"; literals also "bool", "null"
    value: Any
    position: int


@dataclass(frozen=True)
class _Several:
    """Conditions joined by `or` or `and`: they read the fields of all their parts."""

    items: tuple[Condition, ...]

    @property
    def fields(self) -> frozenset[str]:
        return frozenset().union(*(c.fields for c in self.items))

    @property
    def required(self) -> frozenset[str]:
        return frozenset().union(*(c.required for c in self.items))


class Or(_Several):
    def matches(self, values: Mapping[str, Any]) -> bool:
        return any(c.matches(values) for c in self.items)


class And(_Several):
    def matches(self, values: Mapping[str, Any]) -> bool:
        return all(c.matches(values) for c in self.items)


@dataclass(frozen=True)
class Not:
    item: Condition

    @property
    def fields(self) -> frozenset[str]:
        return self.item.fields

    @property
    def required(self) -> frozenset[str]:
        return self.item.required

    def matches(self, values: Mapping[str, Any]) -> bool:
        return not self.item.matches(values)


@dataclass(frozen=True)
class Compare:
    """`field op literal`; `pattern` is the compiled regex of a `~` comparison."""

    field: str
    op: str
    literal: Any
    pattern: re.Pattern[str] | None = None

    @property
    def fields(self) -> frozenset[str]:
        return frozenset({self.field})

    @property
    def required(self) -> frozenset[str]:
        return frozenset() if self.literal is None else self.fields

    def matches(self, values: Mapping[str, Any]) -> bool:
        value = values.get(self.field)
        if self.literal is None:  # only == null and != null get this far
            return (value is None) == (self.op == "==")
        if value is None:
            return False
        return self._test(value)

    def _test(self, value: Any) -> bool:
        if self.pattern is not None:
            return self.pattern.search(str(value)) is not None
        if self.op in ("contains", "not contains"):
            found = self.literal.casefold() in str(value).casefold()
            return found if self.op == "contains" else not found
        if self.field in CASELESS_FIELDS:
            value, literal = str(value).casefold(), self.literal.casefold()
        else:
            literal = self.literal
        if self.op in _EQUALITY:
            return (value == literal) == (self.op == "==")
        return _ORDERING[self.op](value, literal)


def parse(text: str, parser: type[ConditionParser] | None = None, start: int = 0) -> Condition:
    """The condition `text` spells from `start` on (by default a span condition); ExpressionError
    points into the whole of `text` at the first thing that is wrong."""
    try:
        return (parser or ConditionParser)(text, start).parse()
    except ExpressionError as exc:
        raise ExpressionError(exc.message, exc.position, text) from None


def tokenize(text: str, start: int = 0) -> list[Token]:
    tokens = []
    at = start
    while at < len(text):
        if text[at].isspace():
            at += 1
            continue
        token, at = _token_at(text, at)
        tokens.append(token)
    tokens.append(Token("end", None, len(text)))
    return tokens


def _token_at(text: str, at: int) -> tuple[Token, int]:
    """The token starting at `at`, and where it ends."""
    char = text[at]
    if char in "\"'":
        value, end = _string_at(text, at)
        return Token("string", value, at), end
    number = _NUMBER.match(text, at)
    if number:
        raw = number.group()
        value = float(raw) if any(c in raw for c in ".eE") else int(raw)
        return Token("number", value, at), number.end()
    name = _NAME.match(text, at)
    if name:
        word = name.group()
        return Token("keyword" if word.lower() in _KEYWORDS else "name", word, at), name.end()
    for symbol in _SYMBOLS:
        if text.startswith(symbol, at):
            return Token("symbol", symbol, at), at + len(symbol)
    raise ExpressionError(f"unexpected character {char!r}", at)


def _string_at(text: str, start: int) -> tuple[str, int]:
    """The string literal starting at `start` (escapes resolved), and where it ends."""
    quote = text[start]
    chars = []
    at = start + 1
    while at < len(text) and text[at] != quote:
        if text[at] == "\\":
            if at + 1 >= len(text):
                raise ExpressionError("unterminated string", start)
            escaped = text[at + 1]
            if escaped not in _ESCAPES:
                raise ExpressionError(f"unknown escape \\{escaped}", at)
            chars.append(_ESCAPES[escaped])
            at += 2
        else:
            chars.append(text[at])
            at += 1
    if at >= len(text):
        raise ExpressionError("unterminated string", start)
    return "".join(chars), at + 1


class ConditionParser:
    """Recursive descent over the token list; one method per grammar rule. Subclasses change what
    an atom is by overriding `_atom`."""

    def __init__(self, text: str, start: int = 0) -> None:
        self.tokens = tokenize(text, start)
        self.start = start
        self.at = 0
        self.depth = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.at]

    def _take(self, *values: str) -> Token | None:
        """The current token if it is one of `values` (keywords in any case), consumed."""
        token = self.token
        if token.kind in ("symbol", "keyword") and str(token.value).lower() in values:
            self.at += 1
            return token
        return None

    def parse(self) -> Condition:
        if self.token.kind == "end":
            raise ExpressionError("empty expression", self.start)
        condition = self._or()
        if self.token.kind != "end":
            raise ExpressionError(
                f"expected and, or or the end, found {self.token.value!r}", self.token.position
            )
        return condition

    def _or(self) -> Condition:
        items = [self._and()]
        while self._take("or", "||"):
            items.append(self._and())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def _and(self) -> Condition:
        items = [self._not()]
        while self._take("and", "&&"):
            items.append(self._not())
        return items[0] if len(items) == 1 else And(tuple(items))

    def _not(self) -> Condition:
        negation = self._take("not", "!")
        if negation:
            return Not(self._nested(negation, self._not))
        opening = self._take("(")
        if opening:
            inner = self._nested(opening, self._or)
            if not self._take(")"):
                raise ExpressionError("expected ) to close the ( here", opening.position)
            return inner
        return self._atom()

    def _nested(self, token: Token, rule: Callable[[], Condition]) -> Condition:
        """`rule` parsed one level deeper than `token`; refused past MAX_NESTING levels."""
        if self.depth == MAX_NESTING:
            raise ExpressionError(
                f"nested more than {MAX_NESTING} levels deep (not and parentheses)", token.position
            )
        self.depth += 1
        try:
            return rule()
        finally:
            self.depth -= 1

    def _atom(self) -> Condition:
        return self._comparison()

    def _comparison(self) -> Condition:
        token = self._field()
        op_token = self.token
        op = self._operator()
        literal = self._literal()
        return _compare(token.value, op, op_token, literal)

    def _field(self) -> Token:
        """The current token as a known field name, consumed."""
        token = self.token
        if token.kind != "name":
            raise ExpressionError(f"expected a field name, found {describe(token)}", token.position)
        if token.value not in FIELDS:
            known = ", ".join(sorted(FIELDS))
            raise ExpressionError(f"unknown field {token.value!r}; known fields: {known}", token.position)
        self.at += 1
        return token

    def _operator(self) -> str:
        token = self.token
        if self._take("not"):
            if not self._take("contains"):
                raise ExpressionError("expected contains after not", self.token.position)
            return "not contains"
        taken = self._take("==", "!=", "<", "<=", ">", ">=", "~", "contains")
        if taken is None:
            raise ExpressionError(f"expected an operator, found {describe(token)}", token.position)
        return str(taken.value).lower()

    def _literal(self) -> Token:
        token = self.token
        if token.kind in ("string", "number"):
            self.at += 1
            return token
        if self._take("true", "false", "null"):
            value = {"true": True, "false": False, "null": None}[str(token.value).lower()]
            return Token("bool" if value is not None else "null", value, token.position)
        raise ExpressionError(f"expected a value, found {describe(token)}", token.position)


def describe(token: Token) -> str:
    return "the end" if token.kind == "end" else repr(token.value)


def _compare(field: str, op: str, op_token: Token, literal: Token) -> Compare:
    """A comparison, checked: the literal suits the field's type and the operator suits both."""
    kind = FIELDS[field]
    if literal.kind == "null":
        if op not in _EQUALITY:
            raise ExpressionError(f"null can only be compared with == or !=, not {op}", op_token.position)
        return Compare(field, op, None)
    if op in ("~", "contains", "not contains"):
        if literal.kind != "string":
            raise ExpressionError(f"{op} needs a string", literal.position)
        return Compare(field, op, literal.value, _regex(literal) if op == "~" else None)
    wanted = {"text": "string", "number": "number", "bool": "bool"}[kind]
    if literal.kind != wanted:
        raise ExpressionError(f"{field} is a {kind} field: compare it with a {wanted}", literal.position)
    if op in _ORDERING and kind != "number":
        raise ExpressionError(f"{op} needs a number field; {field} is {kind}", op_token.position)
    return Compare(field, op, literal.value)


def _regex(literal: Token) -> re.Pattern[str]:
    try:
        return re.compile(literal.value, re.IGNORECASE)
    except re.error as exc:
        # Point into the pattern when the string has no escapes (then its characters line up).
        offset = 1 + exc.pos if exc.pos is not None and "\\" not in literal.value else 0
        raise ExpressionError(f"bad pattern: {exc.msg}", literal.position + offset) from None


@dataclass(frozen=True)
class Breakpoint:
    """A condition as the user wrote it, and whether it is on."""

    text: str
    condition: Condition
    enabled: bool = True

    @classmethod
    def from_text(cls, text: str, enabled: bool = True) -> Breakpoint:
        return cls(text, parse(text), enabled)
