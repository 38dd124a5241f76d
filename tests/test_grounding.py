"""Grounding: sentences of an answer against retrieved passages, by shared words."""

from __future__ import annotations

import orjson
import pytest

from otlp import TRACE, llm, request, span, write_jsonl
from spanscope.cli import main
from spanscope.core.evaluation.grounding import (
    Documents,
    SourceDocument,
    Verdict,
    ground,
    ground_span,
    prompt_documents,
    sentences,
)
from spanscope.core.resources import demo_traces
from spanscope.core.store import Outcome, connect, import_file
from spanscope.core.store.queries import get_span, resolve_span

DOCS = [
    {
        "id": "kb-1",
        "content": "Refunds are issued within 14 days of receiving the return. "
        "Shipping costs are not refunded.",
    },
    {"id": "kb-2", "content": "The Aero headphones have a battery life of 40 hours. They charge over USB-C."},
]
SUPPORTED = "The Aero headphones have a battery life of 40 hours."
UNSUPPORTED = "Our stores in Paris open every Sunday morning."
ANSWER = f"{SUPPORTED} {UNSUPPORTED} Thanks!"
ROOT, RETRIEVER, CALL, LATER = "0000000000000001", "0000000000000002", "0000000000000003", "0000000000000004"


def retrieval_attrs(docs):
    attrs = {"openinference.span.kind": "RETRIEVER"}
    for i, d in enumerate(docs):
        attrs[f"retrieval.documents.{i}.document.id"] = d["id"]
        attrs[f"retrieval.documents.{i}.document.content"] = d["content"]
    return attrs


@pytest.fixture
def rag_store(tmp_path):
    path = write_jsonl(
        tmp_path / "rag.jsonl",
        request(
            span(ROOT, name="rag", start=0, end=5_000_000, attrs={"openinference.span.kind": "CHAIN"}),
            span(RETRIEVER, ROOT, name="retrieve", start=10, end=1_000_000, attrs=retrieval_attrs(DOCS)),
            llm(
                CALL,
                ROOT,
                "gpt-4o",
                50,
                20,
                start=1_000_001,
                end=3_000_000,
                attrs={"input.value": "How long does the battery last?", "output.value": ANSWER},
            ),
            # A retriever after the call is not evidence for it.
            span(
                LATER,
                ROOT,
                name="retrieve_more",
                start=3_000_001,
                end=4_000_000,
                attrs=retrieval_attrs(
                    [{"id": "late", "content": "Our stores in Paris open every Sunday morning."}]
                ),
            ),
        ),
    )
    store = tmp_path / "store.db"
    assert import_file(store, path).outcome is Outcome.IMPORTED
    return store


def test_known_supported_and_unsupported_sentences(rag_store):
    db = connect(rag_store, readonly=True)
    found = ground_span(db, get_span(db, TRACE, CALL))
    assert found is not None
    assert [d.label for d in found.documents.items] == ["retrieve #1 (kb-1)", "retrieve #2 (kb-2)"]
    first, second, third = found.sentences
    assert first.text == SUPPORTED and first.verdict is Verdict.SUPPORTED and first.score == 1.0
    (support,) = first.supports
    doc = found.documents.items[support.document].text
    assert doc[support.start : support.end] == SUPPORTED
    assert [doc[a:b] for a, b in support.overlap] == ["Aero", "headphones", "battery", "life", "40", "hours"]
    assert second.text == UNSUPPORTED and second.verdict is Verdict.NOT_FOUND and second.supports == []
    assert [found.answer[a:b] for a, b in second.unmatched] == [
        "stores",
        "Paris",
        "open",
        "Sunday",
        "morning",
    ]
    assert third.verdict is Verdict.NOT_JUDGED


def test_partial_support_and_stopwords():
    docs = Documents("test", [SourceDocument("d", "Refunds are issued within 14 days.")])
    (only,) = ground("Refunds are issued within 30 days by cheque.", docs).sentences
    # terms: refund, issu, within, 30, day, cheque -> 4 of 6 found.
    assert only.score == pytest.approx(4 / 6)
    assert only.verdict is Verdict.SUPPORTED


