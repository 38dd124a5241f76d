"""Usage series, filters, model comparison and chart CSVs against figures worked out here in plain
Python from the generated calls (and, for the real fixture, from its raw OTLP JSON)."""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from otlp import llm, raw_model_calls, request, span, write_jsonl
from spanscope.core.analysis.analytics import CHAIN_KINDS, TOOL_KINDS, group_stats
from spanscope.core.analysis.model_comparison import (
    call_points,
    compare_models,
    comparison_table,
)
from spanscope.core.analysis.usage_series import (
    WIDTHS_NS,
    bin_edges_ms,
    coarse_edges_ms,
    latency_stats,
    usage_series,
)
from spanscope.core.pricing.prices import PriceBook
from spanscope.core.store import connect, import_files
from spanscope.core.store.usage import UsageFilter, models_by_calls, top_names

BASE_NS = 1_700_000_000_000_000_000  # the otlp helpers' time origin
HOUR = 3_600_000_000_000
MODELS = ("gpt-4o", "gpt-4o-mini", "no-such-model-xyz")
NAMES = ("answer_question", "plan_trip", "summarize")


@dataclass
class Call:
    trace: str
    span_id: str
    model: str
    start: int  # ns since BASE_NS
    ms: int
    tokens_in: int
    tokens_out: int
    error: bool
    reported: float | None
    service: str
    session: str
    user: str
    trace_name: str

    @property
    def start_ns(self) -> int:
        return BASE_NS + self.start


def make_calls(seed: int = 3) -> list[Call]:
    rng = random.Random(seed)
    calls = []
    for t in range(24):
        trace = f"{t + 1:032x}"
        start = rng.randrange(0, 40 * HOUR)
        service, session, user = rng.choice(["svc-a", "svc-b"]), f"s{t % 4}", f"u{t % 3}"
        for c in range(rng.randrange(1, 5)):
            calls.append(
                Call(
                    trace, f"{t + 1:08x}{c + 1:08x}", rng.choice(MODELS), start + c * 5 * 10**9,
                    rng.randrange(40, 9000), rng.randrange(10, 3000), rng.randrange(1, 800),
                    rng.random() < 0.15, 0.01 * rng.randrange(1, 9) if rng.random() < 0.25 else None,
                    service, session, user, NAMES[t % 3],
                )
            )  # fmt: skip
    return calls


def write_store(tmp_path, calls: list[Call]):
    lines = []
    for trace in dict.fromkeys(c.trace for c in calls):
        mine = [c for c in calls if c.trace == trace]
        first = mine[0]
        root = f"{int(trace, 16):016x}"
        who = {"session.id": first.session, "user.id": first.user}
        spans = [
            span(
                root, trace=trace, name=first.trace_name, start=first.start, end=first.start + 60 * 10**9,
                attrs={"openinference.span.kind": "CHAIN", **who},
            ),
            span(
                f"{int(trace, 16) + 999:016x}", root, trace=trace, name="get_weather",
                start=first.start, end=first.start + 10**6, attrs={"openinference.span.kind": "TOOL"},
            ),
        ]  # fmt: skip
        for c in mine:
            attrs = {"llm.cost.total": c.reported} if c.reported is not None else {}
            spans.append(
                llm(
                    c.span_id, root, c.model, c.tokens_in, c.tokens_out, trace=trace, name="chat",
                    start=c.start, end=c.start + c.ms * 10**6, error="boom" if c.error else None, attrs=attrs,
                )
            )  # fmt: skip
        lines.append(request(*spans, service=first.service))
    path = write_jsonl(tmp_path / "usage.jsonl", *lines)
    import_files(tmp_path / "store.db", [path])
    return connect(tmp_path / "store.db", readonly=True)


@pytest.fixture(scope="module")
def calls() -> list[Call]:
    return make_calls()


@pytest.fixture(scope="module")
def db(calls, tmp_path_factory):
    return write_store(tmp_path_factory.mktemp("usage"), calls)


def call_cost(c: Call, book: PriceBook) -> float | None:
    """One call's cost through the pricing module's per-span API (not analytics' bulk SQL)."""

    @dataclass
    class Spanish:
        provider = None
        model = c.model
        input_tokens = c.tokens_in
        output_tokens = c.tokens_out
        cache_read_tokens = None
        cache_write_tokens = None
        reasoning_tokens = None
        cost_usd = c.reported
        start_ns = c.start_ns

    return book.cost(Spanish()).usd


