"""Inspect AI eval logs (.eval zip, flat and chunked, and .json) read into one trace per sample.

Expected figures come from the logs themselves, opened here with zipfile for the member list,
a few lines of struct for the local headers and zstandard for the members - independently of the
reader. Edge cases use small zips written by hand (`write_zip`), so the compression method of each
member is whatever the test says.
"""

from __future__ import annotations

import json
import struct
import zipfile
import zlib
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
import zstandard

from spanscope.cli import main
from spanscope.core.formats import FormatError, Source, inspect_eval
from spanscope.core.formats.registry import detect
from spanscope.core.model import Kind, Span, Status

EVAL_NAME = "2026-11-27T04-29-52-00-00_fixture-qa_SnEVxhayFbrkpvjoomYVL3.eval"
JSON_NAME = "2026-11-27T04-30-04-00-00_fixture-qa_6TRE8QQmdqaAmyCnqo4jPc.json"


# --- reading the logs independently ------------------------------------------------------------


def zip_json(path: Path) -> dict[str, Any]:
    """Every member of an .eval, parsed, by name (zstd or stored), read straight from the bytes."""
    data = path.read_bytes()
    members = {}
    for info in zipfile.ZipFile(path).infolist():
        name_len, extra_len = struct.unpack_from("<HH", data, info.header_offset + 26)
        start = info.header_offset + 30 + name_len + extra_len
        raw = data[start : start + info.compress_size]
        if info.compress_type == 93:
            raw = zstandard.ZstdDecompressor().decompress(raw, max_output_size=info.file_size)
        members[info.filename] = json.loads(raw)
    return members


def eval_log(path: Path) -> dict[str, Any]:
    """The .eval as the EvalLog a .json would hold: the header plus its samples."""
    members = zip_json(path)
    samples = [v for k, v in members.items() if k.startswith("samples/")]
    return {**members["header.json"], "samples": samples}


