"""The version has one home, pyproject.toml; the package and `spanscope --version` read it from there."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

import spanscope
from spanscope.cli import main

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def pyproject_version() -> str:
    return tomllib.loads(PYPROJECT.read_text())["project"]["version"]


def test_package_version_is_the_pyproject_version():
    assert spanscope.__version__ == pyproject_version()


def test_version_option_prints_it_and_exits_zero(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"spanscope {pyproject_version()}\n"


def test_version_is_written_nowhere_else():
    source = Path(spanscope.__file__).parent
    stated = [p for p in source.rglob("*.py") if f'"{pyproject_version()}"' in p.read_text()]
    assert stated == []
