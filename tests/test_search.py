"""Full-text search: ranking, phrases, prefixes, filters, the lazy index and its rebuilding."""

from __future__ import annotations

import re
import sqlite3
import threading
import time

import orjson
import pytest

from multimodal import CAPTURE, raw_spans
from otlp import TRACE, llm, request, span, write_jsonl
from spanscope.cli import main
from spanscope.core.search.find import search
from spanscope.core.search.index import IndexState, build_index, drop_index, index_status
from spanscope.core.search.query import QuerySyntaxError, parse
from spanscope.core.store import StoreError, connect, import_file

OTHER = "1bf7651916cd43dd8448eb211c80319d"
ROOT, CALL, TOOL, NOTE = "00000000000000a1", "00000000000000a2", "00000000000000a3", "00000000000000a4"


def _first_file(tmp_path):
    return write_jsonl(
        tmp_path / "one.jsonl",
        request(
            span(ROOT, name="answer_question", end=9_000, attrs={"openinference.span.kind": "CHAIN"}),
            llm(
                CALL,
                ROOT,
                "gpt-4o",
                120,
                30,
                attrs={
                    "input.value": "What is the capital of France?",
                    "output.value": "Paris, the café city.",
                },
            ),
            span(
                TOOL,
                ROOT,
                name="lookup_invoice",
                attrs={"openinference.span.kind": "TOOL", "input.value": "invoice 42"},
                error="invoice service timed out",
            ),
            span(NOTE, ROOT, name="audit", attrs={"note": "mentions the invoice and France in passing"}),
        ),
    )


def _second_file(tmp_path):
    return write_jsonl(
        tmp_path / "two.jsonl",
        request(
            span(ROOT, trace=OTHER, name="plan_trip", end=9_000, attrs={"openinference.span.kind": "AGENT"}),
            llm(
                CALL,
                ROOT,
                "gpt-4o-mini",
                10,
                5,
                attrs={"input.value": "Plan a weekend in Lisbon", "output.value": "Day one: Alfama."},
            )
            | {"traceId": OTHER},
            service="travel-agent",
        ),
    )


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "store.db"
    import_file(path, _first_file(tmp_path))
    build_index(path)
    return path


def names(path, text):
    db = connect(path, readonly=True)
    try:
        return [h.span_name for h in search(db, text).hits]
    finally:
        db.conn.close()


def test_name_and_input_matches_rank_above_attribute_only_matches(store):
    assert names(store, "invoice")[-1] == "audit"
    assert set(names(store, "invoice")) == {"lookup_invoice", "audit"}
    assert names(store, "france") == ["span-a2", "audit"]


def test_phrase_prefix_and_exclusion(store):
    assert names(store, '"capital of France"') == ["span-a2"]
    assert names(store, '"France capital"') == []
    assert names(store, "capit*") == ["span-a2"]
    assert names(store, "invoice -audit -passing") == ["lookup_invoice"]


def test_field_scopes_and_filters(store, tmp_path):
    import_file(store, _second_file(tmp_path))
    build_index(store)
    assert names(store, "name:invoice") == ["lookup_invoice"]
    assert set(names(store, "attr:invoice")) == {"lookup_invoice", "audit"}
    assert names(store, "kind:tool") == ["lookup_invoice"]
    assert names(store, "invoice kind:chain") == []
    assert names(store, "status:error") == ["lookup_invoice"]
    assert names(store, "model:gpt-4o") == ["span-a2"]
    assert sorted(names(store, "model:GPT-4O*")) == ["span-a2", "span-a2"]
    assert names(store, "service:travel-agent kind:agent") == ["plan_trip"]
    assert names(store, f"kind:llm trace:{OTHER[:8]}") == ["span-a2"]
    assert names(store, f"capital trace:{OTHER[:8]}") == []
    assert sorted(names(store, "kind:llm kind:tool")) == ["lookup_invoice", "span-a2", "span-a2"]
    assert names(store, "kind:llm kind:tool status:error") == ["lookup_invoice"]