def json_log(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def read(path: Path) -> tuple[list[Span], Source]:
    source = Source(path)
    return list(inspect_eval.read(source, lambda _: None)), source


def by_trace(spans: list[Span]) -> dict[str, list[Span]]:
    traces: dict[str, list[Span]] = defaultdict(list)
    for span in spans:
        traces[span.trace_id].append(span)
    return traces


def root_of(spans: list[Span]) -> Span:
    (root,) = [s for s in spans if s.parent_id is None]
    return root


def events_of(sample: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e for e in sample["events"] if e["event"] == kind]


@pytest.fixture(params=[EVAL_NAME, JSON_NAME], ids=["eval", "json"])
def log_file(request: pytest.FixtureRequest, fixtures_dir: Path) -> Path:
    return fixtures_dir / "inspect-eval" / request.param


def raw_log(path: Path) -> dict[str, Any]:
    return eval_log(path) if path.suffix == ".eval" else json_log(path)


# --- the real logs -----------------------------------------------------------------------------


def test_every_fixture_is_claimed_only_when_it_is_an_inspect_log(fixtures_dir: Path) -> None:
    files = [p for p in sorted(fixtures_dir.rglob("*")) if p.is_file() and p.name != "README.md"]
    assert len(files) > 20
    for path in files:
        source = Source(path)
        if path.parent.name == "inspect-eval":
            assert detect(source) is inspect_eval.SPEC, path
        else:
            assert not inspect_eval.sniff(source.head()), path


def test_one_trace_per_sample_with_its_spans_and_parents(log_file: Path) -> None:
    log = raw_log(log_file)
    traces = by_trace(read(log_file)[0])
    assert len(traces) == len(log["samples"]) == 5
    for sample in log["samples"]:
        spans = traces[sample["uuid"]]
        root = root_of(spans)
        begins = events_of(sample, "span_begin")
        tool_spans = [b for b in begins if b.get("type") == "tool"]
        tools, models = events_of(sample, "tool"), events_of(sample, "model")
        # Inspect opens one span of type "tool" around each call: the call and its span are one span.
        assert len(tool_spans) == len(tools)
        assert len(spans) == 1 + len(begins) + len(models)
        parents = {s.span_id: s.parent_id for s in spans}
        for begin in begins:
            assert parents[begin["id"]] == begin.get("parent_id", root.span_id)
        for model in models:
            assert parents[model["uuid"]] == model["span_id"]
        kinds = Counter(s.kind for s in spans)
        assert kinds[Kind.LLM] == len(models)
        assert kinds[Kind.TOOL] == len(tools)
        assert kinds[Kind.EVALUATOR] == sum(b.get("type") == "scorer" for b in begins)
        assert root.name == f"{log['eval']['task']} {sample['id']} epoch {sample['epoch']}"
        assert root.kind is Kind.CHAIN and root.input == sample["input"]
        assert root.attributes["inspect.target"] == sample["target"]
        assert all(root.start_ns <= s.start_ns for s in spans)


def test_model_calls_carry_model_usage_messages_and_errors(log_file: Path) -> None:
    log = raw_log(log_file)
    traces = by_trace(read(log_file)[0])
    for sample in log["samples"]:
        spans = {s.span_id: s for s in traces[sample["uuid"]]}
        pool = sample["events_data"]["messages"]
        for model in events_of(sample, "model"):
            span = spans[model["uuid"]]
            provider, name = model["model"].split("/", 1)
            assert (span.provider, span.model) == (provider, name)
            refs = [m for start, end in model["input_refs"] for m in pool[start:end]]
            assert [m["role"] for m in span.input] == [m["role"] for m in refs]
            assert [m["content"] for m in span.input] == [m["content"] for m in refs]
            if "error" in model:
                assert span.status is Status.ERROR and span.status_message == model["error"]
                assert span.end_ns is not None
                continue
            usage = model["output"]["usage"]
            assert (span.input_tokens, span.output_tokens, span.total_tokens) == (
                usage["input_tokens"],
                usage["output_tokens"],
                usage["total_tokens"],
            )
            message = model["output"]["choices"][0]["message"]
            (out,) = span.output
            assert out["content"] == message["content"]
            assert [c["name"] for c in out["tool_calls"]] == [
                c["function"] for c in message.get("tool_calls", [])
            ]


def test_token_totals_per_model_match_the_eval_stats(log_file: Path) -> None:
    log = raw_log(log_file)
    spans, _ = read(log_file)
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for span in spans:
        if span.kind is Kind.LLM and span.input_tokens is not None:
            total = totals[f"{span.provider}/{span.model}"]
            total[0] += span.input_tokens
            total[1] += span.output_tokens or 0
            total[2] += span.total_tokens or 0
    expected = {
        model: [u["input_tokens"], u["output_tokens"], u["total_tokens"]]
        for model, u in log["stats"]["model_usage"].items()
    }
    assert totals == expected
    assert expected["openai/gpt-4o-mini"][:2] == [1050, 126]


def test_tool_calls_and_scores(log_file: Path) -> None:
    log = raw_log(log_file)
    traces = by_trace(read(log_file)[0])
    scored = 0
    for sample in log["samples"]:
        spans = traces[sample["uuid"]]
        root = root_of(spans)
        for tool in events_of(sample, "tool"):
            (span,) = [s for s in spans if s.attributes.get("inspect.tool_call_id") == tool["id"]]
            assert (span.kind, span.name, span.input, span.output) == (
                Kind.TOOL,
                tool["function"],
                tool["arguments"],
                tool["result"],
            )
        got = {s.name: s for s in root.scores}
        assert set(got) == set(sample["scores"])
        for name, score in sample["scores"].items():
            scored += 1
            assert got[name].label == score["value"]
            assert got[name].value == {"C": 1.0, "I": 0.0}[score["value"]]
            assert got[name].comment == score["explanation"]
            assert got[name].trace_level and got[name].source == name
            assert got[name].key == f"{name}:{sample['id']}:{sample['epoch']}"
        if "error" in sample:
            assert root.status is Status.ERROR and root.status_message == sample["error"]["message"]
            (exception,) = [e for e in root.events if e.is_exception]
            assert exception.stacktrace == sample["error"]["traceback"]
    results = log["results"]["scores"][0]
    assert scored == results["scored_samples"] == 4
    labels = [s.label for spans in traces.values() for s in root_of(spans).scores]
    assert labels.count("C") / len(labels) == results["metrics"]["accuracy"]["value"]


def structure(spans: list[Span]) -> list[tuple]:
    """What two runs of the same task share: names, kinds, parents by name, models and tokens."""
    names = {s.span_id: s.name for s in spans}
    return sorted(
        (
            (
                s.name.split(" ")[1] if s.parent_id is None else s.name,
                s.kind,
                names.get(s.parent_id or ""),
                s.model,
                s.input_tokens,
                s.output_tokens,
                s.status,
            )
            for s in spans
        ),
        key=str,
    )


def test_the_eval_and_json_runs_of_the_task_have_the_same_shape(fixtures_dir: Path) -> None:
    from_eval = read(fixtures_dir / "inspect-eval" / EVAL_NAME)[0]
    from_json = read(fixtures_dir / "inspect-eval" / JSON_NAME)[0]
    assert structure(from_eval) == structure(from_json)


def comparable(spans: list[Span]) -> list[tuple]:
    return [
        (s.trace_id, s.span_id, s.parent_id, s.name, s.kind, s.start_ns, s.end_ns, s.status, s.model,
         s.input_tokens, s.output_tokens, s.input, s.output, s.attributes, s.scores,
         [(e.name, e.time_ns, e.attributes) for e in s.events])
        for s in spans
    ]  # fmt: skip


def test_the_same_eval_as_eval_and_as_json_gives_the_same_spans(fixtures_dir: Path, tmp_path: Path) -> None:
    path = fixtures_dir / "inspect-eval" / EVAL_NAME
    as_json = tmp_path / "same.json"
    as_json.write_text(json.dumps(eval_log(path)))
    assert detect(Source(as_json)) is inspect_eval.SPEC
    assert comparable(read(path)[0]) == comparable(read(as_json)[0])


# --- hand-made zips ----------------------------------------------------------------------------


def write_zip(path: Path, members: list[tuple[str, bytes, int]], *, central_directory: bool = True) -> Path:
    """A zip written byte by byte: (name, content, method) with method 0, 8, 93 or anything else
    (then the content is stored as given, under that method number)."""
    out, directory = bytearray(), bytearray()
    for name, content, method in members:
        if method == 8:
            deflate = zlib.compressobj(wbits=-15)
            data = deflate.compress(content) + deflate.flush()
        elif method == 93:
            data = zstandard.ZstdCompressor().compress(content)
        else:
            data = content
        encoded, crc, offset = name.encode(), zlib.crc32(content), len(out)
        sizes = (crc, len(data), len(content), len(encoded))
        out += struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 63, 0, method, 0, 0, *sizes, 0) + encoded + data
        directory += struct.pack(
            "<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 63, 63, 0, method, 0, 0, *sizes, 0, 0, 0, 0, 0, offset
        )
        directory += encoded
    if central_directory:
        end = struct.pack(
            "<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(members), len(members), len(directory), len(out), 0
        )
        out += directory + end
    path.write_bytes(bytes(out))
    return path


