"""What model calls cost: the source's reported cost, else tokens x a price.

Base prices come from the bundled genai-prices snapshot (never its auto-update, which would fetch
over the network); a `prices.json` in the user config dir adds models it lacks and overrides it.
Every `Cost` says how it was obtained, so an unpriced call is never shown as a silent 0.
"""

from __future__ import annotations

import fnmatch
import json
import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, Protocol

import genai_prices
import platformdirs
from genai_prices import types as gp

from spanscope.core.model import MODEL_KINDS, Span

PACKAGE_SOURCE = f"genai-prices {genai_prices.__version__}"
OVERRIDE_SOURCE = "override"
PRICE_FILES = ("prices.json", "prices.toml")

#: Override entry key -> genai-prices price key ($ per million tokens).
_RATE_KEYS = {
    "input": "input_mtok",
    "cached_input": "cache_read_mtok",
    "cache_write": "cache_write_mtok",
    "output": "output_mtok",
}


class PriceFileError(ValueError):
    """A price override file (or dict) that cannot be used; the message names it and the problem."""


class SpanLike(Protocol):
    provider: str | None
    model: str | None
    input_tokens: int | None
    output_tokens: int | None
    cache_read_tokens: int | None
    cache_write_tokens: int | None
    reasoning_tokens: int | None
    cost_usd: float | None
    start_ns: int


#: Our token counts -> the package's price key for them; keys that price anything else (audio,
#: images, web searches, ...) apply to usage spans never report, which the package counts as 0 too.
_TOKEN_PRICE_KEYS = (
    "input_mtok",
    "cache_read_mtok",
    "cache_write_mtok",
    "output_mtok",
    "output_reasoning_mtok",
)
#: $ per request is given per thousand requests.
_REQUEST_PRICE_KEY = "requests_kcount"

#: A rate in $ per token: the base rate, then (start, rate) tiers from the highest start down.
Rate = tuple[float, tuple[tuple[int, float], ...]]


def _tier_rate(rate: Rate, total_input: int) -> float:
    """The package's "cliff" tiers: crossing a tier's start (in input tokens, cached ones included)
    applies that tier's rate to every token of the call."""
    for start, price in rate[1]:
        if total_input > start:
            return price
    return rate[0]


@dataclass(frozen=True, slots=True)
class Rates:
    """One model's rates on one day as floats, so pricing a call is a few multiplications (about a
    microsecond, where the package's `calc_price` takes ~60 µs). Matches `calc_price` on the usage
    spans report, tiers included: cache reads and writes are taken out of input only when they have
    a rate of their own, reasoning out of output likewise (otherwise they stay at the input/output rate).
    """

    input: Rate | None
    cache_read: Rate | None
    cache_write: Rate | None
    output: Rate | None
    reasoning: Rate | None
    per_request: float
    tiered: bool
    #: Input counts up to this pay the base rates (every tier starts above it; -1 with no tiers).
    below_tiers: int
    #: (input, cache read, cache write, output, reasoning) base rates; None where unpriced.
    base: tuple[float | None, ...]

    @classmethod
    def of(cls, price: gp.ModelPrice) -> Rates:
        rates = [_as_rate(getattr(price, key, None)) for key in _TOKEN_PRICE_KEYS]
        requests = getattr(price, _REQUEST_PRICE_KEY, None)
        starts = [start for rate in rates if rate for start, _ in rate[1]]
        return cls(
            *rates,
            per_request=float(requests) / 1000 if isinstance(requests, Decimal | int | float) else 0.0,
            tiered=bool(starts),
            below_tiers=min(starts) if starts else -1,
            base=tuple(None if rate is None else rate[0] for rate in rates),
        )

    def at(self, input_tokens: int) -> tuple[float | None, ...]:
        """The five rates that apply to a call with `input_tokens` input tokens."""
        if input_tokens <= self.below_tiers or not self.tiered:
            return self.base
        rates = (self.input, self.cache_read, self.cache_write, self.output, self.reasoning)
        return tuple(None if rate is None else _tier_rate(rate, input_tokens) for rate in rates)

    def usd(
        self,
        input_tokens: int,
        cache_read: int = 0,
        cache_write: int = 0,
        output: int = 0,
        reasoning: int = 0,
    ) -> float:
        """The cost of one call with these token counts; ValueError for counts that contradict each
        other (more cached than input tokens), as the package raises."""
        rate_in, rate_read, rate_write, rate_out, rate_reasoning = self.at(input_tokens)
        total = self.per_request
        uncached = input_tokens
        if rate_read is not None:
            uncached -= cache_read
            total += cache_read * rate_read
        if rate_write is not None:
            uncached -= cache_write
            total += cache_write * rate_write
        if rate_in is not None:
            if uncached < 0:
                raise ValueError(
                    f"{cache_read + cache_write:,} cached tokens exceed {input_tokens:,} input tokens"
                )
            total += uncached * rate_in
        answer = output
        if rate_reasoning is not None:
            answer -= reasoning
            total += reasoning * rate_reasoning
        if rate_out is not None:
            if answer < 0:
                raise ValueError(f"{reasoning:,} reasoning tokens exceed {output:,} output tokens")
            total += answer * rate_out
        return total


