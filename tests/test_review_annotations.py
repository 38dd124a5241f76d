"""Reviews given in Spanscope: stored in its own store only, read back beside imported scores,
kept through re-imports and restarts, and exported as JSONL and CSV."""

from __future__ import annotations

import csv
import io
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import orjson
import pytest
import sqlite_utils

from otlp import TRACE, llm, request, span, write_jsonl
from spanscope.cli import main
from spanscope.core.review.annotations import (
    COMMENT,
    RATING,
    THUMBS,
    WHOLE_TRACE,
    Given,
    annotate,
    annotations_of,
    given_by,
)
from spanscope.core.review.export import FIELDS, export_file, write_csv
from spanscope.core.review.export import write_jsonl as export_jsonl
from spanscope.core.review.label_sets import LabelSet, delete_label_set, label_sets, save_label_set
from spanscope.core.store import Outcome, connect, import_file
from spanscope.core.store.queries import get_span, list_traces, trace_scores
from spanscope.core.store.review import ReviewError
from spanscope.core.store.schema import MIGRATIONS, VERSION
from sqlite_stores import fingerprint

ROOT, CALL = "00000000000000a1", "00000000000000a2"


def trace_file(path: Path) -> Path:
    return write_jsonl(
        path,
        request(
            span(ROOT, name="answer_question", start=0, end=5_000_000, attrs={"output.value": "Paris."}),
            llm(CALL, ROOT, "gpt-4o", 120, 30, start=1_000, end=4_000_000),
        ),
    )


@pytest.fixture
def store(tmp_path) -> Path:
    path = tmp_path / "store.db"
    assert import_file(path, trace_file(tmp_path / "run.jsonl")).outcome is Outcome.IMPORTED
    return path


def read(store: Path) -> sqlite_utils.Database:
    return connect(store, readonly=True)


def test_a_review_is_read_back_beside_the_span_and_trace_it_rates(store):
    annotate(store, TRACE, WHOLE_TRACE, "alice", {RATING: Given(4), THUMBS: Given(label="up")})
    annotate(store, TRACE, CALL, "alice", {COMMENT: Given(comment="  cites no source ")})
    db = read(store)
    assert given_by(db, TRACE, WHOLE_TRACE, "alice") == {RATING: Given(4.0), THUMBS: Given(label="up")}
    call = get_span(db, TRACE, CALL)
    assert [(s.name, s.comment, s.source, s.local, s.trace_level) for s in call.scores] == [
        (COMMENT, "cites no source", "alice", True, False)
    ]
    root = get_span(db, TRACE, ROOT)
    assert [(s.name, s.value, s.label, s.trace_level) for s in root.scores] == [
        (RATING, 4.0, None, True),
        (THUMBS, None, "up", True),
    ]
    (trace,) = list_traces(db)
    assert trace.scores == "rating 4, thumbs up"


def test_giving_a_score_again_replaces_it_and_none_takes_it_back(store):
    annotate(store, TRACE, WHOLE_TRACE, "alice", {RATING: Given(2)})
    annotate(store, TRACE, WHOLE_TRACE, "alice", {RATING: Given(5)})
    annotate(store, TRACE, WHOLE_TRACE, "bob", {RATING: Given(3)})
    db = read(store)
    assert [(a.author, a.value) for a in annotations_of(db, TRACE)] == [("alice", 5.0), ("bob", 3.0)]
    assert list_traces(db)[0].scores == "rating 4"
    annotate(store, TRACE, WHOLE_TRACE, "alice", {RATING: None})
    annotate(store, TRACE, WHOLE_TRACE, "bob", {RATING: Given()})  # nothing given: taken back too
    assert annotations_of(db, TRACE) == []
    assert list_traces(db)[0].scores is None


def test_imported_and_local_scores_are_summarized_together(tmp_path):
    """An imported score (written to the scores table as an import writes it) and a local review
    of the same name: one mean in the trace list, both in the trace's scores with who gave them."""
    store = tmp_path / "s.db"
    import_file(store, trace_file(tmp_path / "run.jsonl"))
    db = connect(store)
    with db.conn:
        db.execute(
            "INSERT INTO scores (trace_id, span_id, name, value, source, key) "
            "VALUES (?, '', ?, 1.0, 'LLM', 'k1')",
            (TRACE, RATING),
        )
    annotate(store, TRACE, WHOLE_TRACE, "alice", {RATING: Given(4)})
    assert list_traces(read(store))[0].scores == "rating 2.5"
    assert [(span_id, s.source, s.local) for span_id, s in trace_scores(read(store), TRACE)] == [
        ("", "LLM", False),
        ("", "alice", True),
    ]


