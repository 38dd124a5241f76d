"""`spanscope judge` against a local OpenAI-compatible server: the table and summary, what is
judged (--trace, --filter, --limit), --concurrency, and one clear line and exit code for each fault
and each bad argument."""

from __future__ import annotations

import json

import orjson
import pytest

from openai_server import Answer, Fault, OpenAICompatibleServer
from spanscope.cli.entry import main
from spanscope.core.store import connect, import_files
from test_judge import TRACES, answer, recorded_calls, stored_judgements


@pytest.fixture
def files(tmp_path):
    return recorded_calls(tmp_path / "calls.jsonl")


@pytest.fixture
def store(tmp_path, files):
    db = tmp_path / "store.db"
    import_files(db, [files])
    return db


@pytest.fixture
def saved_endpoint(user_config_dir):
    """Saves an endpoint named "local" (short timeout, one retry) for the server it is given."""

    def save(server: OpenAICompatibleServer) -> str:
        user_config_dir.mkdir(parents=True, exist_ok=True)
        endpoint = {"name": "local", "base_url": server.base_url, "timeout_s": 0.5, "max_retries": 1}
        (user_config_dir / "endpoints.json").write_bytes(orjson.dumps({"endpoints": [endpoint]}))
        return "local"

    return save


def judge(capsys, server, *args: str, endpoint: str | None = None) -> tuple[int, str, str]:
    code = main(["judge", *args, "--endpoint", endpoint or server.base_url, "--model", "judge-model"])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_table_and_summary_of_a_run(capsys, store):
    with OpenAICompatibleServer() as server:
        server.answers.extend(answer(s, f"Score {s} because.\nDetails.") for s in (5, 4, 3, 2, 1, 3))
        code, out, err = judge(capsys, server, str(store), "--evaluator", "helpfulness", "--concurrency", "1")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == ["trace", "span", "name", "helpfulness", "reasoning"]
    assert lines[1].split() == [TRACES[5], "c" * 15 + "5", "chat", "5", "Score", "5", "because."]
    assert len(lines) == 8
    assert lines[-1] == "helpfulness by judge-model: 6 spans judged; mean 3; 0 failures"
    scores, judges = stored_judgements(store)
    assert len(scores) == len(judges) == 6


def test_labels_are_counted_and_a_trace_file_is_judged_in_a_temporary_store(capsys, files):
    with OpenAICompatibleServer() as server:
        server.answers.extend(
            Answer(text=json.dumps({"reasoning": "r", "label": label}))
            for label in ("no_tool_needed", "missing_tool", "no_tool_needed")
        )
        code, out, err = judge(capsys, server, str(files), "--evaluator", "tool-use", "--limit", "3")
    assert code == 0
    assert out.splitlines()[-1] == (
        "tool-use by judge-model: 3 spans judged; mean 0.667; no_tool_needed 2, missing_tool 1; 0 failures"
    )
    assert err.splitlines() == [
        "spanscope: more spans match than --limit 3: the first 3 were judged",
        "spanscope: the judgements went to a temporary store: import the files (spanscope import) "
        "to keep them",
    ]


def test_trace_and_filter_choose_the_spans(capsys, store):
    with OpenAICompatibleServer() as server:
        server.answers.extend(answer(4) for _ in range(2))
        code, out, _ = judge(
            capsys, server, "--db", str(store), "--evaluator", "helpfulness", "--trace", TRACES[2]
        )
        assert code == 0 and [line.split()[0] for line in out.splitlines()[1:-1]] == [TRACES[2]]
        code, out, _ = judge(
            capsys, server, str(store), "--evaluator", "helpfulness", "--filter", '"What is 4 + 4"'
        )
        assert code == 0 and [line.split()[0] for line in out.splitlines()[1:-1]] == [TRACES[4]]
        assert len(server.requests) == 2
        code, out, err = judge(
            capsys, server, str(store), "--evaluator", "helpfulness", "--filter", "kind:tool"
        )
    assert (code, out) == (2, "")
    assert err == "spanscope: no spans to judge: none matches 'kind:tool'\n"


def test_concurrency_is_respected(capsys, store):
    with OpenAICompatibleServer(delay_s=0.15) as server:
        server.answers.extend(answer(4) for _ in range(6))
        code, _, _ = judge(capsys, server, str(store), "--evaluator", "helpfulness", "--concurrency", "3")
        assert code == 0 and server.max_concurrent == 3


