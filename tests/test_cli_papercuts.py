"""The command line as a new user meets it: sorting by what the table shows, a file given without a
trace id, step numbers as the app counts them, help that agrees with the README, and exported costs
that agree with every view."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest

from otlp import llm, request, span, write_jsonl
from spanscope.cli import main
from spanscope.cli.commands.export import EXPORT_KEYS
from spanscope.cli.commands.traces import SORT_COLUMNS
from spanscope.cli.entry import build_parser
from spanscope.core.debugging.cursor import StepState
from spanscope.core.presentation import display

README = Path(__file__).parents[1] / "README.md"
#: gpt-4o's price per token on the traces' day (2023-11-14): $2.50 in, $10 out per million.
GPT_4O_IN, GPT_4O_OUT = 2.5e-6, 10e-6


def _trace(trace: str, root: str, ms: int, tokens_in: int, **call: object) -> dict:
    return request(
        span(trace[:15] + "1", trace=trace, name=root, start=0, end=ms * 1_000_000),
        llm(trace[:15] + "2", trace[:15] + "1", "gpt-4o", tokens_in, 10, trace=trace, start=1_000, **call),
    )


@pytest.fixture
def three_traces(tmp_path) -> Path:
    """Three traces that sort differently by start, latency, tokens and cost; the third's model call
    reports its own cost."""
    return write_jsonl(
        tmp_path / "three.jsonl",
        _trace("a" * 32, "zeta", 30, 6),
        _trace("b" * 32, "alpha", 10, 500),
        _trace("c" * 32, "mid", 20, 50, attrs={"llm.cost.total": 0.25}),
    )


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _json_traces(capsys, *argv: str) -> list[dict]:
    code, out, err = run(capsys, "traces", *argv, "--json")
    assert code == 0, err
    return [orjson.loads(line) for line in out.splitlines()]


@pytest.mark.parametrize("name", [*SORT_COLUMNS, "start_ns", "duration_ns", "cost_usd"])
def test_traces_sort_by_every_column_both_ways(three_traces, capsys, name):
    column = SORT_COLUMNS.get(name, name)
    for descending in (False, True):
        flags = ["--sort", name] + (["--desc"] if descending else [])
        code, out, err = run(capsys, "traces", str(three_traces), *flags)
        assert (code, err) == (0, "")
        assert len(out.splitlines()) == 4
        records = _json_traces(capsys, str(three_traces), *flags)
        if column in records[0]:
            values = [r[column] for r in records]
            assert values == sorted(values, reverse=descending)


def test_traces_sort_by_latency_is_the_slowest_last(three_traces, capsys):
    assert [r["root_name"] for r in _json_traces(capsys, str(three_traces), "--sort", "latency")] == [
        "alpha",
        "mid",
        "zeta",
    ]


def test_an_unknown_sort_column_is_a_usage_error_naming_the_choices(three_traces, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["traces", str(three_traces), "--sort", "speed"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "cannot sort by 'speed': choose from start, id, root, latency" in err and "Traceback" not in err


def test_tree_of_a_file_without_a_trace_id_lists_its_traces(three_traces, capsys):
    code, out, err = run(capsys, "tree", str(three_traces))
    assert code == 2
    assert out.splitlines()[0].split()[:4] == ["start", "(UTC)", "trace", "id"]
    assert {line.split()[2] for line in out.splitlines()[1:]} == {"a" * 32, "b" * 32, "c" * 32}
    assert err == "spanscope: 3 traces: name one after the sources, by its id or a unique prefix\n"


def test_tree_of_a_file_of_one_trace_shows_it(tmp_path, capsys):
    one = write_jsonl(tmp_path / "one.jsonl", _trace("d" * 32, "only", 5, 100))
    code, out, _ = run(capsys, "tree", str(one))
    assert code == 0
    assert out.splitlines()[0] == f"trace {'d' * 32}: 2 spans"


def test_diff_without_two_ids_lists_the_traces(three_traces, capsys):
    code, out, err = run(capsys, "diff", str(three_traces), "a" * 6)
    assert code == 2
    assert len(out.splitlines()) == 4 and "give two trace ids" in err


def test_steps_count_from_one_as_the_app_does(three_traces, capsys):
    _, out, _ = run(capsys, "steps", str(three_traces), "--trace", "b" * 8)
    numbers = [line.split()[0] for line in out.splitlines()[1:]]
    assert numbers == ["1", "2"]
    assert StepState(0, 2, 0, 0, 0, None).label == "step 1 of 2"


def test_costs_carry_their_marks_in_the_cli(three_traces, capsys):
    """A computed cost is `~`, in `traces`, `tree` and `stats` alike, and never shown as zero."""
    _, out, _ = run(capsys, "traces", str(three_traces), "--sort", "id")
    header, *rows = out.splitlines()
    at = header.index("cost")
    costs = [row[at:].split()[0] for row in rows]
    cheapest = 6 * GPT_4O_IN + 10 * GPT_4O_OUT
    assert costs == [
        f"~{display.cost(cheapest)}",
        f"~{display.cost(500 * GPT_4O_IN + 10 * GPT_4O_OUT)}",
        "$0.25",
    ]
    assert costs[0] == "~$0.000115"
    _, out, _ = run(capsys, "tree", str(three_traces), "a" * 6)
    assert "  ~$0.000115  #" in out
    _, out, _ = run(capsys, "stats", str(three_traces))
    assert f"~{display.cost(cheapest + 500 * GPT_4O_IN + 10 * GPT_4O_OUT + 0.25)}" in out


def test_export_carries_the_cost_every_view_shows(three_traces, capsys):
    _, out, _ = run(capsys, "export", str(three_traces))
    calls = {r["trace_id"][0]: r for r in map(orjson.loads, out.splitlines()) if r["kind"] == "LLM"}
    assert calls["a"]["cost_usd"] == pytest.approx(6 * GPT_4O_IN + 10 * GPT_4O_OUT)
    assert calls["c"]["cost_usd"] == 0.25
    assert [calls[t]["cost_source"] for t in "abc"] == ["computed", "computed", "reported"]
    roots = [r for r in map(orjson.loads, out.splitlines()) if r["kind"] != "LLM"]
    assert {(r["cost_usd"], r["cost_source"]) for r in roots} == {(None, None)}


def test_export_of_an_unpriced_model_call_says_unknown(tmp_path, capsys):
    path = write_jsonl(tmp_path / "u.jsonl", request(llm("e" * 16, None, "no-such-model-xyz", 10, 5)))
    _, out, _ = run(capsys, "export", str(path))
    [record] = map(orjson.loads, out.splitlines())
    assert (record["cost_usd"], record["cost_source"]) == (None, "unknown")


def test_annotations_take_a_store_not_trace_files(three_traces, capsys):
    code, _, err = run(capsys, "annotations", str(three_traces))
    assert code == 2 and "not a store" in err


def _readme_usages() -> dict[str, str]:
    """The first cell of each row of the README's table of commands, by command."""
    section = README.read_text().split("## Command line", 1)[1].split("\n## ", 1)[0]
    cells = re.findall(r"^\| `(spanscope[^`]*)` \|", section, re.MULTILINE)
    return {cell.split()[1] if cell.split()[1].isalpha() else "": cell.replace("\\|", "|") for cell in cells}


