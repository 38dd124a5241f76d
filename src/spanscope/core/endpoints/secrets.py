"""API keys in the system keyring (the `keyring` package): service "spanscope", user name the
endpoint's name. Keys never pass through our files; this module is the one place that reads or
writes them, and its errors say what failed without ever holding the key."""

from __future__ import annotations

import keyring
from keyring.backends import fail, null
from keyring.errors import KeyringError, PasswordDeleteError

SERVICE = "spanscope"

NO_KEYRING = (
    "No system keyring is available here (no Secret Service such as GNOME Keyring or KWallet, "
    "macOS Keychain or Windows Credential Manager was found), so a key cannot be kept in it; "
    "name an environment variable that holds the key instead."
)


class KeyringUnavailable(Exception):
    """The keyring could not be used; the message says which endpoint and why, never the key."""


def keyring_problem() -> str | None:
    """Why keys cannot be kept in the system keyring here (None: they can)."""
    if isinstance(keyring.get_keyring(), fail.Keyring | null.Keyring):
        return NO_KEYRING
    return None


def get_key(name: str) -> str | None:
    """The key stored for endpoint `name` (None: none stored)."""
    try:
        return keyring.get_password(SERVICE, name)
    except KeyringError as exc:
        raise KeyringUnavailable(_failure("read the key of", name, exc)) from None


def set_key(name: str, key: str) -> None:
    """Store `key` for endpoint `name`, replacing any stored before."""
    try:
        keyring.set_password(SERVICE, name, key)
    except KeyringError as exc:
        raise KeyringUnavailable(_failure("store the key of", name, exc)) from None


def delete_key(name: str) -> None:
    """Forget the key stored for endpoint `name` (nothing stored: nothing to do)."""
    try:
        keyring.delete_password(SERVICE, name)
    except PasswordDeleteError:
        return
    except KeyringError as exc:
        raise KeyringUnavailable(_failure("remove the key of", name, exc)) from None


def _failure(what: str, name: str, exc: KeyringError) -> str:
    reason = NO_KEYRING if keyring_problem() else f"{type(exc).__name__}: {exc}".rstrip(": ")
    return f"Cannot {what} endpoint {name!r} in the system keyring: {reason}"
