"""The commands are the modules of spanscope.cli.commands; any other first word must be a path."""

from __future__ import annotations

import re

import pytest

from spanscope.cli import main
from spanscope.cli.commands import command_modules


def help_commands(capsys) -> list[str]:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    return re.findall(r"^    (\S+)", capsys.readouterr().out, re.MULTILINE)


@pytest.fixture
def app_opened(monkeypatch) -> list[list[str]]:
    """The sources the app was opened on, instead of opening it."""
    opened: list[list[str]] = []

    def fake_open_app(args) -> int:
        opened.append(args.sources)
        return 0

    monkeypatch.setattr("spanscope.cli.entry.open_app", fake_open_app)
    return opened


def test_every_command_module_has_add_parser_and_run_and_is_in_the_help(capsys):
    modules = command_modules()
    assert len(modules) >= 14
    for module in modules:
        assert callable(module.add_parser), module.__name__
        assert callable(module.run), module.__name__
    named = [module.__name__.rpartition(".")[2].rstrip("_") for module in modules]
    assert help_commands(capsys) == named


def test_an_unknown_first_word_is_an_error_naming_the_commands(tmp_path, capsys, monkeypatch, app_opened):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(["trees", "run.jsonl"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "'trees' is neither a command nor an existing file or store" in err
    assert all(name in err for name in ("import", "traces", "tree", "check", "serve"))
    assert app_opened == []


def test_no_argument_or_existing_paths_open_the_app(tmp_path, monkeypatch, app_opened):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "run.jsonl").write_text("")
    assert main([]) == 0
    assert main(["run.jsonl", "other.jsonl"]) == 0
    assert app_opened == [[], ["run.jsonl", "other.jsonl"]]


def test_a_command_wins_over_a_file_of_its_name(tmp_path, capsys, monkeypatch, app_opened):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "traces").write_text("")
    assert main(["traces", "--db", str(tmp_path / "nope.db")]) == 2
    assert "no such store" in capsys.readouterr().err
    assert app_opened == []