def _as_rate(value: Any) -> Rate | None:
    if isinstance(value, gp.TieredPrices):
        tiers = sorted(((t.start, float(t.price) / 1e6) for t in value.tiers), reverse=True)
        return float(value.base) / 1e6, tuple(tiers)
    return None if value is None else (float(value) / 1e6, ())


@dataclass(frozen=True)
class ModelPrice:
    """One model's rates ($ per million tokens) on one day; base rates when the package has tiers."""

    model_ref: str
    provider: str | None
    source: str
    date: date
    input: float | None
    cached_input: float | None
    cache_write: float | None
    output: float | None
    #: Every rate, tiers included, as floats: what prices a call.
    fast: Rates = field(repr=False, compare=False)

    @property
    def label(self) -> str:
        return f"{self.provider}/{self.model_ref}" if self.provider else self.model_ref

    @property
    def detail(self) -> str:
        return f"computed with {self.label} prices of {self.date} from {self.source}"


@dataclass(frozen=True)
class Cost:
    usd: float | None
    source: Literal["reported", "computed", "unknown"]
    detail: str


REPORTED = "reported by the source"


@dataclass(frozen=True)
class _Override:
    pattern: str
    provider: str | None
    rates: dict[str, Decimal]


class PriceBook:
    """Looks each (provider, model, day) price up once; overrides win over the package."""

    def __init__(
        self, overrides: Mapping[str, Any] | None = None, *, origin: str = "price overrides"
    ) -> None:
        self._overrides = _parse_overrides(overrides, origin) if overrides is not None else []
        self._memo: dict[tuple[str | None, str, date], ModelPrice | None] = {}

    @classmethod
    def load(cls, config_dir: Path | None = None) -> PriceBook:
        """Read prices.json (or prices.toml) from the user config dir; no file means no overrides."""
        folder = config_dir or Path(platformdirs.user_config_dir("spanscope"))
        for name in PRICE_FILES:
            path = folder / name
            if path.is_file():
                return cls(read_price_file(path), origin=str(path))
        return cls()

    def price(self, provider: str | None, model: str, when: date | datetime) -> ModelPrice | None:
        day = when.astimezone(UTC).date() if isinstance(when, datetime) else when
        key = (provider, model, day)
        if key not in self._memo:
            found = self._override_price(provider, model, day)
            self._memo[key] = found or _package_price(provider, model, day)
        return self._memo[key]

    def cost(self, span: SpanLike) -> Cost:
        if span.cost_usd is not None:
            return Cost(span.cost_usd, "reported", REPORTED)
        return self._computed(span, span.provider, span.model)

    def costs(self, spans: Iterable[SpanLike]) -> list[Cost]:
        """Bulk `cost`: the memo means one price lookup per distinct (provider, model, day)."""
        return [self.cost(s) for s in spans]

    def reprice(self, spans: Iterable[SpanLike], as_model: str, as_provider: str | None = None) -> list[Cost]:
        """What-if: every call priced at `as_model`'s rates of its own day, ignoring reported costs."""
        return [self._computed(s, as_provider, as_model) for s in spans]

    def _computed(self, span: SpanLike, provider: str | None, model: str | None) -> Cost:
        if not model:
            return Cost(None, "unknown", "unknown: no model name")
        if span.input_tokens is None and span.output_tokens is None:
            return Cost(None, "unknown", f"unknown: no token counts for model {model}")
        price = self.price(provider, model, _day(span.start_ns))
        if price is None:
            return Cost(None, "unknown", f"unknown: no price for model {model}")
        return priced(price, *tokens(span))

    def _override_price(self, provider: str | None, model: str, day: date) -> ModelPrice | None:
        entry = _match_override(self._overrides, provider, model)
        if entry is None:
            return None
        return _model_price(entry.pattern, entry.provider, OVERRIDE_SOURCE, day, gp.ModelPrice(**entry.rates))


