"""Calls to a trace server's JSON query API (Tempo, Jaeger, Langfuse, MLflow), each failure one RemoteError
line that names the server and says what to do.

A 429 (and a 503 that says when to come back) is waited out as its Retry-After asks and tried
again, a few times, so a rate-limited Langfuse is read slowly rather than not at all; a wait longer
than `max_wait_s` is not made: the error carries `retry_after_s` for the caller instead. A client
whose server sits behind proxies may also name statuses to retry (502-504) with growing pauses.
Credentials go only into the request's Authorization header, never into a message: `scrubbed` takes
them out of any text the server or the network library gives back.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Collection, Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import orjson

from spanscope.core.remote.base import RemoteError, ServerURL

#: Query parameters: a list value repeats the parameter (Langfuse's `tags`).
Params = Mapping[str, str | int | list[str] | None]


class JsonAPI:
    """One server's API: `title` names it in messages ("Jaeger at host:16686"), `credential_hint`
    says what to set when the server refuses us (401/403)."""

    def __init__(
        self,
        url: ServerURL,
        title: str,
        *,
        auth: httpx.Auth | tuple[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        credential_hint: str,
        timeout_s: float = 30.0,
        retries: int = 4,
        max_wait_s: float = 60.0,
        retry_statuses: Collection[int] = (),
    ) -> None:
        self.url = url
        self.name = f"{title} at {url.host}"
        self._credential_hint = credential_hint
        self._timeout_s = timeout_s
        self._retries = retries
        self._max_wait_s = max_wait_s
        self._retry_statuses = frozenset(retry_statuses)
        self._sends_credentials = auth is not None or "Authorization" in (headers or {})
        self._secrets = _secrets(auth, headers)
        self._client = httpx.Client(
            base_url=url.base_url,
            auth=auth,
            headers={"Accept": "application/json", **(headers or {})},
            timeout=timeout_s,
            follow_redirects=True,
        )

    def get(self, path: str, params: Params | None = None, *, what: str, missing: str | None = None) -> Any:
        """The decoded JSON answer of GET `path`. `what` names the call in messages ("the trace
        list"); `missing`, when given, is the message of a 404 (a trace the server does not have)."""
        return self._decoded(self.get_response(path, params, what=what, missing=missing), what)

    def get_bytes(
        self, path: str, params: Params | None = None, *, what: str, missing: str | None = None
    ) -> bytes:
        """The answer's body as sent, for a format reader that decodes it itself."""
        return self.get_response(path, params, what=what, missing=missing).content

    def post(self, path: str, body: Any, *, what: str, missing: str | None = None) -> Any:
        """The decoded JSON answer of POST `path` with `body` as JSON (MLflow's searches)."""
        return self._decoded(self.get_response(path, None, what=what, missing=missing, body=body), what)

    def get_response(
        self,
        path: str,
        params: Params | None = None,
        *,
        what: str,
        missing: str | None = None,
        body: Any = None,
    ) -> httpx.Response:
        """A successful answer to GET `path` (POST with `body` when given), after waiting out what a
        429 asked for."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        for attempt in range(self._retries + 1):
            response = self._send(path, query, what, body)
            status = response.status_code
            if status < 400:
                return response
            wait = _retry_after(response.headers.get("Retry-After"))
            waits = status == 429 or status in self._retry_statuses or (status == 503 and wait is not None)
            if waits and attempt < self._retries and (wait or 1.0) <= self._max_wait_s:
                time.sleep(wait if wait is not None else 2.0**attempt)
                continue
            raise self._failure(response, what, missing, wait)
        raise AssertionError("unreachable: the loop returns or raises")

    def _send(self, path: str, query: Mapping[str, Any], what: str, body: Any = None) -> httpx.Response:
        try:
            if body is not None:
                return self._client.post(path, params=query, json=body)
            return self._client.get(path, params=query)
        except httpx.TimeoutException as exc:
            raise RemoteError(
                f"{self.name}: {what} did not answer within {self._timeout_s:g} s; try again later",
                retryable=True,
            ) from exc
        except httpx.TransportError as exc:
            raise RemoteError(
                self.scrubbed(
                    f"{self.name} is unreachable ({exc.__class__.__name__}: {exc}); is the server running "
                    f"at {self.url.base_url}?"
                ),
                retryable=True,
            ) from exc

    def scrubbed(self, text: str) -> str:
        """`text` with the credentials we send replaced by ***."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _decoded(self, response: httpx.Response, what: str) -> Any:
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise RemoteError(
                f"{self.name}: {what} is not JSON (HTTP {response.status_code}, "
                f"{response.headers.get('Content-Type') or 'no content type'}); is {self.url.base_url} "
                "the server's API?"
            ) from exc

    def _failure(
        self, response: httpx.Response, what: str, missing: str | None, wait: float | None
    ) -> RemoteError:
        status = response.status_code
        said = self.scrubbed(_said(response))
        if status in (401, 403):
            if not self._sends_credentials:
                refused = "asks for credentials"
            else:
                refused = "refused our credentials" if status == 401 else "denied access"
            return RemoteError(
                f"{self.name} {refused} for {what} (HTTP {status}{said}): {self._credential_hint}",
                status=status,
            )
        if status == 404:
            text = missing or f"{what} not found at {response.url.path} — is this the right server and path?"
            return RemoteError(f"{self.name}: {text} (HTTP 404{said})", status=404)
        if status == 429:
            after = f"; it asks to wait {wait:g} s" if wait is not None else ""
            return RemoteError(
                f"{self.name} is rate-limiting {what} (HTTP 429{said}){after}; try again later",
                status=429,
                retryable=True,
                retry_after_s=wait,
            )
        if status >= 500:
            return RemoteError(
                f"{self.name} failed on {what} (HTTP {status}{said}); try again later",
                status=status,
                retryable=True,
                retry_after_s=wait,
            )
        return RemoteError(f"{self.name} rejected {what} (HTTP {status}{said})", status=status)


def logfmt_pairs(text: str, what: str) -> dict[str, str]:
    """`key=value key2="a b"` (logfmt, as Jaeger's and Tempo's tag searches take it) as a dict;
    RemoteError naming `what` ("Jaeger filter") when a pair is not key=value."""
    try:
        pairs = shlex.split(text)
    except ValueError as exc:
        raise RemoteError(f"{what} {text!r}: {exc}") from exc
    found: dict[str, str] = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals or not key:
            raise RemoteError(f"{what} {pair!r} is not key=value (e.g. error=true http.method=GET)")
        found[key] = value
    return found


def _secrets(auth: httpx.Auth | tuple[str, str] | None, headers: Mapping[str, str] | None) -> list[str]:
    """What must never be shown: a basic-auth password, an Authorization header's token."""
    found = [auth[1]] if isinstance(auth, tuple) else []
    value = (headers or {}).get("Authorization") or ""
    found.append(value.partition(" ")[2] or value)
    return sorted({s for s in found if s}, key=len, reverse=True)


def _said(response: httpx.Response) -> str:
    """What the server said about an error, shortened to one line: ": message"."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        text = response.text
    else:
        text = _message(body)
    text = " ".join(text.split())
    return f": {text[:200]}" if text else ""


def _message(body: Any) -> str:
    """The message of a JSON error body: Langfuse's {message}, Jaeger's {errors: [{msg}]}, Phoenix's
    (FastAPI's) {detail}."""
    if isinstance(body, dict):
        for key in ("message", "detail", "error", "msg"):
            if isinstance(body.get(key), str):
                return body[key]
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return str(errors[0].get("msg") or errors[0].get("message") or "")
    return ""


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds: a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None
