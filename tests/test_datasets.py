"""Datasets from traces: real fixtures imported into a store, exported in each format, every line
checked against the raw fixture and the store, and read the way each format's consumer reads it."""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import threading
from pathlib import Path

import orjson
import pytest
from pydantic import TypeAdapter

from generated_traces import generated_file
from spanscope.cli import main
from spanscope.core.datasets.export import Request, export_to_file, write_dataset
from spanscope.core.datasets.records import Link
from spanscope.core.datasets.selection import PAGE, Selection, chosen_spans, count
from spanscope.core.model import Kind
from spanscope.core.store import Outcome, connect, import_file
from spanscope.core.store.queries import iter_priced_spans

OPENINFERENCE = "openinference-openai/chain-and-session.otlp.jsonl"
INSPECT = "inspect-eval/2026-11-27T04-30-04-00-00_fixture-qa_6TRE8QQmdqaAmyCnqo4jPc.json"
MLFLOW = "mlflow-sqlite/mlflow.db"


@pytest.fixture(scope="module")
def store_template(fixtures_dir, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("datasets") / "store.db"
    for name in (OPENINFERENCE, INSPECT, MLFLOW):
        assert import_file(path, fixtures_dir / name).outcome is Outcome.IMPORTED
    return path


@pytest.fixture
def store(store_template, tmp_path) -> Path:
    path = tmp_path / "store.db"
    shutil.copy(store_template, path)
    return path


def run(capsys, *argv: str) -> tuple[int, list[dict], str]:
    code = main(["dataset", *argv])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def otlp_llm_spans(path: Path) -> dict[str, dict]:
    """{span id: attributes, with "failed" for an error status} of the raw file's OpenInference LLM spans."""
    found = {}
    for line in path.read_text().splitlines():
        for resource in json.loads(line)["resourceSpans"]:
            for scope in resource["scopeSpans"]:
                for span in scope["spans"]:
                    attributes = {
                        a["key"]: next(iter(a["value"].values())) for a in span.get("attributes", [])
                    }
                    if attributes.get("openinference.span.kind") == "LLM":
                        found[span["spanId"]] = attributes | {"failed": span["status"].get("code") == 2}
    return found


def test_the_jsonl_records_of_a_trace_file_carry_its_calls_figures(fixtures_dir, capsys):
    raw = otlp_llm_spans(fixtures_dir / OPENINFERENCE)
    answered = {span_id for span_id, a in raw.items() if not a["failed"]}
    assert len(raw) - len(answered) == 1  # an HTTP 500 from the model: no output, an error status
    code, records, err = run(capsys, str(fixtures_dir / OPENINFERENCE))
    assert code == 0
    assert {r["link"]["span_id"] for r in records} == answered
    for r in records:
        attributes = raw[r["link"]["span_id"]]
        meta = r["metadata"]
        assert meta["kind"] == "LLM"
        assert meta["model"] == attributes["llm.model_name"]
        assert meta["input_tokens"] == int(attributes["llm.token_count.prompt"])
        assert meta["output_tokens"] == int(attributes["llm.token_count.completion"])
        assert meta["cost_source"] == "computed" and meta["cost_usd"] > 0
        assert meta["latency_ms"] > 0
        first = r["input"][0]
        assert first["role"] == attributes["llm.input_messages.0.message.role"]
        assert first["content"] == attributes["llm.input_messages.0.message.content"]
        assert r["expected_from"] == "recorded output"
        out = "llm.output_messages.0.message."
        answer = r["expected"][0]
        assert answer["role"] == attributes[out + "role"]
        text = attributes.get(out + "content", attributes.get(out + "contents.0.message_content.text"))
        if text is not None:
            assert answer["content"] == text
        else:
            call = answer["tool_calls"][0]
            assert call["id"] == attributes[out + "tool_calls.0.tool_call.id"]
            assert call["name"] == attributes[out + "tool_calls.0.tool_call.function.name"]
            assert call["arguments"] == json.loads(
                attributes[out + "tool_calls.0.tool_call.function.arguments"]
            )
        # A store made of trace files for the command only: the link names the file to open.
        assert r["link"]["store"] is None
        assert (
            r["link"]["open"]
            == f"spanscope tree {(fixtures_dir / OPENINFERENCE).resolve()} {r['link']['trace_id']}"
        )
        assert r["id"] == f"{r['link']['trace_id']}:{r['link']['span_id']}"
    assert err.strip() == f"{len(answered)} records; 1 span skipped: 1 no output (the call failed) [jsonl]"


def test_a_record_matches_the_store_and_its_link_opens_the_trace(store, capsys):
    code, records, _ = run(capsys, "--db", str(store), "--limit", "3")
    assert code == 0 and len(records) == 3
    db = connect(store, readonly=True)
    for r in records:
        trace_id, span_id = r["link"]["trace_id"], r["link"]["span_id"]
        span, price = next((s, p) for s, p in iter_priced_spans(db, trace_id) if s.span_id == span_id)
        assert r["input"] == span.input and r["expected"] == span.output
        assert r["metadata"]["total_tokens"] == span.total_tokens
        assert r["metadata"]["cost_usd"] == (span.cost_usd if span.cost_usd is not None else price)
        assert r["link"]["store"] == str(store.resolve())
        argv = r["link"]["open"].split()
        assert argv[:4] == ["spanscope", "tree", "--db", str(store.resolve())]
        assert main(argv[1:]) == 0
        assert f"#{span_id}" in capsys.readouterr().out


def test_inspect_samples_are_read_by_inspect_with_their_targets(store, fixtures_dir, tmp_path, capsys):
    samples = json.loads((fixtures_dir / INSPECT).read_text())["samples"]
    out = tmp_path / "inspect.jsonl"
    # The sample roots carry the targets: every kind, each sample's trace.
    traces = [a for s in samples for a in ("--trace", s["uuid"])]
    code, _, err = run(
        capsys, "--db", str(store), *traces, "--kind", "chain", "--format", "inspect", "-o", str(out)
    )
    assert code == 0, err
    lines = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    by_trace = {line["metadata"]["link"]["trace_id"]: line for line in lines}
    assert len(by_trace) == len(samples)
    for s in samples:
        line = by_trace[s["uuid"]]
        assert line["target"] == s["target"]
        assert line["metadata"]["expected_from"] == "reference: inspect target"
    assert err.startswith(f"{len(samples)} records ({len(samples)} with a reference answer)")
    check_inspect_file(out)


def check_inspect_file(path: Path) -> None:
    """Inspect's own reader when it is installed; else the Sample fields its documentation names
    (inspect.aisi.org.uk/datasets.html: input str | list[ChatMessage], target str | list[str], id,
    metadata; ChatMessage roles system/user/assistant/tool, ToolCall id/function/arguments)."""
    try:
        from inspect_ai.dataset import json_dataset
    except ImportError:
        for raw in path.read_bytes().splitlines():
            sample = orjson.loads(raw)
            assert set(sample) == {"input", "target", "id", "metadata"}
            assert isinstance(sample["target"], str) or all(isinstance(t, str) for t in sample["target"])
            messages = [] if isinstance(sample["input"], str) else sample["input"]
            for m in messages:
                assert m["role"] in ("system", "user", "assistant", "tool")
                assert isinstance(m["content"], str) or all(
                    p["type"] in ("text", "image") for p in m["content"]
                )
                for call in m.get("tool_calls", ()):
                    assert set(call) >= {"id", "function", "arguments"} and isinstance(
                        call["arguments"], dict
                    )
        return
    dataset = json_dataset(str(path))
    assert len(dataset) == len(path.read_bytes().splitlines())


def test_inspect_model_calls_keep_tool_calls_in_inspects_shape(store, fixtures_dir, tmp_path, capsys):
    out = tmp_path / "calls.jsonl"
    code, _, _ = run(capsys, "--db", str(store), "--filter", "add", "--format", "inspect", "-o", str(out))
    assert code == 0
    lines = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    tools = [m for line in lines for m in line["input"] if m["role"] == "tool"]
    calls = [c for line in lines for m in line["input"] for c in m.get("tool_calls", ())]
    assert calls and tools
    assert all(c["type"] == "function" and isinstance(c["arguments"], dict) for c in calls)
    named = {c["id"]: c["function"] for c in calls}
    assert all(named[t["tool_call_id"]] == t["function"] for t in tools)
    check_inspect_file(out)


def test_openai_evals_rows_have_the_documented_shape(store, tmp_path, capsys):
    from openai.types.evals import CreateEvalJSONLRunDataSource
    from openai.types.responses import ResponseInputItemParam

    out = tmp_path / "evals.jsonl"
    code, _, _ = run(capsys, "--db", str(store), "--format", "openai-evals", "-o", str(out))
    assert code == 0
    rows = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert rows and all(set(row) == {"item"} for row in rows)
    # The run's data source as the API takes it, rows inline (`file_content`).
    CreateEvalJSONLRunDataSource.model_validate(
        {"type": "jsonl", "source": {"type": "file_content", "content": rows}}
    )
    items = TypeAdapter(list[ResponseInputItemParam])
    kinds = set()
    for row in rows:
        item = row["item"]
        assert set(item) == {"input", "ideal", "id", "metadata"}
        assert isinstance(item["ideal"], str) or all(isinstance(i, str) for i in item["ideal"])
        items.validate_python(item["input"])
        kinds |= {i.get("type", i.get("role")) for i in item["input"]}
    assert {"system", "user", "function_call", "function_call_output"} <= kinds


def test_mlflow_expectation_is_the_expected_answer(store, capsys):
    code, records, _ = run(capsys, "--db", str(store), "--filter", "rag_pipeline kind:chain")
    assert code == 0
    reference = [r for r in records if r["expected_from"].startswith("reference")]
    assert [r["expected"] for r in reference] == ["Paris"]
    assert reference[0]["expected_from"] == "reference: mlflow expectation expected_answer"


def test_references_file_overrides_and_names_its_line(store, tmp_path, capsys):
    code, records, _ = run(capsys, "--db", str(store), "--limit", "1")
    first = records[0]["link"]
    refs = tmp_path / "refs.jsonl"
    refs.write_text(json.dumps({"trace_id": first["trace_id"], "span_id": first["span_id"], "expected": "X"}))
    code, records, err = run(
        capsys, "--db", str(store), "--span", first["span_id"], "--references", str(refs)
    )
    assert code == 0
    assert [(r["expected"], r["expected_from"]) for r in records] == [("X", "reference: refs.jsonl:1")]
    assert err.startswith("1 record (1 with a reference answer)")


def test_failed_calls_are_skipped_and_counted(store, capsys):
    code, records, err = run(capsys, "--db", str(store))
    assert code == 0
    db = connect(store, readonly=True)
    failed = [
        s
        for s, _ in iter_priced_spans(db)
        if s.kind is Kind.LLM and s.output is None and s.status.value == "error"
    ]
    assert failed
    assert (
        f"{len(records)} records; {len(failed)} spans skipped: {len(failed)} no output (the call failed)"
        in err
    )
    assert not {(s.trace_id, s.span_id) for s in failed} & {
        (r["link"]["trace_id"], r["link"]["span_id"]) for r in records
    }


def test_a_filter_matching_nothing_is_a_clear_failure_and_writes_no_file(store, tmp_path, capsys):
    out = tmp_path / "none.jsonl"
    code, records, err = run(capsys, "--db", str(store), "--filter", "zzzqqqnothing", "-o", str(out))
    assert code == 2 and records == []
    assert "no records: the filter matched no span of kind LLM (see --kind)" in err
    assert not out.exists()
    code, _, err = run(capsys, "--db", str(store), "--filter", '"unclosed')
    assert code == 2 and "bad filter: a quote is not closed" in err
    code, _, err = run(capsys, "--db", str(store), "--filter", "trace:ab trace:cd")
    assert code == 2 and "give one trace:ID in the filter" in err
    code, _, err = run(capsys, "--db", str(store), "--kind", "nope")
    assert code == 2 and "'nope' is not a span kind" in err


def test_a_span_named_twice_is_written_once_and_the_limit_holds(store, capsys):
    _, records, _ = run(capsys, "--db", str(store), "--limit", "1")
    link = records[0]["link"]
    _, records, _ = run(capsys, "--db", str(store), "--span", link["span_id"], "--trace", link["trace_id"])
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids)) and f"{link['trace_id']}:{link['span_id']}" in ids
    _, records, err = run(capsys, "--db", str(store), "--limit", "2")
    assert len(records) == 2 and err.startswith("2 records")
    _, in_filter, _ = run(capsys, "--db", str(store), "--filter", f"trace:{link['trace_id']}")
    _, by_option, _ = run(capsys, "--db", str(store), "--trace", link["trace_id"])
    assert in_filter == by_option and f"{link['trace_id']}:{link['span_id']}" in [r["id"] for r in by_option]


