"""File > Connect to Server… against a Jaeger query service's documented response shapes, served over
real loopback HTTP (tests/documented_servers.py; Jaeger cannot run here): connect, list page by page,
open a trace (fetched into the server's cache store, shown in the main window's span tree), refresh,
poll a running trace, cancel, and every server failure as a plain-text banner that leaves nothing
half-stored in the cache."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction
from tooltips import shown_text

from documented_servers import DocumentedServer
from spanscope.core.remote.base import ServerURL
from spanscope.core.remote.cache import CacheStore, cache_path, read_cache_limit
from spanscope.core.store import connect
from spanscope.core.store.queries import get_trace
from spanscope.ui.main_window import QtMainWindow
from spanscope.ui.remote.browser import QtRemoteBrowser
from spanscope.ui.remote.trace_table import CACHE_COLUMN, NAME_COLUMN
from spanscope.ui.span_tree_model import NAME
from spanscope.ui.trace_list_model import COLUMNS as TRACE_LIST_COLUMNS
from spanscope.ui.trace_list_model import SERVER_KEY

SERVICE = "coding-agent"
HOSTILE_SERVICE = '<img src="/dev/zero">'
HOSTILE_NAME = "<b>bold</b>\nsecond line"
#: The newest trace's start (µs); the others start a second apart, older and older.
NEWEST_US = 1_770_000_000_000_000
PAGE = 4


def trace_id(n: int) -> str:
    return f"{n + 1:032x}"


def jaeger_trace(n: int, *, spans: int = 3, running: bool = False, name: str | None = None) -> dict[str, Any]:
    """Trace `n` in Jaeger's JSON (traceID, spans with references, startTime/duration in µs, tags,
    processes): a root and its children; a running trace's last span has no duration yet."""
    tid, start = trace_id(n), NEWEST_US - n * 1_000_000
    members = []
    for i in range(spans):
        span: dict[str, Any] = {
            "traceID": tid,
            "spanID": f"{n + 1:08x}{i + 1:08x}",
            "operationName": (name or f"invoke_agent planner {n}") if i == 0 else f"step {i}",
            "references": []
            if i == 0
            else [{"refType": "CHILD_OF", "traceID": tid, "spanID": f"{n + 1:08x}{1:08x}"}],
            "startTime": start + i * 10,
            "duration": 50_000 - i,
            "tags": [{"key": "error", "type": "bool", "value": True}] if i == 2 else [],
            "logs": [],
            "processID": "p1",
        }
        if running and i == spans - 1:
            del span["duration"]
        members.append(span)
    return {"traceID": tid, "spans": members, "processes": {"p1": {"serviceName": SERVICE, "tags": []}}}


def envelope(traces: list[dict[str, Any]]) -> dict[str, Any]:
    return {"data": traces, "total": len(traces), "limit": 0, "offset": 0, "errors": None}


class Served:
    """The documented server with a trace list of two pages and each trace fetchable by id."""

    def __init__(self, server: DocumentedServer, folder: Path) -> None:
        self.server, self.folder = server, folder
        self.write("services.json", {"data": [SERVICE, HOSTILE_SERVICE]}, "/api/services")
        traces = [jaeger_trace(n, name=HOSTILE_NAME if n == 1 else None) for n in range(PAGE + 2)]
        self.write("page1.json", envelope(traces[:PAGE]), "/api/traces")
        # Jaeger's next page ends just before the oldest listed trace's start (µs).
        self.cursor = str(NEWEST_US - (PAGE - 1) * 1_000_000 - 1)
        self.write("page2.json", envelope(traces[PAGE:]), "/api/traces", when={"end": self.cursor})
        for n, trace in enumerate(traces):
            self.serve_trace(n, trace)

    @property
    def url(self) -> str:
        return f"jaeger+{self.server.base_url}"

    def write(self, name: str, body: Any, path: str, when: dict[str, str] | None = None) -> None:
        file = self.folder / name
        file.write_text(json.dumps(body))
        self.server.route(path, file, when=when)

    def serve_trace(self, n: int, trace: dict[str, Any], version: str = "") -> None:
        self.write(f"trace{n}{version}.json", envelope([trace]), f"/api/traces/{trace_id(n)}")

    def fetches(self, n: int) -> int:
        return self.server.paths().count(f"/api/traces/{trace_id(n)}")


