"""The Dashboard and Compare models with many models: the busiest apart and the rest as "other", no
colour twice, snapshots under their family (or apart), keys beside the plot, tables that never cut a
figure or a name, and charts that follow a dark palette."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette

from many_models import SNAPSHOT, forty_models, many_models_store
from spanscope.core.analysis.model_groups import MAX_SHOWN, OTHER
from spanscope.ui.context import QtTraceContext
from spanscope.ui.dashboard.chart import MIN_PLOT_HEIGHT, OTHER_COLOR, PALETTE, model_colors
from spanscope.ui.dashboard.compare_tab import QtCompareTab
from spanscope.ui.dashboard.dashboard_tab import QtDashboardTab

WAIT_MS = 20_000


@pytest.fixture
def many(qtbot, tmp_path):
    store, _durations = many_models_store(tmp_path)
    context = QtTraceContext()
    context.open_store(store)
    yield context
    context.close_store()


@pytest.fixture
def dashboard(qtbot, many):
    tab = QtDashboardTab(many)
    qtbot.addWidget(tab)
    tab.resize(1280, 720)
    with qtbot.waitSignal(tab.drawn, timeout=WAIT_MS):
        tab.show()
    return tab


def test_the_palette_has_no_repeats_up_to_its_size():
    models = [f"m{i}" for i in range(MAX_SHOWN)]
    names = {c.name() for c in model_colors(models).values()}
    assert len(names) == MAX_SHOWN == len(set(PALETTE))
    assert OTHER_COLOR not in PALETTE
    with_other = model_colors([*models[:-1], OTHER])
    assert len({c.name() for c in with_other.values()}) == MAX_SHOWN
    assert with_other[OTHER] == QColor(OTHER_COLOR)


def axis_names(chart) -> list[str]:
    ticks = chart.plot.getAxis("left")._tickLevels[0]
    return [name for _, name in sorted(ticks, reverse=True)]


def test_forty_models_chart_as_the_busiest_and_other(dashboard):
    busiest = sorted(forty_models().items(), key=lambda kv: -kv[1])[: MAX_SHOWN - 1]
    for chart in (dashboard.errors, dashboard.speed, dashboard.latency):
        names = axis_names(chart)
        assert len(names) == MAX_SHOWN
        assert names[0] == "model-01 (2 versions)"  # its snapshot under it
        assert [n.split(" ")[0] for n in names[:-1]] == [m for m, _ in busiest]
        assert names[-1] == f"other ({40 - len(busiest)} models)"
    assert dashboard.cost.table is not None


def test_the_cost_key_sits_beside_the_plot(dashboard):
    cost = dashboard.cost
    assert cost.side_scroll.isVisible() and not cost.key.isVisible()
    assert cost.side_key.text().count("&#9632;") == MAX_SHOWN
    assert cost.plot.height() >= MIN_PLOT_HEIGHT
    assert cost.plot.getAxis("bottom").isVisible()


def test_split_snapshots_toggle(qtbot, dashboard):
    before = dashboard.draw_count
    dashboard.split_snapshots.setChecked(True)
    assert dashboard.draw_count == before + 1  # redrawn from the data read, no new read
    names = axis_names(dashboard.errors)
    assert names[0] == "model-01"
    assert SNAPSHOT not in names[:-1]  # 3 calls: among the others now
    dashboard.split_snapshots.setChecked(False)
    assert axis_names(dashboard.errors)[0] == "model-01 (2 versions)"


def test_bar_charts_grow_a_row_per_model(dashboard):
    assert dashboard.errors.plot.minimumHeight() >= MAX_SHOWN * 20


def dark_palette() -> QPalette:
    palette = QPalette()
    for role, hue in (
        (QPalette.ColorRole.Window, "#2b2b2b"),
        (QPalette.ColorRole.Base, "#1e1e1e"),
        (QPalette.ColorRole.Text, "#e6e6e6"),
        (QPalette.ColorRole.WindowText, "#e6e6e6"),
    ):
        palette.setColor(role, QColor(hue))
    return palette


def test_charts_follow_a_dark_palette(qtbot, dashboard):
    before = dashboard.draw_count
    dashboard.setPalette(dark_palette())
    qtbot.waitUntil(lambda: dashboard.draw_count > before, timeout=WAIT_MS)
    for chart in dashboard.charts():
        assert chart.plot.backgroundBrush().color() == QColor("#1e1e1e")
        assert chart.palette().color(QPalette.ColorRole.Window) == QColor("#1e1e1e")
        assert chart.plot.getAxis("left").textPen().color() == QColor("#e6e6e6")


def test_compare_columns_fit_their_figures_and_names(qtbot, many):
    tab = QtCompareTab(many)
    qtbot.addWidget(tab)
    tab.resize(1280, 720)
    tab.show()
    qtbot.waitUntil(lambda: tab.models.count() > 0, timeout=WAIT_MS)
    models = [tab.models.item(i).data(Qt.ItemDataRole.UserRole) for i in range(8)]
    with qtbot.waitSignal(tab.drawn, timeout=WAIT_MS):
        tab.set_chosen(models)
    table = tab.table
    metrics = table.fontMetrics()
    for column in range(table.columnCount()):
        width = table.columnWidth(column)
        name = table.horizontalHeaderItem(column).text()
        assert name in models
        assert metrics.horizontalAdvance(name) < width
        for row in range(table.rowCount()):
            assert metrics.horizontalAdvance(table.item(row, column).text()) < width


def test_calls_of_a_model_stored_between_the_two_reads_are_charted(qtbot, many):
    """Compare models reads its rows and its points apart; live, a model's first call can be stored
    in between, so the scatter has a model the table has not."""
    tab = QtCompareTab(many)
    qtbot.addWidget(tab)
    tab.show()
    qtbot.waitUntil(lambda: tab.models.count() > 0, timeout=WAIT_MS)
    with qtbot.waitSignal(tab.drawn, timeout=WAIT_MS):
        tab.set_chosen([tab.models.item(i).data(Qt.ItemDataRole.UserRole) for i in range(2)])
    points = tab._points
    points.latency_ms["arrived-later"] = [120.0]
    points.cost_usd["arrived-later"] = [0.001]
    points.spans["arrived-later"] = [("t", "s")]
    tab._draw_charts()


def test_two_models_read_side_by_side_at_1280(qtbot, context):
    """The table takes the width its columns need (up to its share beside the scatter): the demo's
    two longest model names."""
    tab = QtCompareTab(context)
    qtbot.addWidget(tab)
    tab.resize(1280, 720)
    tab.show()
    qtbot.waitUntil(lambda: tab.models.count() > 1, timeout=WAIT_MS)
    models = [tab.models.item(i).data(Qt.ItemDataRole.UserRole) for i in range(tab.models.count())]
    longest = sorted(models, key=lambda m: len(m or ""))[-2:]  # the widest columns
    with qtbot.waitSignal(tab.drawn, timeout=WAIT_MS):
        tab.set_chosen(longest)
    qtbot.wait(50)
    assert tab.table.columnCount() == 2 and tab.table.horizontalScrollBar().maximum() == 0
