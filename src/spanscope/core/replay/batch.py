"""Replaying traces' model calls with another model: every LLM call's recorded input sent to an
endpoint and model of the user's choice, a few at a time, each trace's replay stored as one new trace
that mirrors it (mirror.py), so Compare models and the trace diff put both models side by side over
the same inputs.

`run(args, state)` is a plain function (progress through `state.report`, stopping when
`state.cancelled`), run by the CLI on its own thread and by the app on a QtWorker. A trace's replay is
stored in one transaction once all its calls answered, so a failure or a cancel never leaves half a
trace: a failed trace is reported (trace, span, why) and replayed again when the same run is run
again, while the traces a run already replayed are skipped (`done_in_run`), so a run stopped by
Ctrl+C continues where it stopped.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from concurrent.futures import CancelledError as FutureCancelled
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from spanscope.core.endpoints.chat import Cancelled, ChatRequest, Completion, EndpointError
from spanscope.core.endpoints.config import Endpoint
from spanscope.core.model import Kind, Span
from spanscope.core.replay.mirror import mirror_trace
from spanscope.core.replay.recorded import RecordedCall, recorded_call
from spanscope.core.search.index import build_index
from spanscope.core.search.query import QuerySyntaxError, parse
from spanscope.core.store import StoreError, connect
from spanscope.core.store.db import Database
from spanscope.core.store.lookups import llm_span_ids
from spanscope.core.store.queries import NotFound, get_trace, iter_spans, resolve_trace_id
from spanscope.core.store.replays import done_in_run, replay_origin, store_spans
from spanscope.core.store.search_index import SearchError, hit_rows, matching_ids

#: Traces chosen, each with the ids of its LLM spans to replay.
Chosen = list[tuple[str, list[str]]]
#: The most model calls a filter may select: past it, narrowing the filter is the better answer.
MAX_FILTERED_CALLS = 100_000
#: Statuses after which no call of the run can succeed (the key refused, no such model or route).
FATAL_STATUSES = frozenset({401, 403, 404})
#: How often the loop looks at `state.cancelled` while calls run.
POLL_S = 0.1


class ReplayError(Exception):
    """The replay cannot start (a bad filter, no such trace, no model call selected); the message
    says what to change."""


class State(Protocol):
    """What `run` is handed: ui/workers.TaskState, or `ReplayState` for the CLI."""

    @property
    def cancelled(self) -> bool: ...

    def report(self, value: object, final: bool = False) -> None: ...


@dataclass
class ReplayState:
    """Progress and cancellation for a run outside the app (the CLI)."""

    on_progress: Callable[[Progress], None] | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event)

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def cancel(self) -> None:
        self.cancel_event.set()

    def report(self, value: object, final: bool = False) -> None:
        if self.on_progress is not None and isinstance(value, Progress):
            self.on_progress(value)


@dataclass(frozen=True)
class ReplayArgs:
    """What to replay and where. `traces` (ids or unique prefixes) and/or `search` (the search
    language; the LLM spans among its matches, within `traces` when both are given) choose the
    calls; `run` names the run (default: derived from the endpoint, model and selection, so running
    the same command again resumes it); `limit` caps the traces replayed this time; `key` overrides
    the endpoint's own key source."""

    store: Path
    endpoint: Endpoint
    model: str
    traces: tuple[str, ...] = ()
    search: str | None = None
    concurrency: int = 4
    run: str | None = None
    limit: int | None = None
    key: str | None = None


@dataclass(frozen=True)
class Progress:
    calls_done: int
    calls_total: int
    traces_stored: int
    traces_failed: int
    traces_total: int


@dataclass(frozen=True)
class Failure:
    """A trace not stored: the call that failed (None: the trace as a whole) and why."""

    trace_id: str
    span_id: str | None
    message: str


@dataclass(frozen=True)
class Note:
    """Where a replayed call differs from the recorded one (what its request could not carry)."""

    trace_id: str
    span_id: str
    text: str


@dataclass(frozen=True)
class Replayed:
    original: str
    replay: str
    calls: int


