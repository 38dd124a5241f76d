"""The MLflow tracking server client: against real `mlflow server`s (SQLite and PostgreSQL backends,
slow) fed and read by MLflow's own client library, and against a loopback server that answers errors."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import nullcontext
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from spanscope.cli.entry import main
from spanscope.core.model import Span
from spanscope.core.remote.base import RemoteError, ServerURL, TraceQuery
from spanscope.core.remote.mlflow import MlflowClient
from spanscope.core.remote.registry import client_for, server_specs
from spanscope.core.store import connect
from spanscope.core.store.queries import count_traces, trace_scores, trace_span_count

NO_CREDENTIALS = {
    "MLFLOW_TRACKING_TOKEN": None,
    "MLFLOW_TRACKING_USERNAME": None,
    "MLFLOW_TRACKING_PASSWORD": None,
}
BIG_STEPS = 700  # three spans a step under one root: 2,101 spans
PAGED = 25

# Run with the MLflow venv's Python: feeds the server through MLflow's fluent tracing API (spans sent in
# the background as they end, flushed before a trace is assessed or read) and prints the ids the tests need.
FEED = f"""
import json
import mlflow
from mlflow.entities import AssessmentSource, SpanType

out = {{}}
mlflow.set_experiment("spanscope-a")

@mlflow.trace(name="agent run", span_type=SpanType.AGENT)
def big():
    for i in range({BIG_STEPS}):
        with mlflow.start_span(name=f"step {{i}}", span_type=SpanType.TOOL) as step:
            step.set_inputs({{"i": i, "text": f"input {{i}}"}})
            with mlflow.start_span(name="llm", span_type=SpanType.CHAT_MODEL) as llm:
                llm.set_inputs({{"messages": [{{"role": "user", "content": f"question {{i}}"}}]}})
                llm.set_outputs({{"choices": [{{"index": 0, "finish_reason": "stop",
                    "message": {{"role": "assistant", "content": f"answer {{i}}"}}}}]}})
                llm.set_attribute("mlflow.chat.tokenUsage",
                    {{"input_tokens": 10 + i, "output_tokens": 2, "total_tokens": 12 + i}})
            with mlflow.start_span(name="parse") as parse:
                parse.set_inputs(f"answer {{i}}")
                parse.set_outputs(["a", i])
            step.set_outputs({{"ok": True}})
    return "done"

big()
mlflow.flush_trace_async_logging()  # spans are sent as they end, in the background
out["big"] = mlflow.get_last_active_trace_id()

@mlflow.trace(name="answer", span_type=SpanType.AGENT)
def answer(question):
    with mlflow.start_span(name="llm call", span_type=SpanType.CHAT_MODEL) as span:
        span.set_inputs({{"messages": [{{"role": "user", "content": question}}], "model": "gpt-4o-mini"}})
        span.set_outputs({{"choices": [{{"index": 0, "finish_reason": "stop",
            "message": {{"role": "assistant", "content": "42"}}}}]}})
        span.set_attribute("mlflow.chat.tokenUsage",
            {{"input_tokens": 12, "output_tokens": 3, "total_tokens": 15}})
        out["llm_span"] = span.span_id
    return "42"

answer("what?")
mlflow.flush_trace_async_logging()
small = out["small"] = mlflow.get_last_active_trace_id()
mlflow.log_feedback(trace_id=small, name="relevance", value=0.75, rationale="on topic",
    source=AssessmentSource(source_type="HUMAN", source_id="alice"), span_id=out["llm_span"])
mlflow.log_feedback(trace_id=small, name="correct", value=True,
    source=AssessmentSource(source_type="LLM_JUDGE", source_id="judge"))
first = mlflow.log_feedback(trace_id=small, name="tone", value="rude",
    source=AssessmentSource(source_type="LLM_JUDGE", source_id="judge"))
mlflow.override_feedback(trace_id=small, assessment_id=first.assessment_id, value="polite",
    source=AssessmentSource(source_type="HUMAN", source_id="bob"))
mlflow.log_expectation(trace_id=small, name="expected", value="42")

@mlflow.trace(name="fails")
def fails():
    raise ValueError("boom")

