"""Breakpoint expressions: precedence, every operator, quoting, None handling, and each kind of error
with the position its caret points at."""

from __future__ import annotations

from typing import Any

import pytest

from spanscope.core.debugging.breakpoints import And, Breakpoint, Compare, ExpressionError, Not, Or, parse

SPAN: dict[str, Any] = {
    "name": "web_search",
    "kind": "LLM",
    "status": "error",
    "model": "gpt-4o-mini",
    "latency_ms": 2500.0,
    "input_tokens": 5000,
    "cost_usd": 0.02,
    "error": "RateLimitError: 429",
    "output": "Sorry, I don't know.",
    "orphan": False,
}


def matches(text: str, fields: dict[str, Any] = SPAN) -> bool:
    return parse(text).matches(fields)


@pytest.mark.parametrize(
    "text",
    [
        'kind == "LLM" and latency_ms > 2000',
        'status == "error"',
        'model ~ "gpt-4o"',
        "cost_usd > 0.01",
        "input_tokens > 4000",
        'name ~ "search"',
        'output contains "I don\'t know"',
        'kind == "llm"',
        'status == "ERROR"',
        'model != "gpt-4o"',
        "latency_ms >= 2500 && latency_ms <= 2500.0",
        "input_tokens < 5001",
        'error contains "ratelimit"',
        'output not contains "paris"',
        "orphan == false",
        "provider == null",
        "model != null",
        'model ~ "^GPT-\\\\d"',
        "cost_usd > 1e-3",
        "latency_ms > -1",
    ],
)
def test_operators_match(text):
    assert matches(text)


@pytest.mark.parametrize(
    "text",
    [
        'kind == "TOOL"',
        'name == "WEB_SEARCH"',  # only kind and status ignore case on ==
        "latency_ms < 2000",
        'model ~ "claude"',
        'output contains "paris"',
        'error not contains "429"',
        "orphan == true",
        "model == null",
    ],
)
def test_operators_reject(text):
    assert not matches(text)


def test_and_binds_tighter_than_or_and_not_tighter_than_and():
    assert parse('kind == "TOOL" or kind == "LLM" and cost_usd > 1') == Or(
        (
            Compare("kind", "==", "TOOL"),
            And((Compare("kind", "==", "LLM"), Compare("cost_usd", ">", 1))),
        )
    )
    assert parse("not cost_usd > 1 and cost_usd > 0") == And(
        (Not(Compare("cost_usd", ">", 1)), Compare("cost_usd", ">", 0))
    )
    assert matches('kind == "TOOL" or kind == "LLM" and cost_usd > 0.01')
    assert not matches('(kind == "TOOL" or kind == "LLM") and cost_usd > 1')
    assert matches('!(cost_usd > 1) || name == "x"')
    assert matches("not not cost_usd > 0 AND cost_usd > 0 OR cost_usd > 9")


def test_missing_and_none_fields_never_match_a_comparison():
    empty: dict[str, Any] = {"cost_usd": None}
    for text in ("cost_usd > 0", "cost_usd != 1", 'model != "x"', 'input not contains "x"', 'model ~ "."'):
        assert not matches(text, empty)
    assert matches("cost_usd == null", empty)
    assert matches("not cost_usd > 0", empty)


def test_strings_take_either_quote_and_escapes():
    assert parse(r'name == "a\"b"') == Compare("name", "==", 'a"b')
    assert parse(r"name == 'it\'s'") == Compare("name", "==", "it's")
    assert parse(r'name == "tab\there\nline\\"') == Compare("name", "==", "tab\there\nline\\")
    assert parse("name == 'say \"hi\"'") == Compare("name", "==", 'say "hi"')


def test_numbers_and_fields_read():
    assert parse("input_tokens > 4000").literal == 4000
    assert parse("cost_usd > .5").literal == 0.5
    assert parse('kind == "LLM" and output contains "x"').fields == {"kind", "output"}
    assert parse("not name == 'x'").fields == {"name"}


def test_breakpoint_keeps_the_text_and_enabled_flag():
    b = Breakpoint.from_text("cost_usd > 0.01", enabled=False)
    assert (b.text, b.enabled, b.condition) == ("cost_usd > 0.01", False, Compare("cost_usd", ">", 0.01))


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("", "empty expression", 0),
        ("   ", "empty expression", 0),
        ("cost_usd > 1 $", "unexpected character '$'", 13),
        ("kind = 1", "unexpected character '='", 5),
        ('nmae == "x"', "unknown field 'nmae'; known fields: cache_read_tokens,", 0),
        ('kind == "LLM" and', "expected a field name, found the end", 17),
        ('42 == "x"', "expected a field name, found 42", 0),
        ("cost_usd 1", "expected an operator, found 1", 9),
        ("cost_usd >", "expected a value, found the end", 10),
        ("name == kind", "expected a value, found 'kind'", 8),
        ('name not "x"', "expected contains after not", 9),
        ('(kind == "LLM"', "expected ) to close the ( here", 0),
        ('kind == "LLM")', "expected and, or or the end, found ')'", 13),
        ('name == "abc', "unterminated string", 8),
        ('name == "ab\\', "unterminated string", 8),
        (r'name == "a\qb"', "unknown escape \\q", 10),
        ('latency_ms > "slow"', "latency_ms is a number field: compare it with a number", 13),
        ("name == 3", "name is a text field: compare it with a string", 8),
        ("orphan == 1", "orphan is a bool field: compare it with a bool", 10),
        ('name < "m"', "< needs a number field; name is text", 5),
        ("cost_usd > null", "null can only be compared with == or !=, not >", 9),
        ("name ~ 3", "~ needs a string", 7),
        ("name contains 3", "contains needs a string", 14),
        ('name ~ "a(b"', "bad pattern: missing ), unterminated subpattern", 9),
        ('name ~ "\\\\((b"', "bad pattern: missing ), unterminated subpattern", 7),
    ],
)
def test_errors_say_what_and_where(text, message, position):
    with pytest.raises(ExpressionError) as caught:
        parse(text)
    assert caught.value.message.startswith(message)
    assert caught.value.position == position


def test_error_text_puts_a_caret_under_the_mistake():
    with pytest.raises(ExpressionError) as caught:
        parse("latency_ms > 2000 and nmae ~ 'x'")
    lines = str(caught.value).splitlines()
    assert lines[0].startswith("unknown field 'nmae'")
    assert lines[1] == "  latency_ms > 2000 and nmae ~ 'x'"
    assert lines[2] == "  " + " " * 22 + "^"
    assert str(ExpressionError("bad", 3)) == "bad (at 3)"
