"""Facts that need a whole trace: orphans, clock skew, which model calls count, MCP client calls
whose server span failed, trace roll-ups.

Spans of one trace may arrive in any order and across files, so these are recomputed for every
trace an import touched, inside the import's transaction. It is all SQL, so it runs in SQLite's C
code without holding Python's lock while the parser goes on. (Model calls are priced as they are
read, in `price_usd`; a trace's cost adds those up in the same pass as its tokens.)
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path

from spanscope.core.conventions import mcp
from spanscope.core.model import MODEL_KINDS, Kind, Status
from spanscope.core.pricing.prices import PriceBook, SpanPricer
from spanscope.core.span_rows import TOKEN_COLUMNS
from spanscope.core.store.db import connect
from spanscope.core.store.documents import ChunkReader
from spanscope.core.store.schema import PENDING_PRICING_TABLE, TRACE_COLUMNS, TRACE_SERVICE_SQL
from spanscope.core.store.search_index import note_status_changes

_MODEL_KINDS_SQL = "(" + ", ".join(f"'{k}'" for k in sorted(MODEL_KINDS)) + ")"

# The touched traces' spans by rowid, each with its parent's rowid and its flags as they should be:
# one pass of (trace_id, span_id) lookups, after which the walks below follow integers in memory.
_MAP_TREE = f"""
INSERT INTO tree
SELECT id, parent, model, orphan, skew, orphan != was_orphan OR skew != was_skew FROM (
    SELECT c.id AS id, p.id AS parent, c.kind IN {_MODEL_KINDS_SQL} AS model,
        c.orphan AS was_orphan, c.clock_skew AS was_skew,
        (c.parent_id IS NOT NULL AND p.id IS NULL) AS orphan,
        coalesce(c.start_ns < p.start_ns, 0) AS skew
    FROM touched t CROSS JOIN spans c ON c.trace_id = t.trace_id
    LEFT JOIN spans p ON p.trace_id = c.trace_id AND p.span_id = c.parent_id
)
"""
_SET_CHANGED_FLAGS = """
UPDATE spans SET
    orphan = (SELECT t.orphan FROM tree t WHERE t.id = spans.id),
    clock_skew = (SELECT t.skew FROM tree t WHERE t.id = spans.id)
WHERE id IN (SELECT id FROM tree WHERE changed)
"""

# A model call with another below it only repeats that usage (an agent's LLM span around the
# SDK's call): it is not counted. Every ancestor of a model call is walked to (UNION, not ALL,
# also ends parent cycles). Spans are never removed, so a call only ever stops counting.
_UNCOUNT_WRAPPING_MODEL_CALLS = """
UPDATE spans SET counted = 0
WHERE counted = 1 AND id IN (
    WITH RECURSIVE above(id) AS (
        SELECT parent FROM tree WHERE model AND parent IS NOT NULL
        UNION
        SELECT t.parent FROM above a JOIN tree t ON t.id = a.id WHERE t.parent IS NOT NULL
    )
    SELECT a.id FROM above a JOIN tree t ON t.id = a.id WHERE t.model
)
"""

# Tool calls without a status with a failed tool call just under them: among them, MCP client calls
# whose server span failed (their documents tell: _fail_mcp_client_calls).
_UNSET_TOOLS_OVER_FAILED_TOOLS = f"""
SELECT p.id, p.status_message, p.payload_chunk, p.payload_index,
    c.payload_chunk, c.payload_index, c.name, c.status_message
FROM tree t JOIN spans c ON c.id = t.id JOIN spans p ON p.id = t.parent
WHERE c.status = '{Status.ERROR}' AND c.kind = '{Kind.TOOL}' AND p.kind = '{Kind.TOOL}'
    AND p.status = '{Status.UNSET}'
