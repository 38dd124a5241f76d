"""Deep and wide trees through every command and the app, against reading the trace's rows.

    python benchmarks/bench_deep_trees.py [--sizes 10000 100000] [--shapes chain fan]

For each shape (a parent chain, each span the parent of the next; a fan-out, one root with every other
span its child) and size, writes the trace and the same trace with its second span wrapped in an extra
step (tests/deep_traces.py), imports both into a fresh store, then measures in that one run:

- the floor: the trace's rows read from the store with one bare SQL SELECT (and the read API's
  `trace_rows`, which the tree builds on);
- each command as a user runs it, in its own process (`tree`, `steps`, `diff` of the trace with itself
  and with the wrapped trace, `search`, `stats`, `export`, `grounding` of the last span, `screenshot
  --span` of it), timed from the call of the CLI's main(): CPU and wall time, the process's peak RSS
  and the bytes it printed;
- the app, in its own process: opening the trace (the span tree, timeline and stepping built),
  selecting its deepest span (revealed in the span tree, shown in the detail) and expanding the span
  tree to every error (a third of the spans failed), each until painted.

Reports per step its CPU time at each size (CPU, not wall: the machine may be shared), how much it grew
from the smallest size to the largest (linear is the size ratio, 10x for 10k to 100k; quadratic its
square), its ratio to the bare SQL floor at the largest, and its wall time, peak RSS and output there.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from deep_traces import WRAPPED_TRACE_ID, write_deep_trace  # noqa: E402
from spanscope.core.store import connect, import_file  # noqa: E402
from spanscope.core.store.queries import trace_rows  # noqa: E402


@dataclass(frozen=True)
class Measured:
    #: CPU seconds (the machine may be shared: CPU time is what the work itself costs) and wall seconds.
    cpu: float
    wall: float
    rss_mb: float = 0.0
    out_bytes: int = 0


def timed(work: Callable[[], object]) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    work()
    return time.process_time() - cpu, time.perf_counter() - wall


def best(work: Callable[[], object], rounds: int = 3) -> Measured:
    return Measured(*min(timed(work) for _ in range(rounds)))


def child(argv: list[str], out: Path) -> tuple[list[str], int]:
    """This script run with `argv` in a child process, standard output to `out`: the lines it printed
    to standard error, and the bytes to standard output."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO / "src")}
    with out.open("wb") as sink:
        done = subprocess.run([sys.executable, __file__, *argv], stdout=sink, stderr=subprocess.PIPE, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr.decode()[-2000:]}")
    return done.stderr.decode().splitlines(), out.stat().st_size


def peak_rss_mb() -> float:
    """This process's peak RSS since it started its program (VmHWM: getrusage's and wait4's figure
    keeps the parent's size from before the exec)."""
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmHWM:")[1].split()[0]) / 1024


def command(argv: list[str], out: Path) -> Measured:
    """A command run as a user runs it, in its own process, timed from the call of the CLI's main()
    (the interpreter's start and the CLI's imports left out)."""
    lines, printed = child(["--command", *argv], out)
    cpu, wall, rss = map(float, lines[-1].split())
    return Measured(cpu, wall, rss, printed)


def bare_sql(store: Path, trace_id: str) -> Measured:
    """Every column of the trace's rows, fetched with one SELECT."""
    conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    floor = best(lambda: conn.execute("SELECT * FROM spans WHERE trace_id = ?", (trace_id,)).fetchall())
    conn.close()
    return floor


def read_api(store: Path, trace_id: str) -> Measured:
    db = connect(store, readonly=True)
    floor = best(lambda: trace_rows(db, trace_id))
    db.conn.close()
    return floor


def run_command(argv: list[str]) -> None:
    """In this process (run as a child): the CLI's main() on `argv`, then its CPU and wall seconds."""
    from spanscope.cli.entry import main

    code = 0

    def call() -> None:
        nonlocal code
        code = main(argv)

    cpu, wall = timed(call)
    sys.stdout.flush()
    print(cpu, wall, peak_rss_mb(), file=sys.stderr)
    sys.exit(code)