def test_a_cancelled_or_failed_export_leaves_the_file_as_it_was(store, tmp_path):
    out = tmp_path / "kept.jsonl"
    out.write_text("before\n")
    db = connect(store, readonly=True)
    request = Request(Selection(), "jsonl", Link(None, ()))
    summary = export_to_file(db, request, out, cancelled=lambda: True)
    assert summary.cancelled and out.read_text() == "before\n"
    with pytest.raises(ValueError, match="not a dataset format"):
        export_to_file(db, Request(Selection(), "csv", Link(None, ())), out)
    assert out.read_text() == "before\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".kept")]
    summary = export_to_file(db, request, out)
    assert summary.records > 0 and len(out.read_bytes().splitlines()) == summary.records
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".kept")]


def test_the_whole_store_is_read_page_by_page(tmp_path_factory, tmp_path):
    """Several pages of spans: each chosen once, as many as the store holds of the kind."""
    path = tmp_path / "big.db"
    assert import_file(path, generated_file(tmp_path_factory, 3 * PAGE)).outcome is Outcome.IMPORTED
    db = connect(path, readonly=True)
    stored = [(s.trace_id, s.span_id, s.kind) for s, _ in iter_priced_spans(db)]
    everything = [(s.trace_id, s.span_id, s.kind) for s, _ in chosen_spans(db, Selection(kind=None))]
    assert len(everything) == len(stored) >= 3 * PAGE and set(everything) == set(stored)
    calls = [(s.trace_id, s.span_id, s.kind) for s, _ in chosen_spans(db, Selection())]
    assert calls == sorted(calls, key=stored.index) and set(calls) == {s for s in stored if s[2] is Kind.LLM}
    assert len(calls) > PAGE and count(db, Selection()) == len(calls)
    assert count(db, Selection(kind=None)) == len(stored)


def test_write_dataset_reports_progress_per_record(store):
    db = connect(store, readonly=True)
    seen: list[int] = []
    out = io.BytesIO()
    summary = write_dataset(
        db,
        Request(Selection(), "jsonl", Link(None, ()), limit=5),
        out,
        progress=lambda s: seen.append(s.records),
    )
    assert summary.records == 5 and seen == [1, 2, 3, 4, 5]
    assert len(out.getvalue().splitlines()) == 5


def test_a_path_that_is_no_regular_file_is_written_to_not_replaced(store, tmp_path):
    """-o /dev/null or a pipe: written through, never swapped for a regular file."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    db = connect(store, readonly=True)
    summary = export_to_file(db, Request(Selection(), "jsonl", Link(None, ()), limit=2), fifo)
    reader.join(10)
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert summary.records == 2 and len(received[0].splitlines()) == 2
