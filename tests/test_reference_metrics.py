"""Reference metrics: figures worked out by hand, the libraries' own documented examples, references
from a file and from the sources (Inspect targets, MLflow expectations) checked against the raw data."""

from __future__ import annotations

import sqlite3

import orjson
import pytest
import sacrebleu
from rouge_score import rouge_scorer

from otlp import llm, request, span, write_jsonl
from spanscope.cli import main
from spanscope.core.evaluation.reference_metrics import (
    ReferenceFileError,
    bleu,
    exact_match,
    load_references,
    normalize,
    reference_metrics,
    rouge_l,
    token_f1,
)
from spanscope.core.store import connect, import_files

INSPECT = [
    "inspect-eval/2026-11-27T04-30-04-00-00_fixture-qa_6TRE8QQmdqaAmyCnqo4jPc.json",
    "inspect-eval/2026-11-27T04-29-52-00-00_fixture-qa_SnEVxhayFbrkpvjoomYVL3.eval",
]


# --- the metrics -----------------------------------------------------------------------------------


def test_normalisation_drops_case_punctuation_and_articles():
    assert normalize("  The Cat's  hat, an apple! ") == "cats hat apple"


@pytest.mark.parametrize(
    ("prediction", "references", "exact", "f1"),
    [
        ("The cat!", ["cat"], 1.0, 1.0),
        # words cat sat on mat against cat sat: precision 2/4, recall 2/2, F1 = 2 * 0.5 * 1 / 1.5
        ("the cat sat on the mat", ["a cat sat"], 0.0, 2 / 3),
        # x x y against x y y: common x once and y once, precision = recall = 2/3
        ("x x y", ["x y y"], 0.0, 2 / 3),
        # the best of several references counts
        ("blue", ["red", "Blue.", "yellow"], 1.0, 1.0),
        ("dark blue sky", ["red", "blue"], 0.0, 0.5),  # 1/3 precision, 1/1 recall
        ("", [""], 1.0, 1.0),
        ("", ["n/a"], 0.0, 0.0),
        ("Paris", ["London"], 0.0, 0.0),
    ],
)
def test_exact_match_and_token_f1_by_hand(prediction, references, exact, f1):
    assert exact_match(prediction, references) == exact
    assert token_f1(prediction, references) == pytest.approx(f1)


@pytest.mark.parametrize(
    ("target", "prediction", "expected"),
    [
        # rouge-score's own tests (rouge_scorer_test.py): testRougeLConsecutive, testRougeLNonConsecutive
        ("testing one two", "testing one", 4 / 5),
        ("testing one two", "testing two", 4 / 5),
        ("testing one two", "", 0.0),  # testRougeEmpty
    ],
)
def test_rouge_l_matches_the_libraries_examples(target, prediction, expected):
    assert rouge_l(prediction, [target]) == pytest.approx(expected)


def test_bleu_matches_sacrebleus_examples():
    # sacrebleu's test_sentence_bleu.py (issue #98): exp smoothing, 13a tokens, effective order -> 8.493
    ref = "producţia de zahăr brut se exprimă în zahăr alb;"
    hyp = "Producția de zahăr primă va fi exprimată în ceea ce privește zahărul alb;"
    assert bleu(hyp, [ref]) == pytest.approx(8.493, abs=1e-3)
    assert bleu("this is a cat", ["okay thanks"]) == 0.0  # issue #141
    assert bleu("the cat sat on the mat", ["the cat sat on the mat"]) == pytest.approx(100.0)


# --- references files ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("{not json", "line 2: not JSON"),
        ('["a"]', "line 2: expected a JSON object"),
        ('{"input": "q"}', 'line 2: "expected" must be a text or a list of texts'),
        ('{"input": "q", "expected": [1]}', 'line 2: "expected" must be a text or a list of texts'),
        ('{"expected": "a"}', 'line 2: give "input", "trace_id" or "span_id"'),
        ('{"trace_id": 7, "expected": "a"}', 'line 2: give "input", "trace_id" or "span_id"'),
        ('{"trace_id": "t", "span_id": 7, "expected": "a"}', '"trace_id" and "span_id" must be texts'),
    ],
)
def test_bad_reference_files_name_the_line(tmp_path, line, reason):
    path = tmp_path / "refs.jsonl"
    path.write_text('{"input": "q", "expected": "a"}\n' + line + "\n")
    with pytest.raises(ReferenceFileError, match=reason) as caught:
        load_references(path)
    assert str(caught.value).startswith(str(path))


