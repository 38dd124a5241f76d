"""`spanscope steps`: every step in execution order, or only where breakpoints would stop."""

from __future__ import annotations

import pytest

from otlp import TRACE, llm, request, span, write_jsonl
from spanscope.cli import main

ROOT, CALL, TOOL, ANSWER = "00000000000000a1", "00000000000000a2", "00000000000000a3", "00000000000000a4"


@pytest.fixture
def trace_file(tmp_path):
    return write_jsonl(
        tmp_path / "run.jsonl",
        request(
            span(ROOT, name="agent", start=0, end=9_000_000_000, attrs={"openinference.span.kind": "AGENT"}),
            llm(CALL, ROOT, "gpt-4o", 4200, 30, start=1_000, end=3_000_001_000),
            span(
                TOOL,
                ROOT,
                name="web_search",
                start=3_500_000_000,
                end=3_600_000_000,
                attrs={"openinference.span.kind": "TOOL"},
                error="timeout",
            ),
            llm(
                ANSWER,
                ROOT,
                "gpt-4o-mini",
                300,
                12,
                start=4_000_000_000,
                end=4_500_000_000,
                attrs={"output.value": "Sorry, I don't know."},
            ),
        ),
    )


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_steps_prints_every_step_in_execution_order(trace_file, capsys):
    code, out, _ = run(capsys, "steps", str(trace_file), "--trace", TRACE[:8])
    assert code == 0
    header, *lines = out.splitlines()
    assert header.split() == ["step", "span", "id", "kind", "name", "latency", "tokens"]
    assert [line.split()[:4] for line in lines] == [
        ["1", ROOT, "AGENT", "agent"],
        ["2", CALL, "LLM", "span-a2"],
        ["3", TOOL, "TOOL", "web_search"],
        ["4", ANSWER, "LLM", "span-a4"],
    ]
    assert "3.00 s" in lines[1] and "in 4,200 out 30" in lines[1]
    assert lines[2].rstrip().endswith("100 ms")


@pytest.mark.parametrize(
    ("breaks", "stops"),
    [
        (['kind == "LLM" and latency_ms > 2000'], [CALL]),
        (['status == "error"', "input_tokens > 4000"], [CALL, TOOL]),
        (['output contains "I don\'t know"'], [ANSWER]),
        (['model ~ "mini$"'], [ANSWER]),
        (["cost_usd > 0.01"], []),
    ],
)
def test_steps_with_breakpoints_prints_only_the_stops(trace_file, capsys, breaks, stops):
    argv = ["steps", str(trace_file), "--trace", TRACE]
    for text in breaks:
        argv += ["--break", text]
    code, out, _ = run(capsys, *argv)
    assert code == 0
    assert [line.split()[1] for line in out.splitlines()[1:]] == stops


def test_a_bad_expression_shows_where_and_exits_2(trace_file, capsys):
    code, out, err = run(capsys, "steps", str(trace_file), "--trace", TRACE, "--break", "latency_ms > 'x'")
    assert (code, out) == (2, "")
    lines = err.splitlines()
    assert (
        lines[0]
        == "spanscope: bad --break expression: latency_ms is a number field: compare it with a number"
    )
    assert lines[1:] == ["  latency_ms > 'x'", "  " + " " * 13 + "^"]


def test_an_unknown_trace_is_a_one_line_error(trace_file, capsys):
    code, _, err = run(capsys, "steps", str(trace_file), "--trace", "ffff")
    assert code == 2
    assert err.strip() == "spanscope: no trace 'ffff' in the store"
