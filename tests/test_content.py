"""Qt-free helpers behind the detail panel: payload shapes, prefixes of large text, flattened
attributes, documents, images, first-token times and cost wording."""

from __future__ import annotations

import pytest

from spanscope.core.model import Kind, Span, message
from spanscope.core.presentation import content
from spanscope.core.presentation.content import PayloadKind, TextBudget
from spanscope.core.pricing.prices import PriceBook


def span(**fields) -> Span:
    return Span(
        **({"trace_id": "t", "span_id": "s", "parent_id": None, "name": "n", "start_ns": 10**9} | fields)
    )


@pytest.mark.parametrize(
    ("size", "text"),
    [(0, "0 B"), (999, "999 B"), (195_000, "195 KB"), (12_345_678, "12.3 MB"), (2_500_000_000, "2.5 GB")],
)
def test_human_bytes(size, text):
    assert content.human_bytes(size) == text


def test_head_cuts_at_a_line_break_near_the_limit():
    text = "a" * 90 + "\n" + "b" * 100
    assert content.head(text, 100) == "a" * 90 + "\n"
    assert content.head("x" * 300, 100) == "x" * 100
    assert content.head("short", 100) == "short"


def test_budget_shares_a_limit_over_pieces_and_counts_what_it_held_back():
    budget = TextBudget(limit=10)
    assert budget.take("abcdef") == "abcdef"
    assert budget.take("ghijkl") == "ghij"
    assert budget.truncated and budget.exhausted
    assert budget.take("mnop") == ""
    budget.skip(["é"])
    assert (budget.shown_bytes, budget.total_bytes) == (10, 16 + len('["é"]'.encode()))


def test_unlimited_budget_gives_everything_and_notices_long_words():
    budget = TextBudget(limit=None)
    word = "Q" * content.LONG_TOKEN
    assert budget.take(word) == word
    assert not budget.truncated and budget.long_tokens
    prose = TextBudget()
    prose.take("short words only")
    assert not prose.long_tokens


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (None, PayloadKind.EMPTY),
        ("", PayloadKind.EMPTY),
        ([], PayloadKind.EMPTY),
        ([message("user", "hi")], PayloadKind.MESSAGES),
        ([{"id": "d1", "content": "text", "score": 0.5}], PayloadKind.DOCUMENTS),
        ([{"page_content": "text", "metadata": {}}], PayloadKind.DOCUMENTS),
        ({"a": 1}, PayloadKind.JSON),
        ([1, 2], PayloadKind.JSON),
        ("plain words", PayloadKind.TEXT),
        (42, PayloadKind.TEXT),
    ],
)
def test_shape(value, kind):
    assert content.shape(value)[0] is kind


def test_text_holding_json_is_shown_as_json_unless_huge():
    assert content.shape('{"a": [1, 2]}') == (PayloadKind.JSON, {"a": [1, 2]})
    assert content.shape("[not json") == (PayloadKind.TEXT, "[not json")
    huge = "[" + ",".join(["1"] * content.PREVIEW_CHARS) + "]"
    assert content.shape(huge)[0] is PayloadKind.TEXT


def test_pretty_and_compact():
    assert content.pretty('{"b":1}') == '{\n  "b": 1\n}'
    assert content.pretty("plain") == "plain"
    assert content.pretty(None) == "null"
    assert content.compact(True) == "true" and content.compact("x") == "x"
    assert content.compact({"k": [1, 2]}) == '{"k":[1,2]}'


def test_preview_and_tooltip():
    assert content.preview("a\nb", 10) == "a ⏎ b"
    assert content.preview("x" * 20, 5) == "xxxxx…"
    assert content.tooltip("short") == "short"
    assert content.tooltip("y" * 5000) == "5 KB: double-click to show it all"


def test_attribute_rows_flatten_nested_values_then_resource_and_scope():
    s = span(
        attributes={"a": {"b": 1, "c": [{"d": 2}]}, "tags": ["x", "y"], "empty": {}},
        resource={"service.name": "svc"},
        scope={"name": "lib", "version": "1"},
    )
    assert content.attribute_rows(s) == [
        ("a.b", 1),
        ("a.c.0.d", 2),
        ("tags", ["x", "y"]),
        ("empty", {}),
        ("resource.service.name", "svc"),
        ("scope.name", "lib"),
        ("scope.version", "1"),
    ]


def test_documents_fold_extra_fields_into_metadata():
    doc = content.document(
        {"id": 7, "page_content": "text", "score": 1, "source": "kb.md", "metadata": {"p": 2}}
    )
    assert doc == content.Document("7", 1.0, "text", {"p": 2, "source": "kb.md"})
    assert content.document({"content": "c", "score": True}).score is None
    assert not content.is_documents([{"role": "user", "content": "hi"}])


def test_message_parts_and_tool_names():
    assert content.message_parts("hi") == [{"type": "text", "text": "hi"}]
    assert content.message_parts(None) == []
    assert content.message_parts(["a", {"type": "image", "url": None}]) == [
        {"type": "text", "text": "a"},
        {"type": "image", "url": None},
    ]
    calls = [{"id": "c1", "name": "get_weather", "arguments": {}}]
    assert content.tool_names([message("assistant", None, calls), message("tool", "{}", None, "c1")]) == {
        "c1": "get_weather"
    }


def test_web_urls_are_http_or_https_only():
    assert content.is_web_url("HTTPS://example.com") and not content.is_web_url("file:///etc/passwd")


def test_offset():
    assert content.offset(10**9 + 381_000_000, 10**9) == "+381 ms"
    assert content.offset(10**9 - 2_000_000, 10**9) == "-2 ms"
    assert content.offset(None, 10**9) == ""


def test_cost_is_never_a_silent_zero():
    book = PriceBook()
    assert content.cost_text(span(), book) == "none of its own (not a model call)"
    assert content.cost_text(span(cost_usd=0.0), book) == "$0 (reported by the source)"
    assert content.cost_text(span(cost_usd=0.0123), book) == "$0.0123 (reported by the source)"
    unknown = span(kind=Kind.LLM, model="no-such-model-xyz", input_tokens=10, output_tokens=5)
    assert content.cost_text(unknown, book) == "unknown: no price for model no-such-model-xyz"
    priced = span(kind=Kind.LLM, model="gpt-4o-mini", input_tokens=1_000_000, output_tokens=0)
    assert content.cost_text(priced, book).startswith("~$0.15 (computed with ")  # $0.15 per million
    assert "computed with" in content.cost_text(priced, book)
