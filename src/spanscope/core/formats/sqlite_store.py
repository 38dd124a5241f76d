"""Reading another tool's SQLite store (Phoenix, MLflow) without ever writing to it or beside it.

The store is opened through a read-only URI. SQLite still creates `-wal` and `-shm` files next to a
database in WAL mode when it opens it, even read-only, unless told the file is immutable; so a WAL
database with no log beside it (nothing is writing to it: a writer keeps its log open) is opened as
immutable. One whose log is there is read together with it, as the writing tool's own readers do; a
log without its shared-memory file would make SQLite create one, so that store is refused with a
message saying how to settle it. Reading beside a running tool takes read locks in its `-shm` file,
as every reader must; the database file itself is never written. A rollback-journal database is read
under an ordinary shared lock, which creates nothing; one left with a hot journal (its writer died
mid-write) cannot be read without a rollback, and is refused saying so.

Any SQLite error (a truncated or damaged file) becomes a FormatError naming the file.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from spanscope.core.formats.base import FormatError, Source

SQLITE_MAGIC = b"SQLite format 3\x00"
#: Header byte 18 (file format write version): 2 means WAL mode.
_WAL_VERSION_OFFSET, _WAL_VERSION = 18, 2


def is_sqlite(head: bytes) -> bool:
    return head.startswith(SQLITE_MAGIC)


def damaged(path: Path, exc: sqlite3.Error | UnicodeDecodeError) -> FormatError:
    """The message for a SQLite file that cannot be read: one left in the middle of a write (a hot
    journal, which only a writer may roll back), else a truncated or damaged one."""
    journal = Path(f"{path}-journal")
    if isinstance(exc, sqlite3.OperationalError) and "readonly" in str(exc) and journal.exists():
        return FormatError(
            f"{path}: was left in the middle of a write ({journal.name} must be rolled back first); open "
            "it once with the tool that wrote it, or with sqlite3, and import again"
        )
    return FormatError(
        f"{path}: a SQLite database that cannot be read ({exc}); it may be truncated or damaged"
    )


def connect_readonly(path: Path) -> sqlite3.Connection:
    """A read-only connection that never writes the file nor creates anything next to it."""
    path = Path(path)
    uri = f"{path.resolve().as_uri()}?mode=ro"
    if _wal_mode(path):
        wal, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
        if not wal.exists():
            uri += "&immutable=1"
        elif not shm.exists():
            raise FormatError(
                f"{path}: has a write-ahead log ({wal.name}) but no {shm.name}: the tool that wrote it did "
                "not close it cleanly; open the store once with that tool (or run "
                f"`sqlite3 {path.name} 'PRAGMA wal_checkpoint'`) and import again"
            )
    try:
        conn = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as exc:
        raise damaged(path, exc) from exc
    conn.text_factory = _text
    return conn


def _text(data: bytes) -> str:
    """TEXT as str, a byte that is not UTF-8 (a damaged page, a tool's bug) as U+FFFD: a bad value
    in one row or table name, never a UnicodeDecodeError for the whole store."""
    return data.decode("utf-8", "replace")


def schema(conn: sqlite3.Connection, path: Path) -> dict[str, set[str]]:
    """Every table of the database with its columns."""
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {name: {r[1] for r in conn.execute(f'PRAGMA table_info("{name}")')} for name in names}
    except (sqlite3.Error, UnicodeDecodeError) as exc:  # SQLite's message may quote a damaged name
        raise damaged(path, exc) from exc


def source_schema(source: Source) -> dict[str, set[str]]:
    """The tables and columns of the SQLite file `source` (for sniffing), read and closed again."""
    conn = connect_readonly(source.path)
    try:
        return schema(conn, source.path)
    finally:
        conn.close()


def require(tables: dict[str, set[str]], needed: dict[str, Iterable[str]], path: Path, what: str) -> None:
    """FormatError naming every table or column `needed` that the store lacks."""
    missing = []
    for table, columns in needed.items():
        if table not in tables:
            missing.append(f"table {table}")
            continue
        lacking = sorted(set(columns) - tables[table])
        if lacking:
            missing.extend(f"column {table}.{column}" for column in lacking)
    if missing:
        raise FormatError(
            f"{path}: {what} of a schema this version of Spanscope cannot read: no {', no '.join(missing)}"
        )


@contextlib.contextmanager
def opened(
    source: Source, required: Mapping[str, Iterable[str]], optional: Mapping[str, Iterable[str]], what: str
) -> Iterator[tuple[sqlite3.Connection, dict[str, set[str]], set[str]]]:
    """The store opened read-only with its schema checked: the connection, every table's columns,
    and which `optional` tables are there with all their columns. `what` names the tool's store in
    the message for a missing table or column ("an MLflow store")."""
    conn = connect_readonly(source.path)
    try:
        tables = schema(conn, source.path)
        require(tables, required, source.path, f"{what}{alembic_revision(conn, tables)}")
        usable = {t for t, cols in optional.items() if t in tables and set(cols) <= tables[t]}
        yield conn, tables, usable
    finally:
        conn.close()


def alembic_revision(conn: sqlite3.Connection, tables: dict[str, set[str]]) -> str:
    """ " (alembic revision X)" when the store records its schema revision (Phoenix and MLflow do),
    for messages about its schema; "" otherwise."""
    if "alembic_version" not in tables:
        return ""
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return ""
    return f" (alembic revision {row[0]})" if row else ""


def _wal_mode(path: Path) -> bool:
    with path.open("rb") as f:
        header = f.read(_WAL_VERSION_OFFSET + 1)
    return len(header) > _WAL_VERSION_OFFSET and header[_WAL_VERSION_OFFSET] == _WAL_VERSION