def test_reviews_survive_importing_another_file_with_the_same_trace_and_a_restart(store, tmp_path):
    annotate(store, TRACE, WHOLE_TRACE, "alice", {RATING: Given(4)})
    annotate(store, TRACE, CALL, "alice", {THUMBS: Given(label="down")})
    again = import_file(store, tmp_path / "run.jsonl")
    assert again.outcome is Outcome.ALREADY
    other = trace_file(tmp_path / "copy-of-run.jsonl")
    result = import_file(store, other)
    assert (result.outcome, result.spans_read, result.spans_added) == (Outcome.IMPORTED, 2, 0)
    db = read(store)  # a new connection, as after a restart
    assert [(a.span_id, a.name, a.value, a.label) for a in annotations_of(db, TRACE)] == [
        ("", RATING, 4.0, None),
        (CALL, THUMBS, None, "down"),
    ]
    # The import finalized the trace again; its summary still holds the reviews.
    assert list_traces(db)[0].scores == "rating 4, thumbs down"


def test_an_unknown_trace_or_span_is_refused_and_nothing_is_stored(store):
    with pytest.raises(ReviewError, match="no trace 'nope'"):
        annotate(store, "nope", WHOLE_TRACE, "alice", {RATING: Given(3)})
    with pytest.raises(ReviewError, match="no span 'nope'"):
        annotate(store, TRACE, "nope", "alice", {RATING: Given(3)})
    with pytest.raises(ReviewError, match="name of who"):
        annotate(store, TRACE, WHOLE_TRACE, "  ", {RATING: Given(3)})
    with pytest.raises(ReviewError, match="not a number"):
        annotate(store, TRACE, WHOLE_TRACE, "alice", {RATING: Given(float("nan"))})
    assert annotations_of(read(store), TRACE) == []


def test_a_foreign_store_is_never_written(fixtures_dir, tmp_path):
    folder = tmp_path / "peer"
    folder.mkdir()
    phoenix = Path(shutil.copy(fixtures_dir / "phoenix-sqlite" / "phoenix.db", folder / "phoenix.db"))
    before = fingerprint(phoenix)
    trace_id = sqlite3.connect(phoenix).execute("SELECT trace_id FROM traces LIMIT 1").fetchone()[0]
    with pytest.raises(ReviewError, match="not a Spanscope store"):
        annotate(phoenix, trace_id, WHOLE_TRACE, "alice", {RATING: Given(3)})
    with pytest.raises(ReviewError, match="not a Spanscope store"):
        save_label_set(phoenix, LabelSet("verdict", ("good", "bad")))
    assert fingerprint(phoenix) == before
    # Its traces are reviewed in Spanscope's store, after an import; the Phoenix file stays as it was.
    store = tmp_path / "store.db"
    assert import_file(store, phoenix).outcome is Outcome.IMPORTED
    annotate(store, trace_id, WHOLE_TRACE, "alice", {RATING: Given(3)})
    assert [a.value for a in annotations_of(read(store), trace_id)] == [3.0]
    assert fingerprint(phoenix) == before


def test_no_store_is_created_where_there_is_none(tmp_path):
    missing = tmp_path / "missing.db"
    with pytest.raises(ReviewError, match="not a Spanscope store"):
        annotate(missing, TRACE, WHOLE_TRACE, "alice", {RATING: Given(3)})
    assert not missing.exists()


