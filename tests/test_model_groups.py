"""Charting many models: snapshots under their family (or apart), the busiest kept and the rest as one
"other", series merged without losing a call, a token or a cent."""

from __future__ import annotations

import math

import pytest

from many_models import SNAPSHOT, forty_models, many_models_store
from spanscope.core.analysis.model_groups import (
    MAX_SHOWN,
    OTHER,
    ModelView,
    family,
    members,
    shown_as,
)
from spanscope.core.analysis.usage_series import latency_stats, usage_series
from spanscope.core.pricing.prices import PriceBook
from spanscope.core.store import connect
from spanscope.core.store.usage import UsageFilter


@pytest.mark.parametrize(
    ("model", "base"),
    [
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("o3-mini-2025-01-31", "o3-mini"),
        ("claude-3-5-sonnet-20241022", "claude-3-5-sonnet"),
        ("claude-sonnet-4@20250514", "claude-sonnet-4"),
        ("anthropic.claude-3-5-sonnet-20241022-v2:0", "anthropic.claude-3-5-sonnet"),
        ("gpt-4-0613", "gpt-4"),
        ("gemini-2.5-flash-preview-05-20", "gemini-2.5-flash-preview"),
        ("claude-3-5-haiku-latest", "claude-3-5-haiku"),
        ("gpt-4o", "gpt-4o"),
        ("text-embedding-3-small", "text-embedding-3-small"),
        ("gpt-4o-audio-preview", "gpt-4o-audio-preview"),
        ("llama-3.1-70b-instruct", "llama-3.1-70b-instruct"),
        (None, None),
    ],
)
def test_a_snapshot_belongs_to_its_family(model, base):
    assert family(model) == base


def test_forty_models_become_the_busiest_and_other():
    calls = forty_models()
    keys = shown_as(calls)
    shown = set(keys.values())
    assert len(shown) == MAX_SHOWN
    assert OTHER in shown
    busiest = sorted(calls, key=calls.get, reverse=True)[: MAX_SHOWN - 1]
    assert {keys[m] for m in busiest} == set(busiest)
    assert sorted(members(keys)[OTHER]) == sorted(set(calls) - set(busiest))


def test_up_to_the_palette_size_every_model_is_shown_apart():
    calls = {f"m{i}": i for i in range(1, MAX_SHOWN + 1)}
    assert shown_as(calls) == {m: m for m in calls}


def test_families_toggle():
    calls = {"gpt-4o-2024-08-06": 5, "gpt-4o": 1, "gpt-4o-2024-11-20": 2, "gpt-4o-mini": 3}
    assert shown_as(calls) == {
        "gpt-4o-2024-08-06": "gpt-4o",
        "gpt-4o": "gpt-4o",
        "gpt-4o-2024-11-20": "gpt-4o",
        "gpt-4o-mini": "gpt-4o-mini",
    }
    assert shown_as(calls, ModelView(families=False)) == {m: m for m in calls}


@pytest.fixture
def many_models(tmp_path):
    store, durations = many_models_store(tmp_path)
    return connect(store, readonly=True), durations


def test_merged_series_keep_every_figure(many_models):
    db, _durations = many_models
    series = usage_series(db, UsageFilter(), PriceBook())
    latency = latency_stats(db, UsageFilter())
    keys = shown_as({m: t.calls for m, t in series.totals.items()})
    merged = series.merged(keys)
    assert merged.models[-1] == OTHER
    assert len(merged.models) == MAX_SHOWN
    assert merged.totals["model-01"].calls == 40 + 3  # the snapshot under its family
    assert sorted(merged.members["model-01"]) == ["model-01", SNAPSHOT]
    for figure in ("calls", "errors", "priced_calls", "unpriced_calls"):
        assert sum(getattr(t, figure) for t in merged.totals.values()) == sum(
            getattr(t, figure) for t in series.totals.values()
        )
    assert math.isclose(
        sum(t.cost_usd for t in merged.totals.values()), sum(t.cost_usd for t in series.totals.values())
    )
    for i in range(len(series.requests)):
        before = sum(c[i] or 0.0 for c in series.cost.values())
        assert math.isclose(sum(c[i] or 0.0 for c in merged.cost.values()), before)
    calls_by_key = [merged.totals[m].calls for m in merged.models[:-1]]
    assert calls_by_key == sorted(calls_by_key, reverse=True)

    stats = latency.merged(keys)
    assert set(stats.bins) == set(merged.models)
    assert sum(sum(b.values()) for b in stats.bins.values()) == sum(
        sum(b.values()) for b in latency.bins.values()
    )
    assert sum(stats.output_tokens.values()) == sum(latency.output_tokens.values())
    assert stats.median_ms(OTHER) is not None
    assert stats.median_ms("nothing-called-so") is None


def test_median_is_in_the_bin_of_the_middle_call(many_models):
    db, durations = many_models
    latency = latency_stats(db, UsageFilter())
    for model in ("model-05", "model-30"):
        ordered = sorted(durations[model])
        middle = ordered[(len(ordered) - 1) // 2]
        median = latency.median_ms(model)
        # The coarse bins are [1, 2), [2, 5), [5, 10) times a power of ten: the mark is within one.
        assert median / 2.5 <= middle <= median * 2.5
