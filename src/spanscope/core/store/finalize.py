"""Facts that need a whole trace: orphans, clock skew, which model calls count, trace roll-ups.

Spans of one trace may arrive in any order and across files, so these are recomputed for every
trace an import touched, inside the import's transaction.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterable

from spanscope.core.model import MODEL_KINDS
from spanscope.core.store.schema import TOKEN_COLUMNS

_MODEL_KINDS_SQL = ", ".join(f"'{k}'" for k in sorted(MODEL_KINDS))


def finalize_traces(conn: sqlite3.Connection, trace_ids: Iterable[str]) -> None:
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS touched (trace_id TEXT PRIMARY KEY)")
    conn.execute("DELETE FROM touched")
    conn.executemany("INSERT OR IGNORE INTO touched VALUES (?)", ((t,) for t in trace_ids))
    _update_span_flags(conn)
    _roll_up_traces(conn)
    conn.execute("DELETE FROM touched")


def _update_span_flags(conn: sqlite3.Connection) -> None:
    rows = conn.execute(
        "SELECT s.id, s.trace_id, s.span_id, s.parent_id, s.start_ns, "
        f"s.kind IN ({_MODEL_KINDS_SQL}), s.orphan, s.clock_skew, s.counted "
        "FROM spans s JOIN touched USING (trace_id)"
    ).fetchall()
    by_trace: dict[str, dict[str, tuple]] = defaultdict(dict)
    for row in rows:
        by_trace[row[1]][row[2]] = row
    changes = []
    for spans in by_trace.values():
        above_model = _spans_above_model_calls(spans)
        for rowid, _, span_id, parent_id, start_ns, is_model, orphan, skew, counted in spans.values():
            parent = spans.get(parent_id) if parent_id is not None else None
            flags = (
                int(parent_id is not None and parent is None),
                int(parent is not None and start_ns < parent[4]),
                int(bool(is_model) and span_id not in above_model),
            )
            if flags != (orphan, skew, counted):
                changes.append((*flags, rowid))
    conn.executemany("UPDATE spans SET orphan = ?, clock_skew = ?, counted = ? WHERE id = ?", changes)


def _spans_above_model_calls(spans: dict[str, tuple]) -> set[str]:
    """Ids of spans with a model call somewhere below them: their own usage repeats their children's."""
    above: set[str] = set()
    for span_id, row in spans.items():
        if not row[5]:
            continue
        parent_id = row[3]
        seen = {span_id}
        while (
            parent_id is not None and parent_id not in above and parent_id in spans and parent_id not in seen
        ):
            above.add(parent_id)
            seen.add(parent_id)
            parent_id = spans[parent_id][3]
    return above


def _roll_up_traces(conn: sqlite3.Connection) -> None:
    tokens = ", ".join(f"sum({c}) FILTER (WHERE counted)" for c in TOKEN_COLUMNS)
    conn.execute(
        f"""
        INSERT OR REPLACE INTO traces (trace_id, root_name, start_ns, end_ns, duration_ns, span_count,
            error_count, {", ".join(TOKEN_COLUMNS)}, cost_usd, models, session_id, user_id, service)
        SELECT g.trace_id,
            (SELECT r.name FROM spans r WHERE r.trace_id = g.trace_id AND (r.parent_id IS NULL OR r.orphan)
             ORDER BY r.start_ns LIMIT 1),
            min(start_ns), max(end_ns), max(end_ns) - min(start_ns), count(*),
            sum(status = 'error'), {tokens},
            sum(cost_usd) FILTER (WHERE counted),
            group_concat(DISTINCT model) FILTER (WHERE kind IN ({_MODEL_KINDS_SQL}) AND model IS NOT NULL),
            max(session_id), max(user_id),
            (SELECT r.service FROM spans r WHERE r.trace_id = g.trace_id AND r.service IS NOT NULL LIMIT 1)
        FROM spans g JOIN touched USING (trace_id)
        GROUP BY g.trace_id
        """
    )
