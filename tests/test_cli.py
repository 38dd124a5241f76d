"""The headless commands, driven through main() as a user would call them."""

from __future__ import annotations

import orjson
import pytest

from old_stores import before_computed_costs
from otlp import TRACE, llm, request, span, write_jsonl
from spanscope.cli import main
from spanscope.cli.commands.export import EXPORT_KEYS
from spanscope.core.store import import_file

ROOT, CALL = "00000000000000a1", "00000000000000a2"


@pytest.fixture
def trace_file(tmp_path):
    return write_jsonl(
        tmp_path / "run.jsonl",
        request(
            span(
                ROOT,
                name="answer_question",
                start=0,
                end=5_000_000,
                attrs={"openinference.span.kind": "CHAIN"},
            ),
            llm(
                CALL,
                ROOT,
                "gpt-4o",
                120,
                30,
                start=1_000,
                end=4_000_000,
                attrs={"input.value": "What is the capital of France?", "output.value": "Paris."},
            ),
        ),
    )


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_import_then_read_back_from_the_store(tmp_path, trace_file, capsys):
    db = str(tmp_path / "store.db")
    code, _, err = run(capsys, "import", str(trace_file), "--db", db)
    assert code == 0
    assert "2 spans (2 new) in 1 traces [otlp-json]" in err
    code, out, _ = run(capsys, "traces", "--db", db)
    assert code == 0
    assert TRACE in out and "answer_question" in out and "gpt-4o" in out
    code, out, _ = run(capsys, "tree", "--db", db, TRACE[:10])
    lines = out.splitlines()
    assert lines[0] == f"trace {TRACE}: 2 spans"
    assert lines[1].startswith("answer_question  [CHAIN]")
    assert lines[2].startswith("  span-a2  [LLM]  gpt-4o  4 ms")
    assert "in 120 out 30" in lines[2]


def test_commands_accept_trace_files_in_place_of_a_store(trace_file, capsys):
    code, out, _ = run(capsys, "tree", str(trace_file), TRACE)
    assert code == 0
    assert "answer_question" in out
    code, out, _ = run(capsys, "traces", str(trace_file), "--json")
    [record] = [orjson.loads(line) for line in out.splitlines()]
    assert record == {
        "trace_id": TRACE,
        "root_name": "answer_question",
        "start_ns": 1_700_000_000_000_000_000,
        "duration_ns": 5_000_000,
        "span_count": 2,
        "error_count": 0,
        "input_tokens": 120,
        "output_tokens": 30,
        # Computed: 120 input and 30 output tokens of gpt-4o at $2.50 and $10 per million.
        "cost_usd": pytest.approx(120 * 2.5e-6 + 30 * 10e-6),
        "models": ["gpt-4o"],
    }


def test_export_writes_exactly_the_documented_keys(trace_file, capsys):
    code, out, _ = run(capsys, "export", str(trace_file), "--format", "jsonl")
    assert code == 0
    records = [orjson.loads(line) for line in out.splitlines()]
    assert [tuple(r) for r in records] == [EXPORT_KEYS, EXPORT_KEYS]
    root, call = records
    assert (root["span_id"], root["parent_id"], root["input_tokens"]) == (ROOT, None, None)
    assert (call["model"], call["input_tokens"], call["output_tokens"], call["total_tokens"]) == (
        "gpt-4o",
        120,
        30,
        150,
    )
    assert call["input"] == "What is the capital of France?"
    assert call["output"] == "Paris."
    assert (call["orphan"], call["clock_skew"], call["status"], call["kind"]) == (
        False,
        False,
        "unset",
        "LLM",
    )


def test_export_of_one_trace_to_a_file(tmp_path, trace_file, capsys):
    out_path = tmp_path / "out.jsonl"
    assert run(capsys, "export", str(trace_file), "--trace", TRACE[:6], "-o", str(out_path))[0] == 0
    assert len(out_path.read_bytes().splitlines()) == 2


def test_exit_codes_for_partial_and_failed_imports(tmp_path, trace_file, capsys):
    db = str(tmp_path / "store.db")
    partial = write_jsonl(tmp_path / "partial.jsonl", request(span("00000000000000b1")), b"not json at all")
    code, _, err = run(capsys, "import", str(partial), "--db", db)
    assert code == 1
    assert f"{partial}:line 2:" in err
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"\x00\x01\x02 nothing here")
    code, _, err = run(capsys, "import", str(garbage), str(tmp_path / "missing.jsonl"), "--db", db)
    assert code == 2
    [line] = [ln for ln in err.splitlines() if "garbage.bin" in ln]
    assert line.endswith("it begins with the bytes 00 01 02 20 6e 6f 74 68 69 6e 67 20 (binary, not text)")
    assert "garbage.bin: failed: not a trace file in any known format" in line and len(line) < 300
    assert "missing.jsonl: failed: no such file" in err
    assert "Traceback" not in err


def test_unknown_trace_and_missing_store_are_one_line_errors(tmp_path, trace_file, capsys):
    code, _, err = run(capsys, "tree", str(trace_file), "ffff")
    assert code == 2
    assert err.strip() == "spanscope: no trace 'ffff' in the store"
    code, _, err = run(capsys, "traces", "--db", str(tmp_path / "nope.db"))
    assert code == 2
    assert "no such store" in err


def test_without_a_store_the_user_is_told_to_import_first(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("spanscope.cli.stores.default_store_path", lambda: tmp_path / "none" / "spanscope.db")
    code, _, err = run(capsys, "traces")
    assert code == 2
    assert "no store yet" in err and "spanscope import" in err


def test_tree_shortens_long_error_messages_to_one_line(tmp_path, capsys):
    long_error = "RateLimitError: 429\n" + "x" * 500
    path = write_jsonl(tmp_path / "err.jsonl", request(span(ROOT, name="call", error=long_error)))
    code, out, _ = run(capsys, "tree", str(path), TRACE)
    assert code == 0
    [line] = [ln for ln in out.splitlines() if ln.startswith("call")]
    assert "ERROR: RateLimitError: 429 xxx" in line and "…" in line
    assert len(line) < 200


def test_a_store_from_before_computed_costs_is_priced_with_the_users_prices(
    tmp_path, capsys, user_config_dir
):
    user_config_dir.mkdir(parents=True)
    (user_config_dir / "prices.json").write_text('{"models": {"my-*": {"input": 3, "output": 6}}}')
    store = tmp_path / "old.db"
    import_file(store, write_jsonl(tmp_path / "a.jsonl", request(llm("a" * 16, None, "my-ft", 1_000, 100))))
    before_computed_costs(store, trace_cost=None)
    code, out, _ = run(capsys, "traces", "--db", str(store), "--json")
    assert code == 0
    [record] = [orjson.loads(line) for line in out.splitlines()]
    assert record["cost_usd"] == pytest.approx(1_000 * 3e-6 + 100 * 6e-6)
