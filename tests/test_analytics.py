"""Per-group stats of model calls: figures worked out by hand from small OTLP files."""

from __future__ import annotations

import math
import random
from datetime import date

import orjson
import pytest

from otlp import llm, raw_model_calls, request, span, write_jsonl
from spanscope.cli import main
from spanscope.core.analysis.analytics import group_stats
from spanscope.core.pricing.prices import PriceBook
from spanscope.core.store import connect, import_files

TRACE_A, TRACE_B = "a" * 32, "b" * 32
DAY = date(2023, 11, 14)  # the day of the otlp helpers' timestamps
MS = 1_000_000


def call(span_id: str, parent: str | None, model: str, tokens_in: int, tokens_out: int, **kw):
    """A model call on trace A starting at 0 and lasting `ms` milliseconds."""
    ms = kw.pop("ms")
    kw.setdefault("trace", TRACE_A)
    return llm(span_id, parent, model, tokens_in, tokens_out, start=0, end=ms * MS, **kw)


@pytest.fixture
def store(tmp_path):
    session_a, session_b = {"session.id": "s1"}, {"session.id": "s2"}
    path = write_jsonl(
        tmp_path / "run.jsonl",
        request(
            span("00000000000000a1", name="agent", attrs={"openinference.span.kind": "CHAIN", **session_a}),
            # The agent's LLM span repeats its SDK call's usage: only the inner call counts.
            call("00000000000000a2", "00000000000000a1", "gpt-4o", 100, 20, ms=12, name="agent-llm"),
            call(
                "00000000000000a3",
                "00000000000000a2",
                "gpt-4o",
                100,
                20,
                ms=10,
                name="openai.chat",
                attrs={"llm.token_count.prompt_details.cache_read": 40, **session_a},
            ),
            call(
                "00000000000000a4",
                "00000000000000a1",
                "gpt-4o",
                200,
                50,
                ms=30,
                name="openai.chat",
                error="boom",
            ),
            call(
                "00000000000000a5",
                "00000000000000a1",
                "gpt-4o",
                300,
                0,
                ms=20,
                name="openai.chat",
                attrs={"llm.cost.total": 0.5},
            ),
            call("00000000000000a6", "00000000000000a1", "gpt-4o-mini", 1000, 100, ms=40, name="mini.call"),
            service="svc-a",
        ),
        request(
            call("00000000000000b1", None, "no-such-model-xyz", 10, 5, ms=5, trace=TRACE_B, attrs=session_b),
            call("00000000000000b2", None, "gpt-4o-mini", 500, 50, ms=60, trace=TRACE_B, attrs=session_b),
            service="svc-b",
        ),
    )
    db_path = tmp_path / "store.db"
    import_files(db_path, [path])
    return connect(db_path, readonly=True)


def per_million(tokens_in: int, cached: int, tokens_out: int, model: str) -> float:
    price = PriceBook().price(None, model, DAY)
    assert price is not None and price.input and price.cached_input and price.output
    return (
        (tokens_in - cached) * price.input + cached * price.cached_input + tokens_out * price.output
    ) / 1e6


def test_stats_per_model(store):
    gpt4o, mini, unknown = group_stats(store, book=PriceBook())
    assert gpt4o.to_json() == {
        "group": "gpt-4o",
        "calls": 3,
        "errors": 1,
        "input_tokens": 600,
        "output_tokens": 70,
        "cache_read_tokens": 40,
        "cost_usd": pytest.approx(0.5 + per_million(300, 40, 70, "gpt-4o")),
        "cost_source": {"reported": 1, "computed": 2, "unknown": 0},
        "latency_ms": {"p50": 20.0, "p95": 30.0, "p99": 30.0},
        "tokens_per_s": pytest.approx(70 / 0.040),
        "ttft_ms": {"p50": None, "p95": None},
    }
    assert (mini.group, mini.calls, mini.errors) == ("gpt-4o-mini", 2, 0)
    assert (mini.input_tokens, mini.output_tokens, mini.cache_read_tokens) == (1500, 150, None)
    assert mini.cost_usd == pytest.approx(per_million(1500, 0, 150, "gpt-4o-mini"))
    assert mini.cost_source == {"reported": 0, "computed": 2, "unknown": 0}
    assert mini.latency_ms == {"p50": 40.0, "p95": 60.0, "p99": 60.0}
    assert mini.tokens_per_s == pytest.approx(150 / 0.100)
    assert (unknown.group, unknown.calls, unknown.cost_usd) == ("no-such-model-xyz", 1, None)
    assert unknown.cost_source == {"reported": 0, "computed": 0, "unknown": 1}


@pytest.mark.parametrize(
    ("by", "expected"),
    [
        ("name", {"openai.chat": 3, "mini.call": 1, "span-b1": 1, "span-b2": 1}),
        ("service", {"svc-a": 4, "svc-b": 2}),
        ("session", {"s1": 1, "s2": 2, None: 3}),
    ],
)
def test_stats_by_other_groups(store, by, expected):
    stats = group_stats(store, by=by, book=PriceBook())
    assert {g.group: g.calls for g in stats} == expected
    assert sum(g.errors for g in stats) == 1


