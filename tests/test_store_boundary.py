"""Only core/store/ speaks SQL to our store: any other module that imports the SQLite libraries,
calls their statement or table methods, or indexes a store by table name is reported, by AST.

The allowlist names the modules that read other tools' SQLite files (read-only, never ours).
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "spanscope"
STORE = "core/store/"

ALLOWED = (
    # Read other tools' stores (Phoenix, MLflow, a foreign SQLite file) read-only, never ours.
    "core/formats/phoenix_sqlite.py",
    "core/formats/mlflow_sqlite.py",
    "core/formats/sqlite_store.py",
)
SQL_LIBRARIES = {"sqlite3", "sqlite_utils"}
#: Methods that run a statement, on a connection, cursor or sqlite_utils database.
STATEMENT_METHODS = {"execute", "executemany", "executescript", "query"}
#: sqlite_utils table methods; list.insert and the like share a name, so these count on a store only.
TABLE_METHODS = {
    "insert",
    "insert_all",
    "upsert",
    "upsert_all",
    "delete_where",
    "rows_where",
    "create_table",
}


def _is_store_like(node: ast.expr) -> bool:
    """`db`, `self.db`, `thread_db`...: what the code base calls an open store."""
    name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""
    return name == "db" or name.endswith("_db")


def _is_table(node: ast.expr) -> bool:
    """`db["spans"]`: a sqlite_utils table of a store."""
    return isinstance(node, ast.Subscript) and _is_store_like(node.value)


def sql_uses(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, what) of every use of SQL on a store in a module's AST."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [
                (node.lineno, f"import {a.name}") for a in node.names if a.name.split(".")[0] in SQL_LIBRARIES
            ]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in SQL_LIBRARIES:
            found.append((node.lineno, f"from {node.module} import"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            method, receiver = node.func.attr, node.func.value
            if method in STATEMENT_METHODS or (
                method in TABLE_METHODS and (_is_store_like(receiver) or _is_table(receiver))
            ):
                found.append((node.lineno, f".{method}()"))
        elif _is_table(node):
            found.append((node.lineno, "db[...] table access"))
    return sorted(found)


def test_no_module_outside_the_store_runs_sql_on_it():
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC).as_posix()
        if relative.startswith(STORE) or relative.startswith(ALLOWED):
            continue
        for line, what in sql_uses(ast.parse(path.read_text(encoding="utf-8"))):
            offenders.append(f"{relative}:{line}: {what}")
    assert offenders == [], "SQL outside core/store/ (add a read or write there):\n" + "\n".join(offenders)


def test_the_check_sees_each_kind_of_use():
    code = """
import sqlite3
from sqlite_utils import Database
conn.execute("SELECT 1")
cur.executemany("INSERT", rows)
db.query("SELECT 1")
db["spans"].insert({})
self.db["scores"].exists()
items.insert(0, x)
row["span_id"]
"""
    # Line 7 is both a table access and a table method; lists and rows (9, 10) are left alone.
    assert sorted(line for line, _ in sql_uses(ast.parse(code))) == [2, 3, 4, 5, 6, 7, 7, 8]
