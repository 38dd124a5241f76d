"""Trace assertions for CI: rules that must hold over each trace's spans, or over all traces at once.

A rule is the breakpoint grammar (core/breakpoints.py) whose atoms are aggregates over spans:

    rule       := ["all:" | "trace:"] expr       (no prefix: each trace on its own)
    expr       := or / and / not / ( ) as in breakpoints, over aggregates
    aggregate  := ("all" | "any") "(" condition ["where" condition] ")"
                | "count" "(" [condition] ["where" condition] ")" op NUMBER
                | ("sum" | "min" | "max" | "avg" | "p1" ... "p99") "(" FIELD ["where" condition] ")" op NUMBER
    condition  := a breakpoint condition over one span, e.g. kind == "LLM" and latency_ms > 2000
    op         := "==" | "!=" | "<" | "<=" | ">" | ">="

What each aggregate means, over the spans in scope that pass `where`:
- all(c): no span violates c; any(c): some span satisfies c; count(c): how many satisfy c (count():
  how many spans). A span lacking a field that c reads (other than in `== null`/`!= null`) is not
  judged, so all(output not contains "As an AI") passes over spans that have no output.
- sum/min/max/avg/pNN(field): over the spans that have a value of the field. pNN is the nearest-rank
  percentile, as in `spanscope stats`. sum of token or cost fields counts only the model calls the
  trace totals count (a wrapper repeating its child call's usage is left out), so sum(cost_usd) is the
  trace's cost. Over no values min/max/avg/pNN have none, and a comparison with none holds: nothing
  violates it; sum and count of nothing are 0.
- cost_usd is the cost the source reported, else one computed from tokens and the price table when a
  PriceBook is given (as `spanscope stats` does); a span with neither has no cost.

A failed aggregate names the spans responsible: those violating all(...), those counted by count(...),
and for a field aggregate those whose own value breaks the limit (for max(x) < 10, every span with x
of 10 or more, largest first).
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from spanscope.core.debugging.breakpoints import (
    FIELDS,
    And,
    Condition,
    ConditionParser,
    ExpressionError,
    Not,
    Or,
    describe,
    parse,
)
from spanscope.core.debugging.cursor import StepCursor
from spanscope.core.debugging.tree import ROLLED_COLUMNS, TraceTree
from spanscope.core.presentation.content import preview
from spanscope.core.pricing.prices import PriceBook
from spanscope.core.store.db import Database
from spanscope.core.store.queries import TraceRow, list_traces, trace_rows
from spanscope.core.store.span_io import trace_io

SCOPE_TRACE, SCOPE_ALL = "trace", "all"
_SCOPE_PREFIX = re.compile(r"\s*(all|trace)\s*:", re.IGNORECASE)
_PERCENTILE = re.compile(r"p([1-9]\d?)", re.IGNORECASE)
BOOLEAN_FUNCTIONS = ("all", "any")
FIELD_FUNCTIONS = ("sum", "min", "max", "avg")
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
#: Summed over counted model calls only, like the trace totals.
USAGE_FIELDS = frozenset(ROLLED_COLUMNS)
#: Spans named per failed aggregate; the rest are counted.
MAX_SPANS_SHOWN = 10


@dataclass(frozen=True)
class SpanRef:
    trace_id: str
    span_id: str
    name: str


@dataclass(frozen=True)
class SpanFacts:
    """One span as rules see it: its breakpoint fields, who it is, and whether its usage counts."""

    fields: Mapping[str, Any]
    ref: SpanRef
    counted: bool


@dataclass(frozen=True)
class Evidence:
    """A span responsible for a failure, and the values that make it so ("latency_ms = 9120.5")."""

    span: SpanRef
    values: str


@dataclass(frozen=True)
class Finding:
    """What one aggregate came to over one scope."""

    #: The aggregate as written, without its comparison: "max(latency_ms)".
    call: str
    holds: bool
    value: float | int | bool | None
    #: The comparison it must pass, "< 8000"; empty for all(...) and any(...).
    limit: str = ""
    spans: tuple[Evidence, ...] = ()
    #: How many spans are responsible in all (spans holds the first MAX_SPANS_SHOWN).
    responsible: int = 0
    note: str = ""

    def summary(self) -> str:
        if isinstance(self.value, bool):
            shown = f"{self.call} {'holds' if self.holds else 'fails'}"
        elif self.value is None:
            shown = f"{self.call} has no values"
        else:
            shown = f"{self.call} = {number(self.value)}" + ("" if self.holds else f", not {self.limit}")
        return shown + (f" ({self.note})" if self.note else "")


def number(value: float | int) -> str:
    """A value for a message: ints whole, large floats to 3 decimals, small ones (costs) to 6 digits."""
    if isinstance(value, int):
        return str(value)
    return str(round(value, 3)) if abs(value) >= 1 else f"{value:.6g}"


@dataclass(frozen=True)
class Aggregate:
    """One aggregate of a rule. As a Condition in the rule's tree, `matches` reads whether it held
    from `values`, keyed by `key`."""

    function: str
    field: str | None
    condition: Condition | None
    where: Condition | None
    op: str | None
    limit: float | int | None
    call: str
    position: int

    @property
    def limit_text(self) -> str:
        return "" if self.op is None or self.limit is None else f"{self.op} {number(self.limit)}"

    @property
    def key(self) -> str:
        return f"aggregate@{self.position}"

    @property
    def fields(self) -> frozenset[str]:
        parts = [c.fields for c in (self.condition, self.where) if c is not None]
        return frozenset({self.field} if self.field else ()).union(*parts)

    @property
    def required(self) -> frozenset[str]:
        return frozenset()

    def matches(self, values: Mapping[str, Any]) -> bool:
        return bool(values[self.key])

    def tally(self) -> Tally:
        if self.function in BOOLEAN_FUNCTIONS or self.function == "count":
            return _ConditionTally(self)
        return _FieldTally(self)


@dataclass(frozen=True)
class Rule:
    text: str
    scope: str
    condition: Condition
    aggregates: tuple[Aggregate, ...]

    @property
    def fields(self) -> frozenset[str]:
        return frozenset().union(*(a.fields for a in self.aggregates))

    def judge(self, tallies: Sequence[Tally]) -> tuple[bool, tuple[Finding, ...]]:
        """Whether the rule holds given its aggregates' tallies (in `aggregates` order)."""
        findings = tuple(t.finding() for t in tallies)
        outcome = {a.key: f.holds for a, f in zip(self.aggregates, findings, strict=True)}
        return self.condition.matches(outcome), findings


