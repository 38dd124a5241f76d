"""The Phoenix store reader, on the real phoenix.db and on small stores made here for the edge cases.

Expected figures are read from the foreign store with plain SQL, independently of the reader."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import orjson
import pytest

from spanscope.cli import main
from spanscope.core.formats import FormatError, Source
from spanscope.core.formats.nested import flatten
from spanscope.core.formats.registry import detect
from spanscope.core.store import Outcome, connect, import_file, is_store
from spanscope.core.store.queries import list_traces
from sqlite_stores import fingerprint, query, read_all


@pytest.fixture
def phoenix_db(fixtures_dir) -> Path:
    return fixtures_dir / "phoenix-sqlite" / "phoenix.db"


@pytest.fixture
def phoenix_copy(phoenix_db, tmp_path) -> Path:
    """The real store copied alone into a writable folder, where SQLite could create files if let."""
    folder = tmp_path / "peer"
    folder.mkdir()
    return Path(shutil.copy(phoenix_db, folder / "phoenix.db"))


def test_the_real_store_reads_with_the_figures_sql_gives(phoenix_db):
    name, spans, problems = read_all(phoenix_db)
    assert (name, problems) == ("phoenix-sqlite", [])
    rows = query(
        phoenix_db,
        "SELECT s.span_id, s.parent_id, s.span_kind, s.status_code, t.trace_id, p.name, "
        "coalesce(json_extract(s.attributes, '$.llm.model_name'), "
        "json_extract(s.attributes, '$.embedding.model_name'), "
        "json_extract(json_extract(s.attributes, '$.llm.invocation_parameters'), '$.model')), "
        "json_extract(s.attributes, '$.llm.token_count.prompt'), "
        "json_extract(s.attributes, '$.llm.token_count.completion') "
        "FROM spans s JOIN traces t ON t.id = s.trace_rowid JOIN projects p ON p.id = t.project_rowid",
    )
    assert len(spans) == len(rows) == 42
    assert len({s.trace_id for s in spans}) == query(phoenix_db, "SELECT count(*) FROM traces")[0][0] == 6
    by_id = {s.span_id: s for s in spans}
    assert {(r[0], r[1], r[4]) for r in rows} == {(s.span_id, s.parent_id, s.trace_id) for s in spans}
    assert Counter(r[2] for r in rows) == Counter(s.kind.value for s in spans)
    assert {r[0] for r in rows if r[3] == "ERROR"} == {s.span_id for s in spans if s.status == "error"}
    assert {r[0]: r[5] for r in rows} == {s.span_id: s.service for s in spans}
    assert {r[0]: r[6] for r in rows} == {s.span_id: s.model for s in spans}
    expected: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        if r[2] in ("LLM", "EMBEDDING") and r[6]:
            expected[r[6]][0] += r[7] or 0
            expected[r[6]][1] += r[8] or 0
    got: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for s in spans:
        if s.is_model_call and s.model:
            got[s.model][0] += s.input_tokens or 0
            got[s.model][1] += s.output_tokens or 0
    assert got == expected
    assert got["gpt-4o-2024-08-06"] == [87 + 109 + 83 + 105 + 80 + 102, 34 + 26 + 34 + 26 + 34 + 26]
    # Cumulative columns include descendants: a root's own tokens stay empty.
    cumulative = dict(query(phoenix_db, "SELECT span_id, cumulative_llm_token_count_prompt FROM spans"))
    roots = [s for s in spans if s.parent_id is None and not s.is_model_call]
    assert roots and all(s.input_tokens is None for s in roots)
    assert all(cumulative[s.span_id] > 0 for s in roots if s.name == "rag_query")
    assert by_id["d11f8a54ae4edc2b"].events[0].exception_type == "openai.InternalServerError"


def test_phoenix_computed_costs_are_attributes_never_reported_costs(phoenix_db):
    _, spans, _ = read_all(phoenix_db)
    costs = dict(
        query(
            phoenix_db, "SELECT s.span_id, c.total_cost FROM span_costs c JOIN spans s ON s.id = c.span_rowid"
        )
    )
    assert len(costs) == 13
    assert {s.span_id: s.attributes["phoenix.span_cost.total"] for s in spans if s.span_id in costs} == costs
    assert all(s.cost_usd is None for s in spans)


def test_sessions_users_and_projects(phoenix_db):
    _, spans, _ = read_all(phoenix_db)
    sessions = dict(
        query(
            phoenix_db,
            "SELECT t.trace_id, ps.session_id FROM traces t "
            "JOIN project_sessions ps ON ps.id = t.project_session_rowid",
        )
    )
    for s in spans:
        assert s.session_id == sessions.get(s.trace_id)
        assert s.resource == {"openinference.project.name": s.service}
    users = {s.user_id for s in spans if s.user_id}
    assert users == {"user-42"}


def test_annotations_become_scores_on_their_spans_and_trace_roots(phoenix_db):
    _, spans, _ = read_all(phoenix_db)
    got = {(s.span_id, c.name, c.value, c.label, c.source, c.trace_level) for s in spans for c in s.scores}
    expected = {
        (span_id, name, score, label, kind, False)
        for span_id, name, score, label, kind in query(
            phoenix_db,
            "SELECT s.span_id, a.name, a.score, a.label, a.annotator_kind FROM span_annotations a "
            "JOIN spans s ON s.id = a.span_rowid UNION ALL "
            "SELECT s.span_id, a.name, a.score, a.label, a.annotator_kind FROM document_annotations a "
            "JOIN spans s ON s.id = a.span_rowid",
        )
    } | {
        (span_id, name, score, label, kind, True)
        for span_id, name, score, label, kind in query(
            phoenix_db,
            "SELECT s.span_id, a.name, a.score, a.label, a.annotator_kind FROM trace_annotations a "
            "JOIN spans s ON s.trace_rowid = a.trace_rowid AND s.parent_id IS NULL",
        )
    }
    assert got == expected
    assert len(got) == 6
    document = next(c for s in spans for c in s.scores if c.name == "doc_relevance")
    assert document.comment == "document 0"


def test_import_through_the_cli_leaves_the_store_untouched(phoenix_copy, tmp_path, capsys):
    before = fingerprint(phoenix_copy)
    store = tmp_path / "store.db"
    assert main(["import", "--db", str(store), str(phoenix_copy)]) == 0
    assert "42 spans (42 new) in 6 traces [phoenix-sqlite]" in capsys.readouterr().err
    assert main(["traces", "--db", str(store), "--json"]) == 0
    traces = [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(traces) == 6
    assert sum(t["span_count"] for t in traces) == 42
    assert main(["tree", str(phoenix_copy), "18b5184af3369d5d411494511e5be7b6"]) == 0
    tree = capsys.readouterr().out
    assert "planner_agent" in tree and "o3-mini-2025-01-31" in tree
    assert fingerprint(phoenix_copy) == before
    assert not is_store(phoenix_copy)


def test_a_store_in_wal_mode_is_read_without_creating_files_beside_it(phoenix_copy, tmp_path):
    conn = sqlite3.connect(phoenix_copy)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()
    before = fingerprint(phoenix_copy)
    assert before[2] == ["phoenix.db"]
    result = import_file(tmp_path / "store.db", phoenix_copy)
    assert (result.outcome, result.spans_read) == (Outcome.IMPORTED, 42)
    assert fingerprint(phoenix_copy) == before


def test_a_wal_log_without_its_shared_memory_file_is_refused_with_a_reason(phoenix_copy, tmp_path):
    conn = sqlite3.connect(phoenix_copy)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()
    (phoenix_copy.parent / "phoenix.db-wal").write_bytes(b"")
    result = import_file(tmp_path / "store.db", phoenix_copy)
    assert result.outcome is Outcome.FAILED
    assert "phoenix.db-shm" in result.error and "did not close it cleanly" in result.error
    assert not (phoenix_copy.parent / "phoenix.db-shm").exists()


def test_a_spanscope_store_is_not_taken_for_a_phoenix_store(phoenix_db, tmp_path):
    store = tmp_path / "store.db"
    import_file(store, phoenix_db)
    assert is_store(store)
    with pytest.raises(FormatError, match="not a trace file"):
        detect(Source(store))


# --- small stores made here ----------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE projects (id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE traces (id INTEGER PRIMARY KEY, project_rowid INTEGER, trace_id TEXT, start_time TEXT,
    end_time TEXT);
CREATE TABLE spans (id INTEGER PRIMARY KEY, trace_rowid INTEGER, span_id TEXT, parent_id TEXT, name TEXT,
    span_kind TEXT, start_time TEXT, end_time TEXT, attributes TEXT, events TEXT, status_code TEXT,
    status_message TEXT);
"""
TRACE = "0123456789abcdef0123456789abcdef"


