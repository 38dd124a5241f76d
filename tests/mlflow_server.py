"""A real MLflow tracking server on loopback, for the remote client's slow tests.

MLflow is installed from PyPI once, pinned, into a venv outside the repository
(~/.cache/spanscope-test-servers/mlflow-VERSION-venv, with psycopg2 for a PostgreSQL backend), and
reused after. `MlflowServer(backend_uri)` runs `mlflow server` on a free port until the block ends;
`run_script` runs Python in that venv (MLflow's own client library) against the server, so the tests
feed and read the server with MLflow's code, never ours.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

VERSION = "3.18.0"
_PACKAGES = (f"mlflow=={VERSION}", "psycopg2-binary==2.9.10")
VENV = Path.home() / ".cache" / "spanscope-test-servers" / f"mlflow-{VERSION}-venv"
_READY = VENV / ".installed"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ensure_venv() -> float:
    """Installs MLflow into the cached venv unless there already; returns the seconds it took (0 when
    reused). A lock beside the venv keeps two test runs from installing at once."""
    VENV.parent.mkdir(parents=True, exist_ok=True)
    with (VENV.parent / f"{VENV.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _READY.exists():
            return 0.0
        started = time.monotonic()
        shutil.rmtree(VENV, ignore_errors=True)
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", str(VENV)], check=True, capture_output=True)
        subprocess.run(
            [str(VENV / "bin" / "pip"), "install", "-q", *_PACKAGES], check=True, capture_output=True
        )
        _READY.write_text(VERSION)
        return time.monotonic() - started


def run_script(script: str, tracking_uri: str, *args: str, timeout: float = 600) -> str:
    """Runs `script` with the venv's Python (MLflow's client, pointed at `tracking_uri`); its standard
    output, or RuntimeError with its error output."""
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": tracking_uri,
        "PYTHONPATH": "",
    }
    done = subprocess.run(
        [str(VENV / "bin" / "python"), "-c", script, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    if done.returncode:
        raise RuntimeError(f"MLflow client script failed:\n{done.stderr[-4000:]}")
    return done.stdout


class MlflowServer:
    """`with MlflowServer(backend_uri) as server: server.url` — `mlflow server` with that backend store
    (None: SQLite in a temporary folder) and artifacts in the same folder. `start_s` is how long it
    took to answer /health."""

    def __init__(self, backend_uri: str | None = None) -> None:
        self.port = _free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="spanscope-mlflow-"))
        self.backend_uri = backend_uri or f"sqlite:///{self.folder / 'mlflow.db'}"
        self.url = f"http://127.0.0.1:{self.port}"
        self.start_s = 0.0
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> MlflowServer:
        ensure_venv()
        started = time.monotonic()
        log = (self.folder / "server.log").open("wb")
        self._process = subprocess.Popen(
            [
                str(VENV / "bin" / "mlflow"),
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                "1",
                "--backend-store-uri",
                self.backend_uri,
                "--default-artifact-root",
                (self.folder / "artifacts").as_uri(),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": ""},
            start_new_session=True,
        )
        deadline = started + 180
        while True:
            if self._process.poll() is not None:
                self._stop()
                raise RuntimeError(f"mlflow server exited:\n{self.log()[-4000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self._stop()
                raise RuntimeError(f"mlflow server did not answer in 180 s:\n{self.log()[-4000:]}")
            time.sleep(0.3)
        self.start_s = time.monotonic() - started
        return self

    def log(self) -> str:
        return (self.folder / "server.log").read_text(errors="replace")

    def run(self, script: str, *args: str) -> str:
        return run_script(script, self.url, *args)

    def _stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            os.killpg(self._process.pid, 15)
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, 9)
                self._process.wait()

    def __exit__(self, *exc: object) -> None:
        self._stop()
        shutil.rmtree(self.folder, ignore_errors=True)