@dataclass
class Outcome:
    """What a run did. `stopped`: why the run ended early (a key refused, the store failing)."""

    run: str
    model: str
    replayed: list[Replayed] = field(default_factory=list)
    #: Traces this run had replayed before (skipped).
    already: list[str] = field(default_factory=list)
    #: Selected traces that are not replayed: (trace id, why), e.g. a replay itself.
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    #: What the stored replays' requests could not carry of the recorded calls.
    notes: list[Note] = field(default_factory=list)
    calls: int = 0
    #: Traces selected but not started (cancel, a stop, the limit).
    left: int = 0
    cancelled: bool = False
    stopped: str | None = None


@dataclass
class _Trace:
    """One trace to replay: which of its spans, and what came back so far."""

    trace_id: str
    span_ids: list[str]
    spans: list[Span] = field(default_factory=list)
    requests: dict[str, ChatRequest] = field(default_factory=dict)
    answers: dict[str, tuple[ChatRequest, Completion]] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)
    waiting: int = 0
    failed: bool = False
    stored: bool = False


def run_id(endpoint: Endpoint, model: str, selection: str) -> str:
    """A short name for a run, the same for the same endpoint, model and selection."""
    text = "\n".join((endpoint.base_url, model, selection))
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def _by_trace(db: Database, ids: Sequence[str]) -> Chosen:
    traces: dict[str, list[str]] = {}
    for text in ids:
        try:
            trace_id = resolve_trace_id(db, text)
        except NotFound as exc:
            raise ReplayError(str(exc)) from None
        traces.setdefault(trace_id, llm_span_ids(db, trace_id, False, MAX_FILTERED_CALLS))
    return list(traces.items())


def _filtered(db: Database, store: Path, text: str) -> Chosen:
    """The LLM spans the search `text` matches, grouped by trace, best match first."""
    try:
        query = parse(text)
    except QuerySyntaxError as exc:
        raise ReplayError(f"bad filter: {exc}") from None
    kinds = query.filters.get("kind")
    if kinds is not None and Kind.LLM.value not in kinds:
        raise ReplayError(f"the filter selects {', '.join(kinds)} spans only; only LLM calls are replayed")
    query.filters["kind"] = [Kind.LLM.value]
    if query.fts() is not None:
        build_index(store)
    try:
        ids, _count, more = matching_ids(
            db, query.fts(), query.filters, MAX_FILTERED_CALLS, MAX_FILTERED_CALLS
        )
    except (NotFound, SearchError) as exc:
        raise ReplayError(f"bad filter: {exc}") from None
    if more:
        raise ReplayError(
            f"the filter matches more than {MAX_FILTERED_CALLS:,} model calls; narrow it (or use --limit)"
        )
    traces: dict[str, list[str]] = {}
    for hit in hit_rows(db, ids):
        traces.setdefault(hit.trace_id, []).append(hit.span_id)
    return list(traces.items())


def _originals(db: Database, chosen: Chosen) -> tuple[Chosen, list[tuple[str, str]]]:
    """`chosen` less the traces Spanscope made (replays, judges' calls), and those apart, with why."""
    kept, made = [], []
    for trace_id, span_ids in chosen:
        origin = replay_origin(db, trace_id)
        if origin:
            made.append((trace_id, f"it is a {origin[0].purpose} of trace {origin[0].of_trace_id}"))
        else:
            kept.append((trace_id, span_ids))
    return kept, made


def selection(db: Database, args: ReplayArgs) -> tuple[str, Chosen, list[tuple[str, str]]]:
    """The run's selection as text (for its id), the traces with the LLM spans to replay in each (the
    traces' calls, the filter's matches, or with both the matches among those traces), and the chosen
    traces that are replays themselves, with why they are left out. The text leaves the replays out,
    so a selection that has come to hold replays of its own traces is the same run."""
    if args.search is None and not args.traces:
        raise ReplayError("no traces chosen: give trace ids or a filter")
    named, skipped = _originals(db, _by_trace(db, args.traces))
    text = "traces " + ",".join(sorted(t for t, _ in named)) if args.traces else ""
    if args.search is None:
        return text, named, skipped
    matched, made = _originals(db, _filtered(db, args.store, args.search))
    if args.traces:
        within = {t for t, _ in named}
        matched = [(t, spans) for t, spans in matched if t in within]
    else:
        skipped = made
    if not matched and not skipped:
        raise ReplayError("the filter matches no LLM calls" + (" of those traces" if args.traces else ""))
    return f"filter {args.search.strip()} {text}".strip(), matched, skipped