def make_store(path: Path, spans: list[tuple], schema: str = _SCHEMA) -> Path:
    """A Phoenix-shaped store with one project and one trace holding `spans`
    (span_id, parent_id, name, kind, attributes text)."""
    conn = sqlite3.connect(path)
    conn.executescript(schema)
    conn.execute("INSERT INTO projects VALUES (1, 'demo')")
    conn.execute(f"INSERT INTO traces VALUES (1, 1, '{TRACE}', '2025-01-01 00:00:00', '2025-01-01 00:00:01')")
    for number, (span_id, parent, name, kind, attributes) in enumerate(spans, 1):
        conn.execute(
            "INSERT INTO spans VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, '[]', 'OK', '')",
            (
                number,
                span_id,
                parent,
                name,
                kind,
                f"2025-01-01 00:00:00.{number:06d}",
                "2025-01-01 00:00:01",
                attributes,
            ),
        )
    conn.commit()
    conn.close()
    return path


def llm_attributes(model: str, prompt: int, completion: int) -> str:
    return orjson.dumps(
        {
            "openinference": {"span": {"kind": "LLM"}},
            "llm": {
                "model_name": model,
                "token_count": {"prompt": prompt, "completion": completion},
                "input_messages": [{"message": {"role": "user", "content": "hi"}}],
            },
            "metadata": {"team": "a"},
        }
    ).decode()