def parse_rule(text: str) -> Rule:
    """The rule `text` spells; ExpressionError (with a caret position) for anything wrong."""
    prefix = _SCOPE_PREFIX.match(text)
    scope = prefix.group(1).lower() if prefix else SCOPE_TRACE
    condition = parse(text, _RuleParser, prefix.end() if prefix else 0)
    return Rule(text.strip(), scope, condition, tuple(_aggregates(condition)))


def _aggregates(condition: Condition) -> Iterator[Aggregate]:
    if isinstance(condition, Aggregate):
        yield condition
    elif isinstance(condition, And | Or):
        for item in condition.items:
            yield from _aggregates(item)
    elif isinstance(condition, Not):
        yield from _aggregates(condition.item)


class _RuleParser(ConditionParser):
    """The breakpoint parser with aggregates as atoms; inside an aggregate, atoms are span comparisons."""

    def __init__(self, text: str, start: int = 0) -> None:
        super().__init__(text, start)
        self.text = text
        self._inside = False

    def _atom(self) -> Condition:
        return super()._atom() if self._inside else self._aggregate()

    def _aggregate(self) -> Aggregate:
        token = self.token
        function = str(token.value).lower() if token.kind == "name" else ""
        if function not in (*BOOLEAN_FUNCTIONS, *FIELD_FUNCTIONS, "count") and not _PERCENTILE.fullmatch(
            function
        ):
            if token.kind == "name" and token.value in FIELDS:
                raise ExpressionError(
                    f"a rule is made of aggregates over spans: put the span condition in all(...), "
                    f"or use count(...), max({token.value}), ...",
                    token.position,
                )
            raise ExpressionError(
                "expected an aggregate (all, any, count, sum, min, max, avg, p50, p95, p99), "
                f"found {describe(token)}",
                token.position,
            )
        self.at += 1
        if not self._take("("):
            raise ExpressionError(f"expected ( after {token.value}", self.token.position)
        field, condition = None, None
        if function in BOOLEAN_FUNCTIONS:
            condition = self._span_condition()
        elif function == "count":
            if not self._at_where() and not (self.token.kind == "symbol" and self.token.value == ")"):
                condition = self._span_condition()
        else:
            field = self._number_field(function)
        where = None
        if self._at_where():
            self.at += 1
            where = self._span_condition()
        if not self._take(")"):
            expected = "where or )" if where is None else ")"
            raise ExpressionError(f"expected {expected}, found {describe(self.token)}", self.token.position)
        call = self.text[token.position : self.token.position].rstrip()
        op, limit = (None, None) if function in BOOLEAN_FUNCTIONS else self._limit(function)
        return Aggregate(function, field, condition, where, op, limit, call, token.position)

    def _number_field(self, function: str) -> str:
        token = self._field()
        if FIELDS[token.value] != "number":
            raise ExpressionError(
                f"{function} needs a number field; {token.value} is {FIELDS[token.value]}", token.position
            )
        return token.value

    def _limit(self, function: str) -> tuple[str, float | int]:
        token = self.token
        op = self._take(*_COMPARE)
        if op is None:
            raise ExpressionError(
                f"compare {function}(...) with a number, e.g. {function}(...) < 10; found {describe(token)}",
                token.position,
            )
        literal = self.token
        if literal.kind != "number":
            raise ExpressionError(
                f"{function}(...) is a number: compare it with a number, not {describe(literal)}",
                literal.position,
            )
        self.at += 1
        return str(op.value), literal.value

    def _at_where(self) -> bool:
        return self.token.kind == "name" and str(self.token.value).lower() == "where"

    def _span_condition(self) -> Condition:
        self._inside = True
        try:
            return self._or()
        finally:
            self._inside = False


