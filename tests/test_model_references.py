"""Reference means per model for the comparison: the cheap "may this store hold references" check,
the usage filter, and the columns they add to the comparison's CSV."""

from __future__ import annotations

import pytest

from otlp import llm, request, span, write_jsonl
from spanscope.core.analysis.model_comparison import REFERENCE_COLUMNS, compare_models, comparison_table
from spanscope.core.evaluation.model_references import NONE, may_have_references, reference_means
from spanscope.core.evaluation.reference_metrics import load_references
from spanscope.core.store import connect, import_files
from spanscope.core.store.usage import UsageFilter

TRACE = "0af7651916cd43dd8448eb211c80319c"
ROOT, CALL = "00000000000000a1", "00000000000000a2"


@pytest.fixture
def store(tmp_path):
    """A chain "qa" asking gpt-4o "What is 2+2?"; its answer "The answer is 4."."""
    path = write_jsonl(
        tmp_path / "run.jsonl",
        request(
            span(ROOT, name="qa", attrs={"input.value": "What is 2+2?", "output.value": "4"}),
            llm(CALL, ROOT, "gpt-4o", 10, 2, attrs={"output.value": "The answer is 4."}),
        ),
    )
    db_path = tmp_path / "store.db"
    import_files(db_path, [path])
    return connect(db_path, readonly=True)


def refs(tmp_path, *records):
    return load_references(write_jsonl(tmp_path / "refs.jsonl", *records))


def test_a_store_without_references_is_told_apart_cheaply(store, fixtures_dir, tmp_path):
    assert not may_have_references(store)
    assert reference_means(store) is NONE
    for name in (
        "inspect-eval/2026-11-27T04-29-52-00-00_fixture-qa_SnEVxhayFbrkpvjoomYVL3.eval",
        "mlflow-sqlite/mlflow.db",
    ):
        path = tmp_path / f"{name.split('/')[0]}.db"
        import_files(path, [fixtures_dir / name])
        assert may_have_references(connect(path, readonly=True)), name


def test_means_per_model_follow_the_filter(store, tmp_path):
    entries = refs(
        tmp_path,
        {"span_id": CALL, "expected": "4"},
        {"trace_id": TRACE, "expected": "four"},
        {"trace_id": "gone", "expected": "x"},
    )
    found = reference_means(store, entries)
    assert (found.spans, found.unmatched) == (2, 1)
    assert found.by_model["gpt-4o"].spans == 2  # the chain's model is its call's; "four" vs "4": 0
    assert found.by_model["gpt-4o"].scores.f1 == pytest.approx((2 * (1 / 3) / (1 / 3 + 1) + 0) / 2)
    assert reference_means(store, entries, UsageFilter(trace_name="qa")).spans == 2
    assert reference_means(store, entries, UsageFilter(trace_name="nothing")).spans == 0


def test_the_csv_gains_reference_columns_only_with_references(store, tmp_path):
    rows = compare_models(store, ["gpt-4o", "gpt-4o-mini"])
    assert "spans with a reference" not in comparison_table(rows, NONE).header
    found = reference_means(store, refs(tmp_path, {"span_id": CALL, "expected": "The answer is 4."}))
    table = comparison_table(rows, found)
    assert table.header[-5:] == ["spans with a reference", *(h for _, h in REFERENCE_COLUMNS)]
    assert table.rows[0][-5:] == [1, 1.0, 1.0, 1.0, pytest.approx(100.0)]
    assert table.rows[1][-5:] == [0, None, None, None, None]
