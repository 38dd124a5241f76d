"""Stores as older Spanscopes left them, for the upgrade tests."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from spanscope.core.store.schema import MIGRATIONS, _add_cost_sources, _add_ttft, _root_service


def before_computed_costs(store: Path, trace_cost: float | None) -> None:
    """Take a store back to the schema before computed costs: each trace's cost `trace_cost` (what
    its source reported), no computed costs on the calls, no cost sources on the traces."""
    conn = sqlite3.connect(store)
    conn.execute("UPDATE traces SET cost_usd = ?", (trace_cost,))
    conn.execute("ALTER TABLE spans DROP COLUMN price_usd")
    for column in ("cost_reported", "cost_computed", "cost_unknown"):
        conn.execute(f"ALTER TABLE traces DROP COLUMN {column}")
    conn.execute(f"PRAGMA user_version = {MIGRATIONS.index(_add_cost_sources)}")
    conn.commit()
    conn.close()


def before_ttft(store: Path) -> None:
    """Take a store back to the schema before times to first token: no ttft_ns column."""
    conn = sqlite3.connect(store)
    conn.execute("ALTER TABLE spans DROP COLUMN ttft_ns")
    conn.execute(f"PRAGMA user_version = {MIGRATIONS.index(_add_ttft)}")
    conn.commit()
    conn.close()


def before_root_service(store: Path) -> None:
    """Take a store back to the schema whose traces took the highest-sorting service of their spans."""
    conn = sqlite3.connect(store)
    conn.execute(
        "UPDATE traces SET service = (SELECT max(service) FROM spans s WHERE s.trace_id = traces.trace_id)"
    )
    conn.execute(f"PRAGMA user_version = {MIGRATIONS.index(_root_service)}")
    conn.commit()
    conn.close()
