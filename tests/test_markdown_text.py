"""Which trace text is rendered as markdown, how its line breaks are kept, and where it folds."""

from __future__ import annotations

import pytest

from spanscope.core.presentation.content import call_signature, one_line
from spanscope.core.presentation.markdown import (
    FOLDED_CHARS,
    FOLDED_LINES,
    LINE_BREAK,
    fold,
    looks_like_markdown,
    with_line_breaks,
)


@pytest.mark.parametrize(
    "text",
    [
        "## Scope\nHelp",
        "Steps:\n- one\n- two",
        "1. first\n2. second",
        "| a | b |\n|---|---|",
        "Use **bold**",
        "Run `ls`",
        "See [docs](https://x.org)",
        "```\ncode\n```",
        "> quoted",
    ],
)
def test_markdown_is_recognised(text):
    assert looks_like_markdown(text)


@pytest.mark.parametrize(
    "text",
    ["Plain answer.\nSecond line.", "f(*args, **kwargs)", "a * b = c", "#hashtag", "price: $5 - $6"],
)
def test_plain_text_is_not_taken_for_markdown(text):
    assert not looks_like_markdown(text)


def test_lines_of_a_paragraph_keep_their_breaks_and_blocks_are_left_alone():
    text = "# Title\nRules:\nBe brief.\n- one\n- two\n\n```\nx = 1\ny = 2\n```\n| a |\n|---|"
    kept = with_line_breaks(text).split("\n")
    assert kept[0] == "# Title"  # a heading is one line
    assert kept[1] == "Rules:" + LINE_BREAK and kept[2] == "Be brief."  # a list starts after it
    assert kept[7:9] == ["x = 1", "y = 2"]  # code keeps its lines by itself
    assert kept[-2:] == ["| a |", "|---|"]


def test_long_text_folds_to_its_first_lines():
    text = "\n".join(f"line {n}" for n in range(40))
    folded = fold(text)
    assert folded.shown == "\n".join(f"line {n}" for n in range(FOLDED_LINES))
    assert folded.hidden_lines == 40 - FOLDED_LINES
    assert folded.more() == f"{40 - FOLDED_LINES} more lines, {len(text) - len(folded.shown) - 1} B"
    assert fold("short\ntext") is None
    one_long_line = "word " * 1000
    assert fold(one_long_line).shown == one_long_line[:FOLDED_CHARS]


def test_tool_calls_and_flat_values_fit_on_one_line():
    assert (
        call_signature("get_weather", '{"city": "Paris", "days": 3}') == 'get_weather(city="Paris", days=3)'
    )
    assert call_signature("noop", "") == "noop()"
    assert call_signature("plan", {"stops": [1, 2]}) is None  # nested: shown indented instead
    assert one_line({"temp": 21.5, "unit": "C"}) == '{"temp": 21.5, "unit": "C"}'
    assert one_line({"text": "x" * 200}) is None
