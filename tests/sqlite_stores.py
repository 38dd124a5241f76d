"""Helpers for the peer-store tests: read a foreign store with plain SQL, and watch it stay untouched."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from spanscope.core.formats import Source
from spanscope.core.formats.registry import detect
from spanscope.core.model import Span


def query(path: Path, sql: str, *params: object) -> list[tuple]:
    """Rows of `sql` on the store at `path`, opened immutable so the test itself writes nothing."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def read_all(path: Path) -> tuple[str, list[Span], list[str]]:
    """(format name, spans, problems) of a file read through detection, as an import does."""
    source = Source(path)
    fmt = detect(source)
    spans = list(fmt.read(source, lambda _: None))
    return fmt.name, spans, [str(p) for p in source.problems]


def fingerprint(path: Path) -> tuple[str, int, list[str]]:
    """The file's content hash, its mtime and the names of the files beside it."""
    return (
        hashlib.sha256(path.read_bytes()).hexdigest(),
        path.stat().st_mtime_ns,
        sorted(p.name for p in path.parent.iterdir()),
    )
