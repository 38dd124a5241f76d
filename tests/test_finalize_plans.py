"""Finalizing an import's traces costs what those traces hold, whatever the store's size: no
statement of it scans the spans table (one did, and each import into a 10M-span store took 8x as long
as the first). Checked on SQLite's own query plans."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from spanscope.core.store import connect, finalize

#: Statements meant to read the whole store: repricing every unpriced call after a price change.
WHOLE_STORE = {"_PRICED_TRACES"}
#: A plan line that reads every row of spans (aliases used in finalize's statements included).
SPANS_SCAN = re.compile(r"^SCAN (spans|[cpgs])\b")


def statements() -> dict[str, str]:
    return {
        name: value
        for name, value in vars(finalize).items()
        if name.startswith("_") and name.isupper() and isinstance(value, str)
        and re.search(r"\b(SELECT|UPDATE)\b", value) and name not in WHOLE_STORE
    }  # fmt: skip


def test_no_finalize_statement_scans_every_span(tmp_path: Path) -> None:
    db = connect(tmp_path / "store.db")
    conn: sqlite3.Connection = db.conn
    finalize._fill_touched(conn, [])
    planned = 0
    for name, sql in statements().items():
        try:
            plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}")]
        except sqlite3.OperationalError:
            continue  # a fragment, not a statement of its own
        planned += 1
        assert not [line for line in plan if SPANS_SCAN.match(line)], (name, plan)
    assert planned >= 6
