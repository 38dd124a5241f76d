"""`spanscope diff` as text: the two traces' totals, the aligned steps in a table, then each changed
pair's model, status and word-level input/output diffs (trace_diff.py aligns them)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

from spanscope.core.diff.trace_diff import Change, DiffRow, Step, TraceDiff, collapse
from spanscope.core.model import MODEL_KINDS
from spanscope.core.presentation import display
from spanscope.core.presentation.tree_text import indent

MARKS: dict[Change, str] = {"same": "=", "changed": "~", "moved": ">", "added": "+", "removed": "-"}


def marked(runs: list[tuple[str, str]]) -> str:
    """A word diff in `git diff --word-diff` notation: [-removed-] and {+added+}."""
    wrap = {"same": "{}", "removed": "[-{}-]", "added": "{{+{}+}}"}
    return "".join(wrap[op].format(text) for op, text in runs)


def _delta(
    a: float | None,
    b: float | None,
    show: Callable[[Any], str],
    show_b: Callable[[Any], str] | None = None,
    show_change: Callable[[Any, str], str] | None = None,
) -> str:
    """`A -> B (+change)`; `show_b` marks B's figure as its own, `show_change(size, sign)` the change
    (default: the sign, then `show`), e.g. a cost computed on one side only, its mark before its sign."""
    show_b = show_b or show
    if a is None and b is None:
        return ""
    if a is None or b is None:
        return f"{show(a) or '?'} -> {show_b(b) or '?'}"
    sign, size = "+" if b >= a else "-", abs(b - a)
    change = show_change(size, sign) if show_change else sign + (show(size) or "0")
    return f"{show(a)} -> {show_b(b)} ({change})"


def _money(computed: bool) -> Callable[[float | None], str]:
    """Costs as every view shows them: `~` marks one computed from prices, not reported."""
    return functools.partial(display.cost, computed=computed)


def _cost_delta(a: float | None, a_computed: bool, b: float | None, b_computed: bool) -> str:
    def change(size: float, sign: str) -> str:
        return display.cost(size, computed=a_computed or b_computed, sign=sign)

    return _delta(a, b, _money(a_computed), _money(b_computed), change)


def _step_cost(step: Step) -> str:
    """A step's own cost as the span tree shows it: `?` for a model call that could not be priced."""
    unknown = step.cost_usd is None and step.kind in MODEL_KINDS
    return display.cost(step.cost_usd, computed=step.cost_computed, unknown=unknown)


def _compared_cost(row: DiffRow) -> str:
    """Both steps' costs with the difference when both are known, or the cost of the one step there is."""
    if row.a is None or row.b is None:
        return _step_cost(row.a or row.b)
    if row.a.cost_usd is None or row.b.cost_usd is None:
        shown = (_step_cost(row.a) or "none", _step_cost(row.b) or "none")
        return "" if shown == ("none", "none") else " -> ".join(shown)
    return _cost_delta(row.a.cost_usd, row.a.cost_computed, row.b.cost_usd, row.b.cost_computed)


def _compared_latency(row: DiffRow) -> str:
    """Both steps' latencies with the difference, or the latency of the one step there is."""
    if row.a is None or row.b is None:
        return display.duration((row.a or row.b).latency_ns)
    return _delta(row.a.latency_ns, row.b.latency_ns, display.duration)


def _tokens(step: Step | None) -> str:
    if step is None or (step.input_tokens is None and step.output_tokens is None):
        return ""
    return f"{display.count(step.input_tokens) or '?'}/{display.count(step.output_tokens) or '?'}"


def _cell(step: Step | None, depth: int) -> str:
    if step is None:
        return ""
    error = " ERROR" if step.status == "error" else ""
    model = f" ({step.model})" if step.model else ""
    return indent(depth) + f"{step.name}{model}{error}"


def report_lines(diff: TraceDiff) -> Iterator[str]:
    """The diff as text: totals, the aligned steps, then each changed pair's word diffs."""
    for side, t in (("A", diff.a), ("B", diff.b)):
        cost = display.cost(t.cost_usd, computed=t.computed > 0, unknown=t.unpriced > 0) or "cost ?"
        cost += f" ({t.unpriced} unpriced)" if t.unpriced else ""
        yield display.printable(
            f"{side}  {t.trace_id}  {t.root_name or ''}  {display.duration(t.duration_ns)}  {t.spans} spans  "
            f"{t.errors} errors  tokens {display.count(t.input_tokens) or '?'}/"
            f"{display.count(t.output_tokens) or '?'}  {cost}  {', '.join(t.models)}"
        )
    a, b = diff.a, diff.b
    yield (
        f"B vs A: latency {_delta(a.duration_ns, b.duration_ns, display.duration)}, "
        f"input tokens {_delta(a.input_tokens, b.input_tokens, display.count)}, "
        f"output tokens {_delta(a.output_tokens, b.output_tokens, display.count)}, "
        f"cost {_cost_delta(a.cost_usd, a.computed > 0, b.cost_usd, b.computed > 0) or '?'}, "
        f"errors {a.errors} -> {b.errors}"
    )
    yield "steps: " + ", ".join(f"{n} {change}" for change, n in diff.counts().items())
    yield ""
    table = [("", "A", "B", "latency", "tokens in/out", "cost")]
    for row in diff.rows:
        table.append(
            (
                MARKS[row.change],
                _cell(row.a, row.depth),
                _cell(row.b, row.depth),
                _compared_latency(row),
                " -> ".join(filter(None, (_tokens(row.a), _tokens(row.b)))),
                _compared_cost(row),
            )
        )
    yield from display.table_lines(table)
    for row in diff.rows:
        if row.a is None or row.b is None or row.change == "same":
            continue
        yield ""
        name = row.a.name if row.a.name == row.b.name else f"{row.a.name} -> {row.b.name}"
        yield display.printable(
            f"{MARKS[row.change]} {name} (#{row.a.span_id} -> #{row.b.span_id}): {', '.join(row.differs)}"
        )
        for field in ("model", "status"):
            if field in row.differs:
                yield display.printable(f"    {field}: {getattr(row.a, field)} -> {getattr(row.b, field)}")
        for field, runs in (("input", row.input_diff), ("output", row.output_diff)):
            if field in row.differs:
                text = display.printable(marked(collapse(runs())), lines=True)
                yield f"    {field}: " + text.replace("\n", "\n      ")
