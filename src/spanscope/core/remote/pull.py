"""Pulling a server's traces into a store for offline use: the server's list read page by page with
its own filters (or the traces named), each trace not yet in the store fetched whole, a few at a time,
and stored whole in one transaction of its own.

`run(args, state)` is a plain function (progress through `state.report`, stopping when
`state.cancelled`), run by the CLI on its own thread and by the app on a QtWorker. Fetches run on
daemon threads and only this function's thread writes the store, one trace per transaction, so a
stop — Ctrl+C, a failed list page, credentials refused — leaves every trace stored so far whole and
none in part; running the same pull again skips what is stored and fetches the rest. A failed trace
is one line (`Failure`) and the pull goes on.
"""

from __future__ import annotations

import queue
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Protocol

from spanscope.core.endpoints.chat import Cancelled
from spanscope.core.remote.base import FetchedTrace, RemoteClient, RemoteError, TraceQuery
from spanscope.core.remote.cache import CacheStore
from spanscope.core.store.db import StoreError, connect

#: Statuses after which no fetch of the run can succeed: credentials refused.
FATAL_STATUSES = frozenset({401, 403})
#: How often the run looks at `state.cancelled` while fetches run.
POLL_S = 0.1
#: Traces listed per page of the server's list.
PAGE_SIZE = 100
_AGE = re.compile(r"(\d+)\s*([smhdw])")
_AGE_NS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


class State(Protocol):
    """What `run` is handed: ui/workers.TaskState, or `PullState` for the CLI."""

    @property
    def cancelled(self) -> bool: ...

    def report(self, value: object, final: bool = False) -> None: ...


@dataclass
class PullState:
    """Progress and cancellation for a pull outside the app (the CLI)."""

    on_progress: Callable[[PullProgress], None] | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event)

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def cancel(self) -> None:
        self.cancel_event.set()

    def report(self, value: object, final: bool = False) -> None:
        if self.on_progress is not None and isinstance(value, PullProgress):
            self.on_progress(value)


def since_ns(text: str, now_ns: int | None = None) -> int:
    """The time `--since` names: an age (30m, 12h, 2d, 1w) before now, or an ISO date or time (UTC
    unless it says otherwise); ValueError saying how to write it."""
    match = _AGE.fullmatch(text.strip())
    if match:
        now_ns = time.time_ns() if now_ns is None else now_ns
        return now_ns - int(match.group(1)) * _AGE_NS[match.group(2)] * 10**9
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"--since {text!r}: write an age (30m, 12h, 2d, 1w) or a date (2026-12-01)"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp()) * 10**9 + when.microsecond * 1000


@dataclass(frozen=True)
class PullArgs:
    """What to pull and where: the traces `query` lists on the server (its project, time and filter),
    or exactly `trace_ids` when given; `limit` caps the traces fetched this time."""

    client: RemoteClient
    store: CacheStore
    query: TraceQuery = field(default_factory=lambda: TraceQuery(page_size=PAGE_SIZE))
    trace_ids: tuple[str, ...] = ()
    concurrency: int = 4
    limit: int | None = None


@dataclass(frozen=True)
class PullProgress:
    listed: int
    already: int
    fetched: int
    failed: int
    spans: int


@dataclass(frozen=True)
class Failure:
    trace_id: str
    message: str


@dataclass
class PullOutcome:
    """What a pull did: traces `fetched` (stored whole), `already` in the store, `failures` (not
    stored), records changed or left out (`problems`: trace, where, why), traces the cache evicted,
    the spans stored, and why it stopped early (None: it did not)."""

    fetched: list[str] = field(default_factory=list)
    already: int = 0
    listed: int = 0
    failures: list[Failure] = field(default_factory=list)
    problems: list[tuple[str, str, str]] = field(default_factory=list)
    evicted: list[str] = field(default_factory=list)
    spans: int = 0
    stopped: str | None = None

    def progress(self) -> PullProgress:
        return PullProgress(self.listed, self.already, len(self.fetched), len(self.failures), self.spans)