try:
    fails()
except ValueError:
    pass
out["error"] = mlflow.get_last_active_trace_id()

mlflow.set_experiment("spanscope-b")
for i in range({PAGED}):
    with mlflow.start_span(name=f"tiny {{i}}") as tiny:
        tiny.set_inputs(i)
mlflow.flush_trace_async_logging()
print(json.dumps(out))
"""

# Run with the MLflow venv's Python: what MLflow's own client reads of the given traces, the trace ids
# of experiment spanscope-b page by page, and how long its get_trace took for the first trace.
READ = """
import json, sys, time
import mlflow
from mlflow import MlflowClient

client = MlflowClient()
out = {"traces": {}}
for number, trace_id in enumerate(sys.argv[1:]):
    started = time.perf_counter()
    trace = client.get_trace(trace_id)
    if number == 0:
        out["get_trace_s"] = time.perf_counter() - started
    out["traces"][trace_id] = {
        "spans": [
            {
                "span_id": s.span_id, "parent_id": s.parent_id, "name": s.name,
                "start_ns": s.start_time_ns, "end_ns": s.end_time_ns,
                "inputs": s.inputs, "outputs": s.outputs,
                "usage": s.get_attribute("mlflow.chat.tokenUsage"),
                "status": s.status.status_code,
            }
            for s in trace.data.spans
        ],
        "assessments": [
            {"id": a.assessment_id, "name": a.name, "value": a.value, "span_id": a.span_id,
             "valid": a.valid, "source": a.source.source_type, "rationale": a.rationale}
            for a in trace.info.assessments
        ],
    }
experiment = client.get_experiment_by_name("spanscope-b").experiment_id
ids, token = [], None
while True:
    page = client.search_traces(locations=[experiment], max_results=10, page_token=token,
                                include_spans=False, order_by=["timestamp_ms DESC"])
    ids += [t.info.trace_id for t in page]
    token = page.token
    if not token:
        break
