"""What the browser says when a server call fails: one plain-text banner naming the server, what
failed and why (the client's RemoteError, which never carries a credential and says what to do:
wait, check the address, set a variable), then where Spanscope looks for credentials when the server
refused them."""

from __future__ import annotations

from spanscope.core.remote.base import RemoteError, ServerURL
from spanscope.core.remote.registry import keyring_user, server_specs


def credential_note(url: ServerURL) -> str:
    """Where the kind's credentials are read from: its environment variables, else the keyring."""
    names = server_specs()[url.kind].credential_env
    if not names:
        return "Spanscope sends no credentials to this kind of server: check the server's access rules."
    variable = names[0] if len(names) == 1 else "VARIABLE"
    return (
        f"Spanscope reads {' and '.join(names)} from the environment it was started in, else from the system "
        f"keyring (service spanscope, user {keyring_user(url)}:{variable}); set it, then Connect again."
    )


def banner(what: str, url: ServerURL | None, exc: RemoteError) -> str:
    """`what` failed on the server at `url`: the error's line, and for a refusal the credential note."""
    where = url.text if url is not None else "the server"
    lines = [f"{what} on {where} failed:", str(exc)]
    if exc.status in (401, 403) and url is not None:
        lines.append(credential_note(url))
    return "\n".join(lines)
