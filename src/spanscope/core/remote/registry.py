"""The known server kinds, found rather than listed (every module here that declares a `SPEC`), and
the client a URL names: `phoenix+http://host:6006` is a Phoenix server at http://host:6006.

Credentials come from the environment variables a kind declares, else from the system keyring
(service "spanscope", user "KIND+host:port"); never from the URL or anything we write."""

from __future__ import annotations

import importlib
import os
import pkgutil
from functools import cache
from urllib.parse import urlsplit

from spanscope.core.endpoints.chat import EndpointError
from spanscope.core.endpoints.secrets import get_key
from spanscope.core.remote.base import RemoteClient, RemoteError, ServerSpec, ServerURL


@cache
def server_specs() -> dict[str, ServerSpec]:
    """Every server kind, by name, in name order."""
    found: dict[str, ServerSpec] = {}
    for info in sorted(
        pkgutil.iter_modules(importlib.import_module(__package__).__path__), key=lambda i: i.name
    ):
        spec = getattr(importlib.import_module(f"{__package__}.{info.name}"), "SPEC", None)
        if isinstance(spec, ServerSpec):
            found[spec.kind] = spec
    return found


def schemes_help() -> str:
    """One line per kind, for `--help`: its scheme with the default port and what it is."""
    return "\n".join(
        f"  {spec.kind}+http://HOST:{spec.default_port}  {spec.title}" for spec in server_specs().values()
    )


def is_server_url(text: str) -> bool:
    scheme = text.partition("://")[0]
    return "+" in scheme and scheme.partition("+")[0] in server_specs()


def parse_server_url(text: str) -> ServerURL:
    """The server `text` names; RemoteError saying which schemes there are when it names none."""
    kinds = ", ".join(f"{kind}+http://" for kind in server_specs())
    scheme, _, rest = text.partition("://")
    kind, plus, transport = scheme.partition("+")
    if not plus or kind not in server_specs() or transport not in ("http", "https") or not rest:
        raise RemoteError(f"{text!r} is not a trace server URL: use one of {kinds} (or https://)")
    parts = urlsplit(f"{transport}://{rest}")
    if parts.username or parts.password:
        raise RemoteError(f"{kind}+{transport}://…: put credentials in the environment, not in the URL")
    if not parts.hostname:
        raise RemoteError(f"{text!r} names no host")
    return ServerURL(kind, f"{transport}://{parts.netloc}{parts.path.rstrip('/')}")


def keyring_user(url: ServerURL) -> str:
    return f"{url.kind}+{url.host}"


def credentials(url: ServerURL) -> dict[str, str | None]:
    """The kind's credential variables as set in the environment; a variable not set is looked up
    in the keyring under keyring_user(url) + ":" + the variable's name."""
    spec = server_specs()[url.kind]
    found: dict[str, str | None] = {}
    for name in spec.credential_env:
        value = os.environ.get(name) or None
        if value is None:
            try:
                value = get_key(f"{keyring_user(url)}:{name}")
            except EndpointError:  # no usable keyring: the environment is the only source
                value = None
        found[name] = value
    return found


def client_for(text: str | ServerURL) -> RemoteClient:
    """The client of the server a URL names, with its credentials."""
    url = text if isinstance(text, ServerURL) else parse_server_url(text)
    return server_specs()[url.kind].make(url, credentials(url))


def readme_table() -> str:
    """The README's table of server kinds, one row per spec: its URL, what it is and its credentials."""
    rows = ["| URL | server | credentials (environment, or the system keyring) |", "| --- | --- | --- |"]
    for spec in server_specs().values():
        names = ", ".join(f"`{name}`" for name in spec.credential_env) or "none"
        rows.append(f"| `{spec.kind}+http://HOST:{spec.default_port}` | {spec.title} | {names} |")
    return "\n".join(rows)
