"""`spanscope replay` against a real OpenAI-compatible server on loopback: a capture's traces replayed
into the store and the commands it says to run next working on the pair, a second run replaying
nothing more, and each way an endpoint fails said on one line with a non-zero exit; Ctrl+C stops the
run and stores no half trace."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from openai_server import Fault, OpenAICompatibleServer
from spanscope.cli import main
from spanscope.core.endpoints.config import Endpoint, save_endpoints
from spanscope.core.store import connect, import_files
from spanscope.core.store.queries import count_traces
from spanscope.core.store.replays import replays_of

AGENTS = "openai-agents/travel-desk-openinference.otlp.json"
TRAVEL = "6644f435383191517b5da4846b6f71d4"
SRC = Path(__file__).resolve().parents[1] / "src"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def server():
    with OpenAICompatibleServer() as server:
        yield server


@pytest.fixture
def store(tmp_path, fixtures_dir) -> Path:
    path = tmp_path / "store.db"
    import_files(path, [fixtures_dir / AGENTS])
    return path


def test_a_capture_is_replayed_into_the_store_and_the_next_commands_work_on_it(
    tmp_path, fixtures_dir, server, capsys
):
    db = tmp_path / "replays.db"
    argv = (
        "replay",
        fixtures_dir / AGENTS,
        "--db",
        db,
        "--endpoint",
        server.base_url,
        "--model",
        "local-small",
    )
    code, out, err = run(capsys, *argv)
    assert code == 1, err  # one call of the capture recorded no input: its trace is listed, not sent
    lines = out.splitlines()
    assert re.fullmatch(f"run [0-9a-f]{{10}}: local-small at {re.escape(server.base_url)}", lines[0])
    assert lines[1] == "replayed 3 traces (7 calls), 1 failed"
    assert (
        "  c5185e5641b503f46c95ac26e18c43c8 span cb11cdcb8d987344: no input was recorded for this call: "
        "nothing to send" in lines
    )
    assert err.endswith(
        "spanscope: 1 trace not replayed (listed above); run the same command again to retry them\n"
    )
    assert "skipped 3833042a3c89c41e4bf9fb309a7e9201: it has no LLM calls" in lines
    assert (
        lines[lines.index("next:") + 2]
        == f"  spanscope stats --db {db} --by model   (or Compare models in the app)"
    )
    diff = lines[lines.index("next:") + 1].split()
    assert diff[:4] == ["spanscope", "diff", "--db", str(db)] and diff[4] == TRAVEL
    code, diffed, _ = run(capsys, *diff[1:])
    assert code == 0 and "steps: 14 same, 4 changed, 0 moved, 0 added, 0 removed" in diffed
    code, _, found = run(capsys, "search", "--db", db, "kind:llm model:local-small")
    assert code == 0 and found.startswith("7 matching spans")
    code, checked, _ = run(capsys, "check", "--db", db, "--rule", 'all: count(model == "local-small") == 7')
    assert code == 0, checked
    code, stats, _ = run(capsys, "stats", "--db", db, "--by", "model", "--json")
    calls = {row["group"]: row["calls"] for row in map(orjson.loads, stats.splitlines())}
    assert calls["local-small"] == 7 and calls["gpt-4o-2024-08-06"] == 3
    # The same command again: the same run, with only the trace it could not send left.
    code, again, _ = run(capsys, *argv)
    assert code == 2 and "replayed 0 traces (0 calls), 3 replayed before in this run, 1 failed" in again
    assert len(server.requests) == 7


def test_a_store_needs_a_selection_and_bad_options_are_named(store, server, capsys):
    base = ("replay", store, "--endpoint", server.base_url, "--model", "m")
    code, _, err = run(capsys, *base)
    assert code == 2 and "say which traces to replay: --trace ID or --filter EXPR" in err
    code, _, err = run(capsys, *base, "--trace", "6461179094c7", "--filter", "model:gpt-4o-2024*")
    assert (code, err) == (2, "spanscope: the filter matches no LLM calls of those traces\n")
    code, _, err = run(capsys, *base, "--trace", TRAVEL, "--concurrency", "0")
    assert (code, err) == (2, "spanscope: --concurrency must be at least 1\n")
    code, _, err = run(capsys, "replay", store, "--endpoint", "ollama", "--model", "m", "--trace", TRAVEL)
    assert code == 2 and "no endpoint named 'ollama'" in err
    code, _, err = run(capsys, *base, "--filter", "kind:tool")
    assert code == 2 and "only LLM calls are replayed" in err
    assert server.requests == []


def test_a_refused_key_is_one_line_and_nothing_is_stored(store, capsys, monkeypatch):
    monkeypatch.setenv("SPANSCOPE_API_KEY", "sk-wrong-4b1d")
    with OpenAICompatibleServer(api_key="sk-right") as server:
        code, out, err = run(
            capsys, "replay", store, "--endpoint", server.base_url, "--model", "m", "--trace", TRAVEL
        )
    assert code == 2
    assert err == (
        f"spanscope: stopped: 401 from {server.base_url}: the API key was refused (Incorrect API key "
        "provided.); check $SPANSCOPE_API_KEY\n"
    )
    assert "sk-wrong" not in out + err
    assert count_traces(connect(store, readonly=True)) == 5


def test_a_rate_limit_past_the_retries_fails_the_trace_and_says_to_run_again(store, server, capsys):
    server.faults.extend([Fault.RATE_LIMITED] * 3)  # the call and its two retries, each after 1 s
    argv = ("replay", store, "--endpoint", server.base_url, "--model", "m", "--concurrency", "1")
    code, out, err = run(capsys, *argv, "--trace", TRAVEL, "--trace", "6461179094c7")
    assert code == 1, err
    assert "replayed 1 trace (2 calls), 1 failed" in out
    assert (
        f"  {TRAVEL} span 83a8a64eafa5493f: 429 rate limited by {server.base_url} after 2 retries; "
        "it asks to wait 1 s: Rate limit reached for requests." in out.splitlines()
    )
    assert err.endswith(
        "spanscope: 1 trace not replayed (listed above); run the same command again to retry them\n"
    )
    code, out, _ = run(capsys, *argv, "--trace", TRAVEL, "--trace", "6461179094c7")
    assert code == 0 and "replayed 1 trace (4 calls), 1 replayed before in this run" in out


def test_a_server_error_and_a_silent_endpoint_are_named(store, server, capsys):
    save_endpoints([Endpoint("impatient", server.base_url, timeout_s=0.5, max_retries=0)])
    argv = (
        "replay",
        store,
        "--endpoint",
        "impatient",
        "--model",
        "m",
        "--trace",
        TRAVEL,
        "--concurrency",
        "1",
    )
    server.faults.append(Fault.STALL)  # the run's first call: the endpoint never answered
    code, _, err = run(capsys, *argv)
    assert (code, err) == (
        2,
        f"spanscope: stopped: no answer from {server.base_url} within 0.5 s while running 'm'\n",
    )
    server.faults.append(Fault.SERVER_ERROR)
    code, out, _ = run(capsys, *argv)
    assert code == 2
    assert (
        f"  {TRAVEL} span 83a8a64eafa5493f: 500 server error from {server.base_url} while running 'm': "
        "The server had an error while processing your request." in out.splitlines()
    )


def test_an_endpoint_that_is_not_there_is_one_line(store, capsys):
    code, _, err = run(
        capsys, "replay", store, "--endpoint", "http://127.0.0.1:9/v1", "--model", "m", "--trace", TRAVEL
    )
    assert code == 2
    assert err.startswith("spanscope: stopped: cannot reach http://127.0.0.1:9/v1 while running 'm': ")
    assert err.endswith("(is the server running?)\n") and err.count("\n") == 1


def test_ctrl_c_stops_the_run_and_stores_no_half_trace(store, server):
    server.delay_s = 0.5
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    argv = ["replay", str(store), "--endpoint", server.base_url, "--model", "m", "--trace", TRAVEL]
    process = subprocess.Popen(
        [sys.executable, "-m", "spanscope.cli", *argv],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 20
    while not server.requests and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 130, err
    assert b"cancelled: the traces whose calls all answered are stored, the others are not" in out
    db = connect(store, readonly=True)
    assert count_traces(db) == 5 and replays_of(db, TRAVEL) == []


def test_progress_on_a_terminal_rewrites_one_line_and_clears_it(store, server, capsys, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    code, out, err = run(
        capsys, "replay", store, "--endpoint", server.base_url, "--model", "m", "--trace", TRAVEL
    )
    assert code == 0 and "replayed 1 trace (4 calls)" in out
    assert "\r\033[Kreplaying… 4 of 4 calls, 1 of 1 traces stored" in err
    assert err.endswith("\r\033[K")