"""


def _fail_mcp_client_calls(conn: sqlite3.Connection) -> None:
    """Mark failed the MCP client calls whose server span of the same request failed.

    The mcp SDK leaves a client's `tools/call` span UNSET when the server's tool fails (the result
    says `isError`, no JSON-RPC error); only the server's span, under it in the same trace, is ERROR.
    The caller's side is marked too, quoting the server, so the failure shows where the call was
    made and the trace's error count holds both. Only spans without a status change: one the source
    gave is kept. Part of finalizing, so the server's spans may arrive before or after the client's.
    """
    rows = conn.execute(_UNSET_TOOLS_OVER_FAILED_TOOLS).fetchall()
    if not rows:
        return
    chunks = ChunkReader(conn)
    failed = []
    said_before = []
    for (
        client_id,
        client_said,
        client_at,
        client_index,
        server_at,
        server_index,
        server_name,
        message,
    ) in rows:
        client, server = chunks.document(client_at, client_index), chunks.document(server_at, server_index)
        if client and server and _call_and_its_server_span(client, server):
            failed.append((_server_failure(server_name, message, server), client_id))
            said_before.append((client_id, client_said))
    note_status_changes(conn, said_before)
    conn.executemany(f"UPDATE spans SET status = '{Status.ERROR}', status_message = ? WHERE id = ?", failed)


def _call_and_its_server_span(client: dict, server: dict) -> bool:
    """Both documents are of MCP `tools/call` spans, of the client and server side, for one request
    (when both recorded its id)."""
    asked = mcp.tool_call_request(client.get("attributes") or {})
    served = mcp.tool_call_request(server.get("attributes") or {})
    if asked is None or served is None:
        return False
    if client.get("source_kind") == "SERVER" or server.get("source_kind") == "CLIENT":
        return False
    return asked == served or not (asked and served)


def _server_failure(name: str, message: str | None, server: dict) -> str:
    said = f": {message}" if message else ", with no message"
    if not message and (error_type := (server.get("attributes") or {}).get("error.type")):
        said += f" (error.type {error_type})"
    return f'the MCP server\'s tool call failed (server span "{name}"){said}'


_ROLLED_UP = tuple(c for c in TRACE_COLUMNS[1:] if c != "scores")
_TOKENS = ", ".join(f"sum({c}) FILTER (WHERE counted)" for c in TOKEN_COLUMNS)
# An upsert, not INSERT OR REPLACE: a trace keeps its rowid, so views paging by rowid stay valid.
_ROLL_UP_TRACES = f"""
INSERT INTO traces (trace_id, {", ".join(_ROLLED_UP)})
SELECT g.trace_id,
    -- The earliest root's name, in the same pass: zero-padded start times sort as numbers.
    substr(min(iif(parent_id IS NULL OR orphan, printf('%020d', start_ns) || name, NULL)), 21),
    -- A trace with a span still running has no end yet (its latency shows as running).
    min(start_ns), iif(count(end_ns) = count(*), max(end_ns), NULL),
    iif(count(end_ns) = count(*), max(end_ns) - min(start_ns), NULL), count(*),
    sum(status = 'error'), {_TOKENS},
    sum(coalesce(cost_usd, price_usd)) FILTER (WHERE counted),
    group_concat(DISTINCT model) FILTER (WHERE kind IN {_MODEL_KINDS_SQL} AND model IS NOT NULL),
    max(session_id), max(user_id), {TRACE_SERVICE_SQL},
    count(*) FILTER (WHERE counted AND cost_usd IS NOT NULL),
    count(*) FILTER (WHERE counted AND cost_usd IS NULL AND price_usd IS NOT NULL),
    count(*) FILTER (WHERE counted AND cost_usd IS NULL AND price_usd IS NULL)
FROM touched t CROSS JOIN spans g ON g.trace_id = t.trace_id
WHERE true
GROUP BY g.trace_id
ON CONFLICT (trace_id) DO UPDATE SET
    {", ".join(f"{c} = excluded.{c}" for c in _ROLLED_UP)}
"""


# Per score name: the mean of numeric scores, else the distinct labels (sorted by the subquery,
# whose order SQLite's group_concat follows); imported scores and reviews given here alike.
_SCORE_SUMMARY = """(
    SELECT group_concat(name || ' ' || shown, ', ') FROM (
        SELECT name, CASE WHEN count(value) > 0 THEN printf('%.3g', avg(value))
                          ELSE group_concat(DISTINCT label) END AS shown
        FROM (SELECT name, value, label FROM all_scores s WHERE s.trace_id = traces.trace_id
              ORDER BY name, label)
        GROUP BY name ORDER BY name
    )
)"""
# Only traces with scores are touched.
_SUMMARIZE_SCORES = f"""
UPDATE traces SET scores = {_SCORE_SUMMARY}
WHERE trace_id IN (
    SELECT trace_id FROM touched t WHERE EXISTS (SELECT 1 FROM all_scores s WHERE s.trace_id = t.trace_id)
)
"""


def summarize_scores(conn: sqlite3.Connection, trace_id: str) -> None:
    """Rewrite one trace's score summary, e.g. after a review changed its scores."""
    conn.execute(f"UPDATE traces SET scores = {_SCORE_SUMMARY} WHERE trace_id = ?", (trace_id,))


