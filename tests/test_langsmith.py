"""The LangSmith reader, on every capture of what the SDK sends and on hand-made edge cases.

Expected figures are read here from the captured files with the standard library (json, email's
multipart parser) and zstandard, independently of the reader.
"""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from spanscope.cli import main
from spanscope.cli.errors import EXIT_FAILED, EXIT_PARTIAL
from spanscope.core.formats import FormatError, Source, detect, langsmith
from spanscope.core.model import Kind, ScoreFor, Span, Status
from spanscope.core.store import connect
from spanscope.core.store.queries import iter_spans, list_traces, trace_scores

CAPTURES = ("capture-multipart", "capture-zstd", "capture-batch", "capture-single")
#: From the fixtures README: every capture holds the same program's runs.
RUNS, TRACES, ERRORS = 54, 12, 5
RUN_TYPES = {"llm": 20, "chain": 15, "tool": 5, "prompt": 5, "embedding": 3, "retriever": 3, "parser": 3}
KINDS = {
    "llm": "LLM",
    "chain": "CHAIN",
    "tool": "TOOL",
    "retriever": "RETRIEVER",
    "embedding": "EMBEDDING",
    "prompt": "PROMPT",
    "parser": "CHAIN",
}
T = "2026-01-02T03:04:05.000006"
TRACE = "11111111-1111-4111-8111-111111111111"
CHILD = "22222222-2222-4222-8222-222222222222"


def read(path: Path) -> tuple[list[Span | ScoreFor], list[str]]:
    source = Source(path)
    assert detect(source) is langsmith.SPEC, path
    spans = list(langsmith.read(source, lambda n: None))
    return spans, [str(p) for p in source.problems]


# --- an independent reading of the captures ------------------------------------------------------


def runs_of(capture: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (capture / "runs.jsonl").read_text().splitlines()]


def ref_parent(run: dict[str, Any]) -> str | None:
    """parent_run_id, or the second-to-last id of dotted_order (each segment: 22-char stamp + id)."""
    if run.get("parent_run_id"):
        return run["parent_run_id"]
    segments = run["dotted_order"].split(".")
    return segments[-2][22:] if len(segments) > 1 else None


