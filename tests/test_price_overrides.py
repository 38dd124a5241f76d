"""The override file as the Settings dialog edits it: read, checked, written atomically, applied."""

from __future__ import annotations

import json
from datetime import date

import pytest

from otlp import llm, request, write_jsonl
from spanscope.core.pricing.overrides import OverrideEntry, problems, read_entries, save_entries
from spanscope.core.pricing.prices import PriceBook, PriceFileError
from spanscope.core.store import connect, import_file
from spanscope.core.store.finalize import reprice_store
from spanscope.core.store.queries import list_traces


def test_entries_round_trip_through_the_file_load_reads(tmp_path):
    entries = [
        OverrideEntry("my-llama-*", None, input=0.2, output=0.4),
        OverrideEntry("gpt-4o", "openai", input=1.0, output=2.0, cached_input=0.5, cache_write=1.5),
    ]
    path = save_entries(entries, tmp_path)
    assert path == tmp_path / "prices.json"
    assert json.loads(path.read_text())["models"]["gpt-4o"] == {
        "provider": "openai",
        "input": 1.0,
        "output": 2.0,
        "cached_input": 0.5,
        "cache_write": 1.5,
    }
    assert read_entries(tmp_path) == (entries, path)
    assert PriceBook.load(tmp_path).price(None, "my-llama-3-ft", date(2026, 11, 20)) is not None
    assert [p.name for p in tmp_path.iterdir()] == ["prices.json"], "no temporary file left behind"


def test_problems_name_the_row_and_the_reason():
    found = problems(
        [
            OverrideEntry("", input=1.0),
            OverrideEntry("a", input=1.0),
            OverrideEntry("a", output=1.0),
            OverrideEntry("b"),
            OverrideEntry("c", input=-1.0),
        ]
    )
    assert found == [
        "Row 1: the model pattern is empty",
        "Row 3 (a): the model pattern is already on row 2",
        "Row 4 (b): give at least one price",
        "Row 5 (c): Input must be a non-negative $ per million tokens",
    ]
    with pytest.raises(ValueError, match="Row 1 \\(b\\): give at least one price"):
        save_entries([OverrideEntry("b")])


def test_a_broken_file_is_reported_with_its_name(tmp_path):
    (tmp_path / "prices.json").write_text('{"models": {"x": {"input": "cheap"}}}')
    with pytest.raises(PriceFileError, match=r"prices\.json: model 'x': input"):
        read_entries(tmp_path)


def test_no_file_means_no_entries(tmp_path):
    assert read_entries(tmp_path) == ([], None)


def test_repricing_the_store_applies_new_overrides(tmp_path, user_config_dir):
    store = tmp_path / "store.db"
    import_file(store, write_jsonl(tmp_path / "a.jsonl", request(llm("a" * 16, None, "my-ft", 1_000, 100))))
    [before] = list_traces(connect(store, readonly=True))
    assert (before.cost_usd, before.cost_unknown) == (None, 1)
    save_entries([OverrideEntry("my-ft", input=3.0, output=6.0)], user_config_dir)
    assert reprice_store(store, PriceBook.load(user_config_dir)) == 1
    [after] = list_traces(connect(store, readonly=True))
    assert after.cost_usd == pytest.approx(1_000 * 3e-6 + 100 * 6e-6)
    assert (after.cost_computed, after.cost_unknown) == (1, 0)