HEADER = {
    "version": 2,
    "status": "success",
    "eval": {"task": "tiny", "eval_id": "E1", "model": "anthropic/claude-x"},
}


def tiny_sample(sample_id: str, **extra: Any) -> dict[str, Any]:
    """A sample with one model call (Anthropic-style usage: input tokens exclude the cache)."""
    return {
        "id": sample_id,
        "epoch": 1,
        "uuid": f"uuid-{sample_id}",
        "input": "hi",
        "target": "ok",
        "started_at": "2026-01-01T00:00:00+00:00",
        "completed_at": "2026-01-01T00:00:02+00:00",
        "scores": {"match": {"value": 0.5, "explanation": "half"}},
        "events": [
            {
                "event": "model",
                "uuid": f"m-{sample_id}",
                "timestamp": "2026-01-01T00:00:01+00:00",
                "completed": "2026-01-01T00:00:01.500000+00:00",
                "model": "anthropic/claude-x",
                "input": [{"role": "user", "content": "attachment://" + "a" * 32}],
                "output": {
                    "choices": [
                        {"message": {"role": "assistant", "content": [{"type": "text", "text": "ok"}]}}
                    ],
                    "usage": {
                        "input_tokens": 10,
                        "output_tokens": 7,
                        "input_tokens_cache_read": 100,
                        "input_tokens_cache_write": 5,
                        "total_tokens": 122,
                    },
                },
            }
        ],
        "attachments": {"a" * 32: "a long prompt"},
        **extra,
    }


def tiny_eval(path: Path, methods: dict[str, int], **kwargs: Any) -> Path:
    members = [("header.json", json.dumps(HEADER).encode(), 93)]
    members += [
        (f"samples/{sid}_epoch_1.json", json.dumps(tiny_sample(sid)).encode(), method)
        for sid, method in methods.items()
    ]
    return write_zip(path, members, **kwargs)


