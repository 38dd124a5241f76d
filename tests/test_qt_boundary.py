"""The core and the CLI must stay free of Qt (napari's rule): they run headless and in tests without it."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "spanscope"
QT_MODULES = ("PySide6", "pyqtgraph", "shiboken6")


def _qt_imports(path: Path, root: Path = SRC) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        found += [
            f"{path.relative_to(root)}:{node.lineno} imports {n}"
            for n in names
            if n.split(".")[0] in QT_MODULES
        ]
    return found


def _headless_files() -> list[Path]:
    return sorted([*(SRC / "core").rglob("*.py"), *(SRC / "cli").rglob("*.py")])


def test_no_qt_import_in_core_or_cli_source():
    offenders = [hit for path in _headless_files() for hit in _qt_imports(path)]
    assert offenders == []


def test_the_checker_catches_a_qt_import(tmp_path):
    bad = tmp_path / "probe.py"
    bad.write_text("import os\nfrom PySide6 import QtCore\nimport pyqtgraph as pg\n")
    assert _qt_imports(bad, tmp_path) == ["probe.py:2 imports PySide6", "probe.py:3 imports pyqtgraph"]


@pytest.mark.parametrize("module", ["spanscope.core", "spanscope.cli"])
def test_importing_headless_modules_loads_no_qt(module):
    code = (
        "import sys, importlib, pkgutil\n"
        f"import {module} as m\n"
        "if hasattr(m, '__path__'):\n"
        "    for info in pkgutil.walk_packages(m.__path__, m.__name__ + '.'):\n"
        "        importlib.import_module(info.name)\n"
        f"loaded = sorted(n for n in sys.modules if n.split('.')[0] in {QT_MODULES!r})\n"
        "print(','.join(loaded))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
