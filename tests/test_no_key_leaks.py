"""An endpoint's API key reaches the endpoint and nothing else: after replays and judgements made
with it, no byte of it is in the store (database, write-ahead log), the user's config and settings,
what the commands printed, or what export, dataset and annotations wrote — raw, or base64 as a
header would carry it."""

from __future__ import annotations

import base64

import pytest

from openai_server import OpenAICompatibleServer
from spanscope.cli.entry import main
from spanscope.core.store import import_files
from test_judge import recorded_calls

KEY = "sk-leak-check-4b1d7e2a9c"


def _forms(key: str) -> list[bytes]:
    raw = key.encode()
    return [raw, base64.b64encode(raw), base64.b64encode(b"Bearer " + raw)]


def test_the_key_is_sent_to_the_endpoint_and_written_nowhere(tmp_path, capsys, monkeypatch, user_config_dir):
    store = tmp_path / "store.db"
    import_files(store, [recorded_calls(tmp_path / "calls.jsonl")])
    monkeypatch.setenv("SPANSCOPE_API_KEY", KEY)
    printed = []
    with OpenAICompatibleServer(api_key=KEY) as server:
        commands = [
            [
                "replay",
                "--db",
                str(store),
                "--filter",
                "kind:llm",
                "--endpoint",
                server.base_url,
                "--model",
                "local-small",
            ],
            [
                "judge",
                "--db",
                str(store),
                "--evaluator",
                "helpfulness",
                "--endpoint",
                server.base_url,
                "--model",
                "judge-model",
                "--limit",
                "3",
            ],
        ]
        for command in commands:
            main(command)
            printed += capsys.readouterr()
        assert {{k.lower(): v for k, v in h.items()}.get("authorization") for h in server.headers} == {
            f"Bearer {KEY}"
        }, printed
        assert len(server.headers) >= 4
    outputs = tmp_path / "out"
    outputs.mkdir()
    for command in (
        ["export", "--db", str(store), "-o", str(outputs / "export.jsonl")],
        ["dataset", "--db", str(store), "-o", str(outputs / "dataset.jsonl")],
        ["annotations", "--db", str(store), "-o", str(outputs / "annotations.jsonl")],
    ):
        assert main(command) in (0, 1, 2)
        printed += capsys.readouterr()
    written = [p for folder in (tmp_path, user_config_dir.parent) for p in folder.rglob("*") if p.is_file()]
    assert any(p.name.startswith("store.db") for p in written)
    assert any(p.name == "export.jsonl" for p in written)
    for form in _forms(KEY):
        assert not [p for p in written if form in p.read_bytes()], form
        assert all(form.decode() not in text for text in printed)


@pytest.fixture(autouse=True)
def _no_key_from_the_machine(monkeypatch):
    for name in ("OPENAI_API_KEY", "SPANSCOPE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
