"""The app on a 20,000-deep parent chain and a 20,000-wide fan-out: opening the trace and selecting its
deepest span each take a bounded multiple of reading the trace's rows (revealing the span expanded
its path one level at a time, each a search of the shown rows: quadratic), and so does the
screenshot of it."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings

from deep_traces import ERROR_EVERY, DeepStore, cpu_seconds, deep_store
from spanscope.cli.entry import main
from spanscope.ui.main_window import QtMainWindow

SPANS = 20_000


@pytest.fixture(scope="module", params=["chain", "fan"])
def deep(request, tmp_path_factory) -> DeepStore:
    return deep_store(tmp_path_factory.mktemp(request.param), request.param, SPANS)


@pytest.fixture
def window(qtbot, tmp_path):
    w = QtMainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    w.resize(1280, 720)
    qtbot.addWidget(w)
    yield w
    w.close()


def test_opening_the_trace_and_selecting_its_deepest_span_take_linear_time(qtbot, window, deep):
    window.open_store(deep.path)
    window.show()
    opening = cpu_seconds(lambda: window.context.select_trace(deep.trace.trace_id))
    tree = window.span_tree
    assert tree.model.full_span_count == SPANS

    def select() -> None:
        with qtbot.waitSignal(window.context.span_changed, timeout=20_000):
            window.context.select_span(deep.trace.last_span)

    selecting = cpu_seconds(select)
    assert tree.current_span_id() == deep.trace.last_span
    assert window.detail.span.span_id == deep.trace.last_span
    shown = tree.view.currentIndex()
    assert shown.data() == f"step-{SPANS - 1}"
    assert opening <= 20 * deep.floor, f"opening: {opening / deep.floor:.0f}x reading the rows"
    assert selecting <= 15 * deep.floor, f"selecting: {selecting / deep.floor:.0f}x reading the rows"


def test_expanding_to_every_error_takes_linear_time(qtbot, window, deep):
    """A third of the spans failed: the way to each is opened with one walk up per error, each
    stopping where an earlier walk passed (walking up from each error was quadratic on a chain)."""
    window.open_store(deep.path)
    window.show()
    window.context.select_trace(deep.trace.trace_id)
    tree = window.span_tree
    took = cpu_seconds(tree.expand_to_errors)
    errors = tree.model.tree.error_rows
    assert len(errors) == SPANS // ERROR_EVERY
    assert tree.model.index_for(errors[-1]).isValid()
    assert took <= 20 * deep.floor, f"expand to errors: {took / deep.floor:.0f}x reading the rows"


def test_a_screenshot_of_the_deepest_span(deep, tmp_path, qapp):
    out = tmp_path / "deep.png"
    argv = ["screenshot", "--db", str(deep.path), str(out), "--span", deep.trace.last_span]
    took = cpu_seconds(lambda: main([*argv, "--trace", deep.trace.trace_id]))
    assert out.stat().st_size > 0
    assert took <= 50 * deep.floor, f"screenshot: {took / deep.floor:.0f}x reading the rows"
