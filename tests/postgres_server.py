"""A PostgreSQL server of the test's own on loopback: Debian's `initdb`/`pg_ctl` into a temporary
directory, run as the `postgres` user when the tests run as root (PostgreSQL refuses root)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresServer:
    """`with PostgresServer() as pg: pg.url("mydb")` — a database URL (created on first ask) of a
    server that lives until the block ends."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="spanscope-pg-"))
        self._user = "postgres" if os.geteuid() == 0 else None

    def _run(self, *command: str) -> None:
        subprocess.run(command, check=True, capture_output=True, user=self._user)

    def __enter__(self) -> PostgresServer:
        if shutil.which("initdb") is None:
            raise RuntimeError("PostgreSQL's initdb is not installed")
        if self._user:
            shutil.chown(self.folder, self._user)
        data = self.folder / "data"
        self._run("initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self._run(
            "pg_ctl",
            "-D",
            str(data),
            "-l",
            str(self.folder / "log"),
            "-w",
            "start",
            "-o",
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1",
        )
        return self

    def url(self, database: str, driver: str = "postgresql") -> str:
        """The URL of `database` (created if new), for SQLAlchemy-style settings."""
        exists = subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-tAc",
                f"SELECT 1 FROM pg_database WHERE datname = '{database}'",
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        if not exists:
            subprocess.run(
                ["createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", database],
                check=True,
                capture_output=True,
            )
        return f"{driver}://postgres@127.0.0.1:{self.port}/{database}"

    def __exit__(self, *exc: object) -> None:
        subprocess.run(
            ["pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "stop"],
            capture_output=True,
            user=self._user,
        )
        shutil.rmtree(self.folder, ignore_errors=True)
