"""A folder given to import, or as a command's source, stands for the trace files below it: the
OpenAI Agents SDK's ingest bodies side by side and in a subfolder, with a README that is skipped
(reported, not failed) and hidden files that are not looked at."""

from __future__ import annotations

from pathlib import Path

import pytest

from capture_folders import bodies, capture_folder, raw_trace_ids
from spanscope.cli import main
from spanscope.core.formats.folders import NOT_CLAIMED, NOTHING_IN_FOLDER, expand_folders
from spanscope.core.store import connect
from spanscope.core.store.queries import list_traces


@pytest.fixture
def folder(fixtures_dir: Path, tmp_path: Path) -> Path:
    return capture_folder(fixtures_dir, tmp_path)


def test_a_folder_gives_its_trace_files_in_path_order(folder: Path) -> None:
    sources = expand_folders([folder])
    assert sources.files == bodies(folder)
    assert sources.skipped == ((folder / "README.txt", NOT_CLAIMED),)


def test_files_given_by_name_are_kept_and_empty_folders_said(folder: Path, tmp_path: Path) -> None:
    """A file named is imported as given (its import says what is wrong); a folder of nothing says so."""
    (tmp_path / "empty" / ".hidden").mkdir(parents=True)
    readme = folder / "README.txt"
    sources = expand_folders([readme, tmp_path / "empty"])
    assert sources.files == (readme,)
    assert sources.skipped == ((tmp_path / "empty", NOTHING_IN_FOLDER),)


def test_import_of_a_folder(folder: Path, tmp_path: Path, capsys) -> None:
    db = tmp_path / "store.db"
    assert main(["import", str(folder), "--db", str(db)]) == 0
    err = capsys.readouterr().err
    for body in bodies(folder):
        assert f"{body}: " in err and "[openai-agents]" in err
    assert f"{folder / 'README.txt'}: skipped: {NOT_CLAIMED}" in err
    assert "failed" not in err and ".git" not in err and ".DS_Store" not in err
    assert {t.trace_id for t in list_traces(connect(db, readonly=True))} == raw_trace_ids(folder)


def test_a_folder_as_a_commands_source(folder: Path, capsys) -> None:
    assert main(["traces", str(folder)]) == 0
    out, err = capsys.readouterr()
    assert all(trace_id in out for trace_id in raw_trace_ids(folder))
    assert f"{folder / 'README.txt'}: skipped" in err
