"""Store schema and its migrations, versioned with SQLite's user_version.

Each migration takes the store from version N-1 to N inside one transaction; a store written by a
newer Spanscope (a version we do not know) is refused rather than guessed at.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils

from spanscope.core.span_rows import SPAN_SCALARS, TOKEN_COLUMNS

#: The normalized span fields that are stored as columns under their own names.
SPAN_FIELD_COLUMNS = ("trace_id", *SPAN_SCALARS, "session_id", "user_id", "service")

#: Scalar span columns, in the order ingest writes them.
SPAN_COLUMNS = (
    *SPAN_FIELD_COLUMNS,
    "source_id",
    "counted",
    "payload_chunk",
    "payload_index",
)

#: What ingest writes, in order: schema 1's columns, then the cost computed from a price at import
#: (model calls without a reported cost; None for an unknown price), then the time to first token.
WRITTEN_SPAN_COLUMNS = (*SPAN_COLUMNS, "price_usd", "ttft_ns")

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
    "scores",
    *COST_SOURCE_COLUMNS,
)
#: The sortable columns schema 1 indexed (a migration never changes, so it keeps its own list).
_V1_SORTED_TRACE_COLUMNS = (
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
#: Columns the trace list sorts by; each has an index, so a sort over 10^6 traces is an index walk.
SORTED_TRACE_COLUMNS = (*_V1_SORTED_TRACE_COLUMNS, "scores", "service")


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
    for column in _V1_SORTED_TRACE_COLUMNS:
        db["traces"].create_index([column])


#: Score columns, in the order ingest writes them; span_id is '' for a score of the whole trace.
SCORE_COLUMNS = ("trace_id", "span_id", "name", "value", "label", "comment", "source", "key", "source_id")


def _add_scores_v2(db: sqlite_utils.Database) -> None:
    db["scores"].create(
        {
            "id": int,
            **dict.fromkeys(SCORE_COLUMNS, str),
            "value": float,
            "source_id": int,
        },
        pk="id",
        not_null={"trace_id", "span_id", "name", "key"},
    )
    # Dedupes re-read scores and serves both "a trace's scores" and "a span's scores".
    db["scores"].create_index(["trace_id", "span_id", "name", "key"], unique=True)
    # A short summary per trace ("correctness 0.9, helpful yes") for the trace list.
    db["traces"].add_column("scores", str)
    db["traces"].create_index(["scores"])


#: The hour of a span's start; how its cost is known (0 reported by the source, 1 to be priced from
#: its tokens, 2 unknown: neither); its latency bin: a decade and its leading digit, so bin 72 holds
#: durations of [2e6, 3e6) ns. Queries must spell them exactly so to walk the usage index.
HOUR_SQL = "start_ns / 3600000000000"
COST_CLASS_SQL = (
    "(CASE WHEN cost_usd IS NOT NULL THEN 0 "
    "WHEN input_tokens IS NULL AND output_tokens IS NULL THEN 2 ELSE 1 END)"
)
LATENCY_BIN_SQL = (
    "(CASE WHEN end_ns > start_ns THEN length(end_ns - start_ns) * 10 "
    "+ CAST(substr(end_ns - start_ns, 1, 1) AS INTEGER) END)"
)


def _add_usage_index(db: sqlite_utils.Database) -> None:
    """Usage charts over a million model calls: a partial index of counted calls only, ordered by
    hour, model, provider, cost class and latency bin and covering every column the charts sum,
    so a time series is one ordered walk of a small index: no sort, no table lookups, and sums
    that need no per-row condition."""
    db.execute(
        f"CREATE INDEX IF NOT EXISTS spans_usage ON spans ({HOUR_SQL}, model, provider, {COST_CLASS_SQL}, "
        f"{LATENCY_BIN_SQL}, start_ns, end_ns, status, service, input_tokens, output_tokens, "
        "cache_read_tokens, cache_write_tokens, cost_usd) WHERE counted = 1"
    )


def _add_annotations(db: sqlite_utils.Database) -> None:
    """Scores given in Spanscope itself (human review), kept apart from imported scores so that no
    import ever replaces or drops them; label sets for them; and `all_scores`, both kinds read as
    one (`local` 1 for a review given here, whose `source` is its author)."""
    db.execute(
        "CREATE TABLE annotations (id INTEGER PRIMARY KEY, trace_id TEXT NOT NULL, span_id TEXT NOT NULL, "
        "name TEXT NOT NULL, value REAL, label TEXT, comment TEXT, author TEXT NOT NULL, "
        "updated_at TEXT NOT NULL)"
    )
    # One score of a name per reviewer and target (span_id '' for the whole trace): giving it again
    # replaces it. Also serves "a trace's annotations".
    db.execute("CREATE UNIQUE INDEX annotations_target ON annotations (trace_id, span_id, name, author)")
    db.execute("CREATE TABLE label_sets (name TEXT PRIMARY KEY, labels TEXT NOT NULL)")
    db.execute(
        "CREATE VIEW all_scores AS "
        "SELECT id, trace_id, span_id, name, value, label, comment, source, key, 0 AS local FROM scores "
        "UNION ALL "
        "SELECT id, trace_id, span_id, name, value, label, comment, author, '', 1 FROM annotations"
    )


#: Traces a store upgraded from before computed costs still has to price: their calls have no
#: price_usd yet and their roll-ups no cost sources. Pricing needs the user's price book, which a
#: schema step does not have, so whoever opens the store for use prices them (finalize.prepare_store).
PENDING_PRICING_TABLE = "unpriced_traces"


def _add_cost_sources(db: sqlite_utils.Database) -> None:
    """Model calls keep the cost computed from a price, traces say how their cost was obtained and
    cost_usd includes computed costs: the columns for that, and the traces held so far listed in
    PENDING_PRICING_TABLE, to be priced and rolled up again with a price book."""
    db.execute("SAVEPOINT cost_sources")  # one transaction, also when the connection autocommits
    if "price_usd" not in {c.name for c in db["spans"].columns}:
        db.execute("ALTER TABLE spans ADD COLUMN price_usd REAL")
    have = {c.name for c in db["traces"].columns}
    for column in COST_SOURCE_COLUMNS:
        if column not in have:
            db.execute(f"ALTER TABLE traces ADD COLUMN {column} INTEGER DEFAULT 0")
    if db.execute("SELECT 1 FROM traces LIMIT 1").fetchone():
        db.execute(f"CREATE TABLE {PENDING_PRICING_TABLE} (trace_id TEXT PRIMARY KEY)")
        db.execute(f"INSERT INTO {PENDING_PRICING_TABLE} SELECT trace_id FROM traces")
    db.execute("RELEASE cost_sources")


#: The full-text index of spans (core/search): derived from spans and chunks, so dropping these tables
#: loses nothing; the indexer fills them lazily, outside imports. Contentless: the text is in the
#: chunks already, so the index holds only its terms (snippets are cut from the chunks).
SEARCH_TABLES_SQL = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5("
    "name, input, output, attributes, content='', tokenize='unicode61 remove_diacritics 2')",
    # How far the indexer got: spans with id <= last_span are indexed, `indexed` of them.
    "CREATE TABLE IF NOT EXISTS search_state "
    "(id INTEGER PRIMARY KEY CHECK (id = 1), last_span INTEGER NOT NULL, indexed INTEGER NOT NULL)",
    # Spans indexed while still running, with the text indexed for them: a contentless index can
    # only forget a row given its exact text, and a running span is replaced once it completes.
    "CREATE TABLE IF NOT EXISTS search_running "
    "(id INTEGER PRIMARY KEY, name TEXT, input TEXT, output TEXT, attributes TEXT)",
)


def _add_search_index(db: sqlite_utils.Database) -> None:
    for sql in SEARCH_TABLES_SQL:
        db.execute(sql)


#: Log record columns, in the order ingest writes them: the ids that join a record to its span (either
#: may be NULL), its time, event name and severity for listing, `key` (a digest of the whole record:
#: re-reading it adds nothing), its document (model.LogRecord.to_json) compressed as span chunks are.
LOG_COLUMNS = ("trace_id", "span_id", "time_ns", "event_name", "severity_number", "key", "data", "source_id")


def _add_logs(db: sqlite_utils.Database) -> None:
    """OTLP log records, joined to spans on read by (trace_id, span_id), so either may come first."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS logs (id INTEGER PRIMARY KEY, trace_id TEXT, span_id TEXT, "
        "time_ns INTEGER, event_name TEXT, severity_number INTEGER, key TEXT NOT NULL, data BLOB NOT NULL, "
        "source_id INTEGER)"
    )
    db.execute("CREATE UNIQUE INDEX IF NOT EXISTS logs_key ON logs (key)")
    db.execute("CREATE INDEX IF NOT EXISTS logs_span ON logs (trace_id, span_id)")


