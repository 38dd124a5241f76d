"""Scores: stored with the span or trace they rate, deduped on re-read, summarized per trace."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import sqlite_utils

from spanscope.core.model import Kind, Score, ScoreFor, Span
from spanscope.core.store import connect, import_file, ingest
from spanscope.core.store.queries import get_span, iter_spans, list_traces
from spanscope.core.store.schema import MIGRATIONS, VERSION

TRACE = "t1"


def scored_spans() -> list[Span]:
    root = Span(
        TRACE,
        "root",
        None,
        "answer",
        1_000,
        5_000,
        kind=Kind.CHAIN,
        scores=[
            Score("helpful", label="yes", source="HUMAN", key="a1", trace_level=True),
            Score("helpful", label="no", source="HUMAN", key="a2", trace_level=True),
        ],
    )
    call = Span(
        TRACE,
        "call",
        "root",
        "chat",
        2_000,
        4_000,
        kind=Kind.LLM,
        scores=[
            Score("correctness", 0.5, comment="half right", source="LLM", key="e1"),
            Score("correctness", 1.0, source="HUMAN", key="e2"),
        ],
    )
    return [root, call]


@pytest.fixture
def scored_format(monkeypatch):
    """A reader yielding spans with scores, standing in for the formats that carry them."""
    fmt = SimpleNamespace(name="scored", read=lambda source, progress: iter(scored_spans()))
    monkeypatch.setattr(ingest, "detect", lambda source: fmt)


def write_file(tmp_path, name="scores.dat"):
    path = tmp_path / name
    path.write_text("scored\n")
    return path


def test_scores_are_stored_with_their_span_and_trace(tmp_path, scored_format):
    store = tmp_path / "s.db"
    import_file(store, write_file(tmp_path))
    db = connect(store, readonly=True)
    call = get_span(db, TRACE, "call")
    assert [(s.name, s.value, s.comment, s.source) for s in call.scores] == [
        ("correctness", 0.5, "half right", "LLM"),
        ("correctness", 1.0, None, "HUMAN"),
    ]
    root = get_span(db, TRACE, "root")
    assert [(s.label, s.trace_level) for s in root.scores] == [("yes", True), ("no", True)]
    assert {s.span_id: len(s.scores) for s in iter_spans(db, TRACE)} == {"root": 2, "call": 2}


def test_trace_list_summarizes_scores_by_name(tmp_path, scored_format):
    store = tmp_path / "s.db"
    import_file(store, write_file(tmp_path))
    (trace,) = list_traces(connect(store, readonly=True))
    assert trace.scores == "correctness 0.75, helpful no,yes"


def test_scores_read_again_from_another_file_are_stored_once(tmp_path, scored_format):
    store = tmp_path / "s.db"
    import_file(store, write_file(tmp_path, "a.dat"))
    import_file(store, write_file(tmp_path, "b.dat"))
    count = connect(store, readonly=True).execute("SELECT count(*) FROM scores").fetchone()[0]
    assert count == 4


def test_a_version_1_store_is_upgraded_keeping_its_traces(tmp_path):
    store = tmp_path / "old.db"
    old = sqlite_utils.Database(store)
    MIGRATIONS[0](old)
    old.execute("PRAGMA user_version = 1")
    old["traces"].insert({"trace_id": "old", "start_ns": 1, "span_count": 1, "error_count": 0})
    old.conn.commit()
    old.conn.close()
    db = connect(store)
    assert db.execute("PRAGMA user_version").fetchone()[0] == VERSION
    assert [(t.trace_id, t.scores) for t in list_traces(db)] == [("old", None)]
    assert db["scores"].exists()


def test_scores_of_a_failed_import_are_not_kept(tmp_path, monkeypatch):
    def broken(source, progress):
        yield from scored_spans()
        raise ValueError("boom")

    monkeypatch.setattr(ingest, "detect", lambda source: SimpleNamespace(name="scored", read=broken))
    store = tmp_path / "s.db"
    result = import_file(store, write_file(tmp_path))
    assert result.outcome == "failed" and "boom" in result.error
    assert connect(store, readonly=True).execute("SELECT count(*) FROM scores").fetchone()[0] == 0


# --- scores read apart from their spans (files of scores or feedback only) ----------------------

LOOSE = [
    ScoreFor(TRACE, None, Score("overall", 0.5, key="o1", trace_level=True)),
    ScoreFor(TRACE, "call", Score("tone", label="calm", comment="ok", source="HUMAN", key="t1")),
    ScoreFor(None, "call", Score("correctness", 0.0, key="e3")),  # names its span only
]


@pytest.fixture
def spans_or_scores(monkeypatch):
    """Files named spans.dat hold the scored spans, scores.dat only LOOSE."""

    def detect(source):
        records = scored_spans() if source.path.name == "spans.dat" else LOOSE
        return SimpleNamespace(name="scored", read=lambda source, progress: iter(records))

    monkeypatch.setattr(ingest, "detect", detect)


def test_scores_of_stored_spans_land_on_them_and_in_the_trace_summary(tmp_path, spans_or_scores):
    store = tmp_path / "s.db"
    import_file(store, write_file(tmp_path, "spans.dat"))
    result = import_file(store, write_file(tmp_path, "scores.dat"))
    assert (result.outcome, result.problems) == ("imported", [])
    assert (result.spans_read, result.scores_read, result.scores_added, result.traces) == (0, 3, 3, 1)
    assert result.scores_only
    db = connect(store, readonly=True)
    call = get_span(db, TRACE, "call")
    assert sorted((s.name, s.value, s.label, s.comment) for s in call.scores) == [
        ("correctness", 0.0, None, None),
        ("correctness", 0.5, None, "half right"),
        ("correctness", 1.0, None, None),
        ("tone", None, "calm", "ok"),
    ]
    assert [s.name for s in get_span(db, TRACE, "root").scores if s.trace_level] == [
        "helpful",
        "helpful",
        "overall",
    ]
    (trace,) = list_traces(db)
    assert trace.scores == "correctness 0.5, helpful no,yes, overall 0.5, tone calm"


def test_scores_before_their_spans_are_summarized_once_the_spans_arrive(tmp_path, spans_or_scores):
    store = tmp_path / "s.db"
    first = import_file(store, write_file(tmp_path, "scores.dat"))
    # The one naming only its span cannot be placed yet: reported, the other two kept.
    assert (first.outcome, first.scores_added) == ("imported", 2)
    assert [str(p) for p in first.problems] == [
        f"{tmp_path / 'scores.dat'}:score 'correctness' (e3): rates span (run) call, "
        "which is not in the store; import the file holding it first"
    ]
    assert list_traces(connect(store, readonly=True)) == []
    import_file(store, write_file(tmp_path, "spans.dat"))
    (trace,) = list_traces(connect(store, readonly=True))
    assert trace.scores == "correctness 0.75, helpful no,yes, overall 0.5, tone calm"


def test_scores_none_of_which_can_be_placed_leave_the_store_as_it_was(tmp_path, monkeypatch):
    only_span_named = [ScoreFor(None, "nowhere", Score("x", 1.0, key="k"))]
    fmt = SimpleNamespace(name="scored", read=lambda source, progress: iter(only_span_named))
    monkeypatch.setattr(ingest, "detect", lambda source: fmt)
    store = tmp_path / "s.db"
    result = import_file(store, write_file(tmp_path))
    assert result.outcome == "failed"
    assert "none of its 1 scores rates a span in the store (e.g. span (run) nowhere)" in result.error
    db = connect(store, readonly=True)
    assert [db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("scores", "sources")] == [0, 0]
