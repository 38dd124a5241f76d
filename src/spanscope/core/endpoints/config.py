"""The user's model endpoints: what each one is (base URL, protocol, where its key comes from), the
presets a new one starts from, and endpoints.json in the user config dir, checked and written
atomically.

The file never holds a key: an endpoint names the environment variable that holds it, or says its key
is in the system keyring (secrets.py) under the endpoint's name."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from urllib.parse import urlsplit

from spanscope.core.user_files import config_dir, write_json

ENDPOINTS_FILE = "endpoints.json"
#: The Chat Completions API (every OpenAI-compatible server) or the Responses API (OpenAI's newer one).
APIS = ("chat", "responses")
#: What a form calls them.
API_NAMES = {"chat": "Chat Completions", "responses": "Responses"}
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """An OpenAI-compatible server. `key_env` names the environment variable holding its key;
    `key_in_keyring` says the key is in the system keyring; neither: it takes no key."""

    name: str
    base_url: str
    api: str = "chat"
    key_env: str | None = None
    key_in_keyring: bool = False
    timeout_s: float = 120.0
    max_retries: int = 2


#: What "Add from preset" offers: local servers at their default ports, then hosted APIs
#: at the base URLs their documentation gives.
PRESETS: tuple[Endpoint, ...] = (
    Endpoint("Ollama", "http://localhost:11434/v1"),
    Endpoint("llama.cpp server", "http://localhost:8080/v1"),
    Endpoint("vLLM", "http://localhost:8000/v1"),
    Endpoint("LM Studio", "http://localhost:1234/v1"),
    Endpoint("OpenAI", "https://api.openai.com/v1", key_env="OPENAI_API_KEY"),
    Endpoint("OpenRouter", "https://openrouter.ai/api/v1", key_env="OPENROUTER_API_KEY"),
    Endpoint("Groq", "https://api.groq.com/openai/v1", key_env="GROQ_API_KEY"),
    Endpoint("Together AI", "https://api.together.ai/v1", key_env="TOGETHER_API_KEY"),
)


class EndpointConfigError(ValueError):
    """endpoints.json cannot be used; the message names the file and what is wrong with it."""


def endpoints_path(folder: Path | None = None) -> Path:
    return (folder or config_dir()) / ENDPOINTS_FILE


def endpoint_problems(endpoint: Endpoint) -> list[str]:
    """What is wrong with one endpoint, each said for a person (never quoting what may be a key)."""
    found = []
    if not endpoint.name.strip():
        found.append("the name is empty")
    elif _CONTROL.search(endpoint.name):
        found.append("the name holds a control character")
    found += _url_problems(endpoint.base_url)
    if endpoint.api not in APIS:
        found.append(f"the API must be one of {', '.join(APIS)}")
    if endpoint.key_env == "":
        found.append("name the environment variable that holds the key")
    elif endpoint.key_env is not None and not _ENV_NAME.match(endpoint.key_env):
        found.append(
            "the environment variable's name may hold only letters, digits and _ and not start with "
            "a digit (the key itself goes in the keyring, never here)"
        )
    if endpoint.key_env is not None and endpoint.key_in_keyring:
        found.append("the key comes from an environment variable or the keyring, not both")
    timeout = endpoint.timeout_s
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout < math.inf:
        found.append("the timeout must be a number of seconds above 0")
    retries = endpoint.max_retries
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        found.append("the retries must be a whole number, 0 or more")
    return found


def problems(endpoints: Sequence[Endpoint]) -> list[str]:
    """What keeps `endpoints` from being saved, one line per problem, naming the endpoint (1-based)."""
    found = []
    seen: dict[str, int] = {}
    for number, endpoint in enumerate(endpoints, 1):
        where = f"Endpoint {number}" + (f" ({endpoint.name})" if endpoint.name.strip() else "")
        found += [f"{where}: {problem}" for problem in endpoint_problems(endpoint)]
        if endpoint.name in seen:
            found.append(f"{where}: the name is already endpoint {seen[endpoint.name]}'s")
        seen.setdefault(endpoint.name, number)
    return found


def read_endpoints(folder: Path | None = None) -> list[Endpoint]:
    """The saved endpoints (none when there is no file); EndpointConfigError naming the file and the
    problem when it cannot be used."""
    path = endpoints_path(folder)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except UnicodeDecodeError:
        raise EndpointConfigError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise EndpointConfigError(f"Cannot read {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EndpointConfigError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(data, dict) or not isinstance(data.get("endpoints"), list):
        raise EndpointConfigError(f'{path}: expected an object with an "endpoints" list')
    endpoints = [_endpoint(path, number, entry) for number, entry in enumerate(data["endpoints"], 1)]
    if found := problems(endpoints):
        raise EndpointConfigError(f"{path}: " + "; ".join(found))
    return endpoints


def find_endpoint(name: str, folder: Path | None = None) -> Endpoint | None:
    """The saved endpoint called `name` (None: there is none)."""
    return next((e for e in read_endpoints(folder) if e.name == name), None)


def save_endpoints(endpoints: Sequence[Endpoint], folder: Path | None = None) -> Path:
    """Write `endpoints` to endpoints.json atomically (a reader sees the old file or the new one,
    never half of it); ValueError listing the problems if they cannot be saved."""
    if found := problems(endpoints):
        raise ValueError("\n".join(found))
    path = endpoints_path(folder)
    return write_json(path, {"endpoints": [asdict(e) for e in endpoints]})


_FIELDS = {f.name: f for f in fields(Endpoint)}
_TYPES: dict[str, tuple[type, ...]] = {
    "name": (str,),
    "base_url": (str,),
    "api": (str,),
    "key_env": (str, type(None)),
    "key_in_keyring": (bool,),
    "timeout_s": (int, float),
    "max_retries": (int,),
}


def _endpoint(path: Path, number: int, entry: object) -> Endpoint:
    """One entry of the file as an Endpoint, or EndpointConfigError saying which field is wrong."""
    where = f"{path}: endpoint {number}"
    if not isinstance(entry, dict):
        raise EndpointConfigError(f"{where}: expected an object")
    if isinstance(entry.get("name"), str):
        where += f" ({entry['name']})"
    if unknown := sorted(set(entry) - set(_FIELDS)):
        raise EndpointConfigError(f"{where}: unknown field {', '.join(map(repr, unknown))}")
    for name in ("name", "base_url"):
        if name not in entry:
            raise EndpointConfigError(f"{where}: {name!r} is missing")
    for name, value in entry.items():
        wrong_bool = isinstance(value, bool) and bool not in _TYPES[name]
        if wrong_bool or not isinstance(value, _TYPES[name]):
            raise EndpointConfigError(f"{where}: {name!r} must be {_kind(_TYPES[name])}")
    return Endpoint(**entry)


def _kind(types: tuple[type, ...]) -> str:
    names = {str: "text", bool: "true or false", int: "a number", float: "a number", type(None): "null"}
    return " or ".join(dict.fromkeys(names[t] for t in types))


def _url_problems(url: str) -> list[str]:
    try:
        parts = urlsplit(url)
        if parts.port == 0:  # reading the port raises ValueError when it is not a number
            return ["the base URL's port is 0"]
    except ValueError:
        return ["the base URL is not a URL (is its port a number up to 65535?)"]
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ["the base URL must start with http:// or https:// and name a host"]
    if parts.username is not None or parts.password is not None:
        return ["the base URL holds a user name or password; keep keys in a variable or the keyring"]
    if parts.query or parts.fragment or "?" in url or "#" in url:
        return ["the base URL takes no query (?…) or fragment (#…)"]
    if any(c.isspace() for c in url):
        return ["the base URL holds a space"]
    return []
