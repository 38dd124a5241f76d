"""The MLflow store reader, on the real mlflow.db and on small stores made here for the edge cases.

Expected figures are read from the foreign store with plain SQL, independently of the reader."""

from __future__ import annotations

import shutil
import sqlite3
from collections import Counter, defaultdict
from pathlib import Path

import orjson
import pytest

from spanscope.cli import main
from spanscope.core.model import Kind
from spanscope.core.store import Outcome, import_file
from sqlite_stores import fingerprint, query, read_all

# The value of an attribute inside the span's content JSON (itself JSON text).
_ATTR = "json_extract(json_extract(content, '$.attributes.\"{}\"'), '${}')"


@pytest.fixture
def mlflow_db(fixtures_dir) -> Path:
    return fixtures_dir / "mlflow-sqlite" / "mlflow.db"


def test_the_real_store_reads_with_the_figures_sql_gives(mlflow_db):
    name, spans, problems = read_all(mlflow_db)
    assert (name, problems) == ("mlflow-sqlite", [])
    rows = query(
        mlflow_db,
        "SELECT trace_id, span_id, parent_span_id, type, status, total_cost, "
        f"{_ATTR.format('mlflow.llm.model', '')}, "
        f"{_ATTR.format('mlflow.chat.tokenUsage', '.input_tokens')}, "
        f"{_ATTR.format('mlflow.chat.tokenUsage', '.output_tokens')} FROM spans",
    )
    assert len(spans) == len(rows) == 28
    assert len({s.trace_id for s in spans}) == query(mlflow_db, "SELECT count(*) FROM trace_info")[0][0] == 6
    # The columns hold hex ids, the content JSON base64: parents link only if those were converted.
    assert {(r[0].removeprefix("tr-"), r[1], r[2]) for r in rows} == {
        (s.trace_id, s.span_id, s.parent_id) for s in spans
    }
    assert {r[1]: r[3] for r in rows} == {s.span_id: s.source_kind for s in spans}
    assert {s.kind for s in spans if s.source_kind == "CHAT_MODEL"} == {Kind.LLM}
    assert {r[1] for r in rows if r[4] == "ERROR"} == {s.span_id for s in spans if s.status == "error"}
    assert {r[1]: r[5] for r in rows if r[5] is not None} == {
        s.span_id: s.cost_usd for s in spans if s.cost_usd
    }
    assert {r[1]: r[6] for r in rows} == {s.span_id: s.model for s in spans}
    expected: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        if r[7] is not None:
            expected[r[6]][0] += r[7]
            expected[r[6]][1] += r[8]
    got: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for s in spans:
        if s.is_model_call and s.input_tokens is not None:
            got[s.model][0] += s.input_tokens
            got[s.model][1] += s.output_tokens
    assert got == expected
    assert got["gpt-4o-2024-08-06"] == [87 + 109 + 83 + 105, 34 + 26 + 34 + 26]


def test_token_totals_per_trace_match_what_mlflow_recorded_on_the_trace(mlflow_db):
    _, spans, _ = read_all(mlflow_db)
    totals: Counter[str] = Counter()
    for s in spans:
        totals[s.trace_id] += s.input_tokens or 0
    recorded = query(
        mlflow_db, "SELECT request_id, input_tokens FROM trace_info WHERE input_tokens IS NOT NULL"
    )
    assert len(recorded) == 4
    assert {rid.removeprefix("tr-"): tokens for rid, tokens in recorded} == {
        t: n for t, n in totals.items() if n
    }


def test_chat_inputs_and_outputs_become_messages(mlflow_db):
    _, spans, _ = read_all(mlflow_db)
    call = next(s for s in spans if s.span_id == "26de729c67d12d01")
    assert [m["role"] for m in call.input] == ["system", "user"]
    assert call.output[0]["tool_calls"][0]["name"] == "get_weather"
    tool = next(s for s in spans if s.span_id == "fc6eb2fff123f2f3")
    assert tool.input == {"city": "Paris"}
    failed = next(s for s in spans if s.span_id == "1f950c8221eada42")
    assert failed.events[0].exception_type == "ValueError"


