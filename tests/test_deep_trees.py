"""Deep and wide trees in linear time: a 20,000-deep parent chain and a 20,000-wide fan-out through
every command, each against the time of reading the trace's rows from the store in the same run.

The bounds are ratios a linear algorithm meets with room to spare on a loaded machine and a quadratic
one fails: before these fixes `tree` of the chain printed 800 MB, `diff` twice that, revealing the
deepest span searched the shown rows once per level, and a moved step's diff walked up the chain
from every candidate. No command may raise RecursionError on any shape.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from deep_traces import ANSWER, DOCUMENTS, DeepStore, cpu_seconds, deep_store
from otlp import TRACE, request, span, write_jsonl
from spanscope.cli.entry import main
from spanscope.core.debugging.breakpoints import MAX_NESTING
from spanscope.core.diff.trace_diff import TraceDiff, diff_traces
from spanscope.core.presentation.content import compact, flatten, pretty
from spanscope.core.presentation.tree_text import MAX_DRAWN_DEPTH
from spanscope.core.store import Outcome, connect, import_file
from spanscope.core.store.queries import trace_rows

SPANS = 20_000
#: A diff reads both traces' inputs and outputs as well as their rows.
WITHIN_DIFF = 80


@pytest.fixture(scope="module", params=["chain", "fan"])
def deep(request, tmp_path_factory) -> DeepStore:
    return deep_store(tmp_path_factory.mktemp(request.param), request.param, SPANS)


def run_cli(deep: DeepStore, capsys, *argv: str, within: float) -> str:
    """The command's standard output, after checking it took at most `within` times the floor."""
    capsys.readouterr()
    took = cpu_seconds(lambda: main([argv[0], "--db", str(deep.path), *argv[1:]]))
    out = capsys.readouterr().out
    assert took <= within * deep.floor, f"{argv[0]}: {took:.2f} s, {took / deep.floor:.0f}x reading the rows"
    return out


def test_tree_prints_every_span_on_a_line_of_bounded_width(deep, capsys):
    out = run_cli(deep, capsys, "tree", deep.trace.trace_id, within=25)
    lines = out.splitlines()
    assert len(lines) == SPANS + 1
    deepest = lines[-1]
    if deep.shape == "chain":
        assert deepest.startswith("  " * MAX_DRAWN_DEPTH + f"┆ (depth {SPANS - 1:,}) step-{SPANS - 1} ")
    else:
        assert deepest.startswith(f"  step-{SPANS - 1} ")
    widest = 2 * MAX_DRAWN_DEPTH + len(f"┆ (depth {SPANS:,}) ")
    assert max(line.index("step-") for line in lines[1:]) <= widest


def test_steps_lists_every_span_in_execution_order(deep, capsys):
    out = run_cli(deep, capsys, "steps", "--trace", deep.trace.trace_id, within=25)
    rows = out.splitlines()[1:]
    assert [row.split()[3] for row in rows] == [f"step-{i}" for i in range(SPANS)]


def test_diff_of_a_trace_with_itself_is_all_same_and_linear(deep, capsys):
    out = run_cli(deep, capsys, "diff", deep.trace.trace_id, deep.trace.trace_id, within=WITHIN_DIFF)
    assert f"steps: {SPANS} same, 0 changed, 0 moved, 0 added, 0 removed" in out
    assert max(map(len, out.splitlines())) < 4 * MAX_DRAWN_DEPTH + 200


def test_diff_pairs_a_step_wrapped_in_a_new_one_as_moved_in_linear_time(deep, capsys):
    out = run_cli(
        deep, capsys, "diff", "--json", deep.trace.trace_id, deep.wrapped.trace_id, within=WITHIN_DIFF
    )
    counts = orjson.loads(out)["counts"]
    assert counts == {"same": SPANS - 1, "changed": 0, "moved": 1, "added": 1, "removed": 0}


def test_search_finds_the_last_span(deep, capsys):
    out = run_cli(deep, capsys, "search", "--limit", "5", f"step-{SPANS - 1}", within=150)
    assert deep.trace.last_span in out


def test_stats_counts_every_model_call(deep, capsys):
    out = run_cli(deep, capsys, "stats", "--json", within=25)
    assert "gpt-4o-mini" in out


def test_export_writes_every_span(deep, capsys):
    out = run_cli(deep, capsys, "export", "--trace", deep.trace.trace_id, within=40)
    assert len(out.splitlines()) == SPANS


def test_grounding_of_the_last_span_finds_its_retrieved_documents(deep, capsys):
    out = run_cli(
        deep,
        capsys,
        "grounding",
        "--json",
        "--span",
        deep.trace.last_span,
        "--trace",
        deep.trace.trace_id,
        within=25,
    )
    found = orjson.loads(out)
    assert [d["text"] for d in found["documents"]] == list(DOCUMENTS)
    assert [s["text"] for s in found["sentences"]] == ANSWER.replace(". ", ".\n").splitlines()
    assert found["counts"]["supported"] == 2


#: Nesting orjson parses (up to 1,024 levels) but neither it (255) nor Python (1,000) walks recursively.
NESTING = 1_020
NESTED_SPAN = "00000000000000a1"


