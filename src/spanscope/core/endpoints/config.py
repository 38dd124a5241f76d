"""The endpoints a user can send model calls to: any OpenAI-compatible base URL, with presets for the
local servers people run (Ollama, llama.cpp, vLLM, LM Studio) and hosted OpenAI-compatible APIs.

An endpoint names where its API key lives (an environment variable, or the system keyring under its
own name); the key itself is never part of it, so saving endpoints never writes a key."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import orjson

from spanscope.core.pricing.overrides import config_dir

#: The Chat Completions API (every OpenAI-compatible server) or the Responses API (OpenAI's newer one).
APIS = ("chat", "responses")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where model calls go. `key_env` names the environment variable holding the key;
    `key_in_keyring` says the key is in the system keyring under this endpoint's name; neither: the
    server needs no key."""

    name: str
    base_url: str
    api: str = "chat"
    key_env: str | None = None
    key_in_keyring: bool = False
    timeout_s: float = 120.0
    max_retries: int = 2


PRESETS: tuple[Endpoint, ...] = (
    Endpoint("Ollama", "http://localhost:11434/v1"),
    Endpoint("llama.cpp server", "http://localhost:8080/v1"),
    Endpoint("vLLM", "http://localhost:8000/v1"),
    Endpoint("LM Studio", "http://localhost:1234/v1"),
    Endpoint("OpenAI", "https://api.openai.com/v1", key_env="OPENAI_API_KEY"),
)


#: The user's endpoints, in the user config dir beside the price overrides.
ENDPOINTS_FILE = "endpoints.json"


class EndpointConfigError(ValueError):
    """The endpoints file cannot be used; the message names it and says why."""


def read_endpoints(folder: Path | None = None) -> list[Endpoint]:
    """The user's saved endpoints (none when the file does not exist)."""
    path = (folder or config_dir()) / ENDPOINTS_FILE
    try:
        data = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return []
    except (OSError, orjson.JSONDecodeError) as exc:
        raise EndpointConfigError(f"{path}: cannot read the endpoints: {exc}") from None
    fields = set(Endpoint.__dataclass_fields__)
    try:
        return [Endpoint(**{k: v for k, v in item.items() if k in fields}) for item in data["endpoints"]]
    except (KeyError, TypeError, AttributeError) as exc:
        raise EndpointConfigError(f"{path}: not an endpoints file ({exc})") from None
