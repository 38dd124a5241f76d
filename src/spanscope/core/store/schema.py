"""Store schema and its migrations, versioned with SQLite's user_version.

Each migration takes the store from version N-1 to N inside one transaction; a store written by a
newer Spanscope (a version we do not know) is refused rather than guessed at.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils

#: Counts copied from a span onto its trace, summed over the trace's counted model calls.
TOKEN_COLUMNS = (
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
)

#: The normalized span fields that are stored as columns under their own names.
SPAN_FIELD_COLUMNS = (
    "trace_id",
    "span_id",
    "parent_id",
    "name",
    "kind",
    "start_ns",
    "end_ns",
    "status",
    "status_message",
    "model",
    "provider",
    *TOKEN_COLUMNS,
    "cost_usd",
    "session_id",
    "user_id",
    "service",
)

#: Scalar span columns of schema 1 (ingest writes WRITTEN_SPAN_COLUMNS).
SPAN_COLUMNS = (
    *SPAN_FIELD_COLUMNS,
    "source_id",
    "counted",
    "payload_chunk",
    "payload_index",
)


#: What ingest writes, in order: schema 1's columns, then the cost computed from a price at import
#: (model calls without a reported cost; None for an unknown price).
WRITTEN_SPAN_COLUMNS = (*SPAN_COLUMNS, "price_usd")

#: How many of a trace's counted model calls had their cost reported, computed from a price, or
#: neither (unknown); a trace's cost_usd is the reported plus the computed costs.
COST_SOURCE_COLUMNS = ("cost_reported", "cost_computed", "cost_unknown")

#: Trace roll-up columns, in the order queries return them.
TRACE_COLUMNS = (
    "trace_id",
    "root_name",
    "start_ns",
    "end_ns",
    "duration_ns",
    "span_count",
    "error_count",
    *TOKEN_COLUMNS,
    "cost_usd",
    "models",
    "session_id",
    "user_id",
    "service",
    *COST_SOURCE_COLUMNS,
)
#: Columns the trace list sorts by; each has an index, so a sort over 10^6 traces is an index walk.
SORTED_TRACE_COLUMNS = (
    "start_ns",
    "root_name",
    "duration_ns",
    "span_count",
    "error_count",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "models",
    "session_id",
    "user_id",
)


class SchemaError(Exception):
    """The store was written by an unknown (newer) version of Spanscope."""


def _create_v1(db: sqlite_utils.Database) -> None:
    db["sources"].create(
        {
            "id": int,
            "path": str,
            "format": str,
            "size": int,
            "mtime_ns": int,
            "imported_at": str,
            "span_count": int,
            "skipped": int,
        },
        pk="id",
    )
    db["sources"].create_index(["path", "size", "mtime_ns"], unique=True)
    span_types: dict[str, type] = {name: str for name in SPAN_COLUMNS}
    for name in (
        "start_ns",
        "end_ns",
        *TOKEN_COLUMNS,
        "source_id",
        "counted",
        "payload_chunk",
        "payload_index",
    ):
        span_types[name] = int
    span_types["cost_usd"] = float
    db["spans"].create(
        {"id": int, **span_types, "orphan": int, "clock_skew": int},
        pk="id",
        not_null={"trace_id", "span_id", "start_ns"},
        defaults={"orphan": 0, "clock_skew": 0, "counted": 0},
    )
    # The one index spans need: dedupe on import, a trace's spans, one span by id. Each further
    # index costs every import more than the in-memory sort of one trace's rows it would save.
    db["spans"].create_index(["trace_id", "span_id"], unique=True)
    db["chunks"].create({"id": int, "data": bytes}, pk="id", not_null={"data"})
    db["traces"].create(
        {
            "trace_id": str,
            "root_name": str,
            "start_ns": int,
            "end_ns": int,
            "duration_ns": int,
            "span_count": int,
            "error_count": int,
            **dict.fromkeys(TOKEN_COLUMNS, int),
            "cost_usd": float,
            "models": str,
            "session_id": str,
            "user_id": str,
            "service": str,
        },
        pk="trace_id",
    )
    # The traces table is small next to spans, so an index per sortable column costs imports little.
    for column in SORTED_TRACE_COLUMNS:
        db["traces"].create_index([column])


def _add_cost_sources(db: sqlite_utils.Database) -> None:
    """Model calls keep the cost computed from a price, traces say how their cost was obtained and
    cost_usd includes computed costs: every call is priced (with the user's price overrides, as an
    import would) and every trace rolled up again."""
    from spanscope.core.store.finalize import price_all_traces

    db.execute("SAVEPOINT cost_sources")  # one transaction, also when the connection autocommits
    if "price_usd" not in {c.name for c in db["spans"].columns}:
        db.execute("ALTER TABLE spans ADD COLUMN price_usd REAL")
    have = {c.name for c in db["traces"].columns}
    for column in COST_SOURCE_COLUMNS:
        if column not in have:
            db.execute(f"ALTER TABLE traces ADD COLUMN {column} INTEGER DEFAULT 0")
    price_all_traces(db.conn)
    db.execute("RELEASE cost_sources")


#: MIGRATIONS[i] takes the store from version i to i + 1.
MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_create_v1, _add_cost_sources]
VERSION = len(MIGRATIONS)


def migrate(db: sqlite_utils.Database) -> None:
    """Bring the store up to VERSION, one transaction per step."""
    current = db.execute("PRAGMA user_version").fetchone()[0]
    if current > VERSION:
        raise SchemaError(
            f"{db.conn} was written by a newer Spanscope (schema {current}; this one knows up to {VERSION})"
        )
    for version in range(current, VERSION):
        with db.conn:
            MIGRATIONS[version](db)
            db.execute(f"PRAGMA user_version = {version + 1}")
