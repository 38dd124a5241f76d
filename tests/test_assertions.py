"""Trace assertions: the rule grammar (scopes, aggregates, errors with their caret), what each aggregate
computes over spans, and rules over a store: per trace, over all traces, reported or computed costs."""

from __future__ import annotations

from typing import Any

import pytest

from otlp import llm, request, span, write_jsonl
from spanscope.core.debugging.breakpoints import ExpressionError, parse
from spanscope.core.evaluation.assertions import (
    SCOPE_ALL,
    SCOPE_TRACE,
    SpanFacts,
    SpanRef,
    check,
    parse_rule,
)
from spanscope.core.pricing.prices import PriceBook
from spanscope.core.store import connect, import_files

SLOW, QUICK = "1" * 32, "2" * 32
ROOT_A, CALL_A, TOOL_A = "00000000000000a1", "00000000000000a2", "00000000000000a3"
ROOT_B, CALL_B, INNER_B = "00000000000000b1", "00000000000000b2", "00000000000000b3"


def facts(*spans: dict[str, Any]) -> list[SpanFacts]:
    """Spans as rules see them, from dicts of fields (missing fields are None)."""
    return [
        SpanFacts(
            {f: s.get(f) for f in ("name", "kind", "status", "latency_ms", "cost_usd", "output", "model")},
            SpanRef("t", s["id"], s.get("name", s["id"])),
            s.get("counted", True),
        )
        for s in spans
    ]


def run(text: str, spans: list[SpanFacts]):
    rule = parse_rule(text)
    tallies = [a.tally() for a in rule.aggregates]
    for s in spans:
        for t in tallies:
            t.add(s)
    return rule.judge(tallies)


SPANS = facts(
    {"id": "a", "kind": "LLM", "status": "ok", "latency_ms": 100.0, "cost_usd": 0.01, "output": "Paris"},
    {"id": "b", "kind": "LLM", "status": "error", "latency_ms": 900.0, "cost_usd": 0.02, "output": None},
    {"id": "c", "kind": "TOOL", "status": "ok", "latency_ms": 50.0, "output": "As an AI, I cannot"},
    {"id": "d", "kind": "CHAIN", "status": "ok", "latency_ms": 1200.0, "cost_usd": 0.03, "counted": False},
    {"id": "e", "kind": "LLM", "status": "ok", "latency_ms": 300.0, "cost_usd": 0.04, "output": "ok"},
)


@pytest.mark.parametrize(
    ("text", "scope", "functions"),
    [
        ('count(status == "error") == 0', SCOPE_TRACE, ["count"]),
        ("trace: max(latency_ms) < 8000", SCOPE_TRACE, ["max"]),
        ("all: sum(cost_usd) < 0.50", SCOPE_ALL, ["sum"]),
        ("  ALL : count() > 0", SCOPE_ALL, ["count"]),
        ('p95(latency_ms where kind == "LLM") < 3000', SCOPE_TRACE, ["p95"]),
        ('all(output not contains "As an AI")', SCOPE_TRACE, ["all"]),
        ('all: all(output not contains "x")', SCOPE_ALL, ["all"]),
        (
            'count() > 2 and (not any(status == "error") or MIN(latency_ms) >= 1)',
            SCOPE_TRACE,
            ["count", "any", "min"],
        ),
        ('avg(cost_usd where model ~ "gpt") <= 1e-2 || p1(latency_ms) != 0', SCOPE_TRACE, ["avg", "p1"]),
        ('count(where kind == "LLM") >= 1', SCOPE_TRACE, ["count"]),
    ],
)
def test_rules_parse_with_their_scope_and_aggregates(text, scope, functions):
    rule = parse_rule(text)
    assert rule.scope == scope
    assert [a.function for a in rule.aggregates] == functions


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("latency_ms < 8000", "put the span condition in all(...)", 0),
        ("foo(latency_ms) < 1", "expected an aggregate", 0),
        ("all: max(name) < 3", "max needs a number field; name is text", 9),
        ("max(latency_ms < 3", "expected where or ), found '<'", 15),
        ('count(status == "error")', "compare count(...) with a number", 24),
        ('p95(latency_ms) < "x"', "compare it with a number", 18),
        ("max(latency_ms) < 8000 and", "expected an aggregate", 26),
        ("max(bogus) < 1", "unknown field 'bogus'", 4),
        ("p100(latency_ms) < 1", "expected an aggregate", 0),
        ("sum(cost_usd where kind ==) < 1", "expected a value, found ')'", 26),
        ('all(kind == "LLM" where) ', "expected a field name", 23),
        ("all(max(latency_ms) < 3)", "unknown field 'max'", 4),
        ("count > 1", "expected ( after count", 6),
        ("all:", "empty expression", 4),
        ('any(status == "error") == 1', "expected and, or or the end", 23),
    ],
)
def test_bad_rules_point_at_the_problem(text, message, position):
    with pytest.raises(ExpressionError) as caught:
        parse_rule(text)
    assert message in caught.value.message
    assert caught.value.position == position
    assert str(caught.value).splitlines()[-1] == "  " + " " * position + "^"
    assert str(caught.value).splitlines()[-2] == f"  {text}"