def test_stored_deflated_and_zstd_members_are_read(tmp_path: Path) -> None:
    path = tiny_eval(tmp_path / "run.eval", {"s1": 0, "s2": 8, "s3": 93})
    assert detect(Source(path)) is inspect_eval.SPEC
    spans, source = read(path)
    assert not source.problems
    assert len(by_trace(spans)) == 3
    llm = [s for s in spans if s.kind is Kind.LLM]
    assert [s.input[0]["content"] for s in llm] == ["a long prompt"] * 3
    assert [s.output[0]["content"] for s in llm] == ["ok"] * 3
    # Anthropic counts cached input apart; normalized, input tokens include it.
    assert {(s.input_tokens, s.cache_read_tokens, s.cache_write_tokens, s.output_tokens) for s in llm} == {
        (115, 100, 5, 7)
    }
    assert {(s.provider, s.model) for s in llm} == {("anthropic", "claude-x")}
    (score,) = root_of(by_trace(spans)["uuid-s1"]).scores
    assert (score.name, score.value, score.label, score.comment) == ("match", 0.5, None, "half")


def test_a_member_in_an_unknown_compression_is_named_and_the_rest_read(tmp_path: Path) -> None:
    path = tiny_eval(tmp_path / "run.eval", {"s1": 93, "s2": 99, "s3": 93})
    spans, source = read(path)
    assert sorted(by_trace(spans)) == ["uuid-s1", "uuid-s3"]
    (problem,) = source.problems
    assert problem.where == "member samples/s2_epoch_1.json"
    assert "compression method 99 is not supported" in problem.reason


def test_a_truncated_eval_reads_the_samples_before_the_cut(tmp_path: Path, fixtures_dir: Path) -> None:
    path = fixtures_dir / "inspect-eval" / EVAL_NAME
    q3 = zipfile.ZipFile(path).getinfo("samples/q3_epoch_1.json")
    cut = tmp_path / "cut.eval"
    cut.write_bytes(path.read_bytes()[: q3.header_offset + 200])
    assert detect(Source(cut)) is inspect_eval.SPEC
    spans, source = read(cut)
    roots = sorted(root_of(t).name for t in by_trace(spans).values())
    assert roots == ["fixture_qa q1 epoch 1", "fixture_qa q2 epoch 1"]  # the task, from _journal/start.json
    wheres = [p.where for p in source.problems]
    assert wheres == ["central directory", "member samples/q3_epoch_1.json"]
    assert "cut short" in source.problems[1].reason


def test_an_eval_cut_before_any_sample_fails_clearly(tmp_path: Path, fixtures_dir: Path) -> None:
    cut = tmp_path / "cut.eval"
    cut.write_bytes((fixtures_dir / "inspect-eval" / EVAL_NAME).read_bytes()[:500])
    with pytest.raises(FormatError, match=r"holds no samples.*cut short"):
        read(cut)


def test_a_missing_attachment_is_reported_and_the_reference_kept(tmp_path: Path) -> None:
    path = tmp_path / "log.json"
    sample = tiny_sample("s1", attachments={})
    path.write_text(json.dumps({**HEADER, "samples": [sample]}))
    spans, source = read(path)
    (llm,) = [s for s in spans if s.kind is Kind.LLM]
    ref = "attachment://" + "a" * 32
    assert llm.input[0]["content"] == ref
    (problem,) = source.problems
    assert problem.where == "sample s1 epoch 1" and ref in problem.reason


def test_a_json_log_without_samples_fails_with_a_clear_message(tmp_path: Path, capsys) -> None:
    path = tmp_path / "log.json"
    path.write_text(json.dumps({**HEADER, "status": "error", "samples": []}))
    with pytest.raises(FormatError, match=r"\(status error\) holds no samples"):
        read(path)
    assert main(["import", str(path), "--db", str(tmp_path / "store.db")]) == 2
    assert "holds no samples" in capsys.readouterr().err


def test_a_zip_that_is_not_inspect_is_not_claimed(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "other.zip", [("header.json", b'{"title": "x"}', 0), ("b.txt", b"x", 0)])
    assert not inspect_eval.sniff(Source(path).head())
    path = write_zip(tmp_path / "other2.zip", [("notes.txt", b"hello", 0)])
    assert not inspect_eval.sniff(Source(path).head())


# --- the chunked layout ------------------------------------------------------------------------