def test_a_span_with_broken_json_is_reported_by_id_and_the_rest_imported(tmp_path):
    path = make_store(
        tmp_path / "phoenix.db",
        [
            ("00000000000000a1", None, "root", "CHAIN", "{}"),
            ("00000000000000a2", "00000000000000a1", "call", "LLM", llm_attributes("gpt-4o", 10, 5)),
            ("00000000000000a3", "00000000000000a1", "broken", "LLM", '{"llm": {"model_name": '),
        ],
    )
    result = import_file(tmp_path / "store.db", path)
    assert (result.outcome, result.spans_read) == (Outcome.IMPORTED, 3)
    assert len(result.problems) == 1
    assert "span 00000000000000a3" in str(result.problems[0]) and "not valid JSON" in str(result.problems[0])
    db = connect(tmp_path / "store.db", readonly=True)
    (trace,) = list_traces(db)
    assert (trace.span_count, trace.input_tokens, trace.output_tokens) == (3, 10, 5)


def test_nested_attributes_flatten_to_the_keys_openinference_writes():
    tree = orjson.loads(llm_attributes("gpt-4o", 10, 5))
    tree["tag"] = {"tags": ["a", "b"]}
    assert flatten(tree) == {
        "openinference.span.kind": "LLM",
        "llm.model_name": "gpt-4o",
        "llm.token_count.prompt": 10,
        "llm.token_count.completion": 5,
        "llm.input_messages.0.message.role": "user",
        "llm.input_messages.0.message.content": "hi",
        "metadata": '{"team":"a"}',
        "tag.tags": ["a", "b"],
    }


@pytest.mark.parametrize(
    ("schema", "missing"),
    [
        (_SCHEMA.replace("events TEXT, ", ""), "no column spans.events"),
        (_SCHEMA.replace("trace_id TEXT", "otel_trace TEXT"), "no column traces.trace_id"),
    ],
)
def test_an_unknown_schema_is_refused_naming_what_is_missing(tmp_path, schema, missing):
    path = tmp_path / "phoenix.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        schema + "CREATE TABLE alembic_version (version_num TEXT); "
        "INSERT INTO alembic_version VALUES ('abc123');"
    )
    conn.close()
    result = import_file(tmp_path / "store.db", path)
    assert result.outcome is Outcome.FAILED
    assert "a Phoenix store (alembic revision abc123) of a schema" in result.error
    assert missing in result.error


