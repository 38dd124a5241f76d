"""`spanscope check`: exit codes, failure messages naming trace and span, JUnit XML read back, and
rules on the Inspect fixture against figures read from the raw log."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import orjson
import pytest

from otlp import llm, request, span, write_jsonl
from spanscope.cli import main
from spanscope.core.store import connect

GOOD, BAD = "1" * 32, "2" * 32
INSPECT_JSON = "inspect-eval/2026-11-27T04-30-04-00-00_fixture-qa_6TRE8QQmdqaAmyCnqo4jPc.json"
INSPECT_EVAL = "inspect-eval/2026-11-27T04-29-52-00-00_fixture-qa_SnEVxhayFbrkpvjoomYVL3.eval"


@pytest.fixture
def runs(tmp_path):
    """GOOD: a 1 s chain with a quick model call; BAD: a 9 s chain whose tool failed."""
    return write_jsonl(
        tmp_path / "runs.jsonl",
        request(
            span("00000000000000a1", trace=GOOD, name="good", start=0, end=1_000_000_000),
            llm("00000000000000a2", "00000000000000a1", "gpt-4o", 10, 5, trace=GOOD, end=200_000_000),
            span("00000000000000b1", trace=BAD, name="bad", start=0, end=9_000_000_000),
            span(
                "00000000000000b2",
                "00000000000000b1",
                trace=BAD,
                name="web_search",
                attrs={"openinference.span.kind": "TOOL"},
                error="timeout",
            ),
        ),
    )


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_exit_0_when_every_rule_holds(runs, capsys):
    code, out, _ = run(
        capsys, "check", runs, "--rule", "count() >= 2", "--rule", "all: max(latency_ms) < 10000"
    )
    assert code == 0
    assert out.splitlines() == [
        "ok   rule 1: count() >= 2  (on each of 2 traces)",
        "ok   rule 2: all: max(latency_ms) < 10000  (over all 2 traces)",
        "2 rules on 2 traces: 2 hold, 0 fail",
    ]


def test_exit_1_names_the_failing_trace_and_span(runs, capsys):
    code, out, _ = run(
        capsys, "check", runs, "--rule", 'count(status == "error") == 0', "--rule", "count() > 0"
    )
    assert code == 1
    assert out.splitlines() == [
        'FAIL rule 1: count(status == "error") == 0  (on each of 2 traces)',
        f'  trace {BAD} (bad): count(status == "error") = 1, not == 0',
        "    span 00000000000000b2 'web_search': status = \"error\"",
        "  1 of 2 traces fail",
        "ok   rule 2: count() > 0  (on each of 2 traces)",
        "2 rules on 2 traces: 1 hold, 1 fail",
    ]


@pytest.mark.parametrize(
    ("rule", "caret_line"),
    [
        ("max(latency_ms) <", "                   ^"),
        ("latency_ms > 3", "  ^"),
    ],
)
def test_exit_2_for_a_bad_rule_with_a_caret(runs, capsys, rule, caret_line):
    code, out, err = run(capsys, "check", runs, "--rule", "count() > 0", "--rule", rule)
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert lines[0] == "spanscope: bad --rule:"
    assert lines[-2:] == [f"  {rule}", caret_line]


def test_exit_2_for_a_bad_source(runs, tmp_path, capsys):
    code, _, err = run(capsys, "check", tmp_path / "missing.jsonl", "--rule", "count() > 0")
    assert code == 2 and "no such file" in err
    junk = tmp_path / "junk.txt"
    junk.write_text("not a trace\n")
    code, _, err = run(capsys, "check", runs, junk, "--rule", "count() > 0")
    assert code == 2 and f"could not import {junk}" in err


def test_exit_2_for_a_store_without_traces(tmp_path, capsys):
    empty = tmp_path / "empty.db"
    connect(empty).close()
    code, _, err = run(capsys, "check", "--db", empty, "--rule", "count() > 0")
    assert code == 2 and err == "spanscope: no traces to check\n"


def test_junit_xml_has_a_suite_per_rule_and_a_case_per_trace(runs, tmp_path, capsys):
    out = tmp_path / "check.xml"
    code, _, _ = run(
        capsys,
        "check",
        runs,
        "--rule",
        'count(status == "error") == 0',
        "--rule",
        "max(latency_ms) < 5000",
        "--rule",
        "all: sum(input_tokens) == 10",
        "--junit",
        out,
    )
    assert code == 1
    root = ET.parse(out).getroot()
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("5", "2", "0")
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [
        'rule 1: count(status == "error") == 0',
        "rule 2: max(latency_ms) < 5000",
        "rule 3: all: sum(input_tokens) == 10",
    ]
    assert [(s.get("tests"), s.get("failures")) for s in suites] == [("2", "1"), ("2", "1"), ("1", "0")]
    cases = suites[1].findall("testcase")
    assert [c.get("name") for c in cases] == [f"trace {GOOD} (good)", f"trace {BAD} (bad)"]
    assert cases[0].find("failure") is None
    failure = cases[1].find("failure")
    assert failure.get("message") == "max(latency_ms) = 9000.0, not < 5000"
    assert "span 00000000000000b1 'bad': latency_ms = 9000.0" in failure.text
    assert [c.get("name") for c in suites[2].findall("testcase")] == ["all 2 traces"]
    assert sum(len(s.findall("testcase")) for s in suites) == int(root.get("tests"))
    assert sum(len(s.findall("testcase/failure")) for s in suites) == int(root.get("failures"))


def test_exit_2_when_the_junit_report_cannot_be_written(runs, tmp_path, capsys):
    out = tmp_path / "missing-dir" / "check.xml"
    code, _, err = run(capsys, "check", runs, "--rule", "count() > 0", "--junit", out)
    assert code == 2
    assert err == f"spanscope: {out}: cannot write the JUnit report: No such file or directory\n"


def test_check_reads_a_store(runs, tmp_path, capsys):
    store = tmp_path / "store.db"
    assert main(["import", "--db", str(store), str(runs)]) == 0
    code, out, _ = run(capsys, "check", "--db", store, "--rule", 'all: count(kind == "TOOL") == 1')
    assert code == 0 and "over all 2 traces" in out


# --- the Inspect fixture -----------------------------------------------------------------------------


def raw_samples(fixtures_dir):
    return orjson.loads((fixtures_dir / INSPECT_JSON).read_bytes())


@pytest.mark.parametrize("name", [INSPECT_JSON, INSPECT_EVAL])
def test_rules_on_the_inspect_fixture(fixtures_dir, capsys, name, tmp_path):
    log = raw_samples(fixtures_dir)
    failed = {s["id"] for s in log["samples"] if s.get("error")}
    with_tools = {s["id"] for s in log["samples"] if any(e["event"] == "tool" for e in s["events"])}
    input_tokens = sum(u["input_tokens"] for u in log["stats"]["model_usage"].values())
    model_calls = sum(e["event"] == "model" for s in log["samples"] for e in s["events"])
    assert failed == {"q5"} and with_tools == {"q2", "q3"}  # what the fixture README says

    out = tmp_path / "check.xml"
    code, _, _ = run(
        capsys,
        "check",
        fixtures_dir / name,
        "--rule",
        'count(status == "error") == 0',
        "--rule",
        'count(kind == "TOOL") == 0',
        "--rule",
        f'all: sum(input_tokens) == {input_tokens} and count(kind == "LLM") == {model_calls}',
        "--rule",
        f"all: sum(input_tokens) < {input_tokens}",
        "--junit",
        out,
    )
    assert code == 1
    suites = ET.parse(out).getroot().findall("testsuite")

    def failing(suite):
        # testcase names are "trace ID (fixture_qa q5 epoch 1)": the sample id is the second-last word
        return {c.get("name").split()[-3] for c in suite.findall("testcase") if c.find("failure") is not None}

    assert failing(suites[0]) == failed
    assert failing(suites[1]) == with_tools
    assert suites[2].get("failures") == "0"
    assert suites[3].get("failures") == "1"


def test_computed_costs_on_the_inspect_fixture(fixtures_dir, capsys):
    """The log records no costs: the gpt-4o-mini calls are priced from their tokens, as `stats` does."""
    source = fixtures_dir / INSPECT_JSON
    code, out, _ = run(capsys, "stats", source, "--json")
    (stats,) = [orjson.loads(line) for line in out.splitlines()]
    assert stats["cost_source"] == {"reported": 0, "computed": 6, "unknown": 1}
    cost = stats["cost_usd"]
    rule = f"all: sum(cost_usd) > {cost * 0.999} and sum(cost_usd) < {cost * 1.001}"
    code, out, _ = run(capsys, "check", source, "--rule", rule)
    assert code == 0, out
    code, out, _ = run(capsys, "check", source, "--rule", "all: sum(cost_usd) == 0")
    assert code == 1
    assert f"all 5 traces: sum(cost_usd) = {cost:.6g}, not == 0 (1 span without cost_usd)" in out