@pytest.fixture
def served(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("JAEGER_TOKEN", raising=False)
    with DocumentedServer() as server:
        yield Served(server, tmp_path)


@pytest.fixture
def window(qtbot, tmp_path, demo_store):
    w = QtMainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    w.open_store(demo_store)
    w.show()
    yield w
    w.close()


def open_browser(qtbot, window) -> QtRemoteBrowser:
    action = next(a for a in window.findChildren(QAction) if a.text() == "&Connect to Server…")
    action.trigger()
    browser = window.findChild(QtRemoteBrowser)
    assert browser is not None and browser.isVisible()
    return browser


def connect_to(qtbot, browser: QtRemoteBrowser, url: str, rows: int | None = PAGE) -> None:
    browser.page_size = PAGE
    browser.url.setCurrentText(url)
    browser.connect_button.click()
    qtbot.waitUntil(lambda: browser.connect_button.isEnabled(), timeout=10_000)
    if rows is not None:

        def listed() -> bool:
            return browser.model.rowCount() == rows and not browser.list_worker.busy

        qtbot.waitUntil(listed, timeout=10_000)


def cell(browser: QtRemoteBrowser, row: int, column: int, role=Qt.ItemDataRole.DisplayRole):
    return browser.model.index(row, column).data(role)


def open_row(qtbot, browser: QtRemoteBrowser, row: int) -> None:
    browser.view.doubleClicked.emit(browser.model.index(row, NAME_COLUMN))
    qtbot.waitUntil(lambda: not browser.fetch_worker.busy, timeout=10_000)


def tree_names(window) -> list[str]:
    model = window.span_tree.model
    return [model.index(row, NAME).data() for row in range(model.rowCount())]


def test_a_server_is_listed_page_by_page_and_an_opened_trace_shows_in_the_main_window(qtbot, window, served):
    browser = open_browser(qtbot, window)
    connect_to(qtbot, browser, served.url)
    assert browser.banner.isHidden()
    assert [browser.project.itemText(i) for i in range(browser.project.count())] == sorted(
        [SERVICE, HOSTILE_SERVICE]
    )
    assert [cell(browser, row, CACHE_COLUMN) for row in range(PAGE)] == ["remote"] * PAGE
    assert "more on the server" in browser.count_label.text() and browser.more_button.isEnabled()
    searches = [r for r in served.server.requests if r.path == "/api/traces"]
    assert len(searches) == 1 and searches[0].param("limit") == str(PAGE)

    browser.more_button.click()
    qtbot.waitUntil(lambda: browser.model.rowCount() == PAGE + 2, timeout=10_000)
    searches = [r for r in served.server.requests if r.path == "/api/traces"]
    assert searches[-1].param("end") == served.cursor, "the next page is asked for by the server's cursor"
    assert not browser.model.has_more and not browser.more_button.isEnabled()
    assert browser.count_label.text().endswith("that is all")

    open_row(qtbot, browser, 0)
    cache = cache_path(ServerURL("jaeger", served.server.base_url))
    assert window.context.store_path == cache and window.context.trace_id == trace_id(0)
    qtbot.waitUntil(lambda: window.span_tree.model.rowCount() == 3)
    assert tree_names(window) == ["invoke_agent planner 0", "step 1", "step 2"]
    assert cell(browser, 0, CACHE_COLUMN) == "local" and cell(browser, 1, CACHE_COLUMN) == "remote"
    assert "3 spans, shown in the main window" in browser.fetch_label.text()
    assert browser.cache_label.text().startswith("Cache: 1 trace, ")
    assert not browser.poll.active, "an ended trace is not polled"

    # The main window's trace list says where the trace came from; that column sorts nothing.
    traces = window.trace_list
    server_column = next(i for i, c in enumerate(TRACE_LIST_COLUMNS) if c.key == SERVER_KEY)
    assert not traces.view.isColumnHidden(server_column)
    assert traces.model.index(0, server_column).data() == served.url
    assert shown_text(traces.model.index(0, server_column).data(Qt.ItemDataRole.ToolTipRole)) == served.url
    traces.view.horizontalHeader().setSortIndicator(server_column, Qt.SortOrder.AscendingOrder)
    assert traces.view.horizontalHeader().sortIndicatorSection() == 0
    assert traces.model.sort_order() == ("start_ns", True)

    # Opening it again (Return in the table) reads the cache; Refresh fetches it again.
    browser.view.setFocus()
    browser.view.setCurrentIndex(browser.model.index(0, 0))
    browser.fetch_label.clear()
    qtbot.keyClick(browser.view, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not browser.fetch_worker.busy and "shown" in browser.fetch_label.text())
    assert served.fetches(0) == 1
    browser.view.setCurrentIndex(browser.model.index(0, 0))
    browser.refresh_button.click()
    qtbot.waitUntil(lambda: not browser.fetch_worker.busy, timeout=10_000)
    assert served.fetches(0) == 2 and window.context.trace_id == trace_id(0)

    # The URL is remembered, and only the URL.
    settings = Path(window.settings.fileName()).read_text()
    assert served.url in settings and "JAEGER_TOKEN" not in settings
    browser.close()
    again = open_browser(qtbot, window)
    assert again is browser and again.url.itemText(0) == served.url


def test_names_from_the_server_show_as_plain_text(qtbot, window, served):
    browser = open_browser(qtbot, window)
    connect_to(qtbot, browser, served.url)
    assert browser.project.findText(HOSTILE_SERVICE) >= 0, "a combo box item is plain text"
    assert cell(browser, 1, NAME_COLUMN) == "<b>bold</b>\\nsecond line", "one row, its line break shown"
    tip = cell(browser, 1, NAME_COLUMN, Qt.ItemDataRole.ToolTipRole)
    assert "<b>" not in tip and HOSTILE_NAME in shown_text(tip)
    served.server.fail(500, path="/api/traces")
    browser.list_button.click()
    qtbot.waitUntil(lambda: browser.banner.isVisible(), timeout=10_000)
    assert browser.banner.textFormat() == Qt.TextFormat.PlainText


def test_server_failures_are_banners_naming_the_server_and_what_to_do(qtbot, window, served, monkeypatch):
    browser = open_browser(qtbot, window)
    host = served.server.host_port

    served.server.require_auth("Bearer s3cret-token")
    connect_to(qtbot, browser, served.url, rows=None)
    text = browser.banner.text()
    assert browser.banner.isVisible() and host in text and "HTTP 401" in text
    assert "JAEGER_TOKEN" in text and f"user jaeger+{host}:JAEGER_TOKEN" in text
    assert browser.model.rowCount() == 0 and not browser.list_button.isEnabled()
    monkeypatch.setenv("JAEGER_TOKEN", "s3cret-token")
    connect_to(qtbot, browser, served.url)
    assert browser.banner.isHidden()
    assert "s3cret" not in Path(window.settings.fileName()).read_text()

    served.server.fail(500, path="/api/traces")
    browser.list_button.click()
    qtbot.waitUntil(lambda: browser.banner.isVisible(), timeout=10_000)
    assert "HTTP 500" in browser.banner.text() and host in browser.banner.text()

    # A trace the server does not have, and one whose fetch fails: nothing of either is cached.
    browser.list_button.click()
    qtbot.waitUntil(lambda: browser.model.rowCount() == PAGE, timeout=10_000)
    served.server.fail(404, path=f"/api/traces/{trace_id(2)}")
    open_row(qtbot, browser, 2)
    assert "HTTP 404" in browser.banner.text() and trace_id(2) in browser.banner.text()
    served.server.fail(500, path=f"/api/traces/{trace_id(3)}")
    open_row(qtbot, browser, 3)
    assert "HTTP 500" in browser.banner.text()
    cache = CacheStore.for_server(ServerURL("jaeger", served.server.base_url))
    assert cache.local([trace_id(2), trace_id(3)]) == set()
    assert window.context.store_path != cache.path, "the main window still shows its own store"
    assert cell(browser, 2, CACHE_COLUMN) == cell(browser, 3, CACHE_COLUMN) == "remote"

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    connect_to(qtbot, browser, f"jaeger+http://127.0.0.1:{port}", rows=None)
    assert f"127.0.0.1:{port}" in browser.banner.text() and "unreachable" in browser.banner.text()

    connect_to(qtbot, browser, f"jaeger+http://reader:pa55word@{host}", rows=None)
    assert "put credentials in the environment, not in the URL" in browser.banner.text()
    assert "pa55word" not in browser.banner.text() + Path(window.settings.fileName()).read_text()

    connect_to(qtbot, browser, "zipkin+http://localhost:9411", rows=None)
    assert "is not a trace server URL" in browser.banner.text() and "jaeger+http://" in browser.banner.text()


def test_cancel_stops_a_fetch_and_keeps_nothing_of_it(qtbot, window, served):
    browser = open_browser(qtbot, window)
    connect_to(qtbot, browser, served.url)
    served.server.stall(1.5, path=f"/api/traces/{trace_id(0)}")
    browser.view.doubleClicked.emit(browser.model.index(0, NAME_COLUMN))
    assert browser.cancel_button.isVisible() and browser.fetch_bar.isVisible()
    qtbot.waitUntil(lambda: served.fetches(0) == 1, timeout=5_000)
    browser.cancel_button.click()
    assert browser.cancel_button.isHidden() and "cancelled" in browser.fetch_label.text()
    qtbot.waitUntil(lambda: not browser.fetch_worker.busy, timeout=10_000)
    cache = CacheStore.for_server(ServerURL("jaeger", served.server.base_url))
    assert not cache.has(trace_id(0)) and window.context.trace_id != trace_id(0)
    assert cell(browser, 0, CACHE_COLUMN) == "remote"


def test_a_running_trace_is_polled_while_shown_until_it_ends(qtbot, window, served):
    served.serve_trace(0, jaeger_trace(0, spans=2, running=True), "running")
    browser = open_browser(qtbot, window)
    browser.poll.timer.setInterval(200)
    connect_to(qtbot, browser, served.url)
    open_row(qtbot, browser, 0)
    assert browser.poll.active and browser.poll.trace_id == trace_id(0)
    assert "still running" in browser.fetch_label.text()
    qtbot.waitUntil(lambda: served.fetches(0) >= 2, timeout=5_000)
    assert browser.poll.active and get_trace(window.context.db, trace_id(0)).end_ns is None

    served.serve_trace(0, jaeger_trace(0, spans=3), "ended")
    qtbot.waitUntil(lambda: not browser.poll.active, timeout=5_000)
    assert window.context.trace_id == trace_id(0)
    qtbot.waitUntil(lambda: window.span_tree.model.rowCount() == 3)
    assert get_trace(window.context.db, trace_id(0)).end_ns is not None
    assert "has ended" in browser.fetch_label.text()
    fetched = served.fetches(0)
    qtbot.wait(500)
    assert served.fetches(0) == fetched, "an ended trace is not fetched again"

    # Polling stops when another trace is opened, or shown in the main window.
    served.serve_trace(0, jaeger_trace(0, spans=2, running=True), "running again")
    browser.view.setCurrentIndex(browser.model.index(0, 0))
    browser.refresh_button.click()
    qtbot.waitUntil(lambda: browser.poll.active, timeout=10_000)
    open_row(qtbot, browser, 1)
    assert not browser.poll.active and window.context.trace_id == trace_id(1)
    browser.view.setCurrentIndex(browser.model.index(0, 0))
    browser.refresh_button.click()
    qtbot.waitUntil(lambda: browser.poll.active, timeout=10_000)
    window.context.show_trace(trace_id(1))
    assert not browser.poll.active and "another trace" in browser.fetch_label.text()


def type_limit(qtbot, browser: QtRemoteBrowser, text: str) -> None:
    browser.cache_limit.setFocus()
    browser.cache_limit.selectAll()
    qtbot.keyClicks(browser.cache_limit, text)
    qtbot.keyClick(browser.cache_limit, Qt.Key.Key_Return)


def test_the_cache_limit_is_saved_and_evicts_the_least_recently_opened(qtbot, window, served, tmp_path):
    browser = open_browser(qtbot, window)
    connect_to(qtbot, browser, served.url)
    open_row(qtbot, browser, 1)
    open_row(qtbot, browser, 0)
    assert browser.cache_label.text().startswith("Cache: 2 traces")
    type_limit(qtbot, browser, "1KB")
    assert read_cache_limit() == 1000
    qtbot.waitUntil(lambda: cell(browser, 1, CACHE_COLUMN) == "remote", timeout=10_000)
    assert cell(browser, 0, CACHE_COLUMN) == "local", "the trace shown is never evicted"
    label = browser.cache_label.text()
    assert label.startswith("Cache: 1 trace, ") and label.endswith(" of 1 KB")
    db = connect(browser.cache.path, readonly=True)
    try:
        assert get_trace(db, trace_id(1)) is None and get_trace(db, trace_id(0)) is not None
    finally:
        db.conn.close()
    type_limit(qtbot, browser, "lots")
    assert browser.banner.isVisible() and "'lots' is not a size" in browser.banner.text()
    assert read_cache_limit() == 1000


def test_a_newer_list_request_wins_over_one_still_on_its_way(qtbot, window, served):
    browser = open_browser(qtbot, window)
    connect_to(qtbot, browser, served.url)
    errors = envelope([jaeger_trace(9, name="the failing one")])
    served.write("errors.json", errors, "/api/traces", when={"tags": '{"error":"true"}'})
    served.server.stall(1.0, path="/api/traces")
    browser.list_button.click()  # stalls: its answer comes after the next request's
    qtbot.waitUntil(lambda: served.server.paths().count("/api/traces") == 2, timeout=5_000)
    browser.errors_only.setChecked(True)
    qtbot.waitUntil(lambda: not browser.list_worker.busy, timeout=10_000)
    assert [cell(browser, row, NAME_COLUMN) for row in range(browser.model.rowCount())] == ["the failing one"]
    assert browser.count_label.text() == "1 trace listed, newest first; that is all"
