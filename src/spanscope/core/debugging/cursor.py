"""The current step of the open trace, shared by every panel, with debugger-style moves.

Steps are the spans in execution order: by start time, ties in tree order (a parent before its
child, siblings in order). A span that starts before its parent (clock skew) therefore comes first;
orphans take their place by time like any other span. Panels observe the cursor through a plain
Protocol, so the stepping logic stays headless and testable without Qt.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from spanscope.core.debugging.breakpoints import FIELDS, PAYLOAD_FIELDS, Breakpoint
from spanscope.core.debugging.tree import TraceTree
from spanscope.core.model import is_messages
from spanscope.core.presentation.content import compact

#: span_id -> (input, output) of that span: payloads are read only when a breakpoint needs them.
PayloadFetcher = Callable[[str], tuple[Any, Any]]


class StepObserver(Protocol):
    def on_trace_loaded(self, cursor: StepCursor) -> None: ...

    def on_trace_closed(self) -> None: ...

    def on_step_changed(self, cursor: StepCursor) -> None: ...


@dataclass(frozen=True)
class StepState:
    """Where execution stands at a step: time since the trace started, and what the counted model
    calls started so far have used."""

    index: int
    count: int
    elapsed_ns: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None

    @property
    def label(self) -> str:
        return f"step {self.index + 1} of {self.count}"


def payload_text(value: Any) -> str | None:
    """What `input ~ ...` and `output contains ...` search: message lists as their joined contents."""
    if value is None:
        return None
    if is_messages(value):
        return "\n".join(_content_text(m.get("content")) for m in value)
    return compact(value)


def _content_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, list):
        return "\n".join(p.get("text") or "" if isinstance(p, dict) else compact(p) for p in content)
    return compact(content)


class StepCursor:
    """The open trace's current step (an index into `order`, -1 with no trace) and its observers."""

    def __init__(self) -> None:
        self.tree: TraceTree | None = None
        self.order: list[int] = []
        self.current = -1
        self._step_of: list[int] = []
        #: Running usage per step (see _running_usage), summed when first asked for.
        self._usage: tuple[list[int], list[int], list[float | None]] | None = None
        self._fetch: PayloadFetcher | None = None
        self._observers: list[StepObserver] = []

    # --- trace and observers ---------------------------------------------------------------------

    def load(self, tree: TraceTree, fetch: PayloadFetcher | None = None) -> None:
        """Open `tree` at its first step; `fetch` supplies payloads for input/output conditions."""
        self.tree, self._fetch, self._usage = tree, fetch, None
        pre_order = [0] * len(tree.rows)
        for place, (row, _) in enumerate(tree.walk()):
            pre_order[row] = place
        starts = tree.rows.columns["start_ns"]
        self.order = sorted(range(len(tree.rows)), key=lambda i: (starts[i], pre_order[i]))
        self._step_of = [0] * len(self.order)
        for step, row in enumerate(self.order):
            self._step_of[row] = step
        self.current = 0 if self.order else -1
        for observer in list(self._observers):
            self._tell(observer)

    def close(self) -> None:
        self.tree, self._fetch, self._usage = None, None, None
        self.order, self._step_of, self.current = [], [], -1
        for observer in list(self._observers):
            observer.on_trace_closed()

    def subscribe(self, observer: StepObserver) -> None:
        """Add an observer and tell it the current state at once, so a late panel is not blank."""
        self._observers.append(observer)
        self._tell(observer)

    def unsubscribe(self, observer: StepObserver) -> None:
        self._observers.remove(observer)

    def _tell(self, observer: StepObserver) -> None:
        if self.tree is None:
            observer.on_trace_closed()
            return
        observer.on_trace_loaded(self)
        if self.current >= 0:
            observer.on_step_changed(self)

    # --- where we are ----------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.order)

    @property
    def row(self) -> int | None:
        return self.order[self.current] if self.current >= 0 else None

    @property
    def step(self) -> str | None:
        """The current span's id."""
        return self._span_id(self.current) if self.current >= 0 else None

    def _span_id(self, step: int) -> str:
        assert self.tree is not None
        return self.tree.rows.columns["span_id"][self.order[step]]

    def _move(self, step: int | None) -> str | None:
        """Make `step` current and tell the observers; None (no such step) leaves the cursor put."""
        if step is None:
            return None
        if step != self.current:
            self.current = step
            for observer in list(self._observers):
                observer.on_step_changed(self)
        return self._span_id(step)

    def _to_row(self, row: int | None) -> str | None:
        return self._move(None if row is None else self._step_of[row])

    # --- moves -----------------------------------------------------------------------------------

    def next(self) -> str | None:
        return self._move(self.current + 1 if 0 <= self.current < len(self) - 1 else None)

    def previous(self) -> str | None:
        return self._move(self.current - 1 if self.current > 0 else None)

    def to_start(self) -> str | None:
        return self._move(0 if self.order else None)

    def to_end(self) -> str | None:
        return self._move(len(self) - 1 if self.order else None)

    def go_to(self, span_id: str) -> str | None:
        """Jump to a span by id; None when the trace has no such span."""
        return self._to_row(None if self.tree is None else self.tree.index.get(span_id))

    def step_into(self) -> str | None:
        """To the current span's first child."""
        if self.tree is None or self.row is None:
            return None
        children = self.tree.children[self.row]
        return self._to_row(children[0] if children else None)

    def step_over(self) -> str | None:
        """To the current span's next sibling, skipping its subtree."""
        return self._to_row(None if self.row is None else self._next_sibling(self.row))

    def step_out(self) -> str | None:
        """To what follows the current span's parent: the nearest ancestor's next sibling."""
        if self.tree is None or self.row is None:
            return None
        up = self.tree.parent[self.row]
        while up >= 0:
            after = self._next_sibling(up)
            if after is not None:
                return self._to_row(after)
            up = self.tree.parent[up]
        return None

    def _next_sibling(self, row: int) -> int | None:
        assert self.tree is not None
        up = self.tree.parent[row]
        siblings = self.tree.roots if up < 0 else self.tree.children[up]
        place = self.tree.position(row)
        return siblings[place + 1] if 0 <= place < len(siblings) - 1 else None

    # --- jumps -----------------------------------------------------------------------------------

    def next_error(self) -> str | None:
        return self._seek_value("status", "error", forward=True)

    def previous_error(self) -> str | None:
        return self._seek_value("status", "error", forward=False)

    def next_llm(self) -> str | None:
        return self._seek_value("kind", "LLM", forward=True)

    def previous_llm(self) -> str | None:
        return self._seek_value("kind", "LLM", forward=False)

    def next_tool(self) -> str | None:
        return self._seek_value("kind", "TOOL", forward=True)

    def previous_tool(self) -> str | None:
        return self._seek_value("kind", "TOOL", forward=False)

    def continue_forward(self, breakpoints: Iterable[Breakpoint]) -> str | None:
        """Run to the next step where an enabled breakpoint matches; stay put when none does."""
        active = list(breakpoints)
        return self._seek(lambda step: self.hits(step, active), forward=True)

    def continue_backward(self, breakpoints: Iterable[Breakpoint]) -> str | None:
        active = list(breakpoints)
        return self._seek(lambda step: self.hits(step, active), forward=False)

    def hits(self, step: int, breakpoints: Iterable[Breakpoint]) -> bool:
        """Whether execution would stop at `step`: some enabled breakpoint matches it."""
        values = self.fields(step)
        return any(b.enabled and b.condition.matches(values) for b in breakpoints)

    def _seek_value(self, column: str, value: str, *, forward: bool) -> str | None:
        """To the nearest step whose `column` holds `value`."""
        if self.tree is None:
            return None
        values = self.tree.rows.columns[column]
        return self._seek(lambda step: values[self.order[step]] == value, forward=forward)

    def _seek(self, wanted: Callable[[int], bool], *, forward: bool) -> str | None:
        if self.current < 0:
            return None
        steps = range(self.current + 1, len(self)) if forward else range(self.current - 1, -1, -1)
        return self._move(next((s for s in steps if wanted(s)), None))

    # --- per-step facts --------------------------------------------------------------------------

    def fields(self, step: int) -> Mapping[str, Any]:
        """The step's span as breakpoint fields; input and output are fetched on first use."""
        assert self.tree is not None
        return _SpanFields(self.tree, self.order[step], self._fetch)

    def state_at(self, step: int) -> StepState:
        """Elapsed time at the step's start, and usage of counted model calls up to and including it."""
        assert self.tree is not None
        if self._usage is None:
            self._usage = self._running_usage()
        tokens_in, tokens_out, costs = self._usage
        return StepState(
            index=step,
            count=len(self),
            elapsed_ns=self.tree.rows.columns["start_ns"][self.order[step]] - self.tree.start_ns,
            input_tokens=tokens_in[step],
            output_tokens=tokens_out[step],
            cost_usd=costs[step],
        )

    def _running_usage(self) -> tuple[list[int], list[int], list[float | None]]:
        """Input tokens, output tokens and cost of the counted model calls up to each step, summed
        once per trace: adding up every step before the current one on each move made stepping
        through a 100,000-span trace quadratic."""
        assert self.tree is not None
        columns = self.tree.rows.columns
        counted, used_in, used_out, reported = (
            columns[c] for c in ("counted", "input_tokens", "output_tokens", "cost_usd")
        )
        tokens_in = tokens_out = 0
        cost: float | None = None
        running: tuple[list[int], list[int], list[float | None]] = ([], [], [])
        for row in self.order:
            if counted[row]:
                tokens_in += used_in[row] or 0
                tokens_out += used_out[row] or 0
                if reported[row] is not None:
                    cost = reported[row] if cost is None else cost + reported[row]
            running[0].append(tokens_in)
            running[1].append(tokens_out)
            running[2].append(cost)
        return running


