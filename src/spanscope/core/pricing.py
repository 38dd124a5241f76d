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
    #: The package's price object, which applies tiers and cache splits for us.
    rates: gp.ModelPrice = field(repr=False, compare=False)

    @property
    def label(self) -> str:
        return f"{self.provider}/{self.model_ref}" if self.provider else self.model_ref

    def usd(self, usage: gp.Usage) -> float:
        return float(self.rates.calc_price(usage)["total_price"])


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
                return cls(_read_price_file(path), origin=str(path))
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
        try:
            usd = price.usd(_usage(span))
        except ValueError as exc:  # e.g. more cached tokens than input tokens
            return Cost(None, "unknown", f"unknown: {exc}")
        detail = f"computed with {price.label} prices of {price.date} from {price.source}"
        return Cost(usd, "computed", detail)

    def _override_price(self, provider: str | None, model: str, day: date) -> ModelPrice | None:
        entry = _match_override(self._overrides, provider, model)
        if entry is None:
            return None
        return _model_price(entry.pattern, entry.provider, OVERRIDE_SOURCE, day, gp.ModelPrice(**entry.rates))


def _day(start_ns: int) -> date:
    return datetime.fromtimestamp(start_ns / 1e9, UTC).date()


def _usage(span: SpanLike) -> gp.Usage:
    """Our token fields in the package's shape: both count cache reads/writes inside input_tokens
    and reasoning inside output_tokens, so nothing is billed twice."""
    cache_read = span.cache_read_tokens or 0
    cache_write = span.cache_write_tokens or 0
    return gp.Usage(
        input_tokens=span.input_tokens if span.input_tokens is not None else cache_read + cache_write,
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        output_tokens=span.output_tokens or 0,
        output_reasoning_tokens=span.reasoning_tokens or 0,
    )


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
        rates=rates,
    )


def _match_override(overrides: list[_Override], provider: str | None, model: str) -> _Override | None:
    """Exact names first, then globs in file order; an entry naming a provider needs that provider."""
    usable = [o for o in overrides if o.provider is None or o.provider == (provider or "").lower()]
    exact = next((o for o in usable if o.pattern == model), None)
    return exact or next((o for o in usable if fnmatch.fnmatchcase(model, o.pattern)), None)


def _read_price_file(path: Path) -> Any:
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