def chunked(flat: Path, out: Path, chunk: int = 7, drop: frozenset[str] = frozenset()) -> Path:
    """The flat .eval rewritten in Inspect's chunked sample layout: each sample a shell plus
    sequences in chunks of `chunk` items, and strings longer than 40 characters in the events
    moved to an attachments sequence referenced as attachment://<index>."""
    members = zip_json(flat)
    entries = []
    for name, value in members.items():
        if not name.startswith("samples/"):
            entries.append((name, json.dumps(value).encode(), 93))
            continue
        prefix = name.removesuffix(".json")
        attachments: list[str] = []

        def extract(v: Any, attachments: list[str] = attachments) -> Any:
            if isinstance(v, str) and len(v) > 40:
                if v not in attachments:
                    attachments.append(v)
                return f"attachment://{attachments.index(v)}"
            if isinstance(v, dict):
                return {k: extract(x) for k, x in v.items()}
            if isinstance(v, list):
                return [extract(x) for x in v]
            return v

        events = extract(value["events"])
        pools = extract(value["events_data"])
        shell = {
            k: v
            for k, v in value.items()
            if k not in ("messages", "events", "attachments", "events_data", "metadata")
        }
        shell["message_refs"] = [[0, len(value["messages"])]]
        entries.append((f"{prefix}/sample.json", json.dumps(shell).encode(), 93))
        if value["metadata"]:
            entries.append((f"{prefix}/metadata.json", json.dumps(value["metadata"]).encode(), 93))
        sequences = {
            "messages": pools["messages"],
            "events": events,
            "calls": pools["calls"],
            "attachments": attachments,
        }
        for sequence, items in sequences.items():
            for start in range(0, len(items), chunk):
                data = json.dumps(items[start : start + chunk]).encode()
                entries.append((f"{prefix}/{sequence}/{start}.json", data, 93))
    return write_zip(out, [e for e in entries if e[0] not in drop])


def test_the_chunked_layout_gives_the_spans_of_the_flat_one(fixtures_dir: Path, tmp_path: Path) -> None:
    flat = fixtures_dir / "inspect-eval" / EVAL_NAME
    path = chunked(flat, tmp_path / "chunked.eval")
    names = zipfile.ZipFile(path).namelist()
    assert "samples/q5_epoch_1/events/7.json" in names and "samples/q5_epoch_1/attachments/0.json" in names
    assert detect(Source(path)) is inspect_eval.SPEC
    spans, source = read(path)
    assert not source.problems
    assert comparable(spans) == comparable(read(flat)[0])


# --- end to end --------------------------------------------------------------------------------