class _Fetchers:
    """Daemon threads fetching the trace ids put in `work`, each answer (id, FetchedTrace or the
    exception) put in `done`. Daemons: a stopped pull returns at once, not after the requests."""

    def __init__(self, client: RemoteClient, count: int, cancelled: Callable[[], bool]) -> None:
        self.work: queue.Queue[str | None] = queue.Queue()
        self.done: queue.Queue[tuple[str, FetchedTrace | BaseException]] = queue.Queue()
        self.client, self.cancelled = client, cancelled
        for _ in range(count):
            threading.Thread(target=self._loop, daemon=True, name="spanscope-pull").start()
        self.count = count

    def _loop(self) -> None:
        while (trace_id := self.work.get()) is not None:
            try:
                self.done.put((trace_id, self.client.fetch_trace(trace_id, self._progress)))
            except BaseException as exc:  # every failure is the trace's, reported by the run
                self.done.put((trace_id, exc))

    def _progress(self, what: str, done: int, total: int | None) -> None:
        if self.cancelled():
            raise Cancelled("the pull was stopped")

    def stop(self) -> None:
        for _ in range(self.count):
            self.work.put(None)


def _candidates(args: PullArgs, outcome: PullOutcome) -> Iterator[str]:
    """The trace ids to fetch, in the server's order, read a page at a time: those not in the store."""
    if args.trace_ids:
        ids = list(dict.fromkeys(args.trace_ids))
        outcome.listed = len(ids)
        local = args.store.local(ids)
        outcome.already = len(local)
        yield from (trace_id for trace_id in ids if trace_id not in local)
        return
    seen: set[str] = set()
    cursor: str | None = None
    while True:
        page = args.client.list_traces(replace(args.query, cursor=cursor))
        ids = [t.trace_id for t in page.traces if t.trace_id not in seen]
        seen.update(ids)
        outcome.listed += len(ids)
        local = args.store.local(ids)
        outcome.already += len(local)
        yield from (trace_id for trace_id in ids if trace_id not in local)
        if page.next_cursor is None or page.next_cursor == cursor:
            return
        cursor = page.next_cursor


def run(args: PullArgs, state: State) -> PullOutcome:
    """Pull what `args` names into its store; RemoteError only when the server's first list page
    fails (nothing was pulled); a later failure stops the pull with `stopped` saying why."""
    outcome = PullOutcome()
    candidates = _candidates(args, outcome)
    # Held open for the run, so each trace's own connection closes without checkpointing the WAL
    # into the store (~30 ms a trace); SQLite still checkpoints as the WAL grows.
    held = connect(args.store.path)
    fetchers = _Fetchers(args.client, max(1, args.concurrency), lambda: state.cancelled)
    in_flight, started, listing = 0, 0, True
    try:
        while True:
            if state.cancelled:
                outcome.stopped = "stopped by the user"
                break
            while listing and in_flight < args.concurrency and (args.limit is None or started < args.limit):
                try:
                    trace_id = next(candidates)
                except StopIteration:
                    listing = False
                    break
                except RemoteError as exc:
                    if not outcome.listed:
                        raise
                    outcome.stopped = f"listing the traces failed: {exc}"
                    listing = False
                    break
                fetchers.work.put(trace_id)
                in_flight += 1
                started += 1
            if in_flight == 0:
                break
            try:
                trace_id, answer = fetchers.done.get(timeout=POLL_S)
            except queue.Empty:
                continue
            in_flight -= 1
            if state.cancelled:
                continue  # a trace fetched after the stop is not stored
            _store(args, outcome, trace_id, answer)
            state.report(outcome.progress())
            if outcome.failures and outcome.stopped is None and _fatal(answer):
                outcome.stopped = outcome.failures[-1].message
                listing = False
    finally:
        fetchers.stop()
        held.conn.close()
    if args.store.limit_bytes is not None and outcome.fetched:
        outcome.evicted = args.store.evict(keep=set(outcome.fetched))
    state.report(outcome.progress(), final=True)
    return outcome


def _fatal(answer: FetchedTrace | BaseException) -> bool:
    return isinstance(answer, RemoteError) and answer.status in FATAL_STATUSES


def _store(args: PullArgs, outcome: PullOutcome, trace_id: str, answer: FetchedTrace | BaseException) -> None:
    """Store one fetched trace whole, or record why it is not stored."""
    if isinstance(answer, BaseException):
        if not isinstance(answer, RemoteError | Cancelled):
            raise answer  # a bug, not the server's answer
        outcome.failures.append(Failure(trace_id, str(answer)))
        return
    try:
        stored = args.store.store(trace_id, answer.records)
    except StoreError as exc:
        outcome.failures.append(Failure(trace_id, str(exc)))
        return
    outcome.fetched.append(trace_id)
    outcome.spans += stored.spans
    outcome.problems += [(trace_id, where, why) for where, why in (*answer.problems, *stored.problems)]
