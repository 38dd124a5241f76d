"""A real Arize Phoenix server of the test's own: `arize-phoenix` from PyPI in a venv cached outside
the repository (made once, reused), `phoenix serve` on free loopback ports with a temporary working
directory, on SQLite (its phoenix.db there) or on a PostgreSQL database URL.

Usage:
    with PhoenixServer() as phoenix:                 # SQLite
        phoenix.base_url, phoenix.db_path
    with PhoenixServer(database_url=pg.url("phx")):  # PostgreSQL (tests/postgres_server.py)
    with PhoenixServer(admin_secret="..."):           # auth on; the secret is a bearer token

`phoenix.python` runs Phoenix's own client libraries (the server venv holds `arize-phoenix-client`).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

VERSION = "20.26.1"
CLIENT_VERSION = "3.5.0"
VENV = Path.home() / ".cache" / "spanscope-test-servers" / f"phoenix-{VERSION}-venv"
_READY = VENV / "installed"
START_TIMEOUT_S = 180.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def phoenix_venv() -> Path:
    """The cached venv holding the pinned server (and its PostgreSQL driver and client), made on
    first use; a venv left half-made by an interrupted install is made again."""
    if _READY.exists():
        return VENV
    shutil.rmtree(VENV, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, capture_output=True)
    subprocess.run(
        [
            str(VENV / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            f"arize-phoenix[pg]=={VERSION}",
            f"arize-phoenix-client=={CLIENT_VERSION}",
        ],
        check=True,
        capture_output=True,
    )
    _READY.write_text(f"arize-phoenix {VERSION}\n")
    return VENV


class PhoenixServer:
    """`phoenix serve` until the block ends; its log is in the message when it fails to start."""

    def __init__(self, *, database_url: str | None = None, admin_secret: str | None = None) -> None:
        self.port = _free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="spanscope-phoenix-"))
        self.database_url = database_url
        self.admin_secret = admin_secret
        self.python = phoenix_venv() / "bin" / "python"
        self._process: subprocess.Popen[bytes] | None = None
        self.start_s: float | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def db_path(self) -> Path:
        """The SQLite store (when no database URL was given)."""
        return self.folder / "phoenix.db"

    def __enter__(self) -> PhoenixServer:
        env = {
            **os.environ,
            "PHOENIX_HOST": "127.0.0.1",
            "PHOENIX_PORT": str(self.port),
            "PHOENIX_GRPC_PORT": str(_free_port()),
            "PHOENIX_WORKING_DIR": str(self.folder),
            "PHOENIX_TELEMETRY_ENABLED": "false",
        }
        if self.database_url:
            env["PHOENIX_SQL_DATABASE_URL"] = self.database_url
        if self.admin_secret:
            env["PHOENIX_ENABLE_AUTH"] = "true"
            env["PHOENIX_SECRET"] = "jwt-secret-of-the-test-0123456789abcdef"
            env["PHOENIX_ADMIN_SECRET"] = self.admin_secret
        log = (self.folder / "log").open("wb")
        started = time.monotonic()
        self._process = subprocess.Popen(
            [str(self.python.parent / "phoenix"), "serve"],
            cwd=self.folder,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            self._wait(started)
        except BaseException:
            self.__exit__()
            raise
        self.start_s = time.monotonic() - started
        return self

    def _wait(self, started: float) -> None:
        while time.monotonic() - started < START_TIMEOUT_S:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(f"phoenix serve exited ({self._process.returncode}):\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"phoenix serve did not answer in {START_TIMEOUT_S:g} s:\n{self.log_tail()}")

    def log_tail(self) -> str:
        path = self.folder / "log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-30:]) if path.exists() else ""

    def stop(self) -> None:
        """Stops the server (the folder stays until the block ends)."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