DAY_NS = 86_400 * 10**9
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_MISSING = object()


def day_date(day: int) -> date:
    """The UTC date of day number `day` since the epoch (`start_ns // DAY_NS`)."""
    return date.fromordinal(_EPOCH_ORDINAL + day)


class SpanPricer:
    """Prices calls one by one where that is the hot path (an import, a whole trace tree): each
    (provider, model, day)'s rates are looked up once, then a call costs a few multiplications."""

    def __init__(self, book: PriceBook) -> None:
        self.book = book
        self._rates: dict[tuple[str | None, str, int], Rates | None] = {}

    def __call__(self, span: Span) -> float | None:
        """The computed cost of a model call without a reported cost; None otherwise, or unknown."""
        if span.cost_usd is not None or span.kind not in MODEL_KINDS:
            return None
        return self.usd(
            span.provider,
            span.model,
            span.start_ns,
            span.input_tokens,
            span.cache_read_tokens,
            span.cache_write_tokens,
            span.output_tokens,
            span.reasoning_tokens,
        )

    def usd(
        self,
        provider: str | None,
        model: str | None,
        start_ns: int,
        input_tokens: int | None,
        cache_read: int | None,
        cache_write: int | None,
        output: int | None,
        reasoning: int | None,
    ) -> float | None:
        """One call's cost from its columns; None when it cannot be priced (`PriceBook.cost` says why)."""
        if not model or (input_tokens is None and output is None):
            return None
        key = (provider, model, start_ns // DAY_NS)
        rates = self._rates.get(key, _MISSING)
        if rates is _MISSING:
            rates = self._lookup(key)
        if rates is None:
            return None
        try:
            return rates.usd(*token_counts(input_tokens, cache_read, cache_write, output, reasoning))
        except ValueError:
            return None

    def _lookup(self, key: tuple[str | None, str, int]) -> Rates | None:
        price = self.book.price(key[0], key[1], day_date(key[2]))
        rates = self._rates[key] = None if price is None else price.fast
        return rates


def known_models() -> list[str]:
    """Every model name the bundled price data knows, sorted: choices for a what-if."""
    snapshot = genai_prices.data_snapshot.get_snapshot()
    return sorted({model.id for provider in snapshot.providers for model in provider.models})


def user_price_book() -> PriceBook:
    """The user's prices; a broken override file falls back to the package's prices (the Settings
    dialog and `spanscope stats` report the file's problem)."""
    try:
        return PriceBook.load()
    except PriceFileError:
        return PriceBook()


def _day(start_ns: int) -> date:
    return datetime.fromtimestamp(start_ns / 1e9, UTC).date()


def tokens(span: SpanLike) -> tuple[int, int, int, int, int]:
    return token_counts(
        span.input_tokens,
        span.cache_read_tokens,
        span.cache_write_tokens,
        span.output_tokens,
        span.reasoning_tokens,
    )


def token_counts(
    input_tokens: int | None,
    cache_read: int | None,
    cache_write: int | None,
    output: int | None,
    reasoning: int | None,
) -> tuple[int, int, int, int, int]:
    """(input, cache read, cache write, output, reasoning) as `Rates.usd` takes them: cache reads and
    writes counted inside input and reasoning inside output (our convention and the package's), so
    nothing is billed twice; missing input is taken to be just the cached part."""
    cache_read, cache_write = cache_read or 0, cache_write or 0
    if input_tokens is None:
        input_tokens = cache_read + cache_write
    return input_tokens, cache_read, cache_write, output or 0, reasoning or 0


def priced(price: ModelPrice, *counts: int) -> Cost:
    """One call's cost at `price`, or unknown with the reason its counts cannot be priced."""
    try:
        return Cost(price.fast.usd(*counts), "computed", price.detail)
    except ValueError as exc:
        return Cost(None, "unknown", f"unknown: {exc}")


def _package_price(provider: str | None, model: str, day: date) -> ModelPrice | None:
    """Match through genai-prices, retrying without a provider it does not know and with an
    'openai/gpt-4o'-style prefix taken as the provider."""
    attempts: list[tuple[str | None, str]] = [(provider, model), (None, model)]
    if "/" in model:
        prefix, _, name = model.partition("/")
        attempts.append((prefix, name))
    when = datetime.combine(day, datetime.min.time(), UTC)
    for provider_id, model_ref in dict.fromkeys(attempts):
        try:
            calc = genai_prices.calc_price(
                gp.Usage(), model_ref, provider_id=provider_id, genai_request_timestamp=when
            )
        except LookupError:
            continue
        return _model_price(calc.model.id, calc.provider.id, PACKAGE_SOURCE, day, calc.model_price)
    return None


def _model_price(
    model_ref: str, provider: str | None, source: str, day: date, rates: gp.ModelPrice
) -> ModelPrice:
    def base(key: str) -> float | None:
        value = getattr(rates, _RATE_KEYS[key], None)
        value = value.base if isinstance(value, gp.TieredPrices) else value
        return None if value is None else float(value)

    return ModelPrice(
        model_ref,
        provider,
        source,
        day,
        input=base("input"),
        cached_input=base("cached_input"),
        cache_write=base("cache_write"),
        output=base("output"),
        fast=Rates.of(rates),
    )


def _match_override(overrides: list[_Override], provider: str | None, model: str) -> _Override | None:
    """Exact names first, then globs in file order; an entry naming a provider needs that provider."""
    usable = [o for o in overrides if o.provider is None or o.provider == (provider or "").lower()]
    exact = next((o for o in usable if o.pattern == model), None)
    return exact or next((o for o in usable if fnmatch.fnmatchcase(model, o.pattern)), None)


def read_price_file(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
        return tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise PriceFileError(f"{path}: cannot read prices: {exc}") from exc


def _parse_overrides(data: Any, origin: str) -> list[_Override]:
    models = data.get("models") if isinstance(data, Mapping) else None
    if not isinstance(models, Mapping):
        raise PriceFileError(f'{origin}: expected an object with a "models" object')
    return [_parse_entry(pattern, entry, origin) for pattern, entry in models.items()]


def _parse_entry(pattern: str, entry: Any, origin: str) -> _Override:
    where = f"{origin}: model {pattern!r}"
    if not isinstance(entry, Mapping):
        raise PriceFileError(f"{where}: expected an object of prices")
    unknown = set(entry) - set(_RATE_KEYS) - {"provider"}
    if unknown:
        raise PriceFileError(f"{where}: unknown keys {sorted(unknown)}; expected {[*_RATE_KEYS, 'provider']}")
    provider = entry.get("provider")
    if provider is not None and not isinstance(provider, str):
        raise PriceFileError(f"{where}: provider must be text")
    rates = {_RATE_KEYS[k]: _rate(v, f"{where}: {k}") for k, v in entry.items() if k in _RATE_KEYS}
    if not rates:
        raise PriceFileError(f"{where}: no prices given")
    return _Override(pattern, provider.lower() if provider else None, rates)


def _rate(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < math.inf:
        raise PriceFileError(
            f"{where}: expected a non-negative number of $ per million tokens, got {value!r}"
        )
    return Decimal(str(value))
