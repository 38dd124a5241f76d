"""The About list of bundled libraries and licenses, read from installed metadata (no Qt here)."""

from __future__ import annotations

import re
import tomllib
from email.message import Message
from pathlib import Path

from spanscope.core.licenses import UNKNOWN, bundled_libraries, canonical, license_of, runtime_requirements

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


class FakeDist:
    """Just the metadata fields the reader looks at, to test its fallbacks on edge cases."""

    def __init__(self, requires: list[str] | None = None, **fields: str | list[str]) -> None:
        self.requires = requires
        self.metadata = Message()
        for key, value in fields.items():
            for v in value if isinstance(value, list) else [value]:
                self.metadata[key.replace("_", "-")] = v


def by_name() -> dict[str, str]:
    return {canonical(lib.name): lib.license for lib in bundled_libraries()}


def test_every_runtime_dependency_is_listed_with_a_license():
    declared = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    names = {canonical(re.match(r"[A-Za-z0-9._-]+", d).group()) for d in declared}
    libraries = by_name()
    assert names <= set(libraries)
    assert all(libraries[n] != UNKNOWN for n in names)


def test_qt_is_lgpl_and_pyqtgraph_mit():
    libraries = by_name()
    assert "LGPL-3.0" in libraries["pyside6-essentials"]
    assert "LGPL-3.0" in libraries["shiboken6"]  # reached through PySide6, not declared by us
    assert libraries["pyqtgraph"] == "MIT"
    assert "numpy" in libraries  # pyqtgraph's dependency


def test_python_first_and_neither_spanscope_nor_test_tools():
    libraries = bundled_libraries()
    assert libraries[0].name == "Python" and libraries[0].license == "PSF-2.0"
    names = {canonical(lib.name) for lib in libraries}
    assert not names & {"spanscope", "pytest", "pytest-qt", "hypothesis", "ruff", "pyinstaller"}
    assert len(names) == len(libraries)


def test_license_fallbacks():
    assert license_of(FakeDist(License_Expression="MIT", License="whatever")) == "MIT"
    assert license_of(FakeDist(License="Apache 2.0")) == "Apache 2.0"
    classifiers = ["License :: OSI Approved :: BSD License", "Programming Language :: Python"]
    full_text = "Copyright (c) ...\nfull text"
    assert license_of(FakeDist(License=full_text, Classifier=classifiers)) == "BSD License"
    assert license_of(FakeDist()) == UNKNOWN


def test_requirements_behind_an_extra_are_not_runtime():
    requires = ["numpy>=1.25", 'pytest; extra == "test"', 'colorama; platform_system == "Windows"']
    dist = FakeDist(requires=requires)
    assert list(runtime_requirements(dist)) == ["numpy", "colorama"]