def test_breakpoint_conditions_still_reject_aggregates():
    with pytest.raises(ExpressionError, match="unknown field 'max'"):
        parse("max(latency_ms) < 3")


def test_required_fields_leave_out_null_comparisons():
    assert parse('output not contains "x" or model == null').required == {"output"}
    assert parse('not (kind == "LLM" and cost_usd > 1)').required == {"kind", "cost_usd"}


@pytest.mark.parametrize(
    ("text", "holds", "value"),
    [
        ('count(status == "error") == 0', False, 1),
        ("count() == 5", True, 5),
        ('count(where kind == "LLM") == 3', True, 3),
        ("max(latency_ms) < 1000", False, 1200.0),
        ('max(latency_ms where kind != "CHAIN") < 1000', True, 900.0),
        ("min(latency_ms) > 60", False, 50.0),
        ("avg(latency_ms) == 510", True, 510.0),  # (100 + 900 + 50 + 1200 + 300) / 5
        # nearest rank: sorted 50, 100, 300, 900, 1200; p50 = rank ceil(2.5) = 3; p95 = rank 5; p20 = rank 1
        ("p50(latency_ms) == 300", True, 300.0),
        ("p95(latency_ms) == 1200", True, 1200.0),
        ("p20(latency_ms) == 50", True, 50.0),
        # the CHAIN span is not a counted call: its cost repeats its children's
        ("sum(cost_usd) < 0.069", False, pytest.approx(0.07)),
        ("max(cost_usd) == 0.04", True, 0.04),
    ],
)
def test_aggregates_compute_over_spans(text, holds, value):
    held, (finding,) = run(text, SPANS)
    assert held is holds
    assert finding.value == value


def test_all_fails_on_the_violating_spans_and_skips_spans_without_the_field():
    held, (finding,) = run('all(output not contains "as an ai")', SPANS)
    assert not held
    assert [e.span.span_id for e in finding.spans] == ["c"]  # b and d have no output: not judged
    assert finding.spans[0].values == 'output = "As an AI, I cannot"'
    held, _ = run('all(output not contains "as an ai" where kind == "LLM")', SPANS)
    assert held


def test_a_null_comparison_judges_every_span():
    held, (finding,) = run("all(output != null)", SPANS)
    assert not held and [e.span.span_id for e in finding.spans] == ["b", "d"]


def test_failed_field_aggregates_name_the_spans_over_the_limit_worst_first():
    _, (finding,) = run("max(latency_ms) < 800", SPANS)
    assert [(e.span.span_id, e.values) for e in finding.spans] == [
        ("d", "latency_ms = 1200.0"),
        ("b", "latency_ms = 900.0"),
    ]
    assert finding.summary() == "max(latency_ms) = 1200.0, not < 800"
    _, (finding,) = run("min(latency_ms) >= 100", SPANS)
    assert [e.span.span_id for e in finding.spans] == ["c"]


def test_count_names_the_counted_spans_when_it_fails():
    _, (finding,) = run('count(status == "error") == 0', SPANS)
    assert [(e.span.span_id, e.values) for e in finding.spans] == [("b", 'status = "error"')]


def test_aggregates_of_nothing():
    nothing = run('max(latency_ms where kind == "AGENT") < 1', SPANS)
    assert nothing[0] and nothing[1][0].value is None and "no values" in nothing[1][0].summary()
    assert run('sum(cost_usd where kind == "AGENT") == 0', SPANS)[0]
    assert run('count(kind == "AGENT") == 0', SPANS)[0]
    assert run('all(kind == "AGENT" where kind == "AGENT")', SPANS)[0]
    held, (finding,) = run('any(kind == "AGENT")', SPANS)
    assert not held and finding.note == "no span matches"


def test_missing_values_are_noted():
    _, (finding,) = run("sum(cost_usd) < 1", SPANS)
    assert finding.note == "1 span without cost_usd"