def test_import_then_tree_from_the_command_line(fixtures_dir: Path, tmp_path: Path, capsys) -> None:
    db = str(tmp_path / "store.db")
    path = fixtures_dir / "inspect-eval" / EVAL_NAME
    assert main(["import", str(path), "--db", db]) == 0
    assert "47 spans (47 new) in 5 traces [inspect-eval]" in capsys.readouterr().err
    q3 = next(s for s in eval_log(path)["samples"] if s["id"] == "q3")
    assert main(["tree", "--db", db, q3["uuid"][:8]]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"trace {q3['uuid']}: 11 spans"
    assert lines[1].startswith("fixture_qa q3 epoch 1  [CHAIN]")
    calls = [line.strip() for line in lines if "[LLM]" in line or "[TOOL]" in line]
    assert [c.split("  ")[:2] for c in calls] == [
        ["openai/gpt-4o-mini", "[LLM]"],
        ["get_weather", "[TOOL]"],
        ["openai/gpt-4o-mini", "[LLM]"],
    ]
    assert "in 173 out 34" in calls[0] and "in 186 out 17" in calls[2]


def test_a_missing_chunk_is_named_and_the_rest_of_the_sample_kept(fixtures_dir: Path, tmp_path: Path) -> None:
    flat = fixtures_dir / "inspect-eval" / EVAL_NAME
    gone = "samples/q3_epoch_1/events/7.json"
    path = chunked(flat, tmp_path / "chunked.eval", drop=frozenset({gone}))
    spans, source = read(path)
    (problem,) = source.problems
    assert (
        problem.where == f"member {gone}"
        and "events 7 to 13 of the sample are not in the file" in problem.reason
    )
    got, full = by_trace(spans), by_trace(read(flat)[0])
    assert len(got) == 5
    q3 = next(s for s in eval_log(flat)["samples"] if s["id"] == "q3")["uuid"]
    assert all(comparable(got[t]) == comparable(full[t]) for t in full if t != q3)
    assert 1 < len(got[q3]) < len(full[q3])


def write_log(path: Path, *samples: dict[str, Any]) -> Path:
    path.write_text(json.dumps({**HEADER, "samples": list(samples)}))
    return path


def event(kind: str, uuid: str, at: float, **fields: Any) -> dict[str, Any]:
    return {"event": kind, "uuid": uuid, "timestamp": f"2026-01-01T00:00:{at:09.6f}+00:00", **fields}


def test_a_tool_recorded_inside_its_span_is_one_span_with_its_nested_calls(tmp_path: Path) -> None:
    """Newer Inspect: the tool event sits in the span of type "tool" opened around the call."""
    sample = tiny_sample("s1")
    sample["events"] = [
        event("span_begin", "b1", 1, id="G", name="generate", type="solver"),
        event("span_begin", "b2", 2, id="T", parent_id="G", name="ask_agent", type="tool"),
        event("tool", "t1", 2.1, span_id="T", id="call_1", function="ask_agent",
              arguments={"q": "x"}, result="y", completed="2026-01-01T00:00:05+00:00"),
        event("model", "m1", 3, span_id="T", model="openai/gpt-4o", output={}),
        event("span_end", "e2", 4, id="T"),
        event("span_end", "e1", 6, id="G"),
    ]  # fmt: skip
    spans, _ = read(write_log(tmp_path / "log.json", sample))
    tools = [s for s in spans if s.kind is Kind.TOOL]
    assert [(s.span_id, s.parent_id, s.name, s.input, s.output) for s in tools] == [
        ("T", "G", "ask_agent", {"q": "x"}, "y")
    ]
    assert (
        tools[0].end_ns - tools[0].start_ns == 3_000_000_000
    )  # to the call's completion, after the span's end
    (llm,) = [s for s in spans if s.kind is Kind.LLM]
    assert llm.parent_id == "T"


def test_older_logs_nest_calls_in_tool_events_and_keep_one_unnamed_score(tmp_path: Path) -> None:
    sample = tiny_sample("s1", scores=None)
    sample["score"] = {"value": "C", "explanation": "right"}
    sample["events"] = [
        event("tool", "t1", 1, id="call_1", function="search", arguments={},
              result=[{"type": "text", "text": "a"}],
              events=[event("model", "m1", 1.5, model="mockllm/model", output={})]),
    ]  # fmt: skip
    header = {**HEADER, "results": {"scores": [{"name": "match"}]}}
    path = tmp_path / "log.json"
    path.write_text(json.dumps({**header, "samples": [sample]}))
    spans, source = read(path)
    assert not source.problems
    (tool,) = [s for s in spans if s.kind is Kind.TOOL]
    (llm,) = [s for s in spans if s.kind is Kind.LLM]
    assert (tool.parent_id, tool.output, llm.parent_id) == ("s1_epoch_1", "a", tool.span_id)
    (score,) = root_of(spans).scores
    assert (score.name, score.value, score.label, score.comment) == ("match", 1.0, "C", "right")


def test_scores_with_several_values_become_one_score_each(tmp_path: Path) -> None:
    sample = tiny_sample("s1", scores={"judge": {"value": {"accuracy": 1, "fluent": True, "tags": ["a"]}}})
    spans, _ = read(write_log(tmp_path / "log.json", sample))
    got = {s.name: (s.value, s.label, s.key) for s in root_of(spans).scores}
    assert got == {
        "judge/accuracy": (1.0, None, "judge/accuracy:s1:1"),
        "judge/fluent": (1.0, None, "judge/fluent:s1:1"),
        "judge/tags": (None, '["a"]', "judge/tags:s1:1"),
    }


def test_openai_style_usage_keeps_its_input_count(tmp_path: Path) -> None:
    sample = tiny_sample("s1")
    sample["events"][0]["output"]["usage"] = {
        "input_tokens": 120, "output_tokens": 7, "input_tokens_cache_read": 100, "total_tokens": 127,
    }  # fmt: skip
    spans, _ = read(write_log(tmp_path / "log.json", sample))
    (llm,) = [s for s in spans if s.kind is Kind.LLM]
    assert (llm.input_tokens, llm.cache_read_tokens, llm.output_tokens) == (120, 100, 7)


def test_older_samples_keep_events_and_attachments_in_a_transcript(tmp_path: Path) -> None:
    sample = tiny_sample("s1")
    older = {k: v for k, v in sample.items() if k not in ("events", "attachments")}
    older["transcript"] = {"events": sample["events"], "content": sample["attachments"]}
    now = comparable(read(write_log(tmp_path / "now.json", sample))[0])
    spans, source = read(write_log(tmp_path / "older.json", older))
    assert comparable(spans) == now and not source.problems
    assert [s.input[0]["content"] for s in spans if s.kind is Kind.LLM] == ["a long prompt"]
