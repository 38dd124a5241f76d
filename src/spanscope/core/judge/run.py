"""A judge run: each selected span read, sent to the judge model `concurrency` at a time, its reply
read as a verdict, and the judgement stored — the judge's call as a trace linked to the judged span,
and the score of the judged span — in one transaction each, so no score is ever without its call or
a call without its score.

`run(args, state)` is a plain function in the Orange3 style (ui/workers.py runs it on a QtWorker, the
CLI on its own thread): `state.report` gets a `Progress` after each span, `state.cancelled` stops
it; the calls under way are cancelled and what was stored before stays. A span's failure (an
endpoint error, a reply with no verdict, nothing to judge) is that span's problem; an endpoint that
refuses the key or the model (401, 403, 404) stops the run, as every other call would fail alike.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from statistics import fmean
from typing import Protocol

from spanscope.core.endpoints.chat import Cancelled, ChatRequest, Completion, EndpointError
from spanscope.core.endpoints.client import ModelClient
from spanscope.core.endpoints.config import Endpoint
from spanscope.core.evaluation.reference_metrics import Reference, source_reference
from spanscope.core.judge.answer import UnreadableAnswer, Verdict, read_answer
from spanscope.core.judge.evaluator import Evaluator
from spanscope.core.judge.prompt import judge_request
from spanscope.core.model import Score, ScoreFor, Span
from spanscope.core.replay.spans import call_span, new_trace_id
from spanscope.core.store import StoreError, connect
from spanscope.core.store.db import Database
from spanscope.core.store.queries import NotFound, get_span
from spanscope.core.store.replays import replay_origin, store_spans

PURPOSE = "judge"
#: Statuses that no other span would fare better with: the run stops at the first.
_FATAL = (401, 403, 404)


class RunState(Protocol):
    """What `run` is handed (ui/workers.TaskState, or the CLI's own)."""

    @property
    def cancelled(self) -> bool: ...

    def report(self, value: object, final: bool = False) -> None: ...


@dataclass
class JudgeArgs:
    store: Path
    evaluator: Evaluator
    endpoint: Endpoint
    model: str
    #: (trace id, span id) of each span to judge, in the order wanted.
    targets: list[tuple[str, str]]
    concurrency: int = 4
    #: The span's reference answer (the source's by default; the app adds an attached file's).
    reference: Callable[[Span], Reference | None] = source_reference
    #: None: the endpoint's own key (its environment variable or keyring entry).
    api_key: str | None = None


@dataclass(frozen=True)
class Judgement:
    """One span's outcome: its score and the judge trace that gave it, or the problem."""

    trace_id: str
    span_id: str
    span_name: str
    score: Score | None = None
    judge_trace_id: str | None = None
    problem: str | None = None


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    failed: int


@dataclass
class JudgeRun:
    evaluator: Evaluator
    model: str
    #: In the order of the targets.
    judgements: list[Judgement] = field(default_factory=list)
    #: Stopped by the user before every span was judged.
    cancelled: bool = False
    #: Why the run stopped early, when an error meant no further span could be judged.
    stopped: str | None = None

    @property
    def scored(self) -> list[Judgement]:
        return [j for j in self.judgements if j.score is not None]

    @property
    def failures(self) -> list[Judgement]:
        return [j for j in self.judgements if j.problem is not None]

    def mean(self) -> float | None:
        """The mean of the numeric scores (None when no score has a number)."""
        values = [j.score.value for j in self.scored if j.score is not None and j.score.value is not None]
        return fmean(values) if values else None

    def summary(self) -> str:
        """One line: how many judged, their mean and labels, how many failed."""
        parts = [f"{self.evaluator.name} by {self.model}: {_count(len(self.scored), 'span')} judged"]
        mean = self.mean()
        if mean is not None:
            parts.append(f"mean {mean:.3g}")
        counts = sorted(self.label_counts().items(), key=lambda c: -c[1])
        if counts:
            parts.append(", ".join(f"{label} {n:,}" for label, n in counts))
        parts.append(_count(len(self.failures), "failure"))
        return "; ".join(parts)

    def label_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for j in self.scored:
            if j.score is not None and j.score.label is not None:
                counts[j.score.label] = counts.get(j.score.label, 0) + 1
        return counts


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


class _Stop(Exception):
    """An endpoint error every remaining span would meet too."""


@dataclass(frozen=True)
class _Task:
    span: Span
    reference: Reference | None


class _Judge:
    """The calls of one run: shared by the worker threads, which only call the model and read the
    reply; storing stays on the thread that runs `run`."""

    def __init__(self, args: JudgeArgs, state: RunState) -> None:
        self.args, self.state = args, state
        self.client = ModelClient(args.endpoint, args.api_key)
        self.run_id = secrets.token_hex(8)
        #: Cleared once the endpoint refused response_format, for the rest of the run.
        self._schema = True
        self._lock = threading.Lock()

    def call(self, task: _Task) -> tuple[ChatRequest, Completion, Verdict]:
        span, evaluator = task.span, self.args.evaluator
        while True:
            with self._lock:
                schema = self._schema
            request = judge_request(evaluator, self.args.model, span, task.reference, schema=schema)
            try:
                completion = self.client.complete(request, cancelled=lambda: self.state.cancelled)
            except EndpointError as exc:
                if schema and exc.status == 400:  # the endpoint takes no json_schema: ask in words only
                    with self._lock:
                        self._schema = False
                    continue
                if exc.status in _FATAL:
                    raise _Stop(str(exc)) from None
                raise
            return request, completion, read_answer(completion.text, evaluator.score)

    def stored(self, task: _Task, outcome: tuple[ChatRequest, Completion, Verdict]) -> Judgement:
        """Store the judge's call and its score together; the judgement that says so."""
        request, completion, verdict = outcome
        span, evaluator, model = task.span, self.args.evaluator, self.args.model
        judge_span = call_span(
            request,
            completion,
            endpoint=self.args.endpoint,
            purpose=PURPOSE,
            of_trace_id=span.trace_id,
            of_span_id=span.span_id,
            run=self.run_id,
            trace_id=new_trace_id(),
            name=f"judge {evaluator.name}",
        )
        score = Score(
            name=evaluator.name,
            value=verdict.value,
            label=verdict.label,
            comment=verdict.reasoning or None,
            source=f"LLM judge {model}",
            key=judge_span.trace_id,
        )
        label = f"judge: {evaluator.name} by {model} at {self.args.endpoint.base_url}"
        store_spans(
            self.args.store,
            [judge_span, ScoreFor(span.trace_id, span.span_id, score)],
            label,
            source_format=PURPOSE,
        )
        return Judgement(span.trace_id, span.span_id, span.name, score, judge_span.trace_id)


def _problem(span: Span, evaluator: Evaluator, reference: Reference | None) -> str | None:
    """Why the span cannot be judged by `evaluator`, found before any call is made."""
    if evaluator.needs_reference and reference is None:
        return "no reference answer for this span (the evaluator compares with one)"
    used = set(evaluator.placeholders)
    if "output" in used and span.output is None:
        return "the span has no output to judge"
    if "output" not in used and span.input is None:
        return "the span has no input to judge"
    return None


def _tasks(args: JudgeArgs, run: JudgeRun) -> Iterator[_Task]:
    """The spans to judge, read one at a time; those that cannot be judged go to `run` as problems."""
    db = connect(args.store, readonly=True)
    try:
        for trace_id, span_id in args.targets:
            try:
                span = get_span(db, trace_id, span_id)
            except NotFound as exc:
                run.judgements.append(Judgement(trace_id, span_id, "", problem=str(exc)))
                continue
            reference = args.reference(span)
            problem = _problem(span, args.evaluator, reference)
            if problem is not None:
                run.judgements.append(Judgement(trace_id, span_id, span.name, problem=problem))
                continue
            yield _Task(span, reference)
    finally:
        db.conn.close()


def run(args: JudgeArgs, state: RunState) -> JudgeRun:
    """Judge every target span; returns what became of each (see the module's docstring)."""
    if args.concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, not {args.concurrency}")
    judge = _Judge(args, state)
    result = JudgeRun(args.evaluator, args.model)
    total = len(args.targets)

    def report(final: bool = False) -> None:
        state.report(Progress(len(result.judgements), total, len(result.failures)), final)

    running: dict[Future, _Task] = {}
    with ThreadPoolExecutor(max_workers=args.concurrency, thread_name_prefix="judge") as pool:
        tasks = _tasks(args, result)
        while True:
            while len(running) < args.concurrency and not (state.cancelled or result.stopped):
                task = next(tasks, None)
                if task is None:
                    break
                running[pool.submit(judge.call, task)] = task
            if not running:
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                _finish(judge, running.pop(future), future, result)
            report()
        tasks.close()
    order = {target: n for n, target in enumerate(args.targets)}
    result.judgements.sort(key=lambda j: order[(j.trace_id, j.span_id)])
    if state.cancelled and len(result.judgements) < total and not result.stopped:
        result.cancelled = True
    report(final=True)
    return result


def _finish(judge: _Judge, task: _Task, future: Future, result: JudgeRun) -> None:
    span = task.span
    try:
        outcome = future.result()
    except Cancelled:
        return
    except _Stop as exc:
        result.stopped = result.stopped or str(exc)
        return
    except (EndpointError, UnreadableAnswer) as exc:
        result.judgements.append(Judgement(span.trace_id, span.span_id, span.name, problem=str(exc)))
        return
    try:
        result.judgements.append(judge.stored(task, outcome))
    except StoreError as exc:
        result.stopped = result.stopped or f"cannot store the judgements: {exc}"


def is_judge_trace(db: Database, trace_id: str) -> bool:
    """Whether a trace is a judge's own call (whose spans a run never judges)."""
    return any(row.purpose == PURPOSE for row in replay_origin(db, trace_id))
