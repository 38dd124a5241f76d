"""`spanscope pull` and `spanscope traces URL` against a Jaeger query service's documented answers over
loopback HTTP (tests/documented_servers.py): every trace stored exactly once and whole, across an
interrupted pull and its resumption; a failed trace listed and not stored; the server's list read a
page at a time, never all of it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from documented_servers import DocumentedServer
from spanscope.cli.entry import main
from spanscope.core.remote.base import ServerURL, TraceQuery
from spanscope.core.remote.cache import CacheStore, cache_path, read_cache_limit
from spanscope.core.remote.pull import PullArgs, PullState, run, since_ns
from spanscope.core.store import connect, is_store
from test_remote_cache import JaegerTraces, client_of

SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.fixture
def cache_home(tmp_path, monkeypatch) -> Path:
    """The user's cache folder, of the test's own."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache-home"))
    return tmp_path / "cache-home"


@pytest.fixture
def jaeger(tmp_path):
    with DocumentedServer() as server:
        yield JaegerTraces(server, tmp_path / "served")


def url_of(jaeger: JaegerTraces) -> str:
    return f"jaeger+{jaeger.server.base_url}"


def stored(path: Path) -> dict[str, int]:
    """The store's traces and their span counts."""
    db = connect(path, readonly=True)
    try:
        return dict(db.execute("SELECT trace_id, span_count FROM traces").fetchall())
    finally:
        db.conn.close()


def sources(path: Path) -> int:
    db = connect(path, readonly=True)
    try:
        return db.execute("SELECT count(*) FROM sources").fetchone()[0]
    finally:
        db.conn.close()


class StopAfter(PullState):
    """Cancels the pull once `k` traces are stored (as Ctrl+C would between two of them)."""

    def __init__(self, k: int) -> None:
        super().__init__()
        self.k = k

    def report(self, value: object, final: bool = False) -> None:
        if getattr(value, "fetched", 0) >= self.k:
            self.cancel()


def test_an_interrupted_pull_resumes_and_stores_every_trace_once_and_whole(jaeger, tmp_path):
    ids = [jaeger.add(n, f"word{n}", spans=2 + n % 4) for n in range(1, 24)]
    jaeger.route_list(page_size=5)
    store = CacheStore(tmp_path / "pulled.db", ServerURL("jaeger", jaeger.server.base_url))
    query = TraceQuery(project="agent", page_size=5)
    first = run(PullArgs(client_of(jaeger), store, query, concurrency=3), StopAfter(7))
    assert first.stopped == "stopped by the user" and len(first.fetched) >= 7
    after_first = stored(store.path)
    assert set(after_first) == set(first.fetched)
    fetched_before = len(jaeger.fetches())

    second = run(PullArgs(client_of(jaeger), store, query, concurrency=3), PullState())
    assert second.stopped is None and second.failures == []
    assert second.already == len(after_first) and second.listed == len(ids)
    refetched = jaeger.fetches()[fetched_before:]
    assert not set(refetched) & set(after_first)  # what was stored is never fetched again
    assert stored(store.path) == {t: len(jaeger.traces[t]["spans"]) for t in ids}
    assert sources(store.path) == len(ids)  # one source per trace: each stored exactly once
    lists = [r for r in jaeger.server.requests if r.path == "/api/traces"]
    assert all(r.param("limit") == "5" for r in lists)


def test_a_failed_trace_is_one_line_not_stored_and_fetched_by_the_next_pull(jaeger, cache_home, capsys):
    ids = [jaeger.add(n, f"word{n}") for n in range(1, 9)]
    jaeger.route_list(page_size=100)
    jaeger.server.fail(500, path=f"/api/traces/{ids[3]}")
    code = main(["pull", url_of(jaeger), "--project", "agent", "--concurrency", "2"])
    out, err = capsys.readouterr()
    assert code == 1
    failed = [line for line in out.splitlines() if line.startswith("failed")]
    assert len(failed) == 1 and failed[0].startswith(f"failed {ids[3]}: ") and "500" in failed[0]
    assert "fetched 7 traces (21 spans), 1 failed" in out
    assert "run the same pull to retry" in err
    path = cache_path(ServerURL("jaeger", jaeger.server.base_url))
    assert path.parent == cache_home / "spanscope" / "remote"
    assert set(stored(path)) == set(ids) - {ids[3]}

    assert main(["pull", url_of(jaeger), "--project", "agent"]) == 0
    out, _ = capsys.readouterr()
    assert "fetched 1 trace (3 spans), 7 already in the store" in out
    assert set(stored(path)) == set(ids)