@pytest.mark.parametrize(
    ("faults", "message"),
    [
        (
            [Fault.RATE_LIMITED, Fault.RATE_LIMITED],
            "429 rate limited by {url} after 1 retries; it asks to wait 0 s",
        ),
        ([Fault.SERVER_ERROR, Fault.SERVER_ERROR], "500 server error from {url} while running 'judge-model'"),
        ([Fault.STALL, Fault.STALL], "no answer from {url} within 0.5 s while running 'judge-model'"),
        ([Fault.MALFORMED_STREAM], "{url} sent an answer that is not valid"),
        ([Fault.CUT_STREAM], "the stream from {url} ended before the answer was complete"),
    ],
)
def test_each_fault_is_one_line_and_a_failing_exit_code(capsys, store, saved_endpoint, faults, message):
    with OpenAICompatibleServer(stall_s=1.5) as server:
        server.retry_after_s = 0
        server.faults.extend(faults)
        server.answers.append(answer(4))
        name = saved_endpoint(server)
        args = [str(store), "--evaluator", "helpfulness", "--trace", TRACES[1]]
        code, out, err = judge(capsys, server, *args, endpoint=name)
    assert code == 2
    assert out == "helpfulness by judge-model: 0 spans judged; 1 failure\n"
    # Ours only: a library may log its retries to stderr when another test configured logging.
    ours = [text for text in err.splitlines() if text.startswith("spanscope:")]
    assert len(ours) == 1, err
    (line,) = ours
    prefix = f"spanscope: span {'c' * 15}1 (chat) of trace {TRACES[1]}: "
    assert line.startswith(prefix + message.format(url=server.base_url))
    assert stored_judgements(store) == ([], [])


def test_a_refused_key_stops_the_run(capsys, store, monkeypatch):
    monkeypatch.setenv("SPANSCOPE_API_KEY", "sk-wrong-key")
    with OpenAICompatibleServer(api_key="sk-right-key") as server:
        code, out, err = judge(capsys, server, str(store), "--evaluator", "helpfulness", "--concurrency", "1")
    assert code == 2
    assert err.splitlines() == [
        f"spanscope: stopped: 401 from {server.base_url}: the API key was refused "
        "(Incorrect API key provided.); check $SPANSCOPE_API_KEY"
    ]
    assert out == "helpfulness by judge-model: 0 spans judged; 0 failures\n"
    assert "sk-wrong-key" not in err and stored_judgements(store) == ([], [])


def test_some_spans_failing_exit_1_with_the_rest_judged(capsys, store):
    with OpenAICompatibleServer() as server:
        server.answers.append(Answer(text="no idea"))
        server.answers.extend(answer(4) for _ in range(5))
        code, out, err = judge(capsys, server, str(store), "--evaluator", "helpfulness", "--concurrency", "1")
    assert code == 1
    assert out.splitlines()[-1] == "helpfulness by judge-model: 5 spans judged; mean 4; 1 failure"
    assert err == (
        f"spanscope: span {'c' * 15}5 (chat) of trace {TRACES[5]}: the judge's reply holds no JSON object: "
        "'no idea'\n"
    )


def test_bad_arguments_are_one_line_each(capsys, store, tmp_path):
    bad = tmp_path / "mine.toml"
    bad.write_text('prompt = "{{answer}}"\n[score]\ntype = "boolean"\n')
    cases = [
        (["--evaluator", str(bad)], f'{bad}, line 1: unknown placeholder "{{{{answer}}}}" in the prompt'),
        (
            ["--evaluator", "kindness"],
            "no evaluator named 'kindness': use one of correctness, helpfulness, tool-use",
        ),
        (["--evaluator", "helpfulness", "--filter", 'say "hi'], "bad --filter: a quote is not closed"),
        (["--evaluator", "helpfulness", "--concurrency", "0"], "--concurrency must be at least 1, not 0"),
        (["--evaluator", "helpfulness", "--trace", "ffff"], "no trace 'ffff' in the store"),
    ]
    with OpenAICompatibleServer() as server:
        for args, message in cases:
            code, out, err = judge(capsys, server, str(store), *args)
            assert (code, out) == (2, "")
            assert err.startswith(f"spanscope: {message}") and err.count("\n") == 1, err
        code, _, err = judge(capsys, server, str(store), "--evaluator", "helpfulness", endpoint="nowhere")
        assert code == 2 and err.startswith("spanscope: no endpoint named 'nowhere'")
        assert server.requests == []
    assert connect(store, readonly=True).execute("SELECT count(*) FROM scores").fetchone()[0] == 0