def test_snippet_marks_the_match_folding_case_and_diacritics(store):
    db = connect(store, readonly=True)
    hit = search(db, "CAFE").hits[0]
    assert hit.field == "output"
    assert [hit.snippet[a:b] for a, b in hit.marks] == ["café"]
    hit = search(db, '"capital of france"').hits[0]
    assert [hit.snippet[a:b] for a, b in hit.marks] == ["capital of France"]
    hit = search(db, "timed").hits[0]
    assert hit.field == "attributes" and "invoice service timed out" in hit.snippet


def test_second_import_is_indexed_incrementally(store, tmp_path):
    db = connect(store, readonly=True)
    before = index_status(db)
    import_file(store, _second_file(tmp_path))
    assert index_status(db).indexed == before.indexed == 4
    assert index_status(db).total == 6
    assert search(db, "lisbon").hits == []
    seen = []
    assert build_index(store, IndexState(on_progress=seen.append)).complete
    assert seen[-1].indexed == 6
    assert [h.trace_id for h in search(db, "lisbon").hits] == [OTHER]
    assert search(db, "capital").count == 1  # the first import is not indexed twice


def test_dropped_index_is_rebuilt_from_the_spans(store):
    drop_index(store)
    db = connect(store, readonly=True)
    assert search(db, "invoice").hits == []
    assert index_status(db).indexed == 0
    build_index(store)
    assert set(names(store, "invoice")) == {"lookup_invoice", "audit"}
    raw = sqlite3.connect(store)
    raw.execute("DROP TABLE search_fts")
    raw.commit()
    raw.close()
    assert build_index(store).indexed == 4
    assert names(store, "capital") == ["span-a2"]


def test_a_running_span_is_reindexed_once_it_completes(tmp_path):
    path = tmp_path / "store.db"
    running = span(CALL, name="draft_step", end=None, attrs={"output.value": "first draft"})
    other = span(TOOL, name="slow_tool", end=None, attrs={"output.value": "still going"})
    import_file(path, write_jsonl(tmp_path / "a.jsonl", request(running, other)))
    build_index(path)
    assert names(path, "draft") == ["draft_step"]
    done = span(CALL, name="draft_step", end=5_000, attrs={"output.value": "final answer"})
    import_file(path, write_jsonl(tmp_path / "b.jsonl", request(done)))
    builds = [threading.Thread(target=build_index, args=(path,)) for _ in range(2)]
    for build in builds:
        build.start()
    for build in builds:
        build.join()
    assert names(path, "final") == ["draft_step"]
    assert names(path, "first") == []
    assert names(path, "going") == ["slow_tool"]
    raw = sqlite3.connect(path)
    raw.execute("INSERT INTO search_fts (search_fts) VALUES ('integrity-check')")
    assert raw.execute("SELECT id FROM search_running").fetchall() == [(2,)]
    raw.close()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('"unclosed phrase', "quote is not closed"),
        ("kind:bogus", "not a span kind"),
        ("status:maybe", "not a status"),
        ("-alone", "not only what to exclude"),
        ("   ", "type something"),
        ("*** ", "cannot read"),
        ("trace:ffff0000", "no trace"),
    ],
)
def test_bad_queries_say_why(store, text, message):
    db = connect(store, readonly=True)
    with pytest.raises(QuerySyntaxError, match=message):
        search(db, text)


def test_words_that_look_like_fts_syntax_are_plain_text(store):
    assert parse("NEAR(a b) OR x:y").fts() == '("NEAR(a" AND "b)" AND "OR" AND "x:y")'
    assert names(store, "AND OR NOT") == []


