"""The Dashboard and Compare models tabs on the demo store and a real fixture."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QImage

from spanscope.core.store import connect, import_files
from spanscope.ui.context import QtTraceContext, View
from spanscope.ui.dashboard.compare_tab import QtCompareTab
from spanscope.ui.dashboard.dashboard_tab import QtDashboardTab

WAIT_MS = 20_000


def counted_calls(store: Path, where: str = "", params: tuple = ()) -> int:
    db = connect(store, readonly=True)
    try:
        return db.execute(f"SELECT count(*) FROM spans WHERE counted = 1 {where}", params).fetchone()[0]
    finally:
        db.conn.close()


@pytest.fixture
def dashboard(qtbot, context):
    tab = QtDashboardTab(context)
    qtbot.addWidget(tab)
    tab.resize(1400, 900)
    with qtbot.waitSignal(tab.drawn, timeout=WAIT_MS):
        tab.show()
    return tab


def test_dashboard_draws_every_chart_with_linked_time_axes(qtbot, dashboard, demo_store):
    qtbot.waitUntil(lambda: dashboard.tools.table is not None, timeout=WAIT_MS)
    calls = counted_calls(demo_store)
    assert f"{calls} model calls" in dashboard.summary.text()
    assert all(chart.table is not None for chart in dashboard.charts())
    cost_box = dashboard.cost.view_box
    assert dashboard.tokens.view_box.linkedView(0) is cost_box
    assert dashboard.requests.view_box.linkedView(0) is cost_box
    rows = dashboard.requests.table.rows
    assert sum(r[1] for r in rows) == calls


def test_hover_shows_the_bucket_values(dashboard):
    rows = dashboard.requests.table.rows
    busiest = max(rows, key=lambda r: r[1])
    start = datetime.strptime(busiest[0], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    assert f"{busiest[1]:,} calls" in dashboard.requests.hover(start + 1, 0)
    assert dashboard.requests.hover(start - 10**9, 0) is None


def test_chains_and_tools_follow_the_filter(qtbot, dashboard, demo_store):
    qtbot.waitUntil(lambda: dashboard.tools.table is not None, timeout=WAIT_MS)
    db = connect(demo_store, readonly=True)
    sql = (
        "SELECT name, count(*), sum(status = 'error') FROM spans WHERE kind IN ({}) {} "
        "GROUP BY name ORDER BY 2 DESC, name LIMIT 8"
    )
    chains = db.execute(sql.format("'CHAIN', 'AGENT'", ""), ()).fetchall()
    tools = db.execute(sql.format("'TOOL'", ""), ()).fetchall()
    assert [tuple(r) for r in dashboard.chains.table.rows] == chains
    assert [tuple(r) for r in dashboard.tools.table.rows] == tools
    assert tools, "the demo has tool calls"
    with qtbot.waitSignal(dashboard.lists_drawn, timeout=WAIT_MS):
        dashboard.filter_bar.trace_name.setText("no trace is called this")
    assert dashboard.tools.table.rows == []
    db.conn.close()


def test_export_png_and_csv(qtbot, dashboard, tmp_path):
    qtbot.waitUntil(lambda: dashboard.tools.table is not None, timeout=WAIT_MS)
    for chart in dashboard.charts():
        png, data = tmp_path / f"{chart._file_stem()}.png", tmp_path / f"{chart._file_stem()}.csv"
        chart.export_png(png)
        image = QImage(str(png))
        assert not image.isNull() and image.width() > 200 and image.height() > 100
        chart.export_csv(data)
        assert data.read_text(encoding="utf-8") == chart.table.csv_text()
        header = next(csv.reader(io.StringIO(data.read_text(encoding="utf-8"))))
        assert header == chart.table.header
        right_click = [a.text() for a in chart.view_box.menu.actions()]
        assert "Export PNG…" in right_click and "Export data as CSV…" in right_click


def test_filter_change_redraws_for_the_newest_filter(qtbot, dashboard, demo_store):
    bar = dashboard.filter_bar
    qtbot.waitUntil(lambda: bar.service.count() > 1, timeout=WAIT_MS)
    service = bar.service.itemText(1)
    with qtbot.waitSignal(dashboard.drawn, timeout=WAIT_MS):
        bar.service.setCurrentText(service)
    expected = counted_calls(demo_store, "AND service = ?", (service,))
    assert sum(r[1] for r in dashboard.requests.table.rows) == expected
    with qtbot.waitSignal(dashboard.drawn, timeout=WAIT_MS):
        bar.trace_name.setText("no trace is called this")
    assert dashboard.requests.table.rows == []
    assert "0 model calls" in dashboard.summary.text()


@pytest.fixture
def compare(qtbot, context):
    tab = QtCompareTab(context)
    qtbot.addWidget(tab)
    tab.resize(1400, 900)
    with qtbot.waitSignal(tab.drawn, timeout=WAIT_MS):
        tab.show()
    return tab


def test_compare_two_models_then_three(qtbot, compare):
    assert compare.table.columnCount() == 2
    assert len(compare.chosen()) == 2
    third = compare.models.item(2).data(Qt.ItemDataRole.UserRole)
    with qtbot.waitSignal(compare.drawn, timeout=WAIT_MS):
        compare.set_chosen([*compare.chosen(), third])
    assert compare.table.columnCount() == 3
    assert compare.table.horizontalHeaderItem(2).text() == third
    assert all(chart.table is not None for chart in compare.charts())
    with qtbot.assertNotEmitted(compare.drawn, wait=300):
        compare.set_chosen([third])
    assert "two or more" in compare.status.text()


def test_clicking_a_point_opens_its_span(qtbot, compare, context):
    model = next(m for m, v in compare._points.latency_ms.items() if v)
    x, y = compare._points.latency_ms[model][0], compare._points.cost_usd[model][0]
    found = compare.nearest_call(x, y)
    assert found is not None
    with qtbot.waitSignal(context.view_requested) as requested:
        compare.open_call(*found)
    assert requested.args == [View.TRACES]
    trace_id, span_id = compare._points.spans[found[0]][found[1]]
    qtbot.waitUntil(lambda: context.span_id == span_id)
    assert context.trace_id == trace_id


def test_tabs_in_the_main_window(qtbot, tmp_path, demo_store):
    from spanscope.ui.main_window import QtMainWindow

    window = QtMainWindow(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.open_store(demo_store)
    window.show()
    assert [window.tabs.tabText(i) for i in range(3)] == ["Traces", "Dashboard", "Compare models"]
    with qtbot.waitSignal(window.compare.drawn, timeout=WAIT_MS):
        window.tabs.setCurrentIndex(2)
    assert not window.timeline_dock.isVisible()
    model = next(m for m, v in window.compare._points.latency_ms.items() if v)
    window.compare.open_call(model, 0)
    assert window.tabs.currentIndex() == 0
    assert window.timeline_dock.isVisible()
    window.close()


def test_tabs_render_a_real_fixture(qtbot, fixtures_dir, tmp_path):
    store = tmp_path / "fixture.db"
    import_files(store, [fixtures_dir / "otel-genai" / "latest-experimental-span-content.otlp.jsonl"])
    context = QtTraceContext()
    context.open_store(store)
    dashboard, compare = QtDashboardTab(context), QtCompareTab(context)
    for tab in (dashboard, compare):
        qtbot.addWidget(tab)
        tab.resize(1400, 900)
    with qtbot.waitSignal(dashboard.drawn, timeout=WAIT_MS):
        dashboard.show()
    assert f"{counted_calls(store)} model call" in dashboard.summary.text()
    compare.show()
    qtbot.waitUntil(lambda: compare.models.count() > 0, timeout=WAIT_MS)
    context.close_store()