def _plan(db: Database, args: ReplayArgs, outcome: Outcome, chosen: Chosen) -> list[_Trace]:
    """The traces to replay now: those with model calls not replayed in this run yet."""
    done = {trace_id for trace_id, _ in done_in_run(db, outcome.run)}
    todo = []
    for trace_id, span_ids in chosen:
        if not span_ids:
            outcome.skipped.append((trace_id, "it has no LLM calls"))
        elif trace_id in done:
            outcome.already.append(trace_id)
        else:
            todo.append(_Trace(trace_id, span_ids))
    if args.limit is not None and len(todo) > args.limit:
        outcome.left = len(todo) - args.limit
        todo = todo[: args.limit]
    return todo


def _recorded(span: Span, model: str, trace: Sequence[Span]) -> RecordedCall:
    """The call to send for `span`; ValueError, said for a person, when there is none to send."""
    try:
        call = recorded_call(span, model, trace=trace)
    except ValueError as exc:
        raise ValueError(f"its recorded call cannot be sent: {exc}") from None
    if not call.request.messages:
        raise ValueError("no input was recorded for this call: nothing to send")
    return call


def _fatal(error: EndpointError, answered: int) -> bool:
    """No later call can succeed: the key or the model refused, or the endpoint never answered."""
    return error.status in FATAL_STATUSES or (error.status is None and answered == 0)


class _Runner:
    """The loop of one run: loads traces a few ahead of the calls, submits their calls to the pool,
    stores each trace when its last call answered."""

    def __init__(self, args: ReplayArgs, state: State, db: Database, outcome: Outcome, todo: list[_Trace]):
        self.args, self.state, self.db, self.outcome = args, state, db, outcome
        self.todo: Iterator[_Trace] = iter(todo)
        self.total_calls = sum(len(t.span_ids) for t in todo)
        self.traces_total = len(todo)
        from spanscope.core.endpoints.client import ModelClient  # on use: openai takes 0.5 s to import

        self.client = ModelClient(args.endpoint, args.key)
        self.stop = threading.Event()
        self.pending: dict[Future[Completion], tuple[_Trace, str]] = {}
        self.started: list[_Trace] = []
        #: Calls answered, failed or given up.
        self.settled = 0

    def __call__(self) -> None:
        window = 2 * self.args.concurrency
        with ThreadPoolExecutor(self.args.concurrency, thread_name_prefix="replay") as pool:
            try:
                while True:
                    while len(self.pending) < window and not self.stop.is_set():
                        trace = next(self.todo, None)
                        if trace is None:
                            break
                        self._submit(pool, trace)
                    if not self.pending:
                        break
                    finished, _ = wait(self.pending, POLL_S, FIRST_COMPLETED)
                    if self.state.cancelled and not self.stop.is_set():
                        self.outcome.cancelled = True
                        self.stop.set()
                    for future in finished:
                        self._finished(future)
            finally:
                self.stop.set()
                pool.shutdown(wait=True, cancel_futures=True)
        failed = {f.trace_id for f in self.outcome.failures}
        unfinished = [t for t in self.started if not t.stored and t.trace_id not in failed]
        self.outcome.left += len(unfinished) + sum(1 for _ in self.todo)

    def _submit(self, pool: ThreadPoolExecutor, trace: _Trace) -> None:
        self.started.append(trace)
        wanted = set(trace.span_ids)
        trace.spans = list(iter_spans(self.db, trace.trace_id))
        for span in trace.spans:
            if span.span_id not in wanted:
                continue
            try:
                call = _recorded(span, self.args.model, trace.spans)
            except ValueError as exc:
                self.settled += len(trace.span_ids)
                self._fail(trace, span.span_id, str(exc))
                return
            trace.requests[span.span_id] = call.request
            trace.notes += [Note(trace.trace_id, span.span_id, note) for note in call.notes]
        trace.waiting = len(trace.requests)

        def cancelled(trace: _Trace = trace) -> bool:
            return self.stop.is_set() or trace.failed

        for span_id, request in trace.requests.items():
            self.pending[pool.submit(self._complete, request, cancelled)] = (trace, span_id)

    def _complete(self, request: ChatRequest, cancelled: Callable[[], bool]) -> Completion:
        """On a pool thread: the call, unless its trace failed or the run stopped while it waited."""
        if cancelled():
            raise Cancelled()
        return self.client.complete(request, stream=True, cancelled=cancelled)

    def _finished(self, future: Future[Completion]) -> None:
        trace, span_id = self.pending.pop(future)
        trace.waiting -= 1
        self.settled += 1
        try:
            completion = future.result()
        except (Cancelled, FutureCancelled):
            self._report()
            return
        except EndpointError as exc:
            if _fatal(exc, self.outcome.calls):
                # Said once, as why the run stopped; its trace is left for the next run like the rest.
                trace.failed = True
                self.outcome.stopped = self.outcome.stopped or str(exc)
                self.stop.set()
            elif not trace.failed:
                self._fail(trace, span_id, str(exc))
            self._report()
            return
        self.outcome.calls += 1
        trace.answers[span_id] = (trace.requests[span_id], completion)
        if trace.waiting == 0 and not trace.failed:
            self._store(trace)
        self._report()

    def _fail(self, trace: _Trace, span_id: str | None, message: str) -> None:
        trace.failed = True
        self.outcome.failures.append(Failure(trace.trace_id, span_id, message))
        self._report()

    def _store(self, trace: _Trace) -> None:
        spans = mirror_trace(trace.spans, trace.answers, endpoint=self.args.endpoint, run=self.outcome.run)
        try:
            store_spans(self.args.store, spans, f"replay {self.outcome.run} ({self.args.model})")
        except StoreError as exc:
            self._fail(trace, None, f"the replay could not be stored: {exc}")
            self.outcome.stopped = str(exc)
            self.stop.set()
            return
        trace.stored = True
        self.outcome.notes += trace.notes
        self.outcome.replayed.append(Replayed(trace.trace_id, spans[0].trace_id, len(trace.span_ids)))
        trace.spans, trace.requests, trace.answers = [], {}, {}

    def _report(self, final: bool = False) -> None:
        """Progress so far; `final`: the last word, which a throttled reporter must not drop."""
        self.state.report(
            Progress(
                self.settled,
                self.total_calls,
                len(self.outcome.replayed),
                len(self.outcome.failures),
                self.traces_total,
            ),
            final,
        )