def ref_usage(runs: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """Input and output tokens per model over llm runs, from the usage_metadata the client sent."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for run in runs:
        if run["run_type"] != "llm":
            continue
        metadata = run["extra"].get("metadata", {})
        usage = (run.get("outputs") or {}).get("usage_metadata") or metadata.get("usage_metadata")
        if usage:
            totals[metadata["ls_model_name"]][0] += usage["input_tokens"]
            totals[metadata["ls_model_name"]][1] += usage["output_tokens"]
    return {model: (i, o) for model, (i, o) in totals.items()}


def span_usage(spans: list[Span]) -> dict[str, tuple[int, int]]:
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for s in spans:
        if s.input_tokens is not None:
            totals[s.model or "?"][0] += s.input_tokens
            totals[s.model or "?"][1] += s.output_tokens or 0
    return {model: (i, o) for model, (i, o) in totals.items()}


def body_run_ids(capture: Path, raw: Path) -> dict[str, set[str]]:
    """Run ids per operation ("post", "patch") in one captured request body."""
    request = next(
        json.loads(line)
        for line in (capture / "requests.jsonl").read_text().splitlines()
        if json.loads(line).get("raw_body_file") == raw.name
    )
    body = raw.read_bytes()
    if request["headers"].get("Content-Encoding") == "zstd":
        body = zstandard.ZstdDecompressor().decompressobj().decompress(body)
    found: dict[str, set[str]] = {"post": set(), "patch": set()}
    content_type = request["headers"]["Content-Type"]
    if content_type.startswith("multipart/"):
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + body
        )
        for part in message.iter_parts():
            op, run_id = part.get_param("name", header="content-disposition").split(".")[:2]
            found[op].add(run_id)
        return found
    data = json.loads(body)
    if "post" in data or "patch" in data:
        for op in ("post", "patch"):
            found[op] |= {run["id"] for run in data.get(op) or ()}
    else:
        found["post" if "inputs" in data else "patch"].add(data["id"])
    return found


def run_bodies(capture: Path) -> list[Path]:
    return sorted(p for p in (capture / "raw").iterdir() if "feedback" not in p.name)


# --- the captures --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", CAPTURES)
def test_runs_of_every_capture_read_with_the_right_figures(fixtures_dir, name):
    capture = fixtures_dir / "langsmith-runs" / name
    runs = runs_of(capture)
    assert len(runs) == RUNS and Counter(r["run_type"] for r in runs) == RUN_TYPES
    spans, problems = read(capture / "runs.jsonl")
    assert problems == []
    assert len(spans) == RUNS
    assert len({s.trace_id for s in spans}) == len({r["trace_id"] for r in runs}) == TRACES
    by_id = {s.span_id: s for s in spans}
    for run in runs:
        span = by_id[run["id"]]
        assert span.trace_id == run["trace_id"]
        assert span.parent_id == ref_parent(run), run["id"]
        assert span.kind == KINDS[run["run_type"]] and span.source_kind == run["run_type"]
        assert span.name == run["name"]
        assert (span.status == Status.ERROR) == bool(run.get("error")), run["id"]
        if run.get("error"):
            assert span.status_message and span.status_message in run["error"]
            assert span.events[-1].stacktrace == run["error"]
        if run["run_type"] == "llm":
            assert span.model == run["extra"]["metadata"].get("ls_model_name"), run["id"]
        else:
            assert span.input_tokens is None and span.output_tokens is None, run["id"]
    assert sum(s.status == Status.ERROR for s in spans) == ERRORS
    assert span_usage(spans) == ref_usage(runs)
    assert all(s.end_ns is not None and s.end_ns >= s.start_ns for s in spans)


def test_chat_messages_and_tool_calls_come_out_normalized(fixtures_dir):
    runs = {r["id"]: r for r in runs_of(fixtures_dir / "langsmith-runs/capture-single")}
    spans, _ = read(fixtures_dir / "langsmith-runs/capture-single/runs.jsonl")
    called = [
        s for s in spans if s.kind == Kind.LLM and isinstance(s.output, list) and s.output[0]["tool_calls"]
    ]
    assert called
    for span in called:
        run = runs[span.span_id]
        raw = json.dumps(run["outputs"])
        for call in span.output[0]["tool_calls"]:
            assert call["id"] in raw and call["name"] in raw and isinstance(call["arguments"], dict)
    for span in spans:
        run = runs[span.span_id]
        sent = run["inputs"].get("messages")
        if span.kind == Kind.LLM and sent and isinstance(sent[0], dict) and "role" in sent[0]:
            assert [m["content"] for m in span.input] == [m.get("content") for m in sent]


@pytest.mark.parametrize("name", CAPTURES[:3])
def test_every_raw_body_reads_the_runs_it_holds(fixtures_dir, name):
    capture = fixtures_dir / "langsmith-runs" / name
    for raw in run_bodies(capture):
        ids = body_run_ids(capture, raw)
        spans, problems = read(raw)
        assert {s.span_id for s in spans} == ids["post"] | ids["patch"], raw.name
        alone = ids["patch"] - ids["post"]
        assert len(problems) == len(alone), raw.name
        for run_id in alone:
            assert any(run_id in p and "without its create (POST)" in p for p in problems)


@pytest.mark.parametrize("name", CAPTURES)
def test_all_bodies_of_a_capture_make_up_its_runs_in_one_store(fixtures_dir, tmp_path, name):
    capture = fixtures_dir / "langsmith-runs" / name
    store = tmp_path / "store.db"
    bodies = run_bodies(capture)
    # Bodies holding only a run's update are read (and reported): they complete the run stored from
    # the body that held its create.
    assert main(["import", *map(str, bodies), "--db", str(store)]) == EXIT_PARTIAL
    spans = list(iter_spans(connect(store, readonly=True)))
    runs = runs_of(capture)
    assert len(spans) == RUNS
    assert {s.span_id: s.parent_id for s in spans} == {r["id"]: ref_parent(r) for r in runs}
    assert span_usage(spans) == ref_usage(runs)
    assert sum(s.status == Status.ERROR for s in spans) == ERRORS
    assert all(s.end_ns is not None for s in spans)


def test_feedback_becomes_scores_of_the_runs_it_rates(fixtures_dir, tmp_path):
    capture = fixtures_dir / "langsmith-runs/capture-single"
    both = tmp_path / "runs-and-feedback.jsonl"
    both.write_bytes((capture / "runs.jsonl").read_bytes() + (capture / "feedback.jsonl").read_bytes())
    spans, problems = read(both)
    assert problems == []
    scored = {s.span_id: s.scores for s in spans if s.scores}
    feedback = [json.loads(line) for line in (capture / "feedback.jsonl").read_text().splitlines()]
    assert set(scored) == {f["run_id"] for f in feedback}
    for f in feedback:
        (score,) = scored[f["run_id"]]
        assert (score.name, score.value, score.comment, score.key) == (
            f["key"],
            f["score"],
            f["comment"],
            f["id"],
        )
        assert score.source == f["feedback_source"]["type"]


def feedback_of(capture: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (capture / "feedback.jsonl").read_text().splitlines()]


def feedback_bodies(capture: Path) -> list[Path]:
    return sorted(p for p in (capture / "raw").iterdir() if "feedback" in p.name)


def test_feedback_alone_reads_as_scores_of_runs_elsewhere(fixtures_dir):
    capture = fixtures_dir / "langsmith-runs/capture-batch"
    read_back, problems = read(capture / "feedback.jsonl")
    assert problems == []
    assert [(r.trace_id, r.span_id, r.score.name, r.score.key) for r in read_back] == [
        (None, f["run_id"], f["key"], f["id"]) for f in feedback_of(capture)
    ]


@pytest.mark.parametrize("name", CAPTURES)
def test_feedback_imported_after_its_runs_scores_them(fixtures_dir, tmp_path, capsys, name):
    """feedback.jsonl, then the raw POST /feedback bodies (the same feedback: nothing new)."""
    capture = fixtures_dir / "langsmith-runs" / name
    store = tmp_path / "s.db"
    feedback, bodies = feedback_of(capture), feedback_bodies(capture)
    assert len(bodies) == len(feedback) == 2
    for path in (capture / "runs.jsonl", capture / "feedback.jsonl", *bodies):
        assert main(["import", str(path), "--db", str(store)]) == 0
    printed = capsys.readouterr().err
    runs = {r["id"]: r for r in runs_of(capture)}
    rated = {runs[f["run_id"]]["trace_id"] for f in feedback}
    assert f"feedback.jsonl: 2 scores (2 new) in {len(rated)} traces [langsmith]" in printed
    assert all(f"{body}: 1 scores (0 new) in 1 traces [langsmith]" in printed for body in bodies)
    db = connect(store, readonly=True)
    assert db.execute("SELECT count(*) FROM scores").fetchone()[0] == len(feedback)
    summaries = {t.trace_id: t.scores for t in list_traces(db)}
    for f in feedback:
        run = runs[f["run_id"]]
        ((span_id, score),) = [(i, s) for i, s in trace_scores(db, run["trace_id"]) if s.key == f["id"]]
        # A root run's feedback rates its trace, as when runs and feedback come in one file.
        assert span_id == ("" if run.get("parent_run_id") is None else run["id"])
        assert (score.name, score.value, score.comment, score.source) == (
            f["key"],
            f["score"],
            f["comment"],
            f["feedback_source"]["type"],
        )
        assert f"{f['key']} {f['score']:.3g}" in summaries[run["trace_id"]]
    assert sum(v is not None for v in summaries.values()) == len(rated)


def test_feedback_before_its_runs_is_refused_naming_them_and_can_follow_them(fixtures_dir, tmp_path, capsys):
    capture = fixtures_dir / "langsmith-runs/capture-multipart"
    store = tmp_path / "s.db"
    feedback = capture / "feedback.jsonl"
    assert main(["import", str(feedback), "--db", str(store)]) == EXIT_FAILED
    printed = capsys.readouterr().err
    for f in feedback_of(capture):
        where = f"{feedback}:score {f['key']!r} ({f['id']})"
        assert f"{where}: rates span (run) {f['run_id']}, which is not in the store" in printed
    assert "import the file holding their spans first, then this file" in printed
    db = connect(store, readonly=True)
    assert db.execute("SELECT count(*) FROM scores").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM sources").fetchone()[0] == 0  # so it can come again
    assert main(["import", str(capture / "runs.jsonl"), str(feedback), "--db", str(store)]) == 0
    assert db.execute("SELECT count(*) FROM scores").fetchone()[0] == 2


def test_feedback_for_one_stored_run_and_one_unknown_keeps_the_first_and_names_the_second(tmp_path, capsys):
    store = tmp_path / "s.db"
    assert main(["import", str(write_jsonl(tmp_path, run(), run(CHILD))), "--db", str(store)]) == 0
    unknown = "33333333-3333-4333-8333-333333333333"
    feedback = write_jsonl(
        tmp_path,
        {"id": "f1", "run_id": CHILD, "key": "correct", "score": True, "feedback_source": {"type": "app"}},
        {"id": "f2", "run_id": unknown, "key": "correct", "score": 0},
        name="feedback.jsonl",
    )
    assert main(["import", str(feedback), "--db", str(store)]) == EXIT_PARTIAL
    printed = capsys.readouterr().err
    assert f"{feedback}: 2 scores (1 new) in 1 traces [langsmith]" in printed
    assert (
        f"{feedback}:score 'correct' (f2): rates span (run) {unknown}, which is not in the store" in printed
    )
    db = connect(store, readonly=True)
    assert [(i, s.name, s.value, s.source) for i, s in trace_scores(db, TRACE)] == [
        (CHILD, "correct", 1.0, "app")
    ]


def test_feedback_naming_its_trace_is_kept_before_its_runs_arrive(tmp_path):
    store = tmp_path / "s.db"
    feedback = write_jsonl(
        tmp_path,
        {"id": "f1", "run_id": CHILD, "trace_id": TRACE, "key": "tone", "value": "calm", "comment": "ok"},
        {"id": "f2", "run_id": TRACE, "trace_id": TRACE, "key": "overall", "score": 0.25},
        name="feedback.jsonl",
    )
    assert main(["import", str(feedback), "--db", str(store)]) == 0
    db = connect(store, readonly=True)
    assert list_traces(db) == []  # no spans yet: no trace to list
    assert main(["import", str(write_jsonl(tmp_path, run(), run(CHILD))), "--db", str(store)]) == 0
    assert sorted((i, s.name, s.value, s.label, s.comment) for i, s in trace_scores(db, TRACE)) == [
        ("", "overall", 0.25, None, None),
        (CHILD, "tone", None, "calm", "ok"),
    ]
    ((trace),) = list_traces(db)
    assert trace.scores == "overall 0.25, tone calm"


def test_detected_for_exactly_the_langsmith_captures(fixtures_dir):
    """Runs, bodies and feedback are LangSmith's; the capture's own indexes and every other
    fixture (OTLP, Langfuse, Jaeger, ...) are not."""
    for path in sorted(p for p in fixtures_dir.rglob("*") if p.is_file()):
        ours = "langsmith-runs" in path.parts and path.name not in ("ops.jsonl", "requests.jsonl")
        assert langsmith.sniff(Source(path).head()) == ours, path


# --- hand-made edge cases ----------------------------------------------------------------------


def run(run_id: str = TRACE, **fields: Any) -> dict[str, Any]:
    base = {
        "id": run_id,
        "trace_id": TRACE,
        "name": "step",
        "run_type": "chain",
        "start_time": T,
        "dotted_order": f"20260102T030405000006Z{TRACE}",
        "inputs": {"q": "hi"},
    }
    if run_id != TRACE:
        base["dotted_order"] += f".20260102T030405000007Z{run_id}"
        base["parent_run_id"] = TRACE
    return {**base, **fields}


def write_jsonl(tmp_path: Path, *records: Any, name: str = "runs.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_a_post_without_its_patch_is_a_running_span(tmp_path):
    spans, problems = read(write_jsonl(tmp_path, run()))
    (span,) = spans
    assert (span.end_ns, span.status, problems) == (None, Status.UNSET, [])
    assert span.start_ns == 1767323045000006000  # naive time read as UTC


def test_post_and_patch_merge_by_run_id(tmp_path):
    patch = {
        "id": TRACE,
        "trace_id": TRACE,
        "end_time": "2026-01-02T03:04:06+00:00",
        "outputs": {"answer": "yes"},
        "session_id": None,
    }
    spans, problems = read(write_jsonl(tmp_path, run(session_name="proj"), patch))
    (span,) = spans
    assert (span.input, span.output, span.service) == ({"q": "hi"}, {"answer": "yes"}, "proj")
    assert span.end_ns - span.start_ns == 999_994_000 and span.status == Status.OK and problems == []


def test_a_patch_without_its_post_is_named(tmp_path):
    minimal = {"id": CHILD, "end_time": T, "outputs": {}}
    full = {
        "id": TRACE,
        "trace_id": TRACE,
        "name": "late",
        "run_type": "chain",
        "start_time": T,
        "end_time": T,
        "outputs": {"a": 1},
    }
    spans, problems = read(write_jsonl(tmp_path, full, minimal))
    assert [s.span_id for s in spans] == [TRACE]
    assert f"line 2: run {CHILD}: an update (PATCH) without its create (POST); skipped" in problems[1]
    assert TRACE in problems[0] and "read without the run's inputs" in problems[0]


def test_a_malformed_line_is_reported_and_the_rest_read(tmp_path):
    path = tmp_path / "runs.jsonl"
    path.write_text(json.dumps(run()) + "\n" + '{"id": "x", "run_type": \n' + json.dumps(run(CHILD)) + "\n")
    spans, problems = read(path)
    assert {s.span_id for s in spans} == {TRACE, CHILD}
    assert len(problems) == 1 and ":line 2:" in problems[0]
    assert next(s for s in spans if s.span_id == CHILD).parent_id == TRACE


def test_parent_and_trace_come_from_dotted_order_when_ids_are_left_out(tmp_path):
    child = run(CHILD)
    del child["parent_run_id"], child["trace_id"], child["start_time"]
    spans, _ = read(write_jsonl(tmp_path, run(), child))
    span = next(s for s in spans if s.span_id == CHILD)
    assert (span.trace_id, span.parent_id, span.start_ns) == (TRACE, TRACE, 1767323045000007000)


def test_an_api_run_with_embedded_children_and_epoch_milliseconds(tmp_path):
    grandchild = {
        "id": "33333333-3333-4333-8333-333333333333",
        "trace_id": TRACE,
        "parent_run_id": CHILD,
        "name": "leaf",
        "run_type": "tool",
        "start_time": 1767323045001,
        "end_time": 1767323045002.5,
        "inputs": {},
    }
    child = run(CHILD, child_runs=[grandchild])
    spans, problems = read(write_jsonl(tmp_path, run(child_runs=[child], status="success")))
    assert problems == []
    assert {s.span_id: s.parent_id for s in spans} == {TRACE: None, CHILD: TRACE, grandchild["id"]: CHILD}
    leaf = next(s for s in spans if s.name == "leaf")
    assert (leaf.start_ns, leaf.end_ns, leaf.kind) == (1767323045001000000, 1767323045002500000, Kind.TOOL)


def test_only_model_runs_own_tokens_and_server_figures_are_read(tmp_path):
    message = {"type": "ai", "content": "x", "usage_metadata": {"input_tokens": 5, "output_tokens": 2}}
    chain = run(outputs={"output": message}, prompt_tokens=5, completion_tokens=2, total_cost=0.5)
    llm = run(
        CHILD,
        run_type="llm",
        outputs={},
        prompt_tokens=5,
        completion_tokens=2,
        prompt_cost="0.25",
        completion_cost="0.25",
        extra={"metadata": {"ls_model_name": "m"}},
    )
    spans, _ = read(write_jsonl(tmp_path, chain, llm))
    by_id = {s.span_id: s for s in spans}
    assert (by_id[TRACE].input_tokens, by_id[TRACE].cost_usd) == (None, None)
    assert by_id[TRACE].output == [
        {"role": "assistant", "content": "x", "tool_calls": [], "tool_call_id": None}
    ]
    llm_span = by_id[CHILD]
    assert (llm_span.input_tokens, llm_span.output_tokens, llm_span.total_tokens) == (5, 2, 7)
    assert (llm_span.cost_usd, llm_span.model) == (0.5, "m")


def multipart(*parts: tuple[str, bytes, str]) -> bytes:
    boundary = b"b0undary"
    out = b""
    for name, content, kind in parts:
        out += b"--" + boundary + b"\r\n"
        out += f'Content-Disposition: form-data; name="{name}"\r\nContent-Type: {kind}\r\n'.encode()
        out += f"Content-Length: {len(content)}\r\n\r\n".encode() + content + b"\r\n"
    return out + b"--" + boundary + b"--\r\n"


def test_a_multipart_part_that_is_not_json_is_reported(tmp_path):
    header = run()
    del header["inputs"]
    body = multipart(
        (f"post.{TRACE}", json.dumps(header).encode(), "application/json"),
        (f"post.{TRACE}.inputs", b"{not json", "application/json"),
        (f"post.{TRACE}.outputs", b'{"answer": 42}', "application/json"),
        (f"attachment.{TRACE}.image", b"\x89PNG", "image/png"),
    )
    path = tmp_path / "body.bin"
    path.write_bytes(body)
    spans, problems = read(path)
    (span,) = spans
    assert span.output == {"answer": 42} and span.input is None
    assert span.attributes["langsmith.attachments"]["image"] == {
        "name": "image",
        "mime_type": "image/png",
        "bytes": 4,
    }
    assert len(problems) == 1 and f"part 2 (post.{TRACE}.inputs): not JSON" in problems[0]


def test_zstd_bodies_are_read_and_a_truncated_one_is_reported(tmp_path):
    """A cut body keeps the runs of the blocks that arrived whole; one cut inside its only block
    yields nothing, and says why."""
    ids = [TRACE] + [f"{TRACE[:-6]}{n:06d}" for n in range(1, 300)]
    parts = [(f"post.{TRACE}", json.dumps(run()).encode(), "application/json")]
    for n, run_id in enumerate(ids[1:], start=1):
        text = " ".join(f"word{n * k % 977}" for k in range(300))
        parts.append(
            (f"post.{run_id}", json.dumps(run(run_id, inputs={"text": text})).encode(), "application/json")
        )
    whole = tmp_path / "body.zst"
    whole.write_bytes(zstandard.ZstdCompressor().compress(multipart(*parts)))
    assert [s.span_id for s in read(whole)[0]] == [TRACE, *sorted(ids[1:])]
    cut = tmp_path / "cut.zst"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 3])
    spans, problems = read(cut)
    assert 0 < len(spans) < len(ids) and TRACE in {s.span_id for s in spans}
    assert any("end of file: the compressed file is cut short" in p for p in problems)
    small = tmp_path / "small.zst"
    small.write_bytes(zstandard.ZstdCompressor().compress(multipart(parts[0]))[:-12])
    with pytest.raises(FormatError, match="cut short"):
        list(langsmith.read(Source(small), lambda n: None))


def test_cli_imports_and_prints_the_tree(fixtures_dir, tmp_path, capsys):
    capture = fixtures_dir / "langsmith-runs/capture-zstd"
    runs = runs_of(capture)
    root = next(r for r in runs if r["name"] == "pipeline_with_error")
    store = str(tmp_path / "store.db")
    assert main(["import", str(capture / "runs.jsonl"), "--db", store]) == 0
    assert "[langsmith]" in capsys.readouterr().err
    assert main(["tree", "--db", store, root["id"][:13]]) == 0
    lines = capsys.readouterr().out.splitlines()
    children = [r for r in runs if r.get("parent_run_id") == root["id"]]
    assert lines[0] == f"trace {root['trace_id']}: {1 + len(children)} spans"
    assert lines[1].startswith("pipeline_with_error  [CHAIN]") and "ERROR: RuntimeError" in lines[1]
    assert sorted(line.split()[0] for line in lines[2:]) == sorted(r["name"] for r in children)
    assert all(line.startswith("  ") for line in lines[2:])


# --- any record shape: read or reported, never a traceback ----------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
KEYS = (
    "id",
    "trace_id",
    "parent_run_id",
    "dotted_order",
    "name",
    "run_type",
    "start_time",
    "end_time",
    "inputs",
    "outputs",
    "error",
    "events",
    "extra",
    "session_name",
    "run_id",
    "key",
    "score",
    "feedback_source",
    "post",
    "patch",
    "runs",
    "prompt_tokens",
    "total_cost",
)
VALUES = {
    "id": st.sampled_from([TRACE, CHILD]) | JSON,
    "trace_id": st.sampled_from([TRACE]) | JSON,
    "start_time": st.sampled_from([T, "2026-01-02", "x"]) | JSON,
    "run_type": st.sampled_from(list(KINDS)) | JSON,
    "dotted_order": st.sampled_from([f"20260102T030405000006Z{TRACE}"]) | JSON,
}
RECORD = st.fixed_dictionaries({}, optional={k: VALUES.get(k, JSON) for k in KEYS})


@settings(max_examples=150, deadline=None)
@given(st.lists(RECORD | JSON, min_size=1, max_size=4))
def test_records_of_any_shape_are_read_or_reported(tmp_path_factory, records):
    path = tmp_path_factory.mktemp("fuzz") / "runs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    with contextlib.suppress(FormatError):
        list(langsmith.read(Source(path), lambda n: None))
