"""Faults around an import: the process killed (SIGKILL) in the middle of one, and a store file
whose pages are damaged. The store stays whole and keeps every span imported before; a damaged
store is named in a message, never a traceback."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from otlp import TRACE, request, span
from raw_otlp import raw_spans
from spanscope.core.store import StoreError, import_file
from spanscope.core.store.db import PAGE_SIZE
from spanscope.core.store.ingest import Outcome
from spanscope.core.store.undo import recover_imports

FIXTURE = "openllmetry/chain-and-session.otlp.json"
_IMPORT = "import sys; from spanscope.cli import main; sys.exit(main(sys.argv[1:]))"


def cli(*args: str | Path, wait: bool = True) -> subprocess.Popen | subprocess.CompletedProcess:
    command = [sys.executable, "-c", _IMPORT, *map(str, args)]
    if wait:
        return subprocess.run(command, capture_output=True, text=True, timeout=300)
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def big_file(path: Path, lines: int = 100, per_line: int = 500) -> int:
    """A JSON Lines file of `lines` requests of `per_line` spans each: a few seconds to import."""
    with path.open("wb") as out:
        for n in range(lines):
            trace = f"{n + 1:032x}"
            spans = [
                span(f"{n * per_line + i + 1:016x}", trace=trace, attrs={"text": "word " * 40})
                for i in range(per_line)
            ]
            out.write(orjson.dumps(request(*spans)) + b"\n")
    return lines * per_line


def stored(store: Path) -> tuple[str, int, int]:
    """The store's integrity check, its spans, and the sources recorded."""
    with sqlite3.connect(store) as conn:
        check = conn.execute("PRAGMA integrity_check").fetchone()[0]
        spans = conn.execute("SELECT count(*) FROM spans").fetchone()[0]
        sources = conn.execute("SELECT count(*) FROM sources").fetchone()[0]
    conn.close()
    return check, spans, sources


def kill_when_written(running: subprocess.Popen, wal: Path, size: int) -> None:
    """SIGKILL the import once its uncommitted writes reach `size` bytes of the store's WAL."""
    while not (wal.exists() and wal.stat().st_size >= size):
        assert running.poll() is None, f"the import ended before writing {size:,} bytes"
        time.sleep(0.005)
    os.kill(running.pid, signal.SIGKILL)
    running.wait(timeout=30)
    assert running.returncode == -signal.SIGKILL


@pytest.mark.parametrize("written", [1 << 20, 6 << 20], ids=["early", "half-way"])
def test_kill_9_during_an_import_leaves_the_store_whole_with_its_earlier_spans(
    tmp_path: Path, fixtures_dir: Path, written: int
) -> None:
    store, earlier = tmp_path / "store.db", fixtures_dir / FIXTURE
    assert cli("import", earlier, "--db", store).returncode == 0
    before = len(raw_spans(earlier))
    big = tmp_path / "big.jsonl"
    total = big_file(big)  # its import writes about 11 MB
    kill_when_written(cli("import", big, "--db", store, wait=False), tmp_path / "store.db-wal", written)
    recover_imports(store)  # what opening the store for writing does first: the import is undone
    assert stored(store) == ("ok", before, 1)
    again = cli("import", big, "--db", store)
    assert again.returncode == 0, again.stdout + again.stderr
    assert stored(store) == ("ok", before + total, 2)


def damage(store: Path) -> None:
    """Overwrite the start of every page after the first: the b-tree page headers."""
    data = bytearray(store.read_bytes())
    for offset in range(PAGE_SIZE, len(data), PAGE_SIZE):
        data[offset : offset + 64] = b"\xde\xad\xbe\xef" * 16
    store.write_bytes(bytes(data))


def test_a_damaged_store_is_named_in_a_message_never_a_traceback(tmp_path: Path, fixtures_dir: Path) -> None:
    store = tmp_path / "store.db"
    assert import_file(store, fixtures_dir / FIXTURE).outcome is Outcome.IMPORTED
    damage(store)
    other = tmp_path / "other.jsonl"
    other.write_bytes(orjson.dumps(request(span("00000000000000f1", trace=TRACE))) + b"\n")
    with pytest.raises(StoreError, match=str(store)):
        import_file(store, other)
    done = cli("import", other, "--db", store)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert str(store) in done.stderr and "malformed" in done.stderr


def test_a_file_that_is_not_a_store_is_named_in_a_message(tmp_path: Path, fixtures_dir: Path) -> None:
    store = tmp_path / "notes.db"
    store.write_bytes(b"these are my notes, not a database\n" * 1000)
    done = cli("import", fixtures_dir / FIXTURE, "--db", store)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert str(store) in done.stderr
