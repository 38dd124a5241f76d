"""The Langfuse OTel SDK's `langfuse.observation.*` attributes: type, model, usage and cost details as
JSON, level, input and output (JSON text, chat messages when OpenAI-style), session and user. The
Langfuse export reader writes observations as these attributes too."""

from __future__ import annotations

from typing import Any

from spanscope.core.conventions.base import Convention, Source, TimeUnit, kind_table
from spanscope.core.conventions.messages import openai_messages
from spanscope.core.conventions.parse import Getter, as_float, as_int, first_int, unwrap
from spanscope.core.model import Kind


def _detail(details: Any, key: str) -> int | None:
    return as_int(details.get(key)) if isinstance(details, dict) else None


def _plus_details(usage: dict[str, Any], key: str, prefix: str) -> int | None:
    """Langfuse's own `input`/`output` exclude their detail keys (input_cache_read, output_reasoning)."""
    base = as_int(usage.get(key))
    if base is None:
        return None
    return base + sum(
        as_int(value) or 0 for name, value in usage.items() if type(name) is str and name.startswith(prefix)
    )


def _raw_io_tokens(usage: dict[str, Any]) -> tuple[int | None, int | None]:
    """Input and output tokens of a raw provider usage object or Langfuse's own keys.

    OpenAI counts cached tokens inside prompt/input tokens; Anthropic's input_tokens and Langfuse's
    `input` do not, so their cache (and other input detail) counts are added back."""
    get = usage.get
    if "prompt_tokens" in usage or "completion_tokens" in usage:
        return as_int(get("prompt_tokens")), as_int(get("completion_tokens"))
    if "input_tokens" in usage or "output_tokens" in usage:
        input_tokens = as_int(get("input_tokens"))
        if input_tokens is not None:
            input_tokens += (as_int(get("cache_read_input_tokens")) or 0) + (
                as_int(get("cache_creation_input_tokens")) or 0
            )
        return input_tokens, as_int(get("output_tokens"))
    input_tokens = _plus_details(usage, "input", "input_")
    if input_tokens is not None:
        input_tokens += (as_int(get("cache_read_input_tokens")) or 0) + (
            as_int(get("cache_write_input_tokens")) or 0
        )
    return input_tokens, _plus_details(usage, "output", "output_")


def _usage_details(value: Any) -> dict[str, int | None] | None:
    """langfuse.observation.usage_details, normalized to the span's token fields."""
    usage = unwrap(value)
    if not isinstance(usage, dict):
        return None
    get = usage.get
    input_details = get("prompt_tokens_details") or get("input_tokens_details")
    output_details = get("completion_tokens_details") or get("output_tokens_details")
    cache_read = _detail(input_details, "cached_tokens")
    if cache_read is None:
        cache_read = first_int(
            get,
            (
                "cache_read_input_tokens",
                "input_cache_read",
                "input_cached_tokens",
                "prompt_details.cache_read",
            ),
        )
    cache_write = first_int(
        get,
        (
            "cache_creation_input_tokens",
            "cache_write_input_tokens",
            "input_cache_creation",
            "input_cache_write",
        ),
    )
    reasoning = _detail(output_details, "reasoning_tokens")
    if reasoning is None:
        reasoning = first_int(
            get, ("output_reasoning", "output_reasoning_tokens", "completion_details.reasoning")
        )
    input_tokens, output_tokens = _raw_io_tokens(usage)
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": first_int(get, ("total_tokens", "total")),
        "cache_read_tokens": cache_read,
        "cache_write_tokens": cache_write,
        "reasoning_tokens": reasoning,
    }


def _cost_details(value: Any) -> float | None:
    """langfuse.observation.cost_details JSON: its total, else the sum of its parts (USD)."""
    costs = unwrap(value)
    if not isinstance(costs, dict):
        return as_float(costs)
    total = as_float(costs.get("total"))
    if total is not None:
        return total
    parts = [amount for amount in map(as_float, costs.values()) if amount is not None]
    return sum(parts) if parts else None


def _cost(get: Getter) -> float | None:
    raw = get("langfuse.observation.cost_details")
    return None if raw is None else _cost_details(raw)


def _error(attrs: dict[str, Any], get: Getter) -> str | None:
    return "langfuse.observation.status_message" if get("langfuse.observation.level") == "ERROR" else None


def _value(key: str, default_role: str) -> Source:
    """Decoded JSON, as chat messages when it holds OpenAI-style messages."""

    def read(attrs: dict[str, Any], get: Getter, found: int) -> Any:
        value = get(key)
        if value is None:
            return None
        decoded = unwrap(value)
        messages = openai_messages(decoded, default_role)
        return decoded if messages is None else messages

    return Source((key,), read)


CONVENTION = Convention(
    name="Langfuse",
    kinds=(
        (
            "langfuse.observation.type",
            kind_table(
                {
                    "generation": Kind.LLM,
                    "embedding": Kind.EMBEDDING,
                    "agent": Kind.AGENT,
                    "tool": Kind.TOOL,
                    "chain": Kind.CHAIN,
                    "retriever": Kind.RETRIEVER,
                    "evaluator": Kind.EVALUATOR,
                    "guardrail": Kind.GUARDRAIL,
                    "span": Kind.SPAN,
                    "event": Kind.SPAN,
                }
            ),
        ),
    ),
    model=("langfuse.observation.model.name",),
    session=("langfuse.session.id",),
    user=("langfuse.user.id",),
    usage=("langfuse.observation.usage_details", _usage_details),
    cost=(("langfuse.observation.cost_details",), _cost),
    status=(("langfuse.observation.level",), _error),
    value_input=(_value("langfuse.observation.input", "user"),),
    value_output=(_value("langfuse.observation.output", "assistant"),),
    ttft=(("langfuse.observation.completion_start_time", TimeUnit.TIMESTAMP),),
)