TRACE = "0af7651916cd43dd8448eb211c80319c"
ROOT, CALL, OTHER = "00000000000000a1", "00000000000000a2", "00000000000000a3"


@pytest.fixture
def store(tmp_path):
    """One trace: a chain answering "What is 2+2?" through a gpt-4o chat call, and an unrelated call."""
    question = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 2+2?"}]
    path = write_jsonl(
        tmp_path / "run.jsonl",
        request(
            span(ROOT, name="qa", attrs={"input.value": "What is  2+2?", "output.value": "4"}),
            llm(
                CALL,
                ROOT,
                "gpt-4o",
                10,
                2,
                attrs={
                    "llm.input_messages.0.message.role": "system",
                    "llm.input_messages.0.message.content": question[0]["content"],
                    "llm.input_messages.1.message.role": "user",
                    "llm.input_messages.1.message.content": question[1]["content"],
                    "llm.output_messages.0.message.role": "assistant",
                    "llm.output_messages.0.message.content": "The answer is 4.",
                },
            ),
            llm(OTHER, ROOT, "gpt-4o-mini", 5, 1, attrs={"output.value": "four"}),
        ),
    )
    db_path = tmp_path / "store.db"
    import_files(db_path, [path])
    return connect(db_path, readonly=True)


def refs(tmp_path, *records):
    return load_references(write_jsonl(tmp_path / "refs.jsonl", *records))


def test_references_by_input_match_the_span_and_the_chat_call_asking_it(store, tmp_path):
    report = reference_metrics(store, refs(tmp_path, {"input": "What is 2+2?", "expected": ["4", "four"]}))
    assert [(m.span_id, m.output, m.scores.exact) for m in report.spans] == [
        (ROOT, "4", 1.0),
        (CALL, "The answer is 4.", 0.0),
    ]
    # the root has no model of its own: its LLM calls' models stand for it
    assert [m.model for m in report.spans] == ["gpt-4o, gpt-4o-mini", "gpt-4o"]
    assert report.spans[1].scores.f1 == pytest.approx(2 * (1 / 3) * 1 / (1 / 3 + 1))  # answer is 4 vs 4
    assert report.spans[0].reference.origin == "refs.jsonl:1"


def test_references_by_trace_and_span_id(store, tmp_path):
    report = reference_metrics(
        store,
        refs(
            tmp_path,
            {"trace_id": TRACE, "expected": "4"},
            {"span_id": OTHER, "expected": "four"},
            {"trace_id": TRACE, "span_id": "ffffffffffffffff", "expected": "x"},
            {"input": "never asked", "expected": "x"},
        ),
    )
    assert [(m.span_id, m.scores.exact) for m in report.spans] == [(ROOT, 1.0), (OTHER, 1.0)]
    assert [e.reference.origin for e in report.unmatched] == ["refs.jsonl:3", "refs.jsonl:4"]
    means = {g.model: (g.spans, g.scores.exact) for g in report.by_model()}
    assert means == {"gpt-4o, gpt-4o-mini": (1, 1.0), "gpt-4o-mini": (1, 1.0)}


def test_no_references_no_metrics(store):
    report = reference_metrics(store)
    assert report.spans == [] and report.by_model() == []


# --- references held by the sources ----------------------------------------------------------------


def imported(fixtures_dir, tmp_path, name):
    db_path = tmp_path / "store.db"
    import_files(db_path, [fixtures_dir / name])
    return connect(db_path, readonly=True)


@pytest.mark.parametrize("name", INSPECT)
def test_inspect_targets_are_references(fixtures_dir, tmp_path, name):
    log = orjson.loads((fixtures_dir / INSPECT[0]).read_bytes())  # both files hold the same task
    raw = {
        s["id"]: (
            s["target"] if isinstance(s["target"], list) else [s["target"]],
            s["output"].get("completion") or "",
        )
        for s in log["samples"]
    }
    report = reference_metrics(imported(fixtures_dir, tmp_path, name))
    got = {m.span_id.removesuffix("_epoch_1"): m for m in report.spans}
    assert set(got) == set(raw) == {"q1", "q2", "q3", "q4", "q5"}
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    for sample, (targets, completion) in raw.items():
        m = got[sample]
        assert list(m.reference.expected) == targets and m.reference.origin == "inspect target"
        assert m.output == completion
        assert m.model == "gpt-4o-mini"
        assert m.scores.rouge_l == pytest.approx(scorer.score_multi(targets, completion)["rougeL"].fmeasure)
        assert m.scores.bleu == pytest.approx(sacrebleu.sentence_bleu(completion, targets).score)
    # by hand: q1 "paris gpt4omini answer to what is capital of france" has 9 words, one of them the
    # target's: F1 = 2 * (1/9) * 1 / (1/9 + 1) = 0.2; q3 1 of 11 words: 1/6; q4 "blue" 1 of 7: 0.25
    f1 = {s: got[s].scores.f1 for s in raw}
    assert f1 == pytest.approx({"q1": 0.2, "q2": 0.0, "q3": 1 / 6, "q4": 0.25, "q5": 0.0})
    assert all(got[s].scores.exact == 0.0 for s in raw)
    (mean,) = report.by_model()
    assert (mean.model, mean.spans) == ("gpt-4o-mini", 5)
    assert mean.scores.f1 == pytest.approx((0.2 + 1 / 6 + 0.25) / 5)