# --- tallies ---------------------------------------------------------------------------------------


class Tally:
    """An aggregate's running state over the spans of one scope, fed one span at a time."""

    def __init__(self, aggregate: Aggregate) -> None:
        self.aggregate = aggregate

    def add(self, span: SpanFacts) -> None:
        where = self.aggregate.where
        if where is None or where.matches(span.fields):
            self._add(span)

    def _add(self, span: SpanFacts) -> None:
        raise NotImplementedError

    def finding(self) -> Finding:
        raise NotImplementedError


class _ConditionTally(Tally):
    """all, any and count: which judged spans satisfy the condition (all: which violate it)."""

    def __init__(self, aggregate: Aggregate) -> None:
        super().__init__(aggregate)
        self.picked: list[Evidence] = []
        self.count = 0

    def _add(self, span: SpanFacts) -> None:
        condition = self.aggregate.condition
        if condition is None:
            self.count += 1
            return
        if any(span.fields[f] is None for f in condition.required):
            return
        if condition.matches(span.fields) != (self.aggregate.function == "all"):
            self.count += 1
            if len(self.picked) < MAX_SPANS_SHOWN:
                self.picked.append(Evidence(span.ref, _shown(span.fields, condition.fields)))

    def finding(self) -> Finding:
        a = self.aggregate
        if a.function == "all":
            return Finding(a.call, self.count == 0, self.count == 0, "", tuple(self.picked), self.count)
        if a.function == "any":
            return Finding(
                a.call, self.count > 0, self.count > 0, note="" if self.count else "no span matches"
            )
        assert a.op is not None
        holds = _COMPARE[a.op](self.count, a.limit)
        spans = () if holds else tuple(self.picked)
        return Finding(a.call, holds, self.count, a.limit_text, spans, 0 if holds else self.count)