out["paged"] = ids
print(json.dumps(out))
"""


# --- real servers (slow) -------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def mlflow_fed(request) -> Iterator[tuple[str, dict, dict]]:
    """A fed MLflow server on each backend: (its URL, the fed trace ids, what MLflow's client reads)."""
    from mlflow_server import MlflowServer, ensure_venv
    from postgres_server import PostgresServer

    installed_s = ensure_venv()
    with PostgresServer() if request.param == "postgresql" else nullcontext() as pg:
        backend = pg.url("mlflow", driver="postgresql+psycopg2") if pg else None
        with MlflowServer(backend) as server:
            started = time.perf_counter()
            fed = json.loads(server.run(FEED).strip().splitlines()[-1])
            fed_s = time.perf_counter() - started
            truth = json.loads(
                server.run(READ, fed["big"], fed["small"], fed["error"]).strip().splitlines()[-1]
            )
            print(
                f"\nmlflow {request.param}: install {installed_s:.1f} s (0: cached), "
                f"start {server.start_s:.1f} s, feed {fed_s:.1f} s"
            )
            yield server.url, fed, truth


def _client(url: str) -> MlflowClient:
    client = client_for(f"mlflow+{url}")
    assert isinstance(client, MlflowClient)
    return client


def _hex(trace_id: str) -> str:
    return trace_id.removeprefix("tr-")


def _spans(records: list) -> dict[str, Span]:
    return {record.span_id: record for record in records if isinstance(record, Span)}


@pytest.mark.slow
def test_a_trace_of_2000_spans_is_what_mlflow_itself_reads(mlflow_fed):
    url, fed, truth = mlflow_fed
    client = _client(url)
    api_started = time.perf_counter()
    raw = httpx.get(f"{url}/api/3.0/mlflow/traces/get", params={"trace_id": fed["big"]}, timeout=300)
    api_s = time.perf_counter() - api_started
    assert raw.status_code == 200
    reports: list[tuple[str, int, int | None]] = []
    started = time.perf_counter()
    fetched = client.fetch_trace(_hex(fed["big"]), progress=lambda *a: reports.append(a))
    ours_s = time.perf_counter() - started
    expected = truth["traces"][fed["big"]]["spans"]
    spans = _spans(fetched.records)
    print(
        f"\n{len(spans)}-span trace: MLflow's API {api_s:.3f} s, MLflow's client get_trace "
        f"{truth['get_trace_s']:.3f} s, Spanscope fetch+parse {ours_s:.3f} s (x{ours_s / api_s:.2f} the API)"
    )
    assert len(expected) == 1 + 3 * BIG_STEPS and len(spans) == len(expected)
    assert fetched.trace_id == _hex(fed["big"]) and not fetched.problems
    assert reports[-1] == ("spans", len(expected), len(expected))
    for want in expected:
        got = spans[want["span_id"]]
        assert got.trace_id == fetched.trace_id
        assert (got.parent_id, got.name, got.start_ns, got.end_ns) == (
            want["parent_id"],
            want["name"],
            want["start_ns"],
            want["end_ns"],
        )
        assert got.attributes.get("mlflow.spanInputs") == want["inputs"]
        assert got.attributes.get("mlflow.spanOutputs") == want["outputs"]
        usage = want["usage"]
        assert (got.input_tokens, got.output_tokens) == (
            (usage["input_tokens"], usage["output_tokens"]) if usage else (None, None)
        )
    root = next(span for span in spans.values() if span.parent_id is None)
    assert (
        root.service == "spanscope-a"
        and root.attributes["mlflow.trace_tags"]["mlflow.traceName"] == "agent run"
    )
    llm = next(span for span in spans.values() if span.name == "llm")
    assert llm.output == [
        {"role": "assistant", "content": llm.output[0]["content"], "tool_calls": [], "tool_call_id": None}
    ]


@pytest.mark.slow
def test_assessments_come_as_scores_on_their_spans_and_overridden_ones_are_left_out(mlflow_fed):
    url, fed, truth = mlflow_fed
    fetched = _client(url).fetch_trace(fed["small"])
    spans = _spans(fetched.records)
    expected = [a for a in truth["traces"][fed["small"]]["assessments"] if a["valid"] is not False]
    scores = {score.key: (span, score) for span in spans.values() for score in span.scores}
    assert set(scores) == {a["id"] for a in expected} and len(expected) == 4
    for want in expected:
        span, score = scores[want["id"]]
        assert score.name == want["name"]
        assert span.span_id == (
            want["span_id"] or next(s.span_id for s in spans.values() if s.parent_id is None)
        )
        assert score.trace_level == (want["span_id"] is None)
        value = want["value"]
        if isinstance(value, bool):
            assert (score.value, score.label) == (float(value), str(value).lower())
        elif isinstance(value, float):
            assert score.value == value and score.comment == want["rationale"]
        else:
            assert score.label == value
    tone = next(score for _, score in scores.values() if score.name == "tone")
    assert (tone.label, tone.source) == ("polite", "HUMAN")
    assert (
        next(score for _, score in scores.values() if score.name == "expected").source == "HUMAN expectation"
    )


@pytest.mark.slow
def test_the_trace_list_is_paged_with_mlflows_own_tokens_and_filters(mlflow_fed):
    url, fed, truth = mlflow_fed
    client = _client(url)
    assert {"spanscope-a", "spanscope-b"} <= set(client.projects())
    ids, cursor, pages = [], None, 0
    while True:
        page = client.list_traces(TraceQuery(project="spanscope-b", page_size=10, cursor=cursor))
        pages += 1
        ids += [trace.trace_id for trace in page.traces]
        assert all(trace.project == "spanscope-b" and trace.span_count == 1 for trace in page.traces)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == 3 and ids == [_hex(trace_id) for trace_id in truth["paged"]] and len(ids) == PAGED
    a = client.list_traces(TraceQuery(project="spanscope-a"))
    by_id = {trace.trace_id: trace for trace in a.traces}
    assert set(by_id) == {_hex(fed[key]) for key in ("big", "small", "error")} and a.next_cursor is None
    big, small = by_id[_hex(fed["big"])], by_id[_hex(fed["small"])]
    assert (big.name, big.span_count, big.error) == ("agent run", 1 + 3 * BIG_STEPS, False)
    assert small.total_tokens == 15 and small.start_ns and small.duration_ns is not None
    errors = client.list_traces(TraceQuery(project="spanscope-a", errors_only=True)).traces
    assert [trace.trace_id for trace in errors] == [_hex(fed["error"])] and errors[0].error
    named = client.list_traces(TraceQuery(project="spanscope-a", filter="tags.`mlflow.traceName` = 'answer'"))
    assert [trace.trace_id for trace in named.traces] == [_hex(fed["small"])]
    newest = max(trace.start_ns for trace in a.traces)
    assert client.list_traces(TraceQuery(project="spanscope-a", since_ns=newest + 1_000_000)).traces == []
    assert len(client.list_traces(TraceQuery(page_size=100)).traces) == 3 + PAGED


@pytest.mark.slow
def test_pull_stores_an_experiments_traces_whole_and_traces_lists_without_fetching(
    mlflow_fed, tmp_path, capsys
):
    url, fed, truth = mlflow_fed
    db = tmp_path / "pulled.db"
    assert main(["pull", f"mlflow+{url}", "--experiment", "spanscope-a", "--db", str(db)]) == 0
    store = connect(db, readonly=True)
    try:
        assert count_traces(store) == 3
        assert {key: trace_span_count(store, _hex(fed[key])) for key in ("big", "small", "error")} == {
            "big": 1 + 3 * BIG_STEPS,
            "small": 2,
            "error": 1,
        }
        valid = {a["id"] for a in truth["traces"][fed["small"]]["assessments"] if a["valid"] is not False}
        assert {score.key for _, score in trace_scores(store, _hex(fed["small"]))} == valid
    finally:
        store.conn.close()
    capsys.readouterr()
    assert (
        main(["traces", f"mlflow+{url}", "--project", "spanscope-b", "--db", str(db), "--limit", "30"]) == 0
    )
    listed = [line for line in capsys.readouterr().out.splitlines()[1:] if line.strip()]
    assert [re.search(r"[0-9a-f]{32}", line).group() for line in listed] == [_hex(t) for t in truth["paged"]]
    assert not any(line.startswith("L") for line in listed)  # listed, not fetched


@pytest.mark.slow
def test_server_errors_name_the_server_and_say_why(mlflow_fed):
    url = mlflow_fed[0]
    client = _client(url)
    with pytest.raises(RemoteError) as missing:
        client.fetch_trace("0" * 32)
    host = url.removeprefix("http://")
    assert missing.value.status == 404 and str(missing.value) == (
        f"MLflow server at {host}: it has no trace {'0' * 32} "
        f"(HTTP 404: Trace with ID tr-{'0' * 32} is not found.)"
    )
    with pytest.raises(RemoteError) as refused:
        client.list_traces(TraceQuery(project="spanscope-a", filter="foo bar ="))
    assert refused.value.status == 400 and not refused.value.retryable
    assert str(refused.value) == (
        f"MLflow server at {host} rejected the trace search (HTTP 400: Invalid clause(s) in filter string: "
        "'foo bar', '=')"
    )
    with pytest.raises(RemoteError) as no_experiment:
        client.list_traces(TraceQuery(project="nobody's"))
    assert str(no_experiment.value).startswith(
        f'MLflow server at {host}: it has no experiment named "nobody\'s"'
    )


# --- a loopback server that answers errors ---------------------------------------------------------


class _Answers(BaseHTTPRequestHandler):
    """Answers each request with the next of the server's scripted (status, headers, body, delay)."""

    def _answer(self) -> None:
        server = self.server
        length = int(self.headers.get("Content-Length") or 0)
        server.seen.append((self.command, self.path, dict(self.headers), self.rfile.read(length)))
        status, headers, body, delay = server.script.pop(0) if len(server.script) > 1 else server.script[0]
        time.sleep(delay)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(ConnectionError):  # a client that gave up waiting
            self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def answering() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answers)
    server.seen, server.script = [], [(500, {}, b"", 0.0)]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _url(server: ThreadingHTTPServer) -> ServerURL:
    return ServerURL("mlflow", f"http://127.0.0.1:{server.server_address[1]}")


