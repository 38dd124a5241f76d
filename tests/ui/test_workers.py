"""QtWorker on real threads: results, progress and failures arrive on the GUI thread."""

from __future__ import annotations

import threading
import time

from PySide6.QtCore import QCoreApplication, QThread

from spanscope.ui.workers import Policy, QtWorker, TaskState, reading, worker_errors

WAIT_MS = 10_000


def on_gui_thread() -> bool:
    app = QCoreApplication.instance()
    return app is not None and QThread.currentThread() is app.thread()


def held_until(release: threading.Event, value: str):
    """A task that returns `value` once `release` is set."""

    def task(state: TaskState) -> str:
        release.wait(5)
        return value

    return task


def test_the_result_arrives_on_the_gui_thread(qtbot):
    worker = QtWorker("test")
    ran_on: list[str] = []
    heard_on: list[bool] = []
    worker.finished.connect(lambda _value: heard_on.append(on_gui_thread()))

    def task(state: TaskState) -> int:
        ran_on.append(threading.current_thread().name)
        return 42

    with qtbot.waitSignal(worker.finished, timeout=WAIT_MS) as finished:
        worker.start(task)
    assert finished.args == [42]
    assert ran_on and ran_on[0] != threading.main_thread().name
    assert heard_on == [True]
    qtbot.waitUntil(lambda: not worker.busy)


def test_progress_is_reported_and_throttled_but_the_final_report_always_arrives(qtbot):
    worker = QtWorker("test", progress_interval_s=60.0)
    reports: list[object] = []
    worker.progress.connect(reports.append)

    def task(state: TaskState) -> None:
        for i in range(100):
            state.report(i, final=i == 99)

    with qtbot.waitSignal(worker.idle, timeout=WAIT_MS):
        worker.start(task)
    assert reports == [0, 99]


def test_cancel_stops_a_running_task_which_still_reports_its_result(qtbot):
    worker = QtWorker("test")
    started = threading.Event()

    def task(state: TaskState) -> str:
        started.set()
        while not state.cancelled:
            time.sleep(0.01)
        return "stopped"

    with qtbot.waitSignal(worker.finished, timeout=WAIT_MS) as finished:
        worker.start(task)
        assert started.wait(5)
        worker.cancel()
    assert finished.args == ["stopped"]


def test_cancel_interrupts_a_running_query(qtbot, demo_store):
    worker = QtWorker("test")
    started = threading.Event()
    endless = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n"

    def read(db):
        started.set()
        return db.execute(endless).fetchone()

    with qtbot.waitSignal(worker.failed, timeout=WAIT_MS) as failed:
        worker.start(reading(demo_store, read))
        assert started.wait(5)
        time.sleep(0.1)
        worker.cancel()
    assert "interrupted" in failed.args[0]


def test_queued_requests_run_one_after_another_in_order(qtbot):
    worker = QtWorker("test", policy=Policy.QUEUE)
    results: list[int] = []
    worker.finished.connect(results.append)
    running = [0]

    def task(n: int):
        def run(state: TaskState) -> int:
            running[0] += 1
            assert running[0] == 1
            time.sleep(0.02)
            running[0] -= 1
            return n

        return run

    with qtbot.waitSignal(worker.idle, timeout=WAIT_MS):
        for n in range(5):
            worker.start(task(n))
    assert results == [0, 1, 2, 3, 4]


def test_the_latest_request_wins(qtbot, demo_store):
    """A slow older request is interrupted or dropped; only the newest one's results arrive."""
    worker = QtWorker("test", policy=Policy.LATEST, threads=2)
    results: list[dict] = []
    worker.finished.connect(results.append)

    def slow(db):
        time.sleep(0.3)
        return db.execute("SELECT 'old'").fetchone()[0]

    worker.start_parts({"value": reading(demo_store, slow)})
    with qtbot.waitSignal(worker.finished, timeout=WAIT_MS):
        worker.start_parts({"value": reading(demo_store, lambda db: "new"), "count": lambda state: 2})
    qtbot.wait(500)
    assert results == [{"value": "new", "count": 2}]
    worker.wait()


def test_a_superseded_result_is_dropped_even_when_it_finishes_last(qtbot):
    worker = QtWorker("test", policy=Policy.LATEST, threads=2)
    results: list[str] = []
    worker.finished.connect(results.append)
    release = threading.Event()
    worker.start(held_until(release, "old"))
    with qtbot.waitSignal(worker.finished, timeout=WAIT_MS):
        worker.start(lambda state: "new")
    with qtbot.waitSignal(worker.idle, timeout=WAIT_MS):
        release.set()
    assert results == ["new"]


def test_asked_again_while_running_it_runs_once_more_after(qtbot):
    worker = QtWorker("test", policy=Policy.ONCE_MORE)
    results: list[str] = []
    worker.finished.connect(results.append)
    release = threading.Event()
    worker.start(held_until(release, "first"))
    worker.start(lambda state: "second")
    worker.start(lambda state: "third")
    assert worker.busy
    with qtbot.waitSignal(worker.idle, timeout=WAIT_MS):
        release.set()
    assert results == ["first", "third"]


def test_an_exception_reaches_the_one_error_reporter(qtbot, demo_store):
    worker = QtWorker("Counting spans")
    failures: list[str] = []
    worker.failed.connect(failures.append)

    def bad(db):
        return db.execute("SELECT * FROM no_such_table").fetchall()

    with qtbot.waitSignal(worker_errors().raised, timeout=WAIT_MS) as raised:
        worker.start(reading(demo_store, bad))
    title, message = raised.args
    assert title == "Counting spans"
    assert message.startswith("OperationalError:") and "no such table" in message
    assert failures == [message]
    qtbot.waitUntil(lambda: not worker.busy)