def test_sessions_users_experiments_and_trace_metadata(mlflow_db):
    _, spans, _ = read_all(mlflow_db)
    sessions = dict(query(mlflow_db, "SELECT request_id, session_id FROM trace_info"))
    users = dict(
        query(
            mlflow_db, "SELECT request_id, value FROM trace_request_metadata WHERE key = 'mlflow.trace.user'"
        )
    )
    experiments = dict(
        query(
            mlflow_db,
            "SELECT t.request_id, e.name FROM trace_info t JOIN experiments e USING (experiment_id)",
        )
    )
    for s in spans:
        rid = f"tr-{s.trace_id}"
        assert (s.session_id, s.user_id, s.service) == (sessions[rid], users.get(rid), experiments[rid])
    root = next(s for s in spans if s.trace_id == "c03d0681f9b9f50e96e6a4f424a934ed" and s.parent_id is None)
    assert root.attributes["mlflow.trace_tags"]["env"] == "fixture"
    assert root.attributes["mlflow.trace_metadata"]["mlflow.trace_schema.version"] == "3"


def test_assessments_become_scores(mlflow_db):
    _, spans, _ = read_all(mlflow_db)
    roots = {s.trace_id: s.span_id for s in spans if s.parent_id is None}
    got = {
        (s.span_id, c.key, c.name, c.value, c.label, c.source, c.trace_level) for s in spans for c in s.scores
    }
    expected = set()
    for key, rid, name, kind, value, source, span_id in query(
        mlflow_db,
        "SELECT assessment_id, trace_id, name, assessment_type, value, source_type, span_id FROM assessments",
    ):
        parsed = orjson.loads(value)
        number = float(parsed) if isinstance(parsed, bool | int | float) else None
        label = parsed if isinstance(parsed, str) else None
        if isinstance(parsed, bool):
            label = "true" if parsed else "false"
        source = f"{source} expectation" if kind == "expectation" else source
        expected.add(
            (span_id or roots[rid.removeprefix("tr-")], key, name, number, label, source, span_id is None)
        )
    assert got == expected
    assert len(got) == 5


def test_import_through_the_cli_leaves_the_store_untouched(mlflow_db, tmp_path, capsys):
    folder = tmp_path / "peer"
    folder.mkdir()
    copy = Path(shutil.copy(mlflow_db, folder / "mlflow.db"))
    before = fingerprint(copy)
    store = tmp_path / "store.db"
    assert main(["import", "--db", str(store), str(copy)]) == 0
    assert "28 spans (28 new) in 6 traces [mlflow-sqlite]" in capsys.readouterr().err
    assert main(["traces", "--db", str(store), "--json"]) == 0
    traces = {t["trace_id"]: t for t in map(orjson.loads, capsys.readouterr().out.splitlines())}
    assert traces["51bd3e0fafa72df904d8961d97d71dae"]["span_count"] == 5
    assert main(["tree", str(copy), "7064b41d1f0f5cc5492cca50e591e1d2"]) == 0
    assert "flaky_tool" in capsys.readouterr().out
    assert fingerprint(copy) == before


# --- small stores made here ----------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE experiments (experiment_id INTEGER PRIMARY KEY, name TEXT, artifact_location TEXT);
CREATE TABLE trace_info (request_id TEXT PRIMARY KEY, experiment_id INTEGER, timestamp_ms INTEGER,
    execution_time_ms INTEGER, status TEXT);
CREATE TABLE trace_request_metadata (key TEXT, value TEXT, request_id TEXT);
CREATE TABLE trace_tags (key TEXT, value TEXT, request_id TEXT);
CREATE TABLE spans (trace_id TEXT, experiment_id INTEGER, span_id TEXT, parent_span_id TEXT, name TEXT,
    type TEXT, status TEXT, start_time_unix_nano INTEGER, end_time_unix_nano INTEGER, content TEXT);