def _error(code: str, message: str) -> bytes:
    return json.dumps({"error_code": code, "message": message}).encode()


def test_the_mlflow_scheme_is_registered():
    assert server_specs()["mlflow"].default_port == 5000
    assert isinstance(client_for("mlflow+http://127.0.0.1:5000"), MlflowClient)


def test_401_says_which_variables_to_set_and_never_shows_the_token(answering):
    answering.script = [(401, {}, _error("UNAUTHENTICATED", "You are not authenticated"), 0.0)]
    with pytest.raises(RemoteError) as bare:
        MlflowClient(_url(answering), NO_CREDENTIALS).projects()
    assert bare.value.status == 401
    assert str(bare.value) == (
        f"MLflow server at {_url(answering).host} asks for credentials for the experiment list (HTTP 401: "
        "You are not authenticated): set MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and "
        "MLFLOW_TRACKING_PASSWORD"
    )
    token = "s3cret-token-value"
    with pytest.raises(RemoteError) as wrong:
        MlflowClient(_url(answering), {**NO_CREDENTIALS, "MLFLOW_TRACKING_TOKEN": token}).fetch_trace(
            "a" * 32
        )
    assert "refused our credentials" in str(wrong.value) and token not in str(wrong.value)
    assert answering.seen[-1][2]["Authorization"] == f"Bearer {token}"
    assert answering.seen[-1][1] == f"/api/3.0/mlflow/traces/get?trace_id=tr-{'a' * 32}"
    basic = {**NO_CREDENTIALS, "MLFLOW_TRACKING_USERNAME": "ann", "MLFLOW_TRACKING_PASSWORD": "pw"}
    with pytest.raises(RemoteError):
        MlflowClient(_url(answering), basic).projects()
    assert answering.seen[-1][2]["Authorization"] == "Basic YW5uOnB3"


