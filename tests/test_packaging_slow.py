"""Slow: a real non-editable install in a fresh venv, and the PyInstaller app built and run.

Not part of `make test` (the `slow` marker is deselected by default); run with `pytest -m slow`.
Both check what a user gets, from outside the source tree: resources come from the installed
package, and the built binary renders the demo offscreen.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

import orjson
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "packaging" / "build_and_smoke.py"

pytestmark = pytest.mark.slow


def version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def user_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path / "cfg"))
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    return env


def test_pip_install_non_editable_in_a_fresh_venv(tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / ("Scripts" if sys.platform == "win32" else "bin")
    subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "--quiet", str(ROOT)],
        check=True,
        capture_output=True,
    )
    scratch = tmp_path / "elsewhere"
    scratch.mkdir()

    def spanscope(*args: str) -> str:
        done = subprocess.run(
            [str(bin_dir / "spanscope"), *args], cwd=scratch, env=user_env(tmp_path), capture_output=True
        )
        assert done.returncode == 0, done.stderr.decode()
        return done.stdout.decode()

    assert spanscope("--version") == f"spanscope {version()}\n"
    where = subprocess.run(
        [str(bin_dir / "python"), "-c", "from spanscope.core import resources as r; print(r.demo_traces())"],
        cwd=scratch,
        env=user_env(tmp_path),
        capture_output=True,
        text=True,
        check=True,
    )
    demo = Path(where.stdout.strip())
    assert demo.is_file() and demo.is_relative_to(env_dir), f"demo found at {demo}, not in the venv"
    traces = [orjson.loads(line) for line in spanscope("traces", str(demo), "--json").splitlines()]
    assert len(traces) == 7
    shot = tmp_path / "shot.png"
    spanscope("screenshot", str(demo), str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.skipif(
    importlib.util.find_spec("PyInstaller") is None,
    reason="PyInstaller is not installed: pip install -e '.[package]' (make package does)",
)
def test_built_app_screenshots_the_demo(tmp_path):
    shot = tmp_path / "demo.png"
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            f"--dist={tmp_path / 'dist'}",
            f"--work={tmp_path / 'work'}",
            f"--shot={shot}",
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok: screenshot of the demo" in done.stdout
    assert shot.stat().st_size > 10_000
