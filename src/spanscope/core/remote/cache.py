"""The local cache of a server's traces: a normal Spanscope store per server (so a fetched trace is
stepped, searched, diffed and charted like any other), which the trace list marks as local.

A trace is fetched whole the first time it is opened (or again when asked to refresh: a running trace
is polled so) and stored in one transaction — all of it or, when a page fails or the store refuses it,
nothing. The cache then evicts the least recently opened traces (never the one just opened) until it
is under its size limit, which the user sets in `remote.json` in the config folder (`spanscope pull
--cache-limit 500MB`, or the app).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import platformdirs

from spanscope.core.endpoints.chat import Cancelled
from spanscope.core.remote.base import FetchProgress, RemoteClient, ServerURL
from spanscope.core.search.texts import span_texts
from spanscope.core.store import connect
from spanscope.core.store.db import APP_NAME, Database
from spanscope.core.store.remote_cache import (
    RemoteTraceRow,
    StoredTrace,
    cache_size,
    evict,
    mark_opened,
    remote_traces,
    running_spans,
    store_fetched,
    stored_ids,
)
from spanscope.core.user_files import config_dir, write_json

__all__ = [
    "CacheConfigError",
    "CacheStore",
    "Cancelled",
    "OpenedTrace",
    "cache_path",
    "open_cached_trace",
    "parse_size",
    "read_cache_limit",
    "write_cache_limit",
]

T = TypeVar("T")

#: The settings file of remote sources, in the config folder beside the price overrides.
CONFIG_FILE = "remote.json"
DEFAULT_LIMIT_BYTES = 2 * 10**9
_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
_UNITS |= {"KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*")


class CacheConfigError(ValueError):
    """A cache size that cannot be used, or a remote.json that cannot be read; says which and why."""


def parse_size(text: str) -> int:
    """Bytes from "500MB", "2GB", "1.5 GiB" or a plain number of bytes."""
    match = _SIZE.fullmatch(text)
    unit = match.group(2).upper() if match else ""
    if not match or unit not in _UNITS:
        raise CacheConfigError(f"{text!r} is not a size: write it as 500MB, 2GB or 1.5GiB")
    size = int(float(match.group(1)) * _UNITS[unit])
    if size <= 0:
        raise CacheConfigError(f"{text!r}: the cache size limit must be more than nothing")
    return size


def read_cache_limit(folder: Path | None = None) -> int:
    """The cache size limit in bytes from remote.json in `folder` (the config folder); 2 GB if unset."""
    path = (folder or config_dir()) / CONFIG_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return DEFAULT_LIMIT_BYTES
    except (OSError, ValueError) as exc:
        raise CacheConfigError(f"{path}: cannot be read: {exc}") from exc
    limit = data.get("cache_limit_bytes") if isinstance(data, dict) else None
    if limit is None:
        return DEFAULT_LIMIT_BYTES
    if not isinstance(limit, int) or isinstance(limit, bool) or limit <= 0:
        raise CacheConfigError(f"{path}: cache_limit_bytes must be a positive number of bytes, not {limit!r}")
    return limit


def write_cache_limit(limit_bytes: int, folder: Path | None = None) -> Path:
    """Save the cache size limit in remote.json atomically, keeping the file's other settings."""
    if limit_bytes <= 0:
        raise CacheConfigError("the cache size limit must be more than nothing")
    folder = folder or config_dir()
    path = folder / CONFIG_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        data = data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        data = {}
    data["cache_limit_bytes"] = int(limit_bytes)
    return write_json(path, data)


def cache_path(url: ServerURL, folder: Path | None = None) -> Path:
    """The cache store of a server: KIND+HOST_PORT.db under the user's cache folder."""
    folder = folder or Path(platformdirs.user_cache_dir(APP_NAME)) / "remote"
    name = re.sub(r"[^A-Za-z0-9.+-]", "_", f"{url.kind}+{url.host}")
    return folder / f"{name}.db"


@dataclass
class CacheStore:
    """A store that holds a server's fetched traces. `limit_bytes` None: nothing is ever evicted (a
    store of the user's own that `pull --db` fills)."""

    path: Path
    server: ServerURL
    limit_bytes: int | None = None

    @classmethod
    def for_server(cls, url: ServerURL) -> CacheStore:
        """The server's own cache store, with the configured size limit."""
        return cls(cache_path(url), url, read_cache_limit())

    def _read(self, read: Callable[[Database], T], empty: T) -> T:
        if not self.path.exists():
            return empty
        db = connect(self.path, readonly=True)
        try:
            return read(db)
        finally:
            db.conn.close()

    def has(self, trace_id: str) -> bool:
        return bool(self.local([trace_id]))

    def local(self, trace_ids: Iterable[str]) -> set[str]:
        """Which of `trace_ids` the store holds."""
        ids = list(trace_ids)
        return self._read(lambda db: stored_ids(db, ids), set())

    def size(self) -> int:
        """The bytes its fetched traces take."""
        return self._read(cache_size, 0)

    def traces(self) -> list[RemoteTraceRow]:
        """Its fetched traces, most recently opened first."""
        return self._read(remote_traces, [])

    def running(self, trace_id: str) -> bool:
        """Whether a span of the stored trace has not ended (the trace is worth polling)."""
        return self._read(lambda db: running_spans(db, trace_id) > 0, False)

    def store(self, trace_id: str, records: list) -> StoredTrace:
        """Store a fetched trace whole, replacing the copy held (one transaction)."""
        return store_fetched(self.path, self.server.text, trace_id, records, span_texts)

    def opened(self, trace_id: str) -> None:
        mark_opened(self.path, trace_id)

    def evict(self, keep: Collection[str] = ()) -> list[str]:
        """Delete least recently opened traces (not those in `keep`) until under the limit."""
        if self.limit_bytes is None or not self.path.exists():
            return []
        return evict(self.path, self.limit_bytes, keep, span_texts)


@dataclass(frozen=True)
class OpenedTrace:
    """A trace made local: `fetched` False when the cached copy was used; `running` when a span of it
    has not ended (refresh to poll it); `problems` the records the fetch or store changed or left out;
    `evicted` the traces the cache let go to stay under its limit."""

    trace_id: str
    fetched: bool
    running: bool
    problems: list[tuple[str, str]] = field(default_factory=list)
    evicted: list[str] = field(default_factory=list)


def open_cached_trace(
    client: RemoteClient,
    trace_id: str,
    store: CacheStore,
    progress: FetchProgress | None = None,
    refresh: bool = False,
    cancelled: Callable[[], bool] | None = None,
) -> OpenedTrace:
    """Make a server's trace local: the cached copy if there is one (unless `refresh`), else fetched
    whole and stored whole. RemoteError when the server fails (nothing stored), StoreError when the
    store does, Cancelled when `cancelled` says so between pages (nothing stored)."""
    if not refresh and store.has(trace_id):
        store.opened(trace_id)
        return OpenedTrace(trace_id, fetched=False, running=store.running(trace_id))

    def report(what: str, done: int, total: int | None) -> None:
        if cancelled is not None and cancelled():
            raise Cancelled(f"fetching trace {trace_id} was stopped")
        if progress is not None:
            progress(what, done, total)

    fetched = client.fetch_trace(trace_id, report)
    if cancelled is not None and cancelled():
        raise Cancelled(f"fetching trace {trace_id} was stopped")
    stored = store.store(trace_id, fetched.records)
    evicted = store.evict(keep={trace_id})
    return OpenedTrace(trace_id, True, stored.running, [*fetched.problems, *stored.problems], evicted)
