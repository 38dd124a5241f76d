"""The trace Compare Traces pairs a trace with: another run of the same sample or input."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta
from typing import Any

from otlp import request, span, write_jsonl
from spanscope.core.store import Outcome, connect, import_file
from spanscope.core.store.lookups import suggest_partner

INSPECT_JSON = "inspect-eval/2026-11-27T04-30-04-00-00_fixture-qa_6TRE8QQmdqaAmyCnqo4jPc.json"


def later(value: Any, by: timedelta) -> Any:
    """`value` with every ISO 8601 time in it moved `by` later."""
    if isinstance(value, dict):
        return {k: later(v, by) for k, v in value.items()}
    if isinstance(value, list):
        return [later(v, by) for v in value]
    if isinstance(value, str) and value[:4].isdigit() and "T" in value:
        try:
            return (datetime.fromisoformat(value) + by).isoformat()
        except ValueError:
            return value
    return value


def test_an_inspect_sample_is_paired_with_its_next_epoch_not_the_next_sample(tmp_path, fixtures_dir):
    """Epochs run side by side, so the trace started next is another sample's; the partner is the
    same sample's next epoch."""
    log = json.loads((fixtures_dir / INSPECT_JSON).read_text())
    first_epoch = log["samples"][:3]
    second_epoch = []
    for sample in first_epoch:
        # The second epoch of a sample starts a little later, after another sample's first.
        again = later(copy.deepcopy(sample), timedelta(milliseconds=10))
        again["epoch"], again["uuid"] = 2, sample["uuid"] + "-epoch2"
        second_epoch.append(again)
    log["samples"] = first_epoch + second_epoch
    log["eval"]["config"]["epochs"] = 2
    path = tmp_path / "two-epochs.json"
    path.write_text(json.dumps(log))
    store = tmp_path / "store.db"
    assert import_file(store, path).outcome is Outcome.IMPORTED
    db = connect(store, readonly=True)
    starts = dict(db.execute("SELECT trace_id, start_ns FROM traces").fetchall())
    for sample in first_epoch:
        partner = suggest_partner(db, sample["uuid"])
        assert partner == sample["uuid"] + "-epoch2", (sample["id"], partner)
        assert suggest_partner(db, partner) == sample["uuid"]
    q1, q2 = (s["uuid"] for s in first_epoch[:2])
    assert starts[q1] < starts[q2] < starts[q1 + "-epoch2"], "by start time alone q2 would be q1's partner"


def root(trace: str, start: int, question: str, name: str = "agent") -> dict:
    return request(
        span("a" * 16, trace=trace, name=name, start=start, end=start + 10, attrs={"input.value": question})
    )


def test_a_run_with_the_same_input_is_preferred_over_the_next_run_of_the_step(tmp_path):
    a, b, c, d = (f"{i:032x}" for i in range(1, 5))
    lines = [
        root(a, 100, "refund?"),
        root(b, 200, "weather?"),
        root(c, 300, "refund?"),
        root(d, 400, "x", "other"),
    ]
    store = tmp_path / "store.db"
    assert import_file(store, write_jsonl(tmp_path / "runs.jsonl", *lines)).outcome is Outcome.IMPORTED
    db = connect(store, readonly=True)
    assert suggest_partner(db, a) == c  # not b, started next with another question
    assert suggest_partner(db, b) == c  # no run with its input: the next run of the step
    assert suggest_partner(db, c) == a  # the last run: the earlier one with its input
    assert suggest_partner(db, d) == c  # alone of its name and input: the trace before it
    assert suggest_partner(db, "no such trace") is None