def expected_width(first_ns: int, last_ns: int) -> int:
    return next(w for w in WIDTHS_NS if last_ns // w - first_ns // w + 1 <= 300)


def matches(c: Call, f: UsageFilter) -> bool:
    return (
        (f.start_ns is None or c.start_ns >= f.start_ns)
        and (f.end_ns is None or c.start_ns < f.end_ns)
        and (f.service is None or c.service == f.service)
        and (f.session is None or c.session == f.session)
        and (f.user is None or c.user == f.user)
        and (f.trace_name is None or f.trace_name.lower() in c.trace_name.lower())
    )


FILTERS = [
    UsageFilter(),
    UsageFilter(service="svc-b"),
    UsageFilter(session="s1"),
    UsageFilter(user="u1", trace_name="PLAN"),
    UsageFilter(start_ns=BASE_NS + 5 * HOUR + 123, end_ns=BASE_NS + 17 * HOUR),
]


@pytest.mark.parametrize("where", FILTERS)
def test_series_match_the_calls(db, calls, where):
    book = PriceBook()
    chosen = [c for c in calls if matches(c, where)]
    series = usage_series(db, where, book)
    width = 0
    for grain in (HOUR, 60 * 10**9):  # the range to hour precision, then to the minute for short ones
        if width and width >= HOUR:
            break
        first = (
            where.start_ns if where.start_ns is not None else min(c.start_ns for c in chosen) // grain * grain
        )
        last = (
            where.end_ns - 1 if where.end_ns is not None else max(c.start_ns for c in chosen) // grain * grain
        )
        width = expected_width(first, last + grain - 1 if where.end_ns is None else last)
    assert series.width_ns == width
    assert series.first_bucket_ns == first // width * width
    n = len(series.requests)
    buckets = [(c.start_ns - series.first_bucket_ns) // width for c in chosen]
    assert all(0 <= b < n for b in buckets)
    assert series.requests == [buckets.count(i) for i in range(n)]
    assert series.errors == [
        sum(c.error for c, b in zip(chosen, buckets, strict=True) if b == i) for i in range(n)
    ]
    assert series.input_tokens == [
        sum(c.tokens_in for c, b in zip(chosen, buckets, strict=True) if b == i) for i in range(n)
    ]
    assert series.output_tokens == [
        sum(c.tokens_out for c, b in zip(chosen, buckets, strict=True) if b == i) for i in range(n)
    ]
    for model in {c.model for c in chosen}:
        costs = [(b, call_cost(c, book)) for c, b in zip(chosen, buckets, strict=True) if c.model == model]
        for i in range(n):
            known = [usd for b, usd in costs if b == i and usd is not None]
            assert series.cost[model][i] == (pytest.approx(sum(known)) if known else None)
        totals = series.totals[model]
        mine = [c for c in chosen if c.model == model]
        assert (totals.calls, totals.errors) == (len(mine), sum(c.error for c in mine))
        assert totals.unpriced_calls == sum(usd is None for _, usd in costs)
    assert sum(series.unpriced) == sum(call_cost(c, book) is None for c in chosen)
    assert series.models == sorted(
        {c.model for c in chosen}, key=lambda m: (-sum(c.model == m for c in chosen), m)
    )


def test_no_matching_calls_give_empty_series(db):
    series = usage_series(db, UsageFilter(user="nobody"), PriceBook())
    assert (series.requests, series.models, series.cost_table().rows) == ([], [], [])


def test_unknown_model_is_unknown_never_zero(db, calls):
    series = usage_series(db, UsageFilter(), PriceBook())
    unknown = "no-such-model-xyz"
    reported = [c for c in calls if c.model == unknown and c.reported is not None]
    assert series.totals[unknown].unpriced_calls == sum(
        c.model == unknown and c.reported is None for c in calls
    )
    assert series.totals[unknown].cost_usd == pytest.approx(sum(c.reported for c in reported))
    assert all(v is None or v > 0 for v in series.cost[unknown])


def test_short_ranges_get_minute_buckets(db, calls):
    start = calls[0].start_ns
    where = UsageFilter(start_ns=start, end_ns=start + 30 * 60 * 10**9)
    series = usage_series(db, where, PriceBook())
    assert series.width_ns == 60 * 10**9
    assert sum(series.requests) == sum(matches(c, where) for c in calls)


@pytest.mark.parametrize("where", [FILTERS[0], FILTERS[1], FILTERS[4]])
def test_latency_bins_and_speed(db, calls, where):
    stats = latency_stats(db, where)
    bins = stats.bins
    expected: dict = {}
    for c in calls:
        if matches(c, where):
            digits = str(c.ms * 10**6)
            by_bin = expected.setdefault(c.model, {})
            key = len(digits) * 10 + int(digits[0])
            by_bin[key] = by_bin.get(key, 0) + 1
            low, high = bin_edges_ms(key)
            assert low <= c.ms < high
    assert bins == expected
    for model, by_bin in stats.coarse().items():
        for coarse, n in by_bin.items():
            low, high = coarse_edges_ms(coarse)
            assert n == sum(low <= c.ms < high for c in calls if c.model == model and matches(c, where))
    for model in expected:
        mine = [c for c in calls if c.model == model and matches(c, where)]
        speed = sum(c.tokens_out for c in mine) / sum(c.ms / 1000 for c in mine)
        assert stats.tokens_per_s(model) == pytest.approx(speed)
    speeds = list(csv.reader(io.StringIO(stats.speed_table().csv_text())))
    assert speeds[0] == ["model", "output_tokens", "seconds", "output_tokens_per_s"]
    assert {r[0]: float(r[3]) for r in speeds[1:]} == {
        m: pytest.approx(stats.tokens_per_s(m)) for m in expected
    }


def test_chart_csvs(db, calls):
    series = usage_series(db, UsageFilter(), PriceBook())
    parsed = list(csv.reader(io.StringIO(series.requests_table().csv_text())))
    assert parsed[0] == ["bucket_start_utc", "requests", "errors"]
    assert len(parsed) == len(series.requests) + 1
    first = datetime.fromtimestamp(series.first_bucket_ns / 1e9, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert parsed[1][0] == first
    assert sum(int(r[1]) for r in parsed[1:]) == len(calls)
    assert sum(int(r[2]) for r in parsed[1:]) == sum(c.error for c in calls)
    cost = list(csv.reader(io.StringIO(series.cost_table().csv_text())))
    assert cost[0] == ["bucket_start_utc", *(f"cost_usd {m}" for m in series.models), "unpriced_calls"]
    unknown_column = cost[0].index("cost_usd no-such-model-xyz")
    book = PriceBook()
    known = sum(call_cost(c, book) or 0 for c in calls if c.model == "no-such-model-xyz")
    assert sum(float(r[unknown_column]) for r in cost[1:] if r[unknown_column]) == pytest.approx(known)
    assert sum(int(r[-1]) for r in cost[1:]) == sum(call_cost(c, book) is None for c in calls)
    latency = list(csv.reader(io.StringIO(latency_stats(db).latency_table().csv_text())))
    assert latency[0] == ["model", "latency_from_ms", "latency_to_ms", "calls"]
    assert sum(int(r[3]) for r in latency[1:]) == len(calls)
    errors = list(csv.reader(io.StringIO(series.error_table().csv_text())))
    assert {r[0]: (int(r[1]), int(r[2])) for r in errors[1:]} == {
        m: (sum(c.model == m for c in calls), sum(c.model == m and c.error for c in calls)) for m in MODELS
    }


def nearest_rank(values: list[float], p: int) -> float:
    ordered = sorted(values)
    return ordered[(p * len(ordered) + 99) // 100 - 1]


def test_compare_models(db, calls):
    book = PriceBook()
    where = UsageFilter(service="svc-a")
    chosen = ["gpt-4o-mini", "gpt-4o"]
    rows = compare_models(db, chosen, where, book)
    assert [r.model for r in rows] == chosen
    for row in rows:
        mine = [c for c in calls if c.model == row.model and matches(c, where)]
        costs = [call_cost(c, book) for c in mine]
        priced = [(c, usd) for c, usd in zip(mine, costs, strict=True) if usd is not None]
        v = row.values
        assert v["calls"] == len(mine)
        assert v["mean_ms"] == pytest.approx(sum(c.ms for c in mine) / len(mine))
        assert v["p50_ms"] == nearest_rank([c.ms for c in mine], 50)
        assert v["p95_ms"] == nearest_rank([c.ms for c in mine], 95)
        assert v["tokens_per_call"] == pytest.approx(
            sum(c.tokens_in + c.tokens_out for c in mine) / len(mine)
        )
        assert v["cost_per_call"] == pytest.approx(sum(u for _, u in priced) / len(priced))
        assert v["cost_per_1k_output"] == pytest.approx(
            1000 * sum(u for _, u in priced) / sum(c.tokens_out for c, _ in priced)
        )
        assert v["error_rate"] == pytest.approx(100 * sum(c.error for c in mine) / len(mine))
        assert v["tokens_per_s"] == pytest.approx(
            sum(c.tokens_out for c in mine) / sum(c.ms / 1000 for c in mine)
        )
    table = list(csv.reader(io.StringIO(comparison_table(rows).csv_text())))
    assert [r[0] for r in table[1:]] == chosen
    assert table[0][1] == "Calls" and table[1][1] == str(rows[0].values["calls"])


def test_scores_per_model(tmp_path, calls):
    """Scores on a call and on its whole trace, averaged per model; none without a scores table."""
    db = write_store(tmp_path, calls)
    assert all(
        r.scores == {} for r in compare_models(db, ["gpt-4o", "gpt-4o-mini"], UsageFilter(), PriceBook())
    )
    rw = connect(tmp_path / "store.db")
    first = next(c for c in calls if c.model == "gpt-4o")
    other = next(c for c in calls if c.model == "gpt-4o-mini" and c.trace != first.trace)
    trace_models = {c.model for c in calls if c.trace == other.trace}
    scores = [
        (first.trace, first.span_id, "correctness", 0.5, "k1"),
        (first.trace, first.span_id, "label-only", None, "k2"),
        (other.trace, other.span_id, "correctness", 1.0, "k3"),
        (other.trace, "", "correctness", 0.0, "k4"),
    ]
    with rw.conn:
        rw.conn.executemany(
            "INSERT INTO scores (trace_id, span_id, name, value, key) VALUES (?, ?, ?, ?, ?)", scores
        )
    rows = {r.model: r for r in compare_models(db, ["gpt-4o", "gpt-4o-mini"], UsageFilter(), PriceBook())}
    gpt4o = [0.5] + ([0.0] if "gpt-4o" in trace_models else [])
    assert rows["gpt-4o"].scores == {"correctness": (pytest.approx(sum(gpt4o) / len(gpt4o)), len(gpt4o))}
    assert rows["gpt-4o-mini"].scores == {"correctness": (pytest.approx(0.5), 2)}
    table = comparison_table(list(rows.values()))
    assert table.header[-1] == "mean score correctness"


def test_call_points_and_sample(db, calls):
    book = PriceBook()
    models = ["gpt-4o", "no-such-model-xyz"]
    points = call_points(db, models, UsageFilter(), book)
    mine = [c for c in calls if c.model in models]
    assert points.matching == points.read == len(mine)
    expected = {(c.trace, c.span_id): (c.ms, call_cost(c, book)) for c in mine}
    shown = {
        ids: (ms, usd)
        for m in models
        for ms, usd, ids in zip(points.latency_ms[m], points.cost_usd[m], points.spans[m], strict=True)
    }
    assert shown == {
        k: (pytest.approx(ms), pytest.approx(usd)) for k, (ms, usd) in expected.items() if usd is not None
    }
    assert points.unpriced == sum(usd is None for _, usd in expected.values())
    assert len(points.table().rows) == points.shown
    sample = call_points(db, models, UsageFilter(), book, limit=5)
    assert sample.matching == len(mine) and sample.read <= 5


def test_models_chains_tools_and_per_trace(db, calls):
    where = UsageFilter(session="s2")
    mine = [c for c in calls if matches(c, where)]
    assert dict(models_by_calls(db, where)) == {
        m: sum(c.model == m for c in mine) for m in {c.model for c in mine}
    }
    traces = {c.trace for c in mine}
    assert top_names(db, CHAIN_KINDS, where) == [
        (name, n, 0)
        for name, n in sorted(
            {
                c.trace_name: sum(t == c.trace_name for t in {x.trace: x.trace_name for x in mine}.values())
                for c in mine
            }.items(),
            key=lambda kv: (-kv[1], kv[0]),
        )
    ]
    assert top_names(db, TOOL_KINDS, where) == [("get_weather", len(traces), 0)]
    per_trace = {g.group: g for g in group_stats(db, "trace", book=PriceBook(), where=where)}
    assert set(per_trace) == traces
    for trace, g in per_trace.items():
        assert g.input_tokens == sum(c.tokens_in for c in mine if c.trace == trace)
        assert g.output_tokens == sum(c.tokens_out for c in mine if c.trace == trace)


def test_real_fixture_series(fixtures_dir, tmp_path):
    """Calls and tokens per model over the fixture, read straight from its OTLP JSON."""
    path = fixtures_dir / "openinference-openai" / "chain-and-session.otlp.jsonl"
    import_files(tmp_path / "store.db", [path])
    expected = raw_model_calls(path)
    db = connect(tmp_path / "store.db", readonly=True)
    series = usage_series(db, UsageFilter(), PriceBook())
    assert {m: t.calls for m, t in series.totals.items()} == {m: r[0] for m, r in expected.items()}
    assert sum(series.input_tokens) == sum(r[1] for r in expected.values())
    assert sum(series.output_tokens) == sum(r[2] for r in expected.values())
    finished = sum(sum(by_bin.values()) for by_bin in latency_stats(db).bins.values())
    assert finished == sum(r[0] for r in expected.values())