@pytest.fixture
def nested_store(tmp_path) -> Path:
    """One LLM span whose input is a list and whose output an object, each nested NESTING deep."""
    attrs = {
        "openinference.span.kind": "LLM",
        "input.value": "[" * NESTING + '"innermost"' + "]" * NESTING,
        "output.value": '{"a":' * NESTING + '"answer"' + "}" * NESTING,
    }
    store = tmp_path / "store.db"
    path = write_jsonl(tmp_path / "nested.jsonl", request(span(NESTED_SPAN, name="nested", attrs=attrs)))
    assert import_file(store, path).outcome is Outcome.IMPORTED
    return store


def test_values_nested_past_the_recursion_limits_are_searched_diffed_and_exported(nested_store, capsys):
    for argv, shown in (
        (["search", "innermost"], NESTED_SPAN),
        (["search", "answer"], NESTED_SPAN),
        (["diff", TRACE, TRACE], "1 same"),
        (["export"], "innermost"),
    ):
        assert main([argv[0], "--db", str(nested_store), *argv[1:]]) == 0
        assert shown in capsys.readouterr().out


def test_deep_json_is_written_without_recursion_as_orjson_would():
    deep: object = {"leaf": [1, 2.5, None, True, {}, 'x"y']}
    for level in range(NESTING):
        deep = {str(level): deep} if level % 2 else [deep]
    written = compact(deep)
    assert written.startswith('{"1019":[{"1017":[') and written.count("[") == NESTING // 2 + 1
    assert compact(orjson.loads(pretty(deep))) == written
    shallow = {"a": [1, {"b": "c"}], "d": {}, 3: []}
    keys = orjson.OPT_NON_STR_KEYS
    assert pretty(shallow) == orjson.dumps(shallow, option=orjson.OPT_INDENT_2 | keys).decode()
    assert compact(shallow) == orjson.dumps(shallow, option=keys).decode()
    assert compact(2**70) == str(2**70)
    first = ".".join(f"{level}.0" for level in range(NESTING - 1, 0, -2))
    assert next(iter(flatten(deep, "x"))) == (f"x.{first}.leaf.0", 1)


@pytest.mark.parametrize(
    ("argv", "expression"),
    [
        (["steps", "--trace", TRACE, "--break"], "not " * 20_000 + 'kind == "LLM"'),
        (["steps", "--trace", TRACE, "--break"], "(" * 500 + 'kind == "LLM"' + ")" * 500),
        (["check", "--rule"], "all(" + "(" * 500 + 'kind == "LLM"' + ")" * 500 + ")"),
    ],
)
def test_an_expression_nested_past_the_limit_is_refused_with_a_message(
    nested_store, capsys, argv, expression
):
    assert main([argv[0], "--db", str(nested_store), *argv[1:], expression]) == 2
    assert f"nested more than {MAX_NESTING} levels deep" in capsys.readouterr().err


def test_an_expression_nested_up_to_the_limit_is_evaluated(nested_store, capsys):
    expression = "not " * (MAX_NESTING - 1) + "(" + 'kind == "TOOL"' + ")"
    assert main(["steps", "--db", str(nested_store), "--trace", TRACE, "--break", expression]) == 0
    assert NESTED_SPAN in capsys.readouterr().out


def _alternating_chain(path: Path, trace_id: str, odd_kind: str) -> Path:
    """A SPANS-deep chain whose even levels are steps `k0`, `k2`, ... and odd levels all one `odd_kind`
    step: two of them with different odd kinds differ at every other level."""
    spans = []
    for i in range(SPANS):
        kind, name = ("CHAIN", f"k{i}") if i % 2 == 0 else (odd_kind, odd_kind.lower())
        parent = f"{i:016x}" if i else None
        attrs = {"openinference.span.kind": kind}
        spans.append(
            span(f"{i + 1:016x}", parent, trace=trace_id, name=name, start=i, end=2 * SPANS - i, attrs=attrs)
        )
    return write_jsonl(path, request(*spans))


def test_diff_of_chains_differing_at_every_other_level_is_linear(tmp_path):
    """Each step k2, k4, ... pairs as a move below the one before; each new pair looks for moves below
    it again, within MOVE_DEPTH levels (unbounded, that walk was quadratic: 16 s at 4,000 deep)."""
    store = tmp_path / "store.db"
    for trace_id, kind in (("a" * 32, "TOOL"), ("b" * 32, "AGENT")):
        assert import_file(store, _alternating_chain(tmp_path / f"{kind}.jsonl", trace_id, kind)).outcome
    db = connect(store, readonly=True)
    floor = min(cpu_seconds(lambda: trace_rows(db, "a" * 32)) for _ in range(3))
    found: list[TraceDiff] = []
    took = cpu_seconds(lambda: found.append(diff_traces(db, "a" * 32, "b" * 32)))
    half = SPANS // 2
    assert found[0].counts() == {"same": 1, "changed": 0, "moved": half - 1, "added": half, "removed": half}
    assert took <= WITHIN_DIFF * floor, f"diff: {took / floor:.0f}x reading the rows"