# Model calls without a reported cost, of the touched traces, with what pricing them needs.
_UNREPORTED_CALLS = f"""
SELECT s.id, s.provider, s.model, s.start_ns, s.input_tokens, s.cache_read_tokens, s.cache_write_tokens,
    s.output_tokens, s.reasoning_tokens
FROM touched t CROSS JOIN spans s ON s.trace_id = t.trace_id
WHERE s.kind IN {_MODEL_KINDS_SQL} AND s.cost_usd IS NULL
"""


def finalize_traces(conn: sqlite3.Connection, trace_ids: Iterable[str]) -> None:
    """Recompute flags, counted calls and roll-ups (costs included) of `trace_ids`."""
    _fill_touched(conn, trace_ids)
    for statement in (_MAP_TREE, _SET_CHANGED_FLAGS, _UNCOUNT_WRAPPING_MODEL_CALLS):
        conn.execute(statement)
    _fail_mcp_client_calls(conn)
    _roll_up(conn)


def price_traces(conn: sqlite3.Connection, trace_ids: Iterable[str], book: PriceBook) -> None:
    """Price the model calls of `trace_ids` again and roll them up, e.g. after the user's price
    overrides changed; each (provider, model, day) is looked up once."""
    _fill_touched(conn, trace_ids)
    price = SpanPricer(book)
    priced = [(price.usd(*call[1:]), call[0]) for call in conn.execute(_UNREPORTED_CALLS).fetchall()]
    conn.executemany("UPDATE spans SET price_usd = ? WHERE id = ?", priced)
    _roll_up(conn)


def _pending(conn: sqlite3.Connection) -> bool:
    sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    return conn.execute(sql, (PENDING_PRICING_TABLE,)).fetchone() is not None


def price_pending(conn: sqlite3.Connection, book: PriceBook) -> int:
    """Price with `book` the traces an upgrade from before computed costs left unpriced, roll them
    up and forget them; how many (0 when the store has none waiting)."""
    if not _pending(conn):
        return 0
    traces = [t for (t,) in conn.execute(f"SELECT trace_id FROM {PENDING_PRICING_TABLE}")]
    price_traces(conn, traces, book)
    conn.execute(f"DROP TABLE {PENDING_PRICING_TABLE}")
    return len(traces)


def prepare_store(path: Path, book: PriceBook) -> int:
    """Create or upgrade the store at `path`, then price with `book` the traces the upgrade left
    unpriced (how many): what whoever opens a store for use, wanting current costs, does first.
    A store with nothing waiting is only read, so one on read-only media still opens."""
    if Path(path).exists():
        db = connect(path, readonly=True)  # upgrades an older store's schema first
        try:
            waiting = _pending(db.conn)
        finally:
            db.conn.close()
        if not waiting:
            return 0
    return _in_transaction(path, lambda conn: price_pending(conn, book))


def reprice_store(path: Path, book: PriceBook) -> int:
    """Price again, in one transaction, every model call of the store at `path` without a reported
    cost, and roll their traces up, e.g. after the user's overrides changed; how many traces."""

    def reprice(conn: sqlite3.Connection) -> int:
        traces = [t for (t,) in conn.execute(_PRICED_TRACES)]
        price_traces(conn, traces, book)
        return len(traces)

    return _in_transaction(path, reprice)


def _in_transaction(path: Path, work: Callable[[sqlite3.Connection], int]) -> int:
    """`work` done on a writable connection to `path` in one immediate transaction."""
    db = connect(path)
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            done = work(db.conn)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    finally:
        db.conn.close()
    return done


_PRICED_TRACES = f"SELECT DISTINCT trace_id FROM spans WHERE kind IN {_MODEL_KINDS_SQL} AND cost_usd IS NULL"


def _fill_touched(conn: sqlite3.Connection, trace_ids: Iterable[str]) -> None:
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS touched (trace_id TEXT PRIMARY KEY)")
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS tree "
        "(id INTEGER PRIMARY KEY, parent INT, model INT, orphan INT, skew INT, changed INT)"
    )
    conn.executemany("INSERT OR IGNORE INTO touched VALUES (?)", ((t,) for t in trace_ids))


def _roll_up(conn: sqlite3.Connection) -> None:
    conn.execute(_ROLL_UP_TRACES)
    conn.execute(_SUMMARIZE_SCORES)
    for table in ("touched", "tree"):
        conn.execute(f"DELETE FROM {table}")
