"""An endpoint's API key, looked up when a call is made and never kept anywhere of ours: from the
environment variable the endpoint names, or from the system keyring (service "spanscope", the
endpoint's name as user)."""

from __future__ import annotations

import os

from spanscope.core.endpoints.config import Endpoint

KEYRING_SERVICE = "spanscope"
#: The key of an endpoint given as a bare URL (`--endpoint http://...`), when set.
AD_HOC_KEY_ENV = "SPANSCOPE_API_KEY"


def api_key(endpoint: Endpoint) -> str | None:
    """The endpoint's key, or None when it needs none or none is set."""
    if endpoint.key_env:
        return os.environ.get(endpoint.key_env) or None
    if endpoint.key_in_keyring:
        import keyring  # imported on use: its backend discovery costs time at every start

        return keyring.get_password(KEYRING_SERVICE, endpoint.name)
    return None