def _add_ttft(db: sqlite_utils.Database) -> None:
    """A span's time to first token (model.Span.ttft_ns). Spans stored before it have none: their
    attributes are in the stored documents, but reading every one back is a re-import, not a step."""
    if "ttft_ns" not in {c.name for c in db["spans"].columns}:
        db.execute("ALTER TABLE spans ADD COLUMN ttft_ns INTEGER")


def _add_service_index(db: sqlite_utils.Database) -> None:
    """The trace list's Project column (a Phoenix or LangSmith project, an MLflow experiment, an
    Inspect task, else OTel `service.name`: what every reader puts in the service since schema 1):
    an index to sort by it, filter on one project, and list the projects by skipping through it."""
    db["traces"].create_index(["service"], if_not_exists=True)


#: A trace's service, aggregated over its spans `g`: its earliest root's (as its name is), else the one
#: most of its spans name. A client's trace with a server's spans under it is the client's, whichever
#: name sorts first.
TRACE_SERVICE_SQL = """coalesce(
        nullif(substr(min(iif(g.parent_id IS NULL OR g.orphan,
                              printf('%020d', g.start_ns) || coalesce(g.service, ''), NULL)), 21), ''),
        (SELECT s.service FROM spans s WHERE s.trace_id = g.trace_id AND s.service IS NOT NULL
         GROUP BY s.service ORDER BY count(*) DESC, s.service LIMIT 1))"""