#: Breakpoint fields read straight from a tree column of the same name.
_COLUMN_FIELDS = (
    "name",
    "kind",
    "status",
    "model",
    "provider",
    "span_id",
    "parent_id",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cache_read_tokens",
    "reasoning_tokens",
    "cost_usd",
)


class _SpanFields(Mapping[str, Any]):
    """One span's breakpoint fields, each worked out when a condition reads it."""

    def __init__(self, tree: TraceTree, row: int, fetch: PayloadFetcher | None) -> None:
        self._tree, self._row, self._fetch = tree, row, fetch
        self._payload: tuple[Any, Any] | None = None

    def __getitem__(self, field: str) -> Any:
        columns, row = self._tree.rows.columns, self._row
        if field in _COLUMN_FIELDS:
            return columns[field][row]
        if field == "error":
            return columns["status_message"][row]
        if field in ("orphan", "clock_skew"):
            return bool(columns[field][row])
        if field == "latency_ms":
            end = columns["end_ns"][row]
            return None if end is None else (end - columns["start_ns"][row]) / 1e6
        if field == "start_ms":
            return (columns["start_ns"][row] - self._tree.start_ns) / 1e6
        if field in PAYLOAD_FIELDS:
            return self._payload_text(field)
        raise KeyError(field)

    def _payload_text(self, field: str) -> str | None:
        if self._fetch is None:
            return None
        if self._payload is None:
            self._payload = self._fetch(self._tree.rows.columns["span_id"][self._row])
        return payload_text(self._payload[0 if field == "input" else 1])

    def __iter__(self) -> Iterator[str]:
        return iter(FIELDS)

    def __len__(self) -> int:
        return len(FIELDS)