def run(args: ReplayArgs, state: State) -> Outcome:
    """Replay the chosen traces' calls (see the module's docstring); ReplayError when nothing can
    start. Endpoint failures never raise: they are the outcome's failures (and `stopped`)."""
    if args.concurrency < 1:
        raise ReplayError("the concurrency must be at least 1")
    db = connect(args.store, readonly=True)
    try:
        text, chosen, skipped = selection(db, args)
        outcome = Outcome(args.run or run_id(args.endpoint, args.model, text), args.model, skipped=skipped)
        todo = _plan(db, args, outcome, chosen)
        runner = _Runner(args, state, db, outcome, todo)
        runner._report()
        runner()
        runner._report(final=True)
        return outcome
    finally:
        db.conn.close()


@dataclass(frozen=True)
class Totals:
    """One side of the replayed traces, as their roll-ups say."""

    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    computed: bool
    unknown: bool
    #: The models called, sorted.
    models: tuple[str, ...]


def totals(db: Database, trace_ids: Sequence[str]) -> Totals:
    """Tokens and cost of `trace_ids` summed (cost None when no trace has a known cost)."""
    rows = [row for row in (get_trace(db, t) for t in trace_ids) if row is not None]
    costs = [r.cost_usd for r in rows if r.cost_usd is not None]
    return Totals(
        sum(r.input_tokens or 0 for r in rows),
        sum(r.output_tokens or 0 for r in rows),
        sum(costs) if costs else None,
        any(r.cost_computed for r in rows),
        any(r.cost_unknown for r in rows) or len(costs) < len(rows),
        tuple(sorted({m for r in rows for m in r.models})),
    )