def _root_service(db: sqlite_utils.Database) -> None:
    """Traces rolled up before took the highest-sorting service among their spans: their root's now."""
    db.execute(
        f"UPDATE traces SET service = coalesce("
        f"(SELECT {TRACE_SERVICE_SQL} FROM spans g WHERE g.trace_id = traces.trace_id), service)"
    )


#: The table that marks a source whose import is still running (a row per such source), with the
#: first span, chunk and log record ids it may have written: views see its spans as they are
#: committed, the search index waits below them, and an import that ends without finishing is undone.
IMPORTING_TABLE = "imports_running"
#: Spans stored before an import and changed by it (a running span it completed, a flag or status
#: finalizing changed), as they were: `undo_source` the import, then every column of spans.
UNDO_TABLE = "import_undo"


def _add_progressive_imports(db: sqlite_utils.Database) -> None:
    """Imports commit as they go (store/undo.py): the running ones are marked, and what they changed
    of the spans already stored is kept until they finish. A later migration that adds a column to
    spans adds it to UNDO_TABLE too."""
    db.execute(
        f"CREATE TABLE IF NOT EXISTS {IMPORTING_TABLE} (source_id INTEGER PRIMARY KEY, "
        "first_span INTEGER NOT NULL, first_chunk INTEGER NOT NULL, first_log INTEGER NOT NULL)"
    )
    db.execute(f"CREATE TABLE IF NOT EXISTS {UNDO_TABLE} AS SELECT 0 AS undo_source, * FROM spans WHERE 0")
    db.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS {UNDO_TABLE}_span ON {UNDO_TABLE} (undo_source, id)")


#: A replayed or judged model call's span and the recorded span it replays or judges (core/replay):
#: filled from the span's `spanscope.replay.*` attributes as it is stored, so a replay exported and
#: imported again keeps its link; `source_id` lets an undone import take its rows with it.
REPLAYS_TABLE = "replays"
REPLAY_COLUMNS = ("trace_id", "span_id", "of_trace_id", "of_span_id", "purpose", "run", "model", "source_id")


def _add_replays(db: sqlite_utils.Database) -> None:
    db.execute(
        f"CREATE TABLE IF NOT EXISTS {REPLAYS_TABLE} (trace_id TEXT NOT NULL, span_id TEXT NOT NULL, "
        "of_trace_id TEXT NOT NULL, of_span_id TEXT NOT NULL, purpose TEXT NOT NULL, run TEXT, model TEXT, "
        "source_id INTEGER NOT NULL, PRIMARY KEY (trace_id, span_id))"
    )
    db.execute(f"CREATE INDEX IF NOT EXISTS {REPLAYS_TABLE}_of ON {REPLAYS_TABLE} (of_trace_id, of_span_id)")
    db.execute(f"CREATE INDEX IF NOT EXISTS {REPLAYS_TABLE}_run ON {REPLAYS_TABLE} (run)")


#: The traces of a remote-server cache store (core/remote/cache.py): which server each came from, when it
#: was fetched and last opened (the least recently opened go first when the cache is over its size
#: limit), about how many bytes it takes, and the source its spans were stored under.
REMOTE_TRACES_TABLE = "remote_traces"


def _add_remote_traces(db: sqlite_utils.Database) -> None:
    db.execute(
        f"CREATE TABLE IF NOT EXISTS {REMOTE_TRACES_TABLE} (trace_id TEXT PRIMARY KEY, server TEXT NOT NULL, "
        "fetched_ns INTEGER NOT NULL, opened_ns INTEGER NOT NULL, stored_bytes INTEGER NOT NULL, "
        "source_id INTEGER NOT NULL)"
    )
    db.execute(
        f"CREATE INDEX IF NOT EXISTS {REMOTE_TRACES_TABLE}_opened ON {REMOTE_TRACES_TABLE} (opened_ns)"
    )


#: MIGRATIONS[i] takes the store from version i to i + 1.
MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _create_v1,
    _add_scores_v2,
    _add_usage_index,
    _add_annotations,
    _add_cost_sources,
    _add_search_index,
    _add_logs,
    _add_ttft,
    _add_service_index,
    _root_service,
    _add_progressive_imports,
    _add_replays,
    _add_remote_traces,
]
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
