"""A span's input and output are the same in every view: the detail panel (get_span), the bulk and
single reads (trace_io, span_io), the span iterator and the search index; and documents written by the
previous release, which hold no derivation version, read as that release showed them."""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from otlp import TRACE, request, span, write_jsonl
from spanscope.core import conventions
from spanscope.core.search.find import search
from spanscope.core.search.index import build_index, has_index, index_started, index_status
from spanscope.core.search.texts import span_texts
from spanscope.core.store import Outcome, connect, import_file, payload
from spanscope.core.store.documents import VERSION_KEY
from spanscope.core.store.queries import NotFound, get_span, iter_spans
from spanscope.core.store.span_io import span_io, trace_io

#: One file per kind of reader: conventions derived on read (Phoenix, OTLP), native fields from the
#: source (Langfuse export), both (MLflow span inputs and outputs, other spans derived).
READERS = {
    "phoenix-sqlite": "phoenix-sqlite/phoenix.db",
    "mlflow-sqlite": "mlflow-sqlite/mlflow.db",
    "langfuse-export": "langfuse-export/openai-agents-2025-09-30.trace.json",
    "otlp": "openinference-openai/chain-and-session.otlp.jsonl",
}
_FTS = "fts5({}, tokenize='unicode61 remove_diacritics 2')"
Terms = dict[tuple[int, str], Counter]


def _terms(conn: sqlite3.Connection, table: str) -> Terms:
    """The indexed terms of each row's input and output, as the FTS index itself holds them."""
    conn.execute(f"CREATE VIRTUAL TABLE temp.vocab_{table} USING fts5vocab(main, {table}, instance)")
    found: Terms = {}
    for term, rowid, column, _ in conn.execute(f"SELECT * FROM temp.vocab_{table}"):
        if column in ("input", "output"):
            found.setdefault((rowid, column), Counter())[term] += 1
    return found


def _shown_terms(rows: list[tuple[int, str, str]]) -> Terms:
    """The terms the same tokenizer makes of the given (rowid, input text, output text)."""
    conn = sqlite3.connect(":memory:")
    conn.execute(f"CREATE VIRTUAL TABLE shown USING {_FTS.format('input, output')}")
    conn.executemany("INSERT INTO shown (rowid, input, output) VALUES (?, ?, ?)", rows)
    return _terms(conn, "shown")


@pytest.mark.parametrize("reader", READERS)
def test_every_view_shows_the_same_input_and_output(reader: str, fixtures_dir: Path, tmp_path: Path) -> None:
    store = tmp_path / "store.db"
    assert import_file(store, fixtures_dir / READERS[reader]).outcome is Outcome.IMPORTED
    assert build_index(store).complete
    db = connect(store)
    rowids = {(t, s): i for i, t, s in db.execute("SELECT id, trace_id, span_id FROM spans")}
    shown_texts, shown = [], 0
    for trace_id in {t for t, _ in rowids}:
        bulk = trace_io(db, trace_id)
        for listed in iter_spans(db, trace_id):
            detail = get_span(db, trace_id, listed.span_id)
            io = (detail.input, detail.output)
            assert io == (listed.input, listed.output) == bulk[listed.span_id]
            assert io == span_io(db, trace_id, listed.span_id)
            doc = {VERSION_KEY: conventions.DERIVATION, "input": detail.input, "output": detail.output}
            texts = span_texts(detail.name, detail.status_message, doc)
            shown_texts.append((rowids[trace_id, listed.span_id], texts[1], texts[2]))
            shown += io != (None, None)
    assert shown > len(shown_texts) // 2
    indexed = _terms(db.conn, "search_fts")
    assert len(indexed) > len(shown_texts) // 2
    assert indexed == _shown_terms(shown_texts)


# --- documents without a derivation version (written by the previous release) ----------------

LEGACY, DERIVED, NATIVE = "00000000000000b1", "00000000000000b2", "00000000000000b3"


def _chat(span_id: str) -> dict[str, Any]:
    attrs = {"input.value": "derived question", "output.value": "derived answer"}
    return span(span_id, name=f"chat-{span_id[-1]}", attrs={"openinference.span.kind": "LLM", **attrs})