def test_429_is_tried_again_after_what_retry_after_asks(answering):
    answering.script = [
        (429, {"Retry-After": "0.2"}, b"", 0.0),
        (200, {}, json.dumps({"experiments": [{"experiment_id": "7", "name": "e"}]}).encode(), 0.0),
    ]
    started = time.perf_counter()
    assert MlflowClient(_url(answering), NO_CREDENTIALS).projects() == ["e"]
    assert len(answering.seen) == 2 and time.perf_counter() - started >= 0.2
    answering.script = [(429, {"Retry-After": "0"}, b"", 0.0)]
    with pytest.raises(RemoteError) as limited:
        MlflowClient(_url(answering), NO_CREDENTIALS).projects()
    assert (limited.value.status, limited.value.retryable, limited.value.retry_after_s) == (429, True, 0.0)


def test_5xx_timeouts_junk_and_an_unreachable_server_are_one_clear_line(answering):
    client = MlflowClient(_url(answering), NO_CREDENTIALS, timeout_s=0.3)
    answering.script = [(500, {}, _error("INTERNAL_ERROR", "database\nis locked"), 0.0)]
    with pytest.raises(RemoteError) as failed:
        client.projects()
    assert failed.value.retryable and str(failed.value).endswith(
        "failed on the experiment list (HTTP 500: database is locked); try again later"
    )
    answering.script = [(200, {}, b"<html>login</html>", 0.0)]
    with pytest.raises(RemoteError, match=r"the experiment list is not JSON \(HTTP 200, no content type\)"):
        client.projects()
    answering.script = [(200, {}, b"[]", 0.0)]
    with pytest.raises(RemoteError, match="the experiment list is not a JSON object; is http"):
        client.projects()
    answering.script = [(200, {}, b"{}", 1.0)]
    with pytest.raises(RemoteError, match=r"the experiment list did not answer within 0\.3 s") as slow:
        client.projects()
    assert slow.value.retryable
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    with pytest.raises(RemoteError, match=f"MLflow server at 127.0.0.1:{closed} is unreachable") as away:
        MlflowClient(ServerURL("mlflow", f"http://127.0.0.1:{closed}"), NO_CREDENTIALS).projects()
    assert away.value.retryable and "\n" not in str(away.value)
