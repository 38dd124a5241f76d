"""Server kinds are found from their specs; URLs name them; the README's table is the registry's."""

from __future__ import annotations

from pathlib import Path

import pytest

from spanscope.core.remote.base import RemoteError
from spanscope.core.remote.registry import is_server_url, parse_server_url, readme_table, server_specs


def test_the_readme_lists_the_server_kinds_of_the_registry() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    assert readme_table() in readme
    assert len(readme_table().splitlines()) == 2 + len(server_specs())


def test_a_url_names_its_kind_and_never_carries_credentials() -> None:
    kind = next(iter(server_specs()))
    url = parse_server_url(f"{kind}+https://traces.example.com:8443/base/")
    assert (url.kind, url.base_url, url.host) == (
        kind,
        "https://traces.example.com:8443/base",
        "traces.example.com:8443",
    )
    assert is_server_url(url.text) and not is_server_url("http://localhost:6006")
    with pytest.raises(RemoteError, match="not a trace server URL"):
        parse_server_url("zipkin+http://host:9411")
    with pytest.raises(RemoteError, match="credentials in the environment"):
        parse_server_url(f"{kind}+http://user:secret@host:1")