def test_sentence_splitting_keeps_decimals_abbreviations_and_bullets():
    text = "You get $224.10 back, e.g. by card. Next step!\n- Send the form\n2. Wait for mail"
    assert [text[a:b] for a, b in sentences(text)] == [
        "You get $224.10 back, e.g. by card.",
        "Next step!",
        "Send the form",
        "Wait for mail",
    ]


def test_passages_marked_in_the_prompt():
    prompt = [
        {
            "role": "system",
            "content": "Answer from these.\n\n[1] (faq.md)\nDelivery takes 3 days.\n\n"
            "[2] Returns are free.\n\nBe brief.",
        },
        {"role": "user", "content": "How long is delivery?"},
    ]
    docs = prompt_documents(prompt)
    assert [d.text for d in docs] == ["[1] (faq.md)\nDelivery takes 3 days.", "[2] Returns are free."]
    assert prompt_documents({"context": {"docs": [{"content": "A doc."}]}})[0].text == "A doc."
    assert prompt_documents("no passages here") == []


def test_cli_grounding(rag_store, capsys):
    assert main(["grounding", str(rag_store), "--span", CALL[:-1] + "3"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Lexical evidence, not proof")
    assert f"! 2. [0.00 possibly not grounded] {UNSUPPORTED}" in out
    assert "[Aero] [headphones] have a [battery] [life] of [40] [hours]." in out
    assert main(["grounding", str(rag_store), "--span", CALL, "--json"]) == 0
    data = orjson.loads(capsys.readouterr().out)
    assert [s["verdict"] for s in data["sentences"]] == ["supported", "possibly not grounded", "not judged"]
    assert data["sentences"][0]["supports"][0]["label"] == "retrieve #2 (kb-2)"


def test_cli_grounding_refuses_spans_without_documents(rag_store, capsys):
    assert main(["grounding", str(rag_store), "--span", ROOT]) == 2
    assert "is a CHAIN span" in capsys.readouterr().err
    assert main(["grounding", str(rag_store), "--span", "ffff"]) == 2
    assert "no span 'ffff' in the store" in capsys.readouterr().err


def test_resolve_span_by_prefix(rag_store):
    db = connect(rag_store, readonly=True)
    with pytest.raises(LookupError, match="more than one span"):
        resolve_span(db, "000000000000000")
    assert resolve_span(db, CALL, TRACE[:8]) == (TRACE, CALL)


def test_demo_rag_answer(tmp_path):
    store = tmp_path / "demo.db"
    assert import_file(store, demo_traces()).outcome is Outcome.IMPORTED
    db = connect(store, readonly=True)
    trace, call = resolve_span(db, "d2ab5d67c074a644")
    found = ground_span(db, get_span(db, trace, call))
    assert found is not None and len(found.documents.items) == 3
    verdicts = [s.verdict for s in found.sentences]
    assert len(verdicts) == 5
    # The pleasantry shares nothing with the knowledge base; the warranty steps are backed by kb-warranty-004.
    assert verdicts[0] is Verdict.NOT_FOUND
    assert verdicts[3] is Verdict.SUPPORTED
    assert found.documents.items[found.sentences[3].supports[0].document].label.endswith("(kb-warranty-004)")


def test_retrievers_count_only_before_the_call_and_in_its_chain():
    from spanscope.core.debugging.tree import TraceTree
    from spanscope.core.evaluation.grounding import retriever_rows
    from spanscope.core.span_rows import SpanRows

    steps = [
        ("root", None, "AGENT"),
        ("other", "root", "CHAIN"),
        ("r_other", "other", "RETRIEVER"),
        ("chain", "root", "CHAIN"),
        ("r_deep", "chain", "CHAIN"),
        ("r1", "r_deep", "RETRIEVER"),
        ("r2", "chain", "RERANKER"),
        ("llm", "chain", "LLM"),
        ("r_late", "chain", "RETRIEVER"),
    ]
    tree = TraceTree.build(
        SpanRows.from_dicts(
            {"span_id": s, "parent_id": p, "kind": k, "name": s, "start_ns": i, "status": "ok"}
            for i, (s, p, k) in enumerate(steps)
        )
    )
    ids = tree.rows.columns["span_id"]
    assert [ids[i] for i in retriever_rows(tree, tree.index["llm"])] == ["r1", "r2"]


def test_a_retriever_in_a_sibling_step_of_the_chain_counts():
    """Phoenix's RAG shape: rag_query -> retrieve, then rag_query -> synthesize -> ChatCompletion."""
    from spanscope.core.debugging.tree import TraceTree
    from spanscope.core.evaluation.grounding import retriever_rows
    from spanscope.core.span_rows import SpanRows

    steps = [("q", None, "CHAIN"), ("r", "q", "RETRIEVER"), ("s", "q", "CHAIN"), ("llm", "s", "LLM")]
    tree = TraceTree.build(
        SpanRows.from_dicts(
            {"span_id": s, "parent_id": p, "kind": k, "name": s, "start_ns": i, "status": "ok"}
            for i, (s, p, k) in enumerate(steps)
        )
    )
    assert retriever_rows(tree, tree.index["llm"]) == [tree.index["r"]]


def test_phoenix_rag_trace(fixtures_dir, tmp_path):
    """The Phoenix fixture's RAG answer, checked against the documents as stored in Phoenix's SQLite."""
    import sqlite3

    phoenix = fixtures_dir / "phoenix-sqlite" / "phoenix.db"
    source = sqlite3.connect(f"file:{phoenix}?mode=ro", uri=True)
    (attributes,) = source.execute(
        "SELECT attributes FROM spans WHERE span_kind = 'RETRIEVER' AND span_id = 'ad32d5bf096e05cd'"
    ).fetchone()
    expected = [d["document"]["content"] for d in orjson.loads(attributes)["retrieval"]["documents"]]
    store = tmp_path / "store.db"
    assert import_file(store, phoenix).outcome is Outcome.IMPORTED
    db = connect(store, readonly=True)
    found = ground_span(db, get_span(db, *resolve_span(db, "6bd8b67096e23579")))
    assert found is not None
    assert [d.text for d in found.documents.items] == expected
    assert found.documents.origin == "retrieved by retrieve before this call"
    assert found.sentences[0].text == "Paris."
    assert found.sentences[0].supports[0].document == expected.index("Paris is the capital of France.")


def test_passages_in_the_prompt_when_no_retriever_ran(tmp_path, capsys):
    passages = "[1] The museum opens at 9 am on weekdays.\n\n[2] Entry is free on Sundays."
    system = f"Answer from the context.\n\n{passages}"
    path = write_jsonl(
        tmp_path / "prompt.jsonl",
        request(
            llm(
                CALL,
                None,
                "gpt-4o",
                50,
                20,
                attrs={
                    "llm.input_messages.0.message.role": "system",
                    "llm.input_messages.0.message.content": system,
                    "llm.input_messages.1.message.role": "user",
                    "llm.input_messages.1.message.content": "When does it open?",
                    "output.value": "The museum opens at 9 am on weekdays. Parking costs ten euros.",
                },
            )
        ),
    )
    assert main(["grounding", str(path), "--span", CALL, "--json"]) == 0
    data = orjson.loads(capsys.readouterr().out)
    assert data["documents_from"] == "passages marked in the prompt"
    assert [d["text"] for d in data["documents"]] == [
        "[1] The museum opens at 9 am on weekdays.",
        "[2] Entry is free on Sundays.",
    ]
    assert [s["verdict"] for s in data["sentences"]] == ["supported", "possibly not grounded"]