def app_timings(store: Path, trace_id: str, span_id: str) -> None:
    """In this process (run as a child): open the store in the main window, time selecting the trace,
    then its deepest span, then expanding to errors, each until the window has handled its events and
    painted."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from spanscope.ui.app import application
    from spanscope.ui.main_window import QtMainWindow

    app = application()
    with tempfile.TemporaryDirectory() as tmp:
        window = QtMainWindow(QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat))
        window.resize(1600, 1000)
        window.open_store(store)
        window.show()
        app.processEvents()

        def open_trace() -> None:
            window.context.select_trace(trace_id)
            app.processEvents()
            window.grab()

        def select_span() -> None:
            window.context.select_span(span_id)
            while window.context.span_id != span_id:  # delivered after the context's short debounce
                app.processEvents()
            window.grab()

        def expand_to_errors() -> None:
            window.span_tree.expand_to_errors()
            app.processEvents()
            window.grab()

        opened, selected = timed(open_trace), timed(select_span)
        assert window.span_tree.current_span_id() == span_id
        print(*opened, *selected, *timed(expand_to_errors), peak_rss_mb(), file=sys.stderr)
        window.close()
        QApplication.processEvents()


def measure(shape: str, spans: int, folder: Path) -> dict[str, Measured]:
    trace = write_deep_trace(folder / "trace.jsonl", shape, spans)
    wrapped = write_deep_trace(folder / "wrapped.jsonl", shape, spans, trace_id=WRAPPED_TRACE_ID, wrapped=1)
    store = folder / "store.db"
    for written in (trace, wrapped):
        import_file(store, written.path)
    t, last, db = trace.trace_id, trace.last_span, str(store)
    out = folder / "out"
    results = {"bare SQL": bare_sql(store, t), "trace_rows": read_api(store, t)}
    shot = str(folder / "shot.png")
    commands = {
        "tree": ["tree", "--db", db, t],
        "steps": ["steps", "--db", db, "--trace", t],
        "diff T T": ["diff", "--db", db, t, t],
        "diff T wrapped": ["diff", "--db", db, t, wrapped.trace_id],
        "search": ["search", "--db", db, f"step-{spans - 1}"],
        "stats": ["stats", "--db", db],
        "export": ["export", "--db", db, "--trace", t],
        "grounding": ["grounding", "--db", db, "--span", last, "--trace", t],
        "screenshot --span": ["screenshot", "--db", db, shot, "--span", last, "--trace", t],
    }
    for name, argv in commands.items():
        results[name] = command(argv, out)
    lines, _ = child(["--app", db, t, last], out)
    *seconds, rss = map(float, lines[-1].split())
    for k, name in enumerate(("app: open trace", "app: select deepest", "app: expand to errors")):
        results[name] = Measured(seconds[2 * k], seconds[2 * k + 1], rss)
    return results


def report(shape: str, by_size: dict[int, dict[str, Measured]]) -> None:
    """Per step: CPU seconds at the smallest and largest size, growth between them, the ratio to the
    bare SQL floor at the largest, wall seconds, peak RSS and output there."""
    small, large = min(by_size), max(by_size)
    print(f"\n{shape}: {' and '.join(f'{n:,}' for n in by_size)} spans (linear growth: {large / small:.0f}x)")
    print(f"{'':22}{'cpu s':>8}{'cpu s':>8}{'growth':>8}{'x SQL':>8}{'wall s':>8}{'RSS MB':>8}{'out MB':>8}")
    floor = by_size[large]["bare SQL"].cpu
    for name, step in by_size[large].items():
        low, high = by_size[small][name].cpu, step.cpu
        growth = f"{high / low:.1f}" if low > 0.002 else "-"
        rss = f"{step.rss_mb:.0f}" if step.rss_mb else ""
        out = f"{step.out_bytes / 1e6:.1f}" if step.out_bytes else ""
        print(f"{name:22}{low:8.3f}{high:8.3f}{growth:>8}{high / floor:8.1f}{step.wall:8.2f}{rss:>8}{out:>8}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--shapes", nargs="+", default=["chain", "fan"], choices=["chain", "fan"])
    ap.add_argument("--app", nargs=3, metavar=("STORE", "TRACE", "SPAN"), help=argparse.SUPPRESS)
    ap.add_argument("--command", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.command:
        run_command(args.command)
    if args.app:
        app_timings(Path(args.app[0]), args.app[1], args.app[2])
        return
    for shape in args.shapes:
        by_size = {}
        for spans in args.sizes:
            with tempfile.TemporaryDirectory(prefix="spanscope-deep-") as tmp:
                by_size[spans] = measure(shape, spans, Path(tmp))
        report(shape, by_size)


if __name__ == "__main__":
    main()