def test_help_and_readme_show_the_same_usage_for_every_command(capsys):
    _, commands = build_parser()
    readme = _readme_usages()
    assert readme.pop("") == "spanscope [FILE_OR_STORE...]"
    assert readme == {name: command.usage for name, command in commands.items()}
    for name, command in commands.items():
        with pytest.raises(SystemExit):
            main([name, "--help"])
        assert capsys.readouterr().out.startswith(f"usage: {command.usage}\n"), name
        undocumented = [a.dest for a in command._actions if not a.help]
        assert undocumented == [], name
    with pytest.raises(SystemExit):
        main(["--help"])
    assert capsys.readouterr().out.startswith("usage: spanscope [FILE_OR_STORE...]\n")


def test_usage_lines_say_what_repeats_and_nothing_else():
    _, commands = build_parser()
    assert commands["tree"].usage == "spanscope tree [SOURCE...] [TRACE_ID] [--db STORE]"
    assert commands["diff"].usage == "spanscope diff [SOURCE...] TRACE_A TRACE_B [--db STORE] [--json]"
    assert commands["annotations"].usage.startswith("spanscope annotations [STORE] ")
    assert "[--limit N]" in commands["traces"].usage
    assert "--rule EXPR..." in commands["check"].usage and "[--break EXPR]..." in commands["steps"].usage


def test_the_readme_lists_the_export_keys_in_order():
    section = README.read_text().split("### Output for scripts", 1)[1]
    listed = section.split("`trace_id, span_id", 1)[1].split("`", 1)[0]
    assert ["trace_id", "span_id", *" ".join(listed.split()).strip(", ").split(", ")] == list(EXPORT_KEYS)


@pytest.mark.parametrize("missing", ["run.jsonl", "captures/run", "trace.json.gz"])
def test_a_mistyped_file_is_reported_missing_not_looked_up_as_a_trace(three_traces, capsys, missing):
    code, out, err = run(capsys, "tree", str(three_traces), missing)
    assert (code, out) == (2, "")
    assert err == f"spanscope: {missing}: no such file or folder\n"