"""


def trace_row(conn: sqlite3.Connection, request_id: str, spans_location: str, **metadata: str) -> None:
    conn.execute("INSERT INTO trace_info VALUES (?, 1, 1000, 5, 'OK')", (request_id,))
    for key, value in {"mlflow.trace.spansLocation": spans_location, **metadata}.items():
        conn.execute("INSERT INTO trace_request_metadata VALUES (?, ?, ?)", (key, value, request_id))


def make_store(path: Path, schema: str = _SCHEMA) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.executescript(schema)
    conn.execute("INSERT INTO experiments VALUES (1, 'exp', '/nowhere/mlartifacts/1')")
    return conn


def v2_span(span_id: str, parent: str | None, name: str, span_type: str, **attributes: object) -> dict:
    """A span dict in the older MLflow shape (context ids in 0x hex, JSON-encoded attribute values)."""
    encoded = {key.replace("__", "."): orjson.dumps(value).decode() for key, value in attributes.items()}
    return {
        "name": name,
        "context": {"span_id": f"0x{span_id}", "trace_id": "0x" + "ab" * 16},
        "parent_id": f"0x{parent}" if parent else None,
        "start_time": 1_000_000,
        "end_time": 2_000_000,
        "status_code": "OK",
        "status_message": "",
        "attributes": {"mlflow.spanType": orjson.dumps(span_type).decode(), **encoded},
        "events": [],
    }


def test_spans_in_artifact_files_are_read_and_a_missing_artifact_is_reported_by_trace(tmp_path):
    path = tmp_path / "mlflow.db"
    conn = make_store(path)
    here, moved, gone = "tr-" + "a" * 32, "tr-" + "b" * 32, "tr-" + "c" * 32
    artifacts = tmp_path / "artifacts" / here
    trace_row(conn, here, "ARTIFACT_REPO", **{"mlflow.artifactLocation": artifacts.as_uri()})
    # Recorded where the store was made; found again under the store's folder from "mlartifacts" on.
    trace_row(
        conn,
        moved,
        "ARTIFACT_REPO",
        **{"mlflow.artifactLocation": f"/srv/app/mlartifacts/1/traces/{moved}/artifacts"},
    )
    trace_row(conn, gone, "ARTIFACT_REPO", **{"mlflow.artifactLocation": "s3://bucket/1/traces/x/artifacts"})
    conn.commit()
    conn.close()
    usage = {"input_tokens": 10, "output_tokens": 4, "total_tokens": 14}
    document = {
        "spans": [
            v2_span("00000000000000b1", None, "root", "CHAIN"),
            v2_span(
                "00000000000000b2",
                "00000000000000b1",
                "call",
                "CHAT_MODEL",
                mlflow__chat__tokenUsage=usage,
                mlflow__llm__model="gpt-4o-mini",
            ),
        ]
    }
    for folder in (artifacts, tmp_path / "mlartifacts" / "1" / "traces" / moved / "artifacts"):
        folder.mkdir(parents=True)
        (folder / "traces.json").write_bytes(orjson.dumps(document))
    name, spans, problems = read_all(path)
    assert name == "mlflow-sqlite"
    assert {(s.trace_id, s.span_id, s.parent_id) for s in spans} == {
        (t, "00000000000000b1", None) for t in ("a" * 32, "b" * 32)
    } | {(t, "00000000000000b2", "00000000000000b1") for t in ("a" * 32, "b" * 32)}
    call = next(s for s in spans if s.name == "call")
    assert (call.kind, call.model, call.input_tokens, call.output_tokens) == (Kind.LLM, "gpt-4o-mini", 10, 4)
    assert problems == [
        f"{path}:trace {gone}: its spans are in artifact files at s3://bucket/1/traces/x/artifacts, "
        "which are not on this machine"
    ]


def test_a_span_with_broken_content_is_reported_by_id_and_the_rest_imported(tmp_path):
    path = tmp_path / "mlflow.db"
    conn = make_store(path)
    rid = "tr-" + "d" * 32
    trace_row(conn, rid, "TRACKING_STORE")
    good = {
        "span_id": "AAAAAAAAAME=",  # base64 of 00000000000000c1
        "parent_span_id": None,
        "name": "root",
        "start_time_unix_nano": 1000,
        "end_time_unix_nano": 3000,
        "status": {"code": "STATUS_CODE_OK"},
        "attributes": {"mlflow.spanType": '"AGENT"'},
    }
    conn.execute(
        "INSERT INTO spans VALUES (?, 1, '00000000000000c1', NULL, 'root', 'AGENT', 'OK', 1000, 3000, ?)",
        (rid, orjson.dumps(good).decode()),
    )
    conn.execute(
        "INSERT INTO spans VALUES (?, 1, '00000000000000c2', '00000000000000c1', 'tool', 'TOOL', 'ERROR', "
        "1500, 2500, '{\"span_id\": ')",
        (rid,),
    )
    conn.commit()
    conn.close()
    result = import_file(tmp_path / "store.db", path)
    assert (result.outcome, result.spans_read) == (Outcome.IMPORTED, 2)
    (problem,) = result.problems
    assert f"trace {rid} span 00000000000000c2" in str(problem) and "kept from its columns" in str(problem)
    _, spans, _ = read_all(path)
    tool = next(s for s in spans if s.span_id == "00000000000000c2")
    assert (tool.parent_id, tool.kind, tool.status) == ("00000000000000c1", Kind.TOOL, "error")


@pytest.mark.parametrize(
    ("schema", "missing"),
    [
        (
            _SCHEMA.replace("CREATE TABLE trace_tags (key TEXT, value TEXT, request_id TEXT);", ""),
            "no table trace_tags",
        ),
        (_SCHEMA.replace("timestamp_ms INTEGER,", ""), "no column trace_info.timestamp_ms"),
    ],
)
def test_an_unknown_schema_is_refused_naming_what_is_missing(tmp_path, schema, missing):
    path = tmp_path / "mlflow.db"
    make_store(path, schema).close()
    result = import_file(tmp_path / "store.db", path)
    assert result.outcome is Outcome.FAILED
    assert "an MLflow store of a schema this version of Spanscope cannot read" in result.error
    assert missing in result.error


def test_a_damaged_page_is_reported_by_trace_and_the_other_traces_imported(mlflow_db, tmp_path):
    path = tmp_path / "mlflow.db"
    data = bytearray(mlflow_db.read_bytes())
    page = (
        data.find(b'"mlflow.traceRequestId": "\\"tr-51bd3e0f') // 4096 * 4096
    )  # a page of that trace's spans
    data[page : page + 4096] = b"\xff" * 4096
    path.write_bytes(bytes(data))
    result = import_file(tmp_path / "store.db", path)
    assert result.outcome is Outcome.IMPORTED
    assert 0 < result.spans_read < 28
    assert [p.where for p in result.problems] == ["trace tr-51bd3e0fafa72df904d8961d97d71dae"]
    assert "cannot be read: database disk image is malformed" in result.problems[0].reason


def test_a_truncated_store_gives_a_clear_message(mlflow_db, tmp_path):
    path = tmp_path / "mlflow.db"
    path.write_bytes(mlflow_db.read_bytes()[:300_000])
    result = import_file(tmp_path / "store.db", path)
    assert result.outcome is Outcome.FAILED
    assert result.error == (
        f"{path}: a SQLite database that cannot be read (database disk image is malformed); "
        "it may be truncated or damaged"
    )


def content(span_id: str, span_type: str, parent: str | None = None, **attributes: object) -> str:
    """A spans.content document (OTLP-like, hex ids) with JSON-encoded attribute values."""
    encoded = {key.replace("__", "."): orjson.dumps(value).decode() for key, value in attributes.items()}
    return orjson.dumps(
        {
            "span_id": span_id,
            "parent_span_id": parent,
            "name": span_type.lower(),
            "start_time_unix_nano": 1000,
            "end_time_unix_nano": 2000,
            "status": {"code": "STATUS_CODE_OK", "message": ""},
            "attributes": {"mlflow.spanType": orjson.dumps(span_type).decode(), **encoded},
        }
    ).decode()


@pytest.mark.parametrize(
    ("message_format", "usage", "expected"),
    [
        # OpenAI's prompt tokens include the cached ones: kept as they are.
        (
            "openai",
            {"input_tokens": 120, "output_tokens": 5, "cache_read_input_tokens": 100},
            (120, 100, None),
        ),
        # Anthropic's input_tokens leave cache reads and writes out: added back.
        (
            "anthropic",
            {
                "input_tokens": 10,
                "output_tokens": 5,
                "cache_read_input_tokens": 100,
                "cache_creation_input_tokens": 7,
            },
            (117, 100, 7),
        ),
        # Whatever the format, cache counts above input_tokens cannot be part of them.
        (None, {"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 50}, (60, 50, None)),
    ],
)
def test_input_tokens_always_include_cached_tokens(tmp_path, message_format, usage, expected):
    path = tmp_path / "mlflow.db"
    conn = make_store(path)
    rid = "tr-" + "e" * 32
    trace_row(conn, rid, "TRACKING_STORE")
    attributes = {"mlflow__chat__tokenUsage": usage, "mlflow__llm__model": "m"}
    if message_format is not None:
        attributes["mlflow__message__format"] = message_format
    conn.execute(
        "INSERT INTO spans VALUES (?, 1, '00000000000000e1', NULL, 'call', 'CHAT_MODEL', 'OK', 1000, 2000, "
        "?)",
        (rid, content("00000000000000e1", "CHAT_MODEL", **attributes)),
    )
    conn.commit()
    conn.close()
    _, (span,), problems = read_all(path)
    assert problems == []
    assert (span.input_tokens, span.cache_read_tokens, span.cache_write_tokens) == expected
    assert span.output_tokens == 5


def test_a_span_unreadable_in_content_and_columns_is_skipped_with_both_reasons(tmp_path):
    path = tmp_path / "mlflow.db"
    conn = make_store(path)
    rid = "tr-" + "f" * 32
    trace_row(conn, rid, "TRACKING_STORE")
    conn.execute(
        "INSERT INTO spans VALUES (?, 1, '00000000000000f1', NULL, 'root', 'CHAIN', 'OK', 1000, 2000, ?)",
        (rid, content("00000000000000f1", "CHAIN")),
    )
    conn.execute(
        "INSERT INTO spans VALUES (?, 1, '00000000000000f2', '00000000000000f1', 'x', 'TOOL', 'OK', NULL, "
        "NULL, 'null')",
        (rid,),
    )
    conn.commit()
    conn.close()
    _, spans, problems = read_all(path)
    assert [s.span_id for s in spans] == ["00000000000000f1"]
    assert problems == [
        f"{path}:trace {rid} span 00000000000000f2: content cannot be read (not a JSON object), "
        "nor its columns (span 00000000000000f2: start time missing or not nanoseconds)"
    ]


def test_a_tracking_store_from_before_traces_says_so(tmp_path):
    path = tmp_path / "mlflow.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE experiments (experiment_id INTEGER, name TEXT); CREATE TABLE runs (run_uuid TEXT);"
        "CREATE TABLE alembic_version (version_num TEXT);"
        "INSERT INTO alembic_version VALUES ('97727af70f4d');"
    )
    conn.close()
    result = import_file(tmp_path / "store.db", path)
    assert result.outcome is Outcome.FAILED
    assert result.error == (
        f"{path}: an MLflow store (alembic revision 97727af70f4d) of a schema this version of Spanscope "
        "cannot read: no table trace_info, no table trace_request_metadata, no table trace_tags"
    )


def test_a_store_whose_spans_are_all_elsewhere_names_the_first_trace(tmp_path):
    path = tmp_path / "mlflow.db"
    conn = make_store(path)
    rid = "tr-" + "9" * 32
    trace_row(conn, rid, "ARTIFACT_REPO")
    conn.commit()
    conn.close()
    result = import_file(tmp_path / "store.db", path)
    assert result.outcome is Outcome.FAILED
    assert result.error == (
        f"{path}: no span could be read (first problem: {path}:trace {rid}: its spans are in artifact "
        f"files at /nowhere/mlartifacts/1/traces/{rid}/artifacts, which are not on this machine)"
    )


def test_assessments_on_spans_overridden_failed_and_structured(tmp_path):
    path = tmp_path / "mlflow.db"
    conn = make_store(
        path,
        _SCHEMA
        + "CREATE TABLE assessments (assessment_id TEXT, trace_id TEXT, name TEXT, assessment_type TEXT, "
        "value TEXT, error TEXT, created_timestamp INTEGER, source_type TEXT, span_id TEXT, rationale TEXT, "
        "valid BOOLEAN);",
    )
    rid = "tr-" + "7" * 32
    trace_row(conn, rid, "TRACKING_STORE")
    for span_id, parent in (("0000000000000071", None), ("0000000000000072", "0000000000000071")):
        conn.execute(
            "INSERT INTO spans VALUES (?, 1, ?, ?, 'x', 'CHAIN', 'OK', 1000, 2000, ?)",
            (rid, span_id, parent, content(span_id, "CHAIN", parent)),
        )
    rows = [
        ("a-1", "tone", "feedback", '"polite"', None, 1, "HUMAN", "0000000000000072", "reads well", 1),
        ("a-2", "tone", "feedback", '"rude"', None, 0, "HUMAN", "0000000000000072", None, 0),
        (
            "a-3",
            "safety",
            "feedback",
            None,
            '{"error_code": "TIMEOUT", "error_message": "judge timed out"}',
            2,
            "LLM_JUDGE",
            None,
            None,
            1,
        ),
        ("a-4", "facts", "expectation", '{"city": "Paris"}', None, 3, "HUMAN", None, None, None),
    ]
    conn.executemany(
        "INSERT INTO assessments (assessment_id, name, assessment_type, value, error, created_timestamp, "
        f"source_type, span_id, rationale, valid, trace_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '{rid}')",
        rows,
    )
    conn.commit()
    conn.close()
    _, spans, problems = read_all(path)
    assert problems == []
    got = {
        (s.span_id, c.key, c.value, c.label, c.comment, c.source, c.trace_level)
        for s in spans
        for c in s.scores
    }
    assert got == {
        ("0000000000000072", "a-1", None, "polite", "reads well", "HUMAN", False),
        ("0000000000000071", "a-3", None, None, "error: judge timed out", "LLM_JUDGE", True),
        ("0000000000000071", "a-4", None, '{"city":"Paris"}', None, "HUMAN expectation", True),
    }