def _rewrite_documents(store: Path, change: dict[str, dict[str, Any]]) -> None:
    """Replace keys of the named spans' stored documents, as an older release would have written them
    (a key set to None is removed)."""
    db = connect(store)
    with db.conn:
        for chunk_id, blob in db.execute("SELECT id, data FROM chunks").fetchall():
            docs = payload.unpack(blob)
            for span_id, index in db.execute(
                "SELECT span_id, payload_index FROM spans WHERE payload_chunk = ?", (chunk_id,)
            ).fetchall():
                for key, value in change.get(span_id, {}).items():
                    if value is None:
                        docs[index].pop(key, None)
                    else:
                        docs[index][key] = value
            (data,) = payload.compress_many([payload.pack(docs)])
            db.execute("UPDATE chunks SET data = ? WHERE id = ?", (data, chunk_id))


@pytest.fixture
def legacy_store(tmp_path: Path) -> Path:
    store = tmp_path / "store.db"
    import_file(
        store, write_jsonl(tmp_path / "chat.jsonl", request(_chat(LEGACY), _chat(DERIVED), _chat(NATIVE)))
    )
    docs = [
        doc for (blob,) in connect(store).execute("SELECT data FROM chunks") for doc in payload.unpack(blob)
    ]
    assert all(VERSION_KEY in doc and "input" not in doc for doc in docs)  # versioned, nothing derived
    _rewrite_documents(
        store,
        {
            # The previous release stored an import-time derivation as input and output.
            LEGACY: {VERSION_KEY: None, "input": "stored question", "output": None},
            DERIVED: {VERSION_KEY: None},
            NATIVE: {"input": "native question"},
        },
    )
    return store


def test_an_old_document_shows_what_it_stored_everywhere(legacy_store: Path) -> None:
    """No version: its input/output may be an old derivation or native, so it is shown as stored (both
    as stored when it has either); without either it is derived. With a version, each side missing
    is derived."""
    expected = {
        LEGACY: ("stored question", None),
        DERIVED: ("derived question", "derived answer"),
        NATIVE: ("native question", "derived answer"),
    }
    build_index(legacy_store)
    db = connect(legacy_store, readonly=True)
    assert trace_io(db, TRACE) == expected
    for span_id, io in expected.items():
        detail = get_span(db, TRACE, span_id)
        assert (detail.input, detail.output) == io == span_io(db, TRACE, span_id)
    assert [hit.span_id for hit in search(db, "input:stored").hits] == [LEGACY]
    assert {hit.span_id for hit in search(db, "output:answer").hits} == {DERIVED, NATIVE}
    assert {hit.span_id for hit in search(db, "input:derived").hits} == {DERIVED}


def test_a_new_derivation_rebuilds_the_search_index(legacy_store: Path, monkeypatch) -> None:
    build_index(legacy_store)
    monkeypatch.setattr(conventions, "DERIVATION", conventions.DERIVATION + 1)
    db = connect(legacy_store, readonly=True)
    assert not has_index(db) and index_started(db)
    assert index_status(db).indexed == 0 and search(db, "output:derived").hits == []
    assert build_index(legacy_store).complete
    assert has_index(db) and index_status(db).indexed == 3
    assert {hit.span_id for hit in search(db, "output:derived").hits} == {DERIVED, NATIVE}
    assert db.execute("SELECT derivation FROM search_version").fetchone()[0] == conventions.DERIVATION


def test_a_phoenix_store_of_the_previous_release_shows_what_a_new_import_shows(
    fixtures_dir: Path, tmp_path: Path
) -> None:
    """The previous release stored Phoenix spans' derived input and output as if native, unversioned."""
    store = tmp_path / "store.db"
    import_file(store, fixtures_dir / READERS["phoenix-sqlite"])
    db = connect(store, readonly=True)
    traces = [t for (t,) in db.execute("SELECT trace_id FROM traces")]
    fresh = {trace_id: trace_io(db, trace_id) for trace_id in traces}
    old = {
        span_id: {VERSION_KEY: None, "input": io[0], "output": io[1]}
        for shown in fresh.values()
        for span_id, io in shown.items()
        if io != (None, None)
    }
    assert old
    _rewrite_documents(store, old)
    assert {trace_id: trace_io(db, trace_id) for trace_id in traces} == fresh
    with pytest.raises(NotFound):
        span_io(db, traces[0], "no-such-span")