def test_the_indexer_waits_for_an_import_holding_the_write_lock(store, tmp_path):
    import_file(store, _second_file(tmp_path))
    holder = sqlite3.connect(store, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    released = threading.Timer(0.8, lambda: holder.execute("COMMIT"))
    started = time.monotonic()
    released.start()
    assert build_index(store).complete
    assert time.monotonic() - started >= 0.7
    released.join()
    holder.close()


def test_a_cancelled_build_stops_and_resumes_later(store, tmp_path):
    import_file(store, _second_file(tmp_path))
    state = IndexState()
    state.cancel()
    assert not build_index(store, state).complete
    assert build_index(store).complete


def test_cli_search_prints_marked_snippets_and_json(store, capsys):
    assert main(["search", "--db", str(store), "capital"]) == 0
    out, err = capsys.readouterr()
    assert f"{TRACE}  {CALL}  LLM  answer_question › span-a2" in out
    assert "input: What is the [capital] of France?" in out
    assert "1 matching spans, 1 shown" in err
    assert main(["search", "--db", str(store), "invoice", "--json", "--limit", "1"]) == 0
    records = [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["span_name"] for r in records] == ["lookup_invoice"]
    assert main(["search", "--db", str(store), '"oops']) == 2
    assert "bad query: a quote is not closed" in capsys.readouterr().err


def test_imports_and_indexing_at_the_same_time_both_succeed(store, tmp_path):
    spans = (
        span(f"{i:016x}", trace=OTHER, attrs={"input.value": f"item {i} wombat"}) for i in range(1, 2500)
    )
    big = write_jsonl(tmp_path / "big.jsonl", request(*spans))
    drop_index(store)
    errors, imported = [], threading.Event()

    def index_until_imported():
        try:
            while not imported.is_set():
                build_index(store)
        except Exception as exc:  # reported below: the test must see it
            errors.append(exc)

    indexer = threading.Thread(target=index_until_imported)
    indexer.start()
    result = import_file(store, big)
    imported.set()
    indexer.join()
    assert errors == []
    assert result.spans_added == 2499
    assert build_index(store).indexed == 4 + 2499
    db = connect(store, readonly=True)
    assert search(db, "wombat").count == 2499


def test_cli_search_still_searches_when_the_index_cannot_be_updated(store, tmp_path, capsys, monkeypatch):
    def refuse(*_args, **_kwargs):
        raise StoreError(f"{store}: attempt to write a readonly database")

    monkeypatch.setattr("spanscope.cli.commands.search.build_index", refuse)
    assert main(["search", "--db", str(store), "capital"]) == 0
    out, err = capsys.readouterr()
    assert f"cannot update the search index ({store}: attempt to write a readonly database)" in err
    assert "[capital]" in out


def test_sqlite_failing_during_a_build_is_a_store_error_naming_the_store(store, tmp_path):
    """SQLite refusing a write of the build (as on a full disk) comes out in the store's terms."""
    conn = sqlite3.connect(store)
    conn.execute(
        "CREATE TRIGGER full BEFORE UPDATE ON search_state BEGIN "
        "SELECT RAISE(ABORT, 'database or disk is full'); END"
    )
    conn.commit()
    conn.close()
    import_file(store, _second_file(tmp_path))
    with pytest.raises(StoreError, match=re.escape(f"{store}: database or disk is full")):
        build_index(store)


def test_base64_images_and_audio_are_not_indexed_but_the_words_around_them_are(tmp_path, fixtures_dir):
    path = tmp_path / "media.db"
    import_file(path, fixtures_dir.joinpath(*CAPTURE))
    build_index(path)
    attributes = [item for span in raw_spans(fixtures_dir).values() for item in span.items()]
    payloads = [v for k, v in attributes if k.endswith("image.image.url") and v.startswith("data:")]
    (audio_request,) = {v for k, v in attributes if k == "input.value" and "input_audio" in v}
    parts = orjson.loads(audio_request)["messages"][0]["content"]
    payloads += [p["input_audio"]["data"] for p in parts if "input_audio" in p]
    assert len(payloads) >= 2
    assert "ChatCompletion" in names(path, "photo")
    assert "ChatCompletion" in names(path, '"voice note"')
    for payload in payloads:
        words = [w for w in re.split(r"[^A-Za-z0-9]+", payload.rpartition(",")[2]) if len(w) >= 12]
        assert words
        for word in words[:5]:
            assert names(path, word) == [], word
