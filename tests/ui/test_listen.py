"""Live capture in the window: Listen, see traces arrive, watch an open trace grow in place."""

from __future__ import annotations

import http.client
import socket

import orjson
import pytest
from PySide6.QtCore import QSettings

from otlp import TRACE, llm, request, span
from spanscope.core.store import connect
from spanscope.ui.main_window import QtMainWindow

ROOT = "00000000000000f0"


@pytest.fixture
def window(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = QtMainWindow(settings)
    qtbot.addWidget(w)
    store = tmp_path / "live.db"
    connect(store).conn.close()
    w.open_store(store)
    w.listener.port = 0
    yield w
    w.close()


def post(window, *spans) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", window.listener.receiver.port, timeout=10)
    conn.request("POST", "/v1/traces", orjson.dumps(request(*spans)), {"Content-Type": "application/json"})
    status = conn.getresponse().status
    conn.close()
    return status


def children(first: int, count: int) -> list[dict]:
    return [
        llm(f"{i:016x}", ROOT, "gpt-4o", 10, 1, start=1_000 + i * 10, end=1_005 + i * 10)
        for i in range(first, first + count)
    ]


def test_listen_shows_traces_as_they_arrive_and_grows_the_open_one_in_place(qtbot, window):
    window.listener.action.trigger()
    assert window.listener.listening
    assert "Listening on http://127.0.0.1:" in window.listen_label.text()
    assert post(window, span(ROOT, name="agent", end=None), *children(1, 60)) == 200
    qtbot.waitUntil(lambda: window.trace_list.model.rowCount() == 1, timeout=5000)
    qtbot.waitUntil(lambda: window.span_tree.model.full_span_count == 61, timeout=5000)
    assert window.context.trace_id == TRACE  # shown at once
    window.resize(1200, 700)
    window.show()
    tree = window.span_tree
    selected = f"{30:016x}"
    window.context.select_span(selected)
    qtbot.waitUntil(lambda: window.context.span_id == selected, timeout=2000)
    scroll = tree.view.verticalScrollBar()
    scroll.setValue(20)
    top_before = tree.model.span_id(tree.model.index(scroll.value(), 0))

    assert post(window, *children(61, 40)) == 200
    qtbot.waitUntil(lambda: tree.model.full_span_count == 101, timeout=5000)
    assert window.context.span_id == selected
    assert tree.model.span_id(tree.view.currentIndex()) == selected
    assert tree.model.span_id(tree.model.index(scroll.value(), 0)) == top_before
    assert "101 spans received" in window.listen_label.text()
    cursor = window.stepping.cursor
    assert len(cursor) == 101 and cursor.step == selected  # stepping follows too

    window.listener.action.trigger()  # stops on a worker: the window does not wait for it
    assert not window.listener.listening and not window.listener.action.isEnabled()
    qtbot.waitUntil(lambda: window.listener.action.isEnabled(), timeout=10_000)
    assert window.listen_label.isHidden()
    window.listener.action.trigger()  # and Listen starts again
    assert window.listener.listening
    window.listener.stop()


def test_a_port_in_use_is_reported_and_listening_stays_off(qtbot, window):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        window.listener.port = taken.getsockname()[1]
        with qtbot.waitSignal(window.listener.failed) as failure:
            window.listener.action.trigger()
    assert failure.args[0].startswith("Cannot listen on port")
    assert not window.listener.listening and not window.listener.action.isChecked()


def test_switching_store_keeps_listening_into_the_new_one(qtbot, window, tmp_path):
    window.listener.start()
    other = tmp_path / "other.db"
    connect(other).conn.close()
    window.open_store(other)
    assert window.listener.listening and window.listener.sink.db_path == other
    assert post(window, span(ROOT, name="agent")) == 200
    qtbot.waitUntil(lambda: window.trace_list.model.rowCount() == 1, timeout=5000)