def test_group_by_unknown_column_is_refused(store):
    with pytest.raises(ValueError, match="cannot group by"):
        group_stats(store, by="colour", book=PriceBook())


def test_reprice_as_prices_every_call_ignoring_reported_costs(store):
    stats = {g.group: g for g in group_stats(store, reprice_as="gpt-4o-mini", book=PriceBook())}
    assert stats["gpt-4o"].cost_usd == pytest.approx(per_million(600, 40, 70, "gpt-4o-mini"))
    assert stats["gpt-4o"].cost_source == {"reported": 0, "computed": 3, "unknown": 0}
    assert stats["no-such-model-xyz"].cost_usd == pytest.approx(per_million(10, 0, 5, "gpt-4o-mini"))
    assert stats["no-such-model-xyz"].cost_source == {"reported": 0, "computed": 1, "unknown": 0}


def test_percentiles_are_nearest_rank(tmp_path):
    latencies = list(range(1, 101))
    random.Random(7).shuffle(latencies)
    calls = [call(f"{i:016x}", None, "gpt-4o", 10, 1, ms=ms) for i, ms in enumerate(latencies, 1)]
    path = write_jsonl(tmp_path / "many.jsonl", request(*calls))
    import_files(tmp_path / "store.db", [path])
    [stats] = group_stats(connect(tmp_path / "store.db", readonly=True), book=PriceBook())
    assert stats.latency_ms == {"p50": 50.0, "p95": 95.0, "p99": 99.0}
    assert stats.tokens_per_s == pytest.approx(100 / (sum(latencies) / 1000))


def test_ttft_percentiles_are_nearest_rank_over_the_calls_that_report_one(tmp_path, capsys):
    """The latency percentiles' definition (the value at rank ceil(p * n / 100) of the sorted values),
    over the calls with a time to first token only; a model without any has none."""
    rng = random.Random(11)
    ttfts = [rng.randint(5, 400) for _ in range(37)]
    calls = [
        call(f"{i:016x}", None, "gpt-4o", 10, 1, ms=500, attrs={"ai.response.msToFirstChunk": ms})
        for i, ms in enumerate(ttfts, 1)
    ]
    calls += [call(f"{i:016x}", None, "gpt-4o", 10, 1, ms=i) for i in range(100, 110)]
    calls.append(call("00000000000000ff", None, "gpt-4o-mini", 10, 1, ms=5))
    path = write_jsonl(tmp_path / "streamed.jsonl", request(*calls))
    import_files(tmp_path / "store.db", [path])
    stats = {g.group: g for g in group_stats(connect(tmp_path / "store.db", readonly=True), book=PriceBook())}
    ordered = sorted(ttfts)
    expected = {f"p{p}": float(ordered[math.ceil(p * len(ordered) / 100) - 1]) for p in (50, 95)}
    assert stats["gpt-4o"].ttft_ms == expected
    assert stats["gpt-4o-mini"].ttft_ms == {"p50": None, "p95": None}
    assert main(["stats", "--db", str(tmp_path / "store.db")]) == 0
    lines = capsys.readouterr().out.splitlines()
    row = lines[1].split()
    assert row[0] == "gpt-4o" and f"{expected['p50']:.0f}/{expected['p95']:.0f}" in row
    assert lines[0].index("TTFT") == lines[1].index(f"{expected['p50']:.0f}/")


def test_cli_stats_json_and_table(store, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    db = str(tmp_path / "store.db")
    assert main(["stats", "--db", db, "--json", "--by", "model"]) == 0
    records = [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["group"] for r in records] == ["gpt-4o", "gpt-4o-mini", "no-such-model-xyz"]
    assert list(records[0]) == [
        "group",
        "calls",
        "errors",
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "cost_usd",
        "cost_source",
        "latency_ms",
        "tokens_per_s",
        "ttft_ms",
    ]
    assert main(["stats", "--db", db, "--reprice-as", "gpt-4o-mini"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "model",
        "calls",
        "errors",
        "in",
        "out",
        "cached",
        "cost",
        "p50/p95/p99",
        "ms",
        "TTFT",
        "p50/p95",
        "ms",
        "tok/s",
    ]
    assert lines[1].startswith("gpt-4o ") and "20/30/30" in lines[1]


def test_real_openinference_fixture(fixtures_dir, tmp_path):
    path = fixtures_dir / "openinference-openai" / "chain-and-session.otlp.jsonl"
    import_files(tmp_path / "store.db", [path])
    stats = group_stats(connect(tmp_path / "store.db", readonly=True), book=PriceBook())
    got = {g.group: [g.calls, g.input_tokens or 0, g.output_tokens or 0] for g in stats}
    assert got == raw_model_calls(path)