def test_mlflow_expectations_are_references(fixtures_dir, tmp_path):
    name = "mlflow-sqlite/mlflow.db"
    raw = sqlite3.connect(f"file:{fixtures_dir / name}?mode=ro", uri=True)
    expectations = raw.execute(
        "SELECT trace_id, value FROM assessments WHERE assessment_type = 'expectation' AND valid"
    ).fetchall()
    report = reference_metrics(imported(fixtures_dir, tmp_path, name))
    assert [(f"tr-{m.trace_id}", m.reference.expected) for m in report.spans] == [
        (trace_id, (orjson.loads(value),)) for trace_id, value in expectations
    ]
    (m,) = report.spans
    assert m.reference.origin == "mlflow expectation expected_answer"
    assert "Paris" in m.output and m.scores.exact == 0.0 and m.scores.f1 > 0


def test_a_file_reference_replaces_the_sources(fixtures_dir, tmp_path):
    db = imported(fixtures_dir, tmp_path, INSPECT[0])
    q1 = next(m for m in reference_metrics(db).spans if m.span_id == "q1_epoch_1")
    report = reference_metrics(db, refs(tmp_path, {"trace_id": q1.trace_id, "expected": q1.output}))
    again = next(m for m in report.spans if m.span_id == "q1_epoch_1")
    assert again.reference.origin == "refs.jsonl:1" and again.scores.exact == 1.0
    assert again.scores.bleu == pytest.approx(100.0)


# --- the command -----------------------------------------------------------------------------------


def test_metrics_command_prints_spans_and_means(fixtures_dir, capsys):
    assert main(["metrics", str(fixtures_dir / INSPECT[0])]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == [
        "trace",
        "span",
        "name",
        "model",
        "exact",
        "f1",
        "rouge-L",
        "bleu",
        "expected",
    ]
    q1 = next(line for line in lines if "q1_epoch_1" in line)
    assert q1.split()[-6:] == ["gpt-4o-mini", "0.00", "0.200", "0.154", "2.6", "Paris"]
    assert lines[-2:][0].split() == ["model", "spans", "exact", "f1", "rouge-L", "bleu"]
    assert lines[-1].split()[:4] == ["gpt-4o-mini", "5", "0.00", "0.123"]


def test_metrics_command_json_and_unmatched(store, tmp_path, capsys):
    path = tmp_path / "refs.jsonl"
    path.write_text('{"input": "What is 2+2?", "expected": "4"}\n{"trace_id": "gone", "expected": "x"}\n')
    db = tmp_path / "store.db"
    assert main(["metrics", "--db", str(db), "--references", str(path), "--json"]) == 0
    captured = capsys.readouterr()
    doc = orjson.loads(captured.out)
    assert [s["span_id"] for s in doc["spans"]] == [ROOT, CALL]
    assert doc["spans"][0]["exact"] == 1.0 and doc["spans"][0]["expected"] == ["4"]
    assert [g["model"] for g in doc["models"]] == ["gpt-4o", "gpt-4o, gpt-4o-mini"]
    assert doc["unmatched"] == ["refs.jsonl:2"]
    assert "1 references matched no span: refs.jsonl:2" in captured.err


def test_metrics_command_rejects_a_bad_references_file(store, tmp_path, capsys):
    path = tmp_path / "refs.jsonl"
    path.write_text('{"input": "q"}\n')
    assert main(["metrics", "--db", str(tmp_path / "store.db"), "--references", str(path)]) == 2
    assert (
        capsys.readouterr().err
        == f'spanscope: {path}, line 1: "expected" must be a text or a list of texts\n'
    )
