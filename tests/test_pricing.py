"""Span costs: reported wins, else tokens x genai-prices (or override) rates, never a silent 0."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import genai_prices
import pytest

from spanscope.core.model import Kind, Span
from spanscope.core.pricing import prices as pricing
from spanscope.core.pricing.prices import PriceBook, PriceFileError

DAY = date(2026, 11, 20)
START_NS = int(datetime(2026, 11, 20, 12, tzinfo=UTC).timestamp() * 1e9)


def rates(model: str, provider: str) -> dict[str, float]:
    """$ per token read out of the package for DAY, so the figures below are hand-computed from it."""
    calc = genai_prices.calc_price(
        genai_prices.Usage(),
        model,
        provider_id=provider,
        genai_request_timestamp=datetime(2026, 11, 20, tzinfo=UTC),
    )
    keys = {
        "input": "input_mtok",
        "read": "cache_read_mtok",
        "write": "cache_write_mtok",
        "output": "output_mtok",
    }
    found = {name: getattr(calc.model_price, key) for name, key in keys.items()}
    return {name: float(getattr(v, "base", v)) / 1e6 for name, v in found.items() if v is not None}


def llm(model: str | None, provider: str | None = None, **tokens: float | None) -> Span:
    return Span("t", "s", None, "chat", START_NS, kind=Kind.LLM, model=model, provider=provider, **tokens)


def test_openai_cached_tokens_inside_input_priced_at_cache_rate() -> None:
    r = rates("gpt-4o", "openai")
    cost = PriceBook().cost(
        llm("gpt-4o", "openai", input_tokens=1000, cache_read_tokens=400, output_tokens=200)
    )
    assert cost.source == "computed"
    assert cost.usd == pytest.approx(600 * r["input"] + 400 * r["read"] + 200 * r["output"])
    assert cost.detail == (
        f"computed with openai/gpt-4o prices of {DAY} from genai-prices {genai_prices.__version__}"
    )


def test_anthropic_cache_read_and_write_not_billed_again_as_input() -> None:
    r = rates("claude-sonnet-4-5", "anthropic")
    span = llm(
        "claude-sonnet-4-5",
        "anthropic",
        input_tokens=100 + 3000 + 500,
        cache_read_tokens=3000,
        cache_write_tokens=500,
        output_tokens=50,
    )
    expected = 100 * r["input"] + 3000 * r["read"] + 500 * r["write"] + 50 * r["output"]
    assert PriceBook().cost(span).usd == pytest.approx(expected)


def test_reasoning_tokens_are_not_billed_twice() -> None:
    r = rates("gpt-4o", "openai")
    cost = PriceBook().cost(llm("gpt-4o", "openai", input_tokens=10, output_tokens=300, reasoning_tokens=250))
    assert cost.usd == pytest.approx(10 * r["input"] + 300 * r["output"])


def test_reported_cost_wins() -> None:
    cost = PriceBook().cost(llm("gpt-4o", "openai", input_tokens=10, output_tokens=10, cost_usd=0.5))
    assert (cost.usd, cost.source, cost.detail) == (0.5, "reported", "reported by the source")


def test_unknown_model_is_unknown_not_zero() -> None:
    cost = PriceBook().cost(llm("my-llama-ft", input_tokens=10, output_tokens=10))
    assert (cost.usd, cost.source) == (None, "unknown")
    assert cost.detail == "unknown: no price for model my-llama-ft"


def test_no_tokens_is_unknown_with_reason() -> None:
    cost = PriceBook().cost(llm("gpt-4o", "openai"))
    assert (cost.usd, cost.source, cost.detail) == (
        None,
        "unknown",
        "unknown: no token counts for model gpt-4o",
    )


@pytest.mark.parametrize(
    ("provider", "model", "expected"),
    [
        ("openai", "gpt-4o-2024-08-06", ("openai", "gpt-4o")),
        (None, "gpt-4o", ("openai", "gpt-4o")),
        (None, "openai/gpt-4o", ("openai", "gpt-4o")),
        ("anthropic", "claude-sonnet-4-5-20250929", ("anthropic", "claude-sonnet-4-5")),
        ("some.unknown.provider", "claude-sonnet-4-5-20250929", ("anthropic", "claude-sonnet-4-5")),
    ],
)
def test_dated_and_prefixed_names_match(provider: str | None, model: str, expected: tuple[str, str]) -> None:
    price = PriceBook().price(provider, model, DAY)
    assert price is not None
    assert (price.provider, price.model_ref, price.date) == (*expected, DAY)


def test_override_wins_and_globs_match() -> None:
    book = PriceBook(
        {
            "models": {
                "gpt-4o": {"input": 1, "output": 2},
                "my-llama-*": {"input": 0.5, "cached_input": 0.1, "output": 1},
            }
        }
    )
    assert book.cost(
        llm("gpt-4o", "openai", input_tokens=1_000_000, output_tokens=1_000_000)
    ).usd == pytest.approx(3)
    cost = book.cost(llm("my-llama-ft", input_tokens=2_000_000, cache_read_tokens=1_000_000, output_tokens=0))
    assert cost.usd == pytest.approx(0.5 + 0.1)
    assert cost.detail == f"computed with my-llama-* prices of {DAY} from override"


def test_exact_override_beats_glob_and_provider_must_match() -> None:
    book = PriceBook(
        {
            "models": {
                "m*": {"input": 9},
                "m1": {"input": 1},
                "m2": {"input": 5, "provider": "acme"},
            }
        }
    )
    assert book.price(None, "m1", DAY).input == 1
    assert book.price("acme", "m2", DAY).input == 5
    assert book.price("other", "m2", DAY).input == 9


def test_load_reads_config_dir(tmp_path: Path) -> None:
    (tmp_path / "prices.json").write_text(json.dumps({"models": {"ft-*": {"input": 1, "output": 1}}}))
    price = PriceBook.load(tmp_path).price(None, "ft-1", DAY)
    assert (price.source, price.input) == ("override", 1)
    assert PriceBook.load(tmp_path / "missing").price(None, "ft-1", DAY) is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{not json", "cannot read prices"),
        ('{"model": {}}', '"models"'),
        ('{"models": {"x": {"input": "cheap"}}}', "'x': input"),
        ('{"models": {"x": {"inptu": 1}}}', "unknown keys"),
    ],
)
def test_malformed_file_names_file_and_problem(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "prices.json"
    path.write_text(text)
    with pytest.raises(PriceFileError, match=str(path)) as info:
        PriceBook.load(tmp_path)
    assert problem in str(info.value)


def test_costs_looks_each_provider_model_day_up_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str | None, str, date]] = []
    real = pricing._package_price

    def spy(provider: str | None, model: str, day: date) -> pricing.ModelPrice | None:
        calls.append((provider, model, day))
        return real(provider, model, day)

    monkeypatch.setattr(pricing, "_package_price", spy)
    next_day = START_NS + 86_400 * 10**9
    spans = [llm("gpt-4o", "openai", input_tokens=i, output_tokens=1) for i in range(50)]
    spans += [llm("o3-mini", "openai", input_tokens=1, output_tokens=1) for _ in range(5)]
    spans.append(Span("t", "x", None, "chat", next_day, model="gpt-4o", provider="openai", input_tokens=1))
    costs = PriceBook().costs(spans)
    assert all(c.source == "computed" for c in costs)
    next_date = date(2026, 11, 21)
    assert sorted(calls) == [
        ("openai", "gpt-4o", DAY),
        ("openai", "gpt-4o", next_date),
        ("openai", "o3-mini", DAY),
    ]


def test_reprice_as_another_model_ignores_reported_cost() -> None:
    r = rates("claude-sonnet-4-5", "anthropic")
    spans = [
        llm("gpt-4o", "openai", input_tokens=1000, cache_read_tokens=200, output_tokens=100, cost_usd=9.0),
        llm("my-llama-ft", input_tokens=10, output_tokens=5),
        llm("gpt-4o", "openai"),
    ]
    costs = PriceBook().reprice(spans, "claude-sonnet-4-5", "anthropic")
    assert costs[0].usd == pytest.approx(800 * r["input"] + 200 * r["read"] + 100 * r["output"])
    assert costs[1].usd == pytest.approx(10 * r["input"] + 5 * r["output"])
    assert costs[0].detail.startswith(f"computed with anthropic/claude-sonnet-4-5 prices of {DAY}")
    assert costs[2].source == "unknown"


def test_unknown_reprice_target_is_unknown() -> None:
    [cost] = PriceBook().reprice([llm("gpt-4o", input_tokens=1, output_tokens=1)], "nope-model")
    assert (cost.usd, cost.detail) == (None, "unknown: no price for model nope-model")


def test_never_starts_the_network_auto_update(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("genai-prices auto-update must not run")

    monkeypatch.setattr(genai_prices.UpdatePrices, "start", refuse)
    assert PriceBook().cost(llm("gpt-4o", "openai", input_tokens=1, output_tokens=1)).source == "computed"


#: Usages as (input, cache read, cache write, output, reasoning): plain, cached, reasoning, and past
#: the 200k-token tier start that Claude and Gemini models have.
USAGES = (
    (1_000, 0, 0, 200, 0),
    (10_000, 4_000, 1_000, 500, 300),
    (250_000, 100_000, 20_000, 3_000, 1_000),
)


def snapshot_prices() -> list[tuple[str, str, genai_prices.types.ModelPrice]]:
    """Every model price of the bundled snapshot in force on DAY (constraint-dated ones included)."""
    snapshot = genai_prices.data_snapshot.get_snapshot()
    when = datetime(2026, 11, 20, tzinfo=UTC)
    found = []
    for provider in snapshot.providers:
        for model in provider.models:
            found.append((provider.id, model.id, model.get_prices(when)))
    return found


def test_fast_rates_match_the_package_on_every_model_tiers_included() -> None:
    prices = snapshot_prices()
    assert len(prices) > 500
    tiered = compared = 0
    for provider, model, price in prices:
        fast = pricing.Rates.of(price)
        tiered += fast.tiered
        for counts in USAGES:
            usage = genai_prices.Usage(
                input_tokens=counts[0],
                cache_read_tokens=counts[1],
                cache_write_tokens=counts[2],
                output_tokens=counts[3],
                output_reasoning_tokens=counts[4],
            )
            try:
                expected = float(price.calc_price(usage)["total_price"])
            except ValueError:  # usage the package will not price for this model (e.g. audio splits)
                continue
            compared += 1
            assert fast.usd(*counts) == pytest.approx(expected, rel=1e-9, abs=1e-12), (
                provider,
                model,
                counts,
            )
    assert tiered > 50 and compared > 1500


def test_tier_applies_to_every_token_of_a_call_past_its_start() -> None:
    price = PriceBook().price("anthropic", "claude-sonnet-4-5", DAY)
    assert price is not None and price.fast.tiered
    below = price.fast.usd(200_000, output=1_000)
    above = price.fast.usd(200_001, output=1_000)
    # $3 -> $6 input and $15 -> $22.5 output per million once input passes 200k tokens.
    assert below == pytest.approx(200_000 * 3e-6 + 1_000 * 15e-6)
    assert above == pytest.approx(200_001 * 6e-6 + 1_000 * 22.5e-6)


def test_more_cached_than_input_tokens_is_unknown_with_the_reason() -> None:
    cost = PriceBook().cost(llm("gpt-4o", "openai", input_tokens=10, cache_read_tokens=50, output_tokens=1))
    assert cost.source == "unknown"
    assert "50 cached tokens exceed 10 input tokens" in cost.detail