class _FieldTally(Tally):
    """sum, min, max, avg and percentiles of a number field."""

    def __init__(self, aggregate: Aggregate) -> None:
        super().__init__(aggregate)
        self.values: list[tuple[float, SpanRef]] = []
        self.missing = 0
        self.counted_only = aggregate.function == "sum" and aggregate.field in USAGE_FIELDS

    def _add(self, span: SpanFacts) -> None:
        if self.counted_only and not span.counted:
            return
        value = span.fields[self.aggregate.field or ""]
        if value is None:
            self.missing += 1
        else:
            self.values.append((value, span.ref))

    def finding(self) -> Finding:
        a = self.aggregate
        assert a.op is not None
        value = self._value()
        plural = "s" if self.missing > 1 else ""
        note = f"{self.missing:,} span{plural} without {a.field}" if self.missing else ""
        if value is None:
            return Finding(a.call, True, None, a.limit_text, note=note)
        compare = _COMPARE[a.op]
        if compare(value, a.limit):
            return Finding(a.call, True, value, a.limit_text, note=note)
        over = [(v, ref) for v, ref in self.values if not compare(v, a.limit)]
        if a.op in ("<", "<="):
            over.sort(key=lambda item: -item[0])
        elif a.op in (">", ">="):
            over.sort(key=lambda item: item[0])
        spans = tuple(Evidence(ref, f"{a.field} = {number(v)}") for v, ref in over[:MAX_SPANS_SHOWN])
        return Finding(a.call, False, value, a.limit_text, spans, len(over), note)

    def _value(self) -> float | None:
        values = [v for v, _ in self.values]
        function = self.aggregate.function
        if function == "sum":
            return sum(values)
        if not values:
            return None
        if function == "min":
            return min(values)
        if function == "max":
            return max(values)
        if function == "avg":
            return sum(values) / len(values)
        percent = int(function[1:])
        return sorted(values)[(percent * len(values) + 99) // 100 - 1]


def _shown(fields: Mapping[str, Any], names: Iterable[str]) -> str:
    return ", ".join(f"{name} = {_value_text(fields[name])}" for name in sorted(names))


def _value_text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return '"' + preview(value, 80) + '"'
    return number(value) if isinstance(value, int | float) and not isinstance(value, bool) else str(value)


# --- running rules over a store ----------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """A rule over one trace (trace_id set) or over all of them (trace_id None)."""

    rule: Rule
    trace_id: str | None
    label: str
    holds: bool
    findings: tuple[Finding, ...]

    @property
    def reason(self) -> str:
        """One line: the aggregates that failed (all of them when a negation made the rule fail)."""
        failed = [f for f in self.findings if not f.holds] or list(self.findings)
        return "; ".join(f.summary() for f in failed)

    def lines(self) -> list[str]:
        """What failed and the spans responsible, for a terminal or a JUnit failure message."""
        lines = []
        for finding in self.findings:
            lines.append(finding.summary())
            for e in finding.spans:
                where = f"trace {e.span.trace_id} " if self.trace_id is None else ""
                lines.append(f"  {where}span {e.span.span_id} {e.span.name!r}: {e.values}")
            if finding.responsible > len(finding.spans):
                lines.append(f"  ... and {finding.responsible - len(finding.spans):,} more spans")
        return lines


@dataclass(frozen=True)
class CheckReport:
    rules: tuple[Rule, ...]
    traces: int
    verdicts: tuple[Verdict, ...]

    @property
    def holds(self) -> bool:
        return all(v.holds for v in self.verdicts)

    def of(self, rule: Rule) -> list[Verdict]:
        return [v for v in self.verdicts if v.rule is rule]


def check(db: Database, rules: Sequence[Rule], book: PriceBook | None = None) -> CheckReport:
    """Every rule over every trace of the store (and over all of them, for `all:` rules), in one pass.

    With `book`, spans without a reported cost get a computed one; without, cost_usd is as reported.
    """
    traces = list_traces(db)
    overall = {id(r): [a.tally() for a in r.aggregates] for r in rules if r.scope == SCOPE_ALL}
    per_trace = [r for r in rules if r.scope == SCOPE_TRACE]
    found: dict[int, list[Verdict]] = {id(r): [] for r in rules}
    priced = book if any("cost_usd" in r.fields for r in rules) else None
    for trace in traces:
        spans = list(trace_spans(db, trace.trace_id, priced))
        for rule in per_trace:
            tallies = [a.tally() for a in rule.aggregates]
            for span in spans:
                for tally in tallies:
                    tally.add(span)
            holds, findings = rule.judge(tallies)
            found[id(rule)].append(Verdict(rule, trace.trace_id, _trace_label(trace), holds, findings))
        for tallies in overall.values():
            for span in spans:
                for tally in tallies:
                    tally.add(span)
    for rule in rules:
        if rule.scope == SCOPE_ALL:
            holds, findings = rule.judge(overall[id(rule)])
            label = f"all {len(traces):,} traces"
            found[id(rule)].append(Verdict(rule, None, label, holds, findings))
    verdicts = tuple(v for rule in rules for v in found[id(rule)])
    return CheckReport(tuple(rules), len(traces), verdicts)


def _trace_label(trace: TraceRow) -> str:
    return f"trace {trace.trace_id}" + (f" ({trace.root_name})" if trace.root_name else "")


def trace_spans(db: Database, trace_id: str, book: PriceBook | None = None) -> Iterator[SpanFacts]:
    """A trace's spans in execution order as rules see them. Payloads are read only when a rule does,
    then for the whole trace at once (one query, not one per span)."""
    tree = TraceTree.build(trace_rows(db, trace_id))
    cursor = StepCursor()
    loaded: dict[str, tuple[Any, Any]] = {}

    def payloads(span_id: str) -> tuple[Any, Any]:
        if not loaded:
            loaded.update(trace_io(db, trace_id))
        return loaded.get(span_id, (None, None))

    cursor.load(tree, payloads)
    columns = tree.rows.columns
    for step, row in enumerate(cursor.order):
        fields = cursor.fields(step)
        if book is not None:
            fields = _PricedFields(fields, tree.rows[row], book)
        ref = SpanRef(trace_id, columns["span_id"][row], columns["name"][row])
        yield SpanFacts(fields, ref, bool(columns["counted"][row]))


class _PricedFields(Mapping[str, Any]):
    """A span's fields with cost_usd as reported, else computed (worked out when a rule reads it)."""

    def __init__(self, fields: Mapping[str, Any], row: Mapping[str, Any], book: PriceBook) -> None:
        self._fields, self._row, self._book = fields, row, book

    def __getitem__(self, field: str) -> Any:
        if field == "cost_usd":
            return self._cost
        return self._fields[field]

    @functools.cached_property
    def _cost(self) -> float | None:
        return self._book.cost(SimpleNamespace(**self._row)).usd

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)
