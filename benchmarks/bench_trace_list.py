"""The trace list on a million traces: first paint, sorting, filtering, and the worst scroll stall.

    python benchmarks/bench_trace_list.py [--traces 1000000] [--store PATH]

Builds a store of synthetic trace roll-ups once (rows go straight into the traces table: the list
never reads spans) and reuses it from the temp dir. Then, in one run and offscreen, times the
panel's first paint against a bare `SELECT ... LIMIT 256` of the same page, a sort by every
column, each filter, a refresh as an import would trigger one, and every step of a scroll from top
to bottom (jumps and Page Down presses). Target: no GUI-thread step over 100 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from spanscope.core.store import connect
from spanscope.core.store.queries import TRACE_COLUMNS
from spanscope.core.store.trace_query import TraceFilter, sorted_trace_ids
from spanscope.ui.context import QtTraceContext
from spanscope.ui.trace_list import COLUMNS, QtTraceListPanel

TARGET_MS = 100.0
NAMES = ("answer_question", "support_turn", "triage_ticket", "invoke_agent travel_planner", "summarize")
MODELS = ("gpt-4o", "gpt-4o-mini", "claude-sonnet-4-5", "claude-haiku-4-5", "gemini-2.5-flash", "llama-3.1")
SERVICES = ("support-bot", "travel-agent", "search-api")
START_NS = 1_780_000_000_000_000_000


def _synthetic_rows(count: int, seed: int = 7) -> Iterator[tuple]:
    """Plausible roll-ups: lognormal latencies, a few errors, one to three models, shared sessions."""
    rng = random.Random(seed)
    start = START_NS
    for i in range(count):
        start += rng.randrange(1, 2_000_000_000)
        duration = int(rng.lognormvariate(21, 1.2))
        tokens_in, tokens_out = rng.randrange(0, 50_000), rng.randrange(0, 5_000)
        row = dict.fromkeys(TRACE_COLUMNS)
        row.update(
            trace_id=f"{rng.getrandbits(128):032x}",
            root_name=f"{rng.choice(NAMES)} {i % 97}",
            start_ns=start,
            end_ns=start + duration,
            duration_ns=duration,
            span_count=rng.randrange(1, 200),
            error_count=rng.randrange(1, 4) if rng.random() < 0.05 else 0,
            input_tokens=tokens_in,
            output_tokens=tokens_out,
            total_tokens=tokens_in + tokens_out,
            cost_usd=None if rng.random() < 0.3 else tokens_in * 2.5e-6 + tokens_out * 1e-5,
            models=",".join(sorted(rng.sample(MODELS, rng.randrange(1, 4)))),
            session_id=f"sess-{i // 7}",
            user_id=f"user-{rng.randrange(5000)}",
            service=rng.choice(SERVICES),
        )
        yield tuple(row[c] for c in TRACE_COLUMNS)


def build_store(path: Path, count: int) -> None:
    """A store whose traces table holds `count` synthetic traces, written in one transaction."""
    db = connect(path)
    db.execute("PRAGMA cache_size = -500000")  # 500 MB: a dozen indexes take random inserts
    sql = f"INSERT INTO traces ({', '.join(TRACE_COLUMNS)}) VALUES ({', '.join('?' * len(TRACE_COLUMNS))})"
    with db.conn:
        db.conn.execute("BEGIN")
        db.conn.executemany(sql, _synthetic_rows(count))
    db.conn.close()


def store_for(count: int, path: Path | None) -> Path:
    path = path or Path(tempfile.gettempdir()) / f"spanscope-bench-trace-list-{count}.db"
    if not path.exists():
        started = time.perf_counter()
        print(f"building {path} with {count:,} traces ...", flush=True)
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        build_store(partial, count)
        partial.rename(path)
        print(f"  built in {time.perf_counter() - started:.1f} s", flush=True)
    return path


def ms(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def painted(app: QApplication, panel: QtTraceListPanel) -> None:
    """Let queued work run, then paint the table now: what the user waits for, as an upper bound
    (the event loop has usually painted once already)."""
    app.processEvents()
    panel.view.viewport().repaint()


def bare_first_page(store: Path) -> float:
    """The floor: SQLite alone reading the first page of the newest traces."""
    db = connect(store, readonly=True)
    sql = f"SELECT {', '.join(TRACE_COLUMNS)} FROM traces ORDER BY start_ns DESC LIMIT 256"
    best = min(ms(lambda: db.execute(sql).fetchall()) for _ in range(3))
    db.conn.close()
    return best


def open_panel(app: QApplication, store: Path) -> tuple[QtTraceContext, QtTraceListPanel, float]:
    started = time.perf_counter()
    context = QtTraceContext()
    context.open_store(store)
    panel = QtTraceListPanel(context)
    panel.resize(1400, 900)
    panel.show()
    painted(app, panel)
    return context, panel, (time.perf_counter() - started) * 1000


def sort_times(app: QApplication, panel: QtTraceListPanel) -> dict[str, float]:
    """Each column in its first-click order, then start time back (newest first)."""
    times = {}
    header = panel.view.horizontalHeader()
    for section in [*range(1, len(COLUMNS)), 0]:
        order = panel.model.headerData(
            section, Qt.Orientation.Horizontal, Qt.ItemDataRole.InitialSortOrderRole
        )
        times[COLUMNS[section].title] = ms(
            lambda s=section, o=order: (header.setSortIndicator(s, o), painted(app, panel))
        )
    return times


def filter_times(app: QApplication, panel: QtTraceListPanel) -> dict[str, float]:
    """Each filter on its own, applied the way the bar applies it, then cleared."""
    times = {}

    def timed(label: str, apply: Callable[[], None], clear: Callable[[], None]) -> None:
        times[label] = ms(lambda: (apply(), painted(app, panel)))
        times[label + " (rows)"] = panel.model.rowCount()
        clear()

    def search(text: str) -> None:
        panel.search.setText(text)
        panel.search.returnPressed.emit()

    timed(
        "errors only", lambda: panel.errors_only.setChecked(True), lambda: panel.errors_only.setChecked(False)
    )
    timed("text 'support'", lambda: search("support"), lambda: search(""))
    timed("text id prefix 'ab12'", lambda: search("ab12"), lambda: search(""))
    model_at = panel.model_choice.findData("gpt-4o")
    timed(
        "model gpt-4o",
        lambda: panel.model_choice.setCurrentIndex(model_at),
        lambda: panel.model_choice.setCurrentIndex(0),
    )
    hour_at = panel.time_choice.findText("Last hour")
    timed(
        "last hour",
        lambda: panel.time_choice.setCurrentIndex(hour_at),
        lambda: panel.time_choice.setCurrentIndex(0),
    )
    return times


def scroll_steps(app: QApplication, panel: QtTraceListPanel, jumps: int, pages: int) -> list[float]:
    """Every step of a trip from top to bottom: `jumps` scrollTo calls, then `pages` Page Down presses."""
    view, model = panel.view, panel.model
    last = model.rowCount() - 1
    steps = []
    for k in range(jumps):
        index = model.index(k * last // (jumps - 1), 0)
        steps.append(
            ms(lambda i=index: (view.scrollTo(i, view.ScrollHint.PositionAtTop), painted(app, panel)))
        )
    view.setCurrentIndex(model.index(last // 2, 0))
    for _ in range(pages):
        steps.append(ms(lambda: (QTest.keyClick(view, Qt.Key.Key_PageDown), painted(app, panel))))
    return steps


def report(label: str, value: float, unit: str = "ms") -> None:
    print(f"  {label:<34} {value:10.1f} {unit}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--traces", type=int, default=1_000_000)
    ap.add_argument("--store", type=Path, help="where to keep the generated store (default: temp dir)")
    ap.add_argument("--jumps", type=int, default=200)
    ap.add_argument("--pages", type=int, default=100)
    args = ap.parse_args()
    store = store_for(args.traces, args.store)
    app = QApplication.instance() or QApplication([])

    bare = bare_first_page(store)
    context, panel, first_paint = open_panel(app, store)
    sort_query = ms(lambda: sorted_trace_ids(context.db, TraceFilter(), "start_ns", True))
    print(f"{panel.model.rowCount():,} traces in {store}")
    print("first page")
    report("bare SELECT ... LIMIT 256", bare)
    report("rowids, newest first (query only)", sort_query)
    report("panel created and painted", first_paint)
    report("ratio to the bare SELECT", first_paint / bare, "x")

    sorts = sort_times(app, panel)
    print("sort by column (query, reset, repaint)")
    for title, value in sorts.items():
        report(title, value)
    report("ratio of the slowest to the bare SELECT", max(sorts.values()) / bare, "x")

    print("filters")
    for label, value in filter_times(app, panel).items():
        report(label, value, "rows" if label.endswith("(rows)") else "ms")

    panel.view.setCurrentIndex(panel.model.index(500_000 % panel.model.rowCount(), 0))
    print("store refresh, keeping selection and scroll")
    report("on_store_loaded", ms(lambda: (context.refresh(), painted(app, panel))))
    report(
        "arrow key to the next trace",
        ms(lambda: (QTest.keyClick(panel.view, Qt.Key.Key_Down), painted(app, panel))),
    )

    steps = scroll_steps(app, panel, args.jumps, args.pages)
    worst = max(steps)
    print(f"scrolling: {args.jumps} jumps top to bottom, then {args.pages} Page Down presses")
    report("median step", statistics.median(steps))
    report("95th percentile step", statistics.quantiles(steps, n=20)[-1])
    report("worst step", worst)
    # Building the store (500 MB of page cache) inflates this; a run that reuses the store does not.
    report("peak RSS", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "MB")
    verdict = "OK" if worst <= TARGET_MS else "OVER"
    print(f"worst scroll step {worst:.1f} ms vs target {TARGET_MS:.0f} ms: {verdict}")
    context.close_store()


if __name__ == "__main__":
    main()
