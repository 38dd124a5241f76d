"""What the commands print to a terminal: trace data with escape sequences is shown, never obeyed, and
columns line up when names are CJK."""

from __future__ import annotations

import re

import orjson
import pytest

from otlp import llm, request, span, write_jsonl
from spanscope.cli import main
from spanscope.core.presentation import display

#: Recolours text, retitles the window, rings the bell and clears the screen when printed raw.
HOSTILE = "\x1b[31mRED\x1b]0;T\x07\x1b[2J"
SHOWN = r"\x1b[31mRED\x1b]0;T\x07\x1b[2J"
CJK = "検索エージェント"
BROKEN_LINES = "first\r\nsecond"
TRACE_A, TRACE_B = "a" * 32, "b" * 32
#: Anything a terminal acts on; a line feed only ends the command's own lines.
TERMINAL_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _trace(trace: str, answer: str, tool_ms: int) -> dict:
    """A root named HOSTILE, a CJK-named retriever, a model call whose model name and output are
    hostile too, and a tool whose name breaks lines and whose error is hostile."""
    root, retriever, call, tool = (trace[:15] + digit for digit in "1234")
    return request(
        span(
            root,
            trace=trace,
            name=HOSTILE,
            start=0,
            end=9_000_000,
            attrs={"openinference.span.kind": "AGENT"},
        ),
        span(
            retriever,
            root,
            trace=trace,
            name=CJK,
            start=1_000,
            end=2_000_000,
            attrs={
                "openinference.span.kind": "RETRIEVER",
                "retrieval.documents.0.document.id": "doc-1",
                "retrieval.documents.0.document.content": f"Paris is the capital of France. {HOSTILE}",
            },
        ),
        llm(
            call,
            root,
            f"gpt-4o{HOSTILE}",
            120,
            30,
            trace=trace,
            name=f"call {HOSTILE}",
            start=2_000_000,
            end=5_000_000,
            attrs={"input.value": f"Capital of France? {HOSTILE}", "output.value": answer},
        ),
        span(
            tool,
            root,
            trace=trace,
            name=BROKEN_LINES,
            start=5_000_000,
            end=5_000_000 + tool_ms * 1_000_000,
            attrs={"openinference.span.kind": "TOOL"},
            error=f"failed {HOSTILE}",
        ),
    )


@pytest.fixture
def hostile_file(tmp_path):
    return write_jsonl(
        tmp_path / "hostile.jsonl",
        _trace(TRACE_A, f"Paris is the capital of France. {HOSTILE}", 1),
        _trace(TRACE_B, f"Paris is the capital. {HOSTILE} Lyon is not.", 2),
    )


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def commands(path: str, tmp_path) -> dict[str, list[str]]:
    references = write_jsonl(tmp_path / "refs.jsonl", {"trace_id": TRACE_A, "expected": f"Paris {HOSTILE}"})
    return {
        "tree": ["tree", path, TRACE_A],
        "tree (choices)": ["tree", path],
        "traces": ["traces", path],
        "steps": ["steps", path, "--trace", TRACE_A],
        "search": ["search", path, "capital"],
        "diff": ["diff", path, TRACE_A, TRACE_B],
        "stats": ["stats", path, "--by", "name"],
        "stats by model": ["stats", path],
        "check": ["check", path, "--rule", 'count(status == "error") == 0'],
        "metrics": ["metrics", path, "--references", str(references)],
        "grounding": ["grounding", path, "--span", TRACE_A[:15] + "3", "--trace", TRACE_A],
        "export": ["export", path],
        "traces --json": ["traces", path, "--json"],
    }


def test_every_command_shows_control_characters_escaped(hostile_file, tmp_path, capsys):
    for name, argv in commands(str(hostile_file), tmp_path).items():
        code, out, err = run(capsys, *argv)
        assert code in (0, 1, 2), name
        assert "Traceback" not in err, name
        assert TERMINAL_CONTROL.search(out) is None, (name, out)
        assert TERMINAL_CONTROL.search(err) is None, (name, err)
        if not name.endswith("json") and name != "export":
            assert SHOWN in out, name


def test_a_name_with_line_breaks_stays_on_its_tree_line(hostile_file, capsys):
    code, out, _ = run(capsys, "tree", str(hostile_file), TRACE_A)
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 1 + 4
    [tool] = [line for line in lines if "[TOOL]" in line]
    assert tool.startswith(r"  first\r\nsecond  [TOOL]") and f"ERROR: failed {SHOWN}" in tool
    assert lines[1].startswith(f"{SHOWN}  [AGENT]")


def test_json_output_keeps_the_names_as_they_are(hostile_file, capsys):
    _, out, _ = run(capsys, "export", str(hostile_file), "--trace", TRACE_A)
    names = [orjson.loads(line)["name"] for line in out.splitlines()]
    assert names == [HOSTILE, CJK, f"call {HOSTILE}", BROKEN_LINES]


def _column_starts(line: str, cells: list[str]) -> list[int]:
    """The display column where each of `cells` starts in `line`, found left to right."""
    starts, at = [], 0
    for cell in cells:
        at = line.index(cell, at)
        starts.append(display.width(line[:at]))
        at += len(cell)
    return starts


def test_columns_line_up_by_display_width_with_cjk_names(hostile_file, capsys):
    _, out, _ = run(capsys, "steps", str(hostile_file), "--trace", TRACE_A)
    header, *rows = out.splitlines()
    expected = [
        [SHOWN, "9 ms"],
        [CJK, "2 ms"],
        [f"call {SHOWN}", "3 ms"],
        [r"first\r\nsecond", "1 ms"],
    ]
    name_at, latency_at = _column_starts(header, ["name", "latency"])
    assert [_column_starts(row, cells) for row, cells in zip(rows, expected, strict=True)] == [
        [name_at, latency_at]
    ] * 4


def test_table_lines_pad_by_display_width():
    lines = list(display.table_lines([("name", "n"), (CJK, "1"), ("abc", "2"), ("e\u0301", "3")]))
    assert [display.width(line[: line.rindex(" ") + 1]) for line in lines] == [18] * 4
    assert display.width(CJK) == 16 and display.width("e\u0301") == 1


def test_printable_escapes_what_a_terminal_acts_on():
    assert display.printable(HOSTILE) == SHOWN
    assert display.printable("a\tb\r\nc\x85d\u202ee") == r"a\tb\r\nc\x85d\u202ee"
    assert display.printable("ok 検索 é") == "ok 検索 é"
    multi = display.printable(f"one\r\ntwo\rthree\tfour{HOSTILE}", lines=True)
    assert multi == f"one\r\ntwo\\rthree\tfour{SHOWN}"


def test_import_reports_a_hostile_bad_record_escaped(hostile_file, tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad_span = {"traceId": HOSTILE, "spanId": "0" * 16, "name": HOSTILE}
    bad.write_bytes(orjson.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [bad_span]}]}]}) + b"\n")
    bad.write_bytes(bad.read_bytes() + hostile_file.read_bytes())
    code, _, err = run(capsys, "import", str(bad), "--db", str(tmp_path / "store.db"))
    assert code == 1
    assert "line 1: span 1: bad traceId" in err and r"\x1b]0;T\x07" in err
    assert TERMINAL_CONTROL.search(err) is None