def test_boolean_combinations_use_the_aggregates_outcomes():
    assert run('count(status == "error") == 0 or max(latency_ms) > 1000', SPANS)[0]
    assert not run('count(status == "error") == 0 and max(latency_ms) > 1000', SPANS)[0]
    assert run('not any(kind == "AGENT")', SPANS)[0]


# --- over a store ------------------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path):
    """Two traces: SLOW (a 9 s agent whose 3 s gpt-4o call reported $0.20, and a failing tool) and QUICK
    (a 1 s chain whose gpt-4o-mini call says "As an AI", with no reported cost)."""
    path = write_jsonl(
        tmp_path / "run.jsonl",
        request(
            span(ROOT_A, trace=SLOW, name="agent", start=0, end=9_000_000_000),
            llm(
                CALL_A,
                ROOT_A,
                "gpt-4o",
                4200,
                30,
                trace=SLOW,
                start=1_000,
                end=3_000_001_000,
                attrs={"llm.cost.total": 0.2},
            ),
            span(
                TOOL_A,
                ROOT_A,
                trace=SLOW,
                name="web_search",
                start=3_500_000_000,
                end=3_600_000_000,
                attrs={"openinference.span.kind": "TOOL"},
                error="timeout",
            ),
            span(ROOT_B, trace=QUICK, name="chain", start=0, end=1_000_000_000),
            llm(
                CALL_B,
                ROOT_B,
                "gpt-4o-mini",
                1000,
                500,
                trace=QUICK,
                start=1_000,
                end=500_000_000,
                attrs={"output.value": "As an AI model I cannot say."},
            ),
        ),
    )
    db_path = tmp_path / "store.db"
    import_files(db_path, [path])
    return connect(db_path, readonly=True)


def verdicts(report):
    return [(v.trace_id, v.holds) for v in report.verdicts]


def test_rules_are_checked_on_each_trace(store):
    rules = [parse_rule('count(status == "error") == 0'), parse_rule("max(latency_ms) < 8000")]
    report = check(store, rules)
    assert report.traces == 2 and not report.holds
    assert verdicts(report) == [(SLOW, False), (QUICK, True), (SLOW, False), (QUICK, True)]
    errors, latency = report.of(rules[0])[0], report.of(rules[1])[0]
    assert errors.label == f"trace {SLOW} (agent)"
    assert errors.reason == 'count(status == "error") = 1, not == 0'
    assert errors.findings[0].spans[0].span.span_id == TOOL_A
    assert latency.reason == "max(latency_ms) = 9000.0, not < 8000"
    assert [e.span.span_id for e in latency.findings[0].spans] == [ROOT_A]


def test_payload_rules_read_outputs(store):
    (only_quick_fails,) = [parse_rule('all(output not contains "as an ai")')]
    report = check(store, [only_quick_fails])
    assert verdicts(report) == [(SLOW, True), (QUICK, False)]
    (evidence,) = report.verdicts[1].findings[0].spans
    assert evidence.span.span_id == CALL_B and evidence.values == 'output = "As an AI model I cannot say."'


def test_all_scope_rules_see_every_trace_at_once(store):
    # LLM latencies 3000 and 499.999 ms: the nearest-rank p50 of the two is the smaller
    holds = parse_rule('all: p50(latency_ms where kind == "LLM") < 1000 and count() == 5')
    fails = parse_rule('all: max(latency_ms where kind == "LLM") < 1000')
    report = check(store, [holds, fails])
    assert [(v.trace_id, v.label, v.holds) for v in report.verdicts] == [
        (None, "all 2 traces", True),
        (None, "all 2 traces", False),
    ]
    assert report.verdicts[0].findings[0].value == 499.999
    (evidence,) = report.verdicts[1].findings[0].spans
    assert (evidence.span.trace_id, evidence.span.span_id) == (SLOW, CALL_A)
    assert report.verdicts[1].lines()[1] == f"  trace {SLOW} span {CALL_A} 'span-a2': latency_ms = 3000.0"


def test_cost_is_reported_else_computed_with_a_price_book(store):
    rule = parse_rule("all: sum(cost_usd) > 0.2")
    reported_only = check(store, [rule])
    assert reported_only.verdicts[0].findings[0].value == pytest.approx(0.2)
    assert not reported_only.holds
    book = PriceBook({"models": {"gpt-4o-mini": {"input": 1.0, "output": 2.0}}})  # $ per million tokens
    priced = check(store, [rule], book)
    # 0.2 reported + 1000 x $1/M + 500 x $2/M computed for the gpt-4o-mini call
    assert priced.verdicts[0].findings[0].value == pytest.approx(0.2 + 0.001 + 0.001)
    assert priced.holds
