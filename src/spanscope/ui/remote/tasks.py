"""The browser's work off the GUI thread, as plain functions for ui/workers.py: connect to a server
(make its client, list its projects), list a page of traces, fetch a trace into the cache store.

Each returns what happened, a server's failure included, as plain data: a RemoteError is the normal
answer of a server that is down or refuses us, not a worker crash, so it becomes the banner's text.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from spanscope.core.presentation.content import human_bytes
from spanscope.core.remote.base import RemoteClient, RemoteError, RemoteTrace, ServerURL, TraceQuery
from spanscope.core.remote.cache import CacheConfigError, CacheStore, Cancelled, open_cached_trace
from spanscope.core.remote.registry import client_for, parse_server_url
from spanscope.core.store import connect
from spanscope.core.store.db import StoreError
from spanscope.core.store.queries import trace_span_count
from spanscope.core.store.schema import SchemaError
from spanscope.ui.remote.messages import banner
from spanscope.ui.workers import Task, TaskState


@dataclass(frozen=True)
class CacheState:
    """A server's cache store: how many traces it holds and their size, its limit, and the traces
    just let go to stay under it."""

    path: Path
    traces: int
    size_bytes: int
    limit_bytes: int | None
    evicted: tuple[str, ...] = ()

    def text(self) -> str:
        limit = "" if self.limit_bytes is None else f" of {human_bytes(self.limit_bytes)}"
        noun = "trace" if self.traces == 1 else "traces"
        return f"Cache: {self.traces:,} {noun}, {human_bytes(self.size_bytes)}{limit}"


def cache_state(cache: CacheStore, evicted: Iterable[str] = ()) -> CacheState:
    return CacheState(cache.path, len(cache.traces()), cache.size(), cache.limit_bytes, tuple(evicted))


def shrink(cache: CacheStore, keep: Collection[str]) -> Task:
    """Evict the least recently opened traces (never `keep`) until the cache is under its limit."""

    def task(_state: TaskState) -> CacheState:
        return cache_state(cache, cache.evict(keep))

    return task


@dataclass(frozen=True)
class Connected:
    """A server's client and projects, or why there is none (`error`: the banner's text)."""

    url: ServerURL | None
    client: RemoteClient | None = None
    cache: CacheStore | None = None
    cache_state: CacheState | None = None
    projects: list[str] = field(default_factory=list)
    error: str | None = None


def connect_server(text: str) -> Task:
    """The client of the server `text` names, its cache store and its projects."""

    def task(_state: TaskState) -> Connected:
        url = None
        try:
            url = parse_server_url(text.strip())
            client = client_for(url)
            projects = client.projects()
        except RemoteError as exc:
            return Connected(url, error=banner("Listing the projects", url, exc))
        try:
            cache = CacheStore.for_server(url)
            state = cache_state(cache)
        except CacheConfigError as exc:
            return Connected(url, error=f"The cache settings cannot be used: {exc}")
        except (StoreError, SchemaError) as exc:
            return Connected(url, error=f"The server's cache store cannot be read: {exc}")
        return Connected(url, client, cache, state, projects)

    return task


@dataclass(frozen=True)
class Listed:
    """A page of the list `query` asked for, which of its traces the cache holds, or the error."""

    query: TraceQuery
    traces: list[RemoteTrace] = field(default_factory=list)
    next_cursor: str | None = None
    cached: frozenset[str] = frozenset()
    error: str | None = None


def list_page(client: RemoteClient, query: TraceQuery, cache: CacheStore) -> Task:
    """A page of the server's list, with which of its traces the cache store holds."""

    def task(state: TaskState) -> Listed | None:
        if state.cancelled:
            return None
        try:
            page = client.list_traces(query)
        except RemoteError as exc:
            return Listed(query, error=banner("Listing traces", client.url, exc))
        try:
            local = frozenset(cache.local(t.trace_id for t in page.traces))
        except (StoreError, SchemaError):  # an unreadable cache store holds nothing usable
            local = frozenset()
        return Listed(query, page.traces, page.next_cursor, local)

    return task


@dataclass(frozen=True)
class FetchStep:
    """Progress of a fetch: what is being fetched, how many done, how many in all (None: unknown)."""

    trace_id: str
    what: str
    done: int
    total: int | None


@dataclass(frozen=True)
class Fetched:
    """A trace fetched into (or found in) the cache store, or why not (`error`, the banner's text;
    `lasting`: waiting will not mend it, as a missing trace or a refusal)."""

    trace_id: str
    store: Path
    spans: int = 0
    running: bool = False
    fetched: bool = False
    problems: tuple[tuple[str, str], ...] = ()
    cache: CacheState | None = None
    error: str | None = None
    lasting: bool = False


def fetch(client: RemoteClient, trace_id: str, cache: CacheStore, refresh: bool = False) -> Task:
    """The trace in the cache store: fetched whole when it is not there yet (or `refresh`), else the
    cached copy, noted as opened. A cancelled fetch stores nothing and returns None."""

    def task(state: TaskState) -> Fetched | None:
        def progress(what: str, done: int, total: int | None) -> None:
            state.report(FetchStep(trace_id, what, done, total))

        if state.cancelled:
            return None
        try:
            opened = open_cached_trace(
                client, trace_id, cache, progress, refresh=refresh, cancelled=lambda: state.cancelled
            )
        except Cancelled:
            return None
        except RemoteError as exc:
            what = f"{'Refetching' if refresh else 'Fetching'} trace {trace_id}"
            error = banner(what, client.url, exc)
            return Fetched(trace_id, cache.path, error=error, lasting=not exc.retryable)
        except (StoreError, SchemaError) as exc:
            error = f"Storing trace {trace_id} in the cache store failed:\n{exc}"
            return Fetched(trace_id, cache.path, error=error, lasting=True)
        db = connect(cache.path, readonly=True)
        try:
            spans = trace_span_count(db, trace_id)
        finally:
            db.conn.close()
        return Fetched(
            trace_id,
            cache.path,
            spans,
            opened.running,
            opened.fetched,
            tuple(opened.problems),
            cache_state(cache, opened.evicted),
        )

    return task
