"""An endpoint's API key, looked up when a call is made and never kept anywhere of ours: from the
environment variable the endpoint names, or from the system keyring (service "spanscope", the
endpoint's name as user). This module is the one place that reads or writes the keyring; its errors
say what failed and why, never the key.

`keyring` is imported on use: its backend discovery costs time at every start."""

from __future__ import annotations

import os

from spanscope.core.endpoints.chat import EndpointError
from spanscope.core.endpoints.config import Endpoint

KEYRING_SERVICE = "spanscope"
#: The key of an endpoint given as a bare URL (`--endpoint http://...`), when set.
AD_HOC_KEY_ENV = "SPANSCOPE_API_KEY"

NO_KEYRING = (
    "No system keyring is available here (no Secret Service such as GNOME Keyring or KWallet, "
    "macOS Keychain or Windows Credential Manager was found), so a key cannot be kept in it; "
    "name an environment variable that holds the key instead."
)


class KeyringUnavailable(EndpointError):
    """The keyring could not be used: no call can be made with the key it should hold."""


def api_key(endpoint: Endpoint) -> str | None:
    """The endpoint's key, or None when it needs none or none is set; KeyringUnavailable when its
    key is in a keyring that cannot be read."""
    if endpoint.key_env:
        return os.environ.get(endpoint.key_env) or None
    if endpoint.key_in_keyring:
        return get_key(endpoint.name)
    return None


def keyring_problem() -> str | None:
    """Why keys cannot be kept in the system keyring here (None: they can)."""
    import keyring
    from keyring.backends import fail, null

    if isinstance(keyring.get_keyring(), fail.Keyring | null.Keyring):
        return NO_KEYRING
    return None


def get_key(name: str) -> str | None:
    """The key stored for endpoint `name` (None: none stored)."""
    import keyring
    from keyring.errors import KeyringError

    try:
        return keyring.get_password(KEYRING_SERVICE, name)
    except KeyringError as exc:
        raise KeyringUnavailable(_failure("read the key of", name, exc)) from None


def set_key(name: str, key: str) -> None:
    """Store `key` for endpoint `name`, replacing any stored before."""
    import keyring
    from keyring.errors import KeyringError

    try:
        keyring.set_password(KEYRING_SERVICE, name, key)
    except KeyringError as exc:
        raise KeyringUnavailable(_failure("store the key of", name, exc)) from None


def delete_key(name: str) -> None:
    """Forget the key stored for endpoint `name` (nothing stored: nothing to do)."""
    import keyring
    from keyring.errors import KeyringError, PasswordDeleteError

    try:
        keyring.delete_password(KEYRING_SERVICE, name)
    except PasswordDeleteError:
        return
    except KeyringError as exc:
        raise KeyringUnavailable(_failure("remove the key of", name, exc)) from None


def _failure(what: str, name: str, exc: Exception) -> str:
    reason = NO_KEYRING if keyring_problem() else f"{type(exc).__name__}: {exc}".rstrip(": ")
    return f"Cannot {what} endpoint {name!r} in the system keyring: {reason}"