def test_pull_named_traces_into_a_store_of_ones_own(jaeger, tmp_path, capsys):
    ids = [jaeger.add(n, f"word{n}") for n in range(1, 5)]
    db = tmp_path / "mine.db"
    code = main(["pull", url_of(jaeger), "--trace", ids[0], "--trace", ids[2], "--db", str(db)])
    assert code == 0 and set(stored(db)) == {ids[0], ids[2]}
    assert not any(p == "/api/traces" for p in jaeger.server.paths())  # nothing listed
    assert main(["pull", url_of(jaeger), "--trace", "ffff", "--db", str(db)]) == 1
    out, _ = capsys.readouterr()
    assert "failed ffff: " in out and "no trace ffff" in out


def test_refused_credentials_stop_the_pull_naming_the_variable(jaeger, cache_home, capsys):
    for n in range(1, 6):
        jaeger.add(n, f"word{n}")
    jaeger.route_list(page_size=100)
    jaeger.server.require_auth("Bearer right")
    assert main(["pull", url_of(jaeger), "--project", "agent"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "JAEGER_TOKEN" in err


def test_a_limit_and_the_cache_size_limit(jaeger, cache_home, user_config_dir, capsys):
    for n in range(1, 7):
        jaeger.add(n, f"word{n}")
    jaeger.route_list(page_size=100)
    assert main(["pull", url_of(jaeger), "--project", "agent", "--limit", "2", "--cache-limit", "500MB"]) == 0
    assert read_cache_limit() == 500 * 10**6
    path = cache_path(ServerURL("jaeger", jaeger.server.base_url))
    assert len(stored(path)) == 2
    capsys.readouterr()
    # a limit below what the cache holds: the older traces go, this pull's stay
    assert main(["pull", url_of(jaeger), "--project", "agent", "--limit", "2", "--cache-limit", "1KB"]) == 0
    out = capsys.readouterr().out
    assert "2 least recently opened evicted" in out and "over its" in out
    assert len(stored(path)) == 2


def test_bad_arguments_say_what_to_write(capsys):
    assert main(["pull", "jaegr+http://x:1"]) == 2
    assert "jaeger+http://" in capsys.readouterr().err
    assert main(["pull", "jaeger+http://x:1", "--since", "yesterday"]) == 2
    assert "30m, 12h, 2d, 1w" in capsys.readouterr().err
    assert main(["pull", "jaeger+http://x:1", "--trace", "a", "--project", "p"]) == 2
    assert main(["pull", "jaeger+http://x:1", "--cache-limit", "lots"]) == 2
    assert "500MB" in capsys.readouterr().err


def test_since_is_an_age_or_a_date():
    now = 10**19
    assert since_ns("2d", now) == now - 2 * 86400 * 10**9
    assert since_ns("2026-12-01") == 1796083200 * 10**9


def test_ctrl_c_stops_cleanly_and_the_same_command_continues(jaeger, tmp_path):
    ids = [jaeger.add(n, f"word{n}") for n in range(1, 31)]
    jaeger.route_list(page_size=100)
    jaeger.server.stall(0.2, times=1000)  # every answer slow: the pull takes seconds
    db = tmp_path / "pulled.db"
    env = {**os.environ, "PYTHONPATH": str(SRC), "XDG_CACHE_HOME": str(tmp_path / "c")}
    command = [
        sys.executable,
        "-m",
        "spanscope.cli",
        "pull",
        url_of(jaeger),
        "--project",
        "agent",
        "--db",
        str(db),
    ]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (is_store(db) and stored(db)):
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    started = time.monotonic()
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert time.monotonic() - started < 2  # in-flight requests are not waited for
    assert "run the same command again" in err
    partial = stored(db)
    assert 0 < len(partial) < len(ids)
    assert all(count == 3 for count in partial.values())

    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"{len(partial):,} already in the store" in done.stdout
    assert stored(db) == dict.fromkeys(ids, 3) and sources(db) == len(ids)


# --- spanscope traces URL ------------------------------------------------------------------------


def test_traces_of_a_server_are_listed_with_the_local_ones_marked(jaeger, cache_home, capsys):
    ids = [jaeger.add(n, f"word{n}") for n in range(1, 8)]
    jaeger.route_list(page_size=100)
    assert main(["pull", url_of(jaeger), "--trace", ids[2]]) == 0
    capsys.readouterr()
    fetched = len(jaeger.fetches())
    assert main(["traces", url_of(jaeger), "--project", "agent"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["start", "(UTC)", "trace"]
    listed = [re.search(r"[0-9a-f]{32}", line).group() for line in out[1:]]
    assert listed == ids[::-1]  # newest first
    assert [line.startswith("L") for line in out[1:]] == [t == ids[2] for t in listed]
    assert len(jaeger.fetches()) == fetched  # listing fetches nothing

    assert main(["traces", url_of(jaeger), "--project", "agent", "--json", "--limit", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and f'"trace_id":"{ids[-1]}"' in lines[0]


def test_a_listing_of_100000_traces_is_read_a_page_at_a_time(tmp_path, cache_home, capsys):
    """The server holds 100,000 traces in 1,000 pages: the first page is shown after one request, in
    under 200 ms on our side, and each further page is asked for only when it is to be shown."""
    folder = tmp_path / "pages"
    folder.mkdir()
    with DocumentedServer() as server:
        start_us = 1_800_000_000_000_000
        end = None
        for page in range(1000):
            traces = []
            for k in range(100):
                n = page * 100 + k
                trace_id = f"{n + 1:032x}"
                at = start_us - n * 1000
                traces.append(
                    f'{{"traceID":"{trace_id}","spans":[{{"traceID":"{trace_id}","spanID":"{n + 1:016x}",'
                    f'"operationName":"agent run {n}","references":[],"startTime":{at},"duration":900,'
                    f'"tags":[],"logs":[],"processID":"p1"}}],"processes":{{"p1":{{"serviceName":"agent"}}}}}}'
                )
            body = folder / f"{page}.json"
            body.write_text('{"data":[' + ",".join(traces) + "]}")
            server.route(
                "/api/traces", body, when={"service": "agent"} | ({} if end is None else {"end": end})
            )
            end = str(start_us - (page * 100 + 99) * 1000 - 1)
        url = f"jaeger+{server.base_url}"
        main(["traces", url, "--project", "agent", "--limit", "1"])  # the HTTP client loaded and warm
        capsys.readouterr()
        server.requests.clear()
        timings = []
        for _ in range(3):
            began = time.perf_counter()
            assert main(["traces", url, "--project", "agent", "--limit", "100"]) == 0
            timings.append(time.perf_counter() - began)
        out, err = capsys.readouterr()
        assert [r.path for r in server.requests] == ["/api/traces"] * 3
        assert "more on the server" in err and f"{1:032x}" in out
        with capsys.disabled():
            print(f"\nfirst page of 100 of a 100,000-trace listing: {min(timings) * 1000:.0f} ms")
        assert min(timings) < 0.2

        server.requests.clear()
        assert main(["traces", url, "--project", "agent", "--limit", "250", "--json"]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert len(lines) == 250 and f'"{250:032x}"' in lines[-1]
        assert [r.param("limit") for r in server.requests] == ["100", "100", "50"]


def test_traces_of_a_server_say_what_is_wrong(jaeger, capsys):
    assert main(["traces", "jaegr+http://x:1"]) == 2
    assert "jaeger+http://" in capsys.readouterr().err
    assert main(["traces", "--project", "p"]) == 2
    assert "server" in capsys.readouterr().err
    jaeger.server.fail(500)
    assert main(["traces", url_of(jaeger), "--project", "agent"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "500" in err