@pytest.mark.parametrize("keep", [100, 4096, 40_000, 400_000])
def test_a_truncated_store_gives_a_clear_message_and_no_traceback(phoenix_db, tmp_path, keep):
    path = tmp_path / "phoenix.db"
    path.write_bytes(phoenix_db.read_bytes()[:keep])
    store = tmp_path / "store.db"
    result = import_file(store, path)
    assert result.outcome is Outcome.FAILED
    assert result.error == (
        f"{path}: a SQLite database that cannot be read (database disk image is malformed); "
        "it may be truncated or damaged"
    )
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("phoenix")) == ["phoenix.db"]


def test_a_store_being_written_is_read_with_its_log_and_nothing_new_beside_it(phoenix_copy, tmp_path):
    writer = sqlite3.connect(phoenix_copy)
    writer.execute("PRAGMA journal_mode = WAL")
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    writer.execute("UPDATE spans SET name = 'renamed_while_running' WHERE span_id = '4270d372fee3265d'")
    writer.commit()  # in the log only: the server is still running
    try:
        before = fingerprint(phoenix_copy)
        assert before[2] == ["phoenix.db", "phoenix.db-shm", "phoenix.db-wal"]
        _, spans, _ = read_all(phoenix_copy)
        assert "renamed_while_running" in {s.name for s in spans}
        assert fingerprint(phoenix_copy) == before
    finally:
        writer.close()


def test_bad_times_and_events_are_reported_by_span_and_the_rest_kept(tmp_path):
    path = make_store(
        tmp_path / "phoenix.db",
        [
            ("00000000000000b1", None, "root", "CHAIN", "{}"),
            ("00000000000000b2", "00000000000000b1", "child", "TOOL", "{}"),
        ],
    )
    conn = sqlite3.connect(path)
    conn.execute('UPDATE spans SET events = \'[{"name": 1, "timestamp": "yesterday"}]\' WHERE id = 1')
    conn.execute("UPDATE spans SET start_time = 'soon' WHERE id = 2")
    conn.commit()
    conn.close()
    _, spans, problems = read_all(path)
    assert [(s.span_id, s.events) for s in spans] == [("00000000000000b1", [])]
    assert [p.split(": ", 1)[0].rsplit(":", 1)[1] for p in problems] == [
        "span 00000000000000b1",
        "span 00000000000000b2",
    ]
    assert "events are not readable" in problems[0] and "bad start or end time" in problems[1]


def test_a_store_without_spans_says_so(tmp_path):
    path = make_store(tmp_path / "phoenix.db", [])
    result = import_file(tmp_path / "store.db", path)
    assert (result.outcome, result.error) == (Outcome.FAILED, f"{path}: the file holds no spans")


def test_a_store_left_in_the_middle_of_a_write_is_refused_saying_so(tmp_path):
    path = make_store(tmp_path / "phoenix.db", [("00000000000000d1", None, "root", "CHAIN", "{}")])
    # A writer that dies inside a transaction leaves a hot journal only a writer may roll back.
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, sqlite3; c = sqlite3.connect(os.sys.argv[1]); c.execute('PRAGMA cache_size = 1'); "
            "c.execute('BEGIN'); c.executemany('INSERT INTO projects (name) VALUES (?)', "
            "[('p' * 500,)] * 2000); os._exit(0)",
            str(path),
        ],
        check=True,
    )
    assert (tmp_path / "phoenix.db-journal").stat().st_size > 0
    before = fingerprint(path)
    result = import_file(tmp_path / "store" / "store.db", path)
    assert result.outcome is Outcome.FAILED
    assert result.error == (
        f"{path}: was left in the middle of a write (phoenix.db-journal must be rolled back first); open it "
        "once with the tool that wrote it, or with sqlite3, and import again"
    )
    assert fingerprint(path) == before
