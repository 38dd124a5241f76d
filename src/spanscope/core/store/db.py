"""Opening a Spanscope store: connection settings, schema, and where the default store lives."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import platformdirs
import sqlite_utils

from spanscope.core.store.schema import VERSION, migrate

APP_NAME = "spanscope"
#: Large pages suit rows that carry kilobytes of compressed text; must be set before the first table.
PAGE_SIZE = 65536

# sqlite3 binds None only after looking for an adapter for its type, ~220 ns a value while holding
# Python's lock; with one registered (a C callable giving None back) it takes ~70 ns. An import
# binds about ten Nones a span, on the writer thread, while the parser waits for the lock.
sqlite3.register_adapter(type(None), {}.get)

#: An open store, as every read takes it: modules outside the store name its type by this, never
#: by the SQLite library's.
Database = sqlite_utils.Database


class StoreError(Exception):
    """The store cannot be opened (not a SQLite file, not a Spanscope store, unreadable), or SQLite
    failed on it while a caller outside the store worked with it (see `store_errors`)."""


@contextlib.contextmanager
def store_errors(path: Path) -> Iterator[None]:
    """SQLite's errors inside as StoreError naming the store, for callers that do not speak SQL
    (a search index build beside an import, on a full disk or a damaged file)."""
    try:
        yield
    except sqlite3.Error as exc:
        raise StoreError(f"{path}: {exc}") from exc


def default_store_path() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME)) / "spanscope.db"


def connect(path: Path, *, readonly: bool = False) -> sqlite_utils.Database:
    """A connection for the calling thread only; read-only ones never take the write lock.

    Writable connections create and migrate the schema; WAL lets views read while an import writes.
    """
    path = Path(path)
    if readonly:
        _upgrade_older_store(path)
    try:
        if readonly:
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA busy_timeout = 10000")
        db = sqlite_utils.Database(conn)
        if not readonly:
            migrate(db)
        elif not db["spans"].exists():
            raise StoreError(f"{path}: not a Spanscope store (no spans table)")
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: cannot open as a Spanscope store: {exc}") from exc
    return db


def interrupt(db: Database) -> None:
    """Stop the statement running on `db` in another thread (it raises there); for a view whose
    question was replaced by a newer one."""
    db.conn.interrupt()


def _upgrade_older_store(path: Path) -> None:
    """Bring a store written by an older Spanscope up to date before reading it, since queries read
    the tables of the current schema. Only Spanscope's own stores are touched."""
    if not is_store(path):
        return
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()
    if version >= VERSION:
        return
    try:
        connect(path).conn.close()
    except StoreError as exc:
        raise StoreError(f"{path}: written by an older Spanscope and cannot be upgraded: {exc}") from exc


def is_store(path: Path) -> bool:
    """True for a SQLite file that holds a Spanscope store (checked by content, not name)."""
    try:
        with Path(path).open("rb") as f:
            if f.read(16) != b"SQLite format 3\x00":
                return False
        conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
        try:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            conn.close()
    except (OSError, sqlite3.DatabaseError):
        return False
    return {"spans", "traces", "chunks", "sources"} <= tables