def test_a_busy_store_is_reported_without_a_long_wait(store, monkeypatch):
    monkeypatch.setattr("spanscope.core.store.review.BUSY_TIMEOUT_MS", 200)
    holder = sqlite3.connect(store, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    started = time.monotonic()
    with pytest.raises(ReviewError, match="busy"):
        annotate(store, TRACE, WHOLE_TRACE, "alice", {RATING: Given(3)})
    assert time.monotonic() - started < 5
    holder.execute("ROLLBACK")
    holder.close()
    assert annotations_of(read(store), TRACE) == []


def test_a_review_waits_for_a_short_write_to_end(store):
    holder = sqlite3.connect(store, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    threading.Timer(0.2, lambda: holder.execute("COMMIT")).start()
    annotate(store, TRACE, WHOLE_TRACE, "alice", {RATING: Given(3)})
    holder.close()
    assert [a.value for a in annotations_of(read(store), TRACE)] == [3.0]


def test_an_older_store_opened_read_only_is_upgraded_first(tmp_path):
    path = tmp_path / "v3.db"
    old = sqlite_utils.Database(path)
    for migration in MIGRATIONS[:3]:
        migration(old)
    old.execute("PRAGMA user_version = 3")
    old.conn.commit()
    old.conn.close()
    db = connect(path, readonly=True)
    assert db.execute("PRAGMA user_version").fetchone()[0] == VERSION
    assert annotations_of(db, "any") == []


def test_export_as_jsonl_and_csv_holds_every_review_with_names(store, tmp_path):
    given = {RATING: Given(4), COMMENT: Given(comment='says "Paris", ok')}
    annotate(store, TRACE, WHOLE_TRACE, "alice", given)
    annotate(store, TRACE, CALL, "bob", {"verdict": Given(label="correct")})
    db = read(store)
    out = io.BytesIO()
    assert export_jsonl(db, out) == 3
    lines = [orjson.loads(line) for line in out.getvalue().splitlines()]
    assert all(list(line) == list(FIELDS) for line in lines)
    assert [(r["target"], r["span_id"], r["name"], r["value"], r["label"], r["author"]) for r in lines] == [
        ("trace", None, COMMENT, None, None, "alice"),
        ("trace", None, RATING, 4.0, None, "alice"),
        ("span", CALL, "verdict", None, "correct", "bob"),
    ]
    assert lines[0]["comment"] == 'says "Paris", ok'
    assert {r["trace_name"] for r in lines} == {"answer_question"}
    assert [r["span_name"] for r in lines] == [None, None, get_span(db, TRACE, CALL).name]
    text = io.StringIO()
    assert write_csv(db, text) == 3
    rows = list(csv.DictReader(io.StringIO(text.getvalue())))
    assert [tuple(r.values()) for r in rows] == [
        tuple("" if v is None else str(v) for v in line.values()) for line in lines
    ]
    for fmt in ("jsonl", "csv"):
        assert export_file(db, tmp_path / f"out.{fmt}", fmt) == 3
    assert (tmp_path / "out.jsonl").read_bytes() == out.getvalue()
    assert (tmp_path / "out.csv").read_text() == text.getvalue()


def test_label_sets_are_kept_in_the_store(store):
    saved = save_label_set(store, LabelSet(" verdict ", ("correct", " partly ", "", "correct", "wrong")))
    assert saved == LabelSet("verdict", ("correct", "partly", "wrong"))
    save_label_set(store, LabelSet("tone", ("polite", "rude")))
    assert [s.name for s in label_sets(read(store))] == ["tone", "verdict"]
    with pytest.raises(ReviewError, match="already a label set"):
        save_label_set(store, LabelSet("tone", ("x",)), replacing="verdict")
    with pytest.raises(ReviewError, match="choose another name"):
        save_label_set(store, LabelSet(RATING, ("x",)))
    with pytest.raises(ReviewError, match="at least one label"):
        save_label_set(store, LabelSet("empty", (" ",)))
    save_label_set(store, LabelSet("quality", ("good", "bad")), replacing="verdict")
    delete_label_set(store, "tone")
    assert label_sets(read(store)) == [LabelSet("quality", ("good", "bad"))]


def test_the_annotations_command_writes_jsonl_or_csv(store, tmp_path, capsys):
    annotate(store, TRACE, WHOLE_TRACE, "alice", {RATING: Given(4)})
    annotate(store, TRACE, CALL, "alice", {THUMBS: Given(label="down")})
    assert main(["annotations", str(store)]) == 0
    out, err = capsys.readouterr()
    assert [
        (r["span_id"], r["name"], r["value"], r["label"]) for r in map(orjson.loads, out.splitlines())
    ] == [
        (None, RATING, 4.0, None),
        (CALL, THUMBS, None, "down"),
    ]
    assert "2 reviews" in err
    assert main(["annotations", "--db", str(store), "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["target"], r["name"], r["value"], r["label"]) for r in rows] == [
        ("trace", RATING, "4.0", ""),
        ("span", THUMBS, "", "down"),
    ]
    target = tmp_path / "reviews.csv"
    assert main(["annotations", str(store), "--format", "csv", "-o", str(target)]) == 0
    assert list(csv.DictReader(target.open())) == rows


def test_the_annotations_command_on_a_trace_file_says_reviews_are_in_a_store(tmp_path, capsys):
    path = trace_file(tmp_path / "run.jsonl")
    assert main(["annotations", str(path)]) == 2
    out, err = capsys.readouterr()
    assert (
        out == ""
        and err == f"spanscope: {path}: not a store; reviews are kept in the store they were given in\n"
    )
