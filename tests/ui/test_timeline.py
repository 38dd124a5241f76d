"""The timeline: a bar per span, the highlight following the context, clicks selecting, clearing."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt

from spanscope.core.store.queries import trace_rows
from spanscope.ui.timeline import QtTimelinePanel

BIG = "85786481e3f06890be8c04d490a4078a"
AGENT = "214119cf6d84cc7956364be9b85993a7"


@pytest.fixture
def panel(qtbot, context):
    widget = QtTimelinePanel(context)
    qtbot.addWidget(widget)
    widget.resize(1000, 300)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def span_ids(context, trace_id: str) -> list[str]:
    return trace_rows(context.db, trace_id).columns["span_id"]


@pytest.mark.parametrize("trace_id", [AGENT, BIG])
def test_a_bar_for_every_span(panel, context, trace_id):
    context.select_trace(trace_id)
    assert panel.bar_count() == len(span_ids(context, trace_id))
    assert len(panel._bars) <= 2 * 12  # one item per look, never one per span


def test_highlight_follows_the_context(panel, context, qtbot):
    context.select_trace(BIG)
    before = panel.render_count
    for span_id in span_ids(context, BIG)[::30]:
        context.select_span(span_id)
        qtbot.waitUntil(lambda span_id=span_id: panel.highlighted_span() == span_id)
    assert panel.render_count > before
    assert panel.highlight.isVisible()


def test_stepping_pans_to_a_span_out_of_view(panel, context, qtbot):
    context.select_trace(BIG)
    last = span_ids(context, BIG)[-1]
    panel.view_box.setRange(xRange=(0, 1), yRange=(0, 5), padding=0)
    width = panel.view_box.viewRange()[0][1] - panel.view_box.viewRange()[0][0]
    context.select_span(last)
    qtbot.waitUntil(lambda: panel.highlighted_span() == last)
    (left, right), (top, bottom) = panel.view_box.viewRange()
    bar = panel.bar_rect(last)
    assert left <= bar.left() <= right
    assert top <= bar.center().y() <= bottom
    assert right - left == pytest.approx(width)


def test_clicking_a_bar_selects_its_span(panel, context, qtbot):
    context.select_trace(AGENT)
    ids = span_ids(context, AGENT)
    for span_id in (ids[0], ids[-1]):
        centre = panel.bar_rect(span_id).center()
        scene = panel.view_box.mapViewToScene(centre)
        point: QPoint = panel.plot.mapFromScene(scene)
        qtbot.mouseClick(panel.plot.viewport(), Qt.MouseButton.LeftButton, pos=point)
        qtbot.waitUntil(lambda span_id=span_id: context.span_id == span_id)
        assert panel.highlighted_span() == span_id


def test_clicking_empty_space_selects_nothing(panel, context, qtbot):
    context.select_trace(AGENT)
    last = span_ids(context, AGENT)[-1]
    bar = panel.bar_rect(last)
    scene = panel.view_box.mapViewToScene(QPointF(bar.left() / 2, bar.center().y()))  # before it, its row
    qtbot.mouseClick(panel.plot.viewport(), Qt.MouseButton.LeftButton, pos=panel.plot.mapFromScene(scene))
    qtbot.wait(10)
    assert context.span_id is None


def test_clearing(panel, context, qtbot):
    context.select_trace(AGENT)
    first = span_ids(context, AGENT)[0]
    context.select_span(first)
    qtbot.waitUntil(lambda: panel.highlighted_span() == first)
    context.select_trace(None)
    assert panel.bar_count() == 0
    assert panel.highlighted_span() is None
    assert not panel.highlight.isVisible()
    assert not panel._bars
    context.select_trace(AGENT)
    assert panel.bar_count() == len(span_ids(context, AGENT))
    context.close_store()
    assert panel.bar_count() == 0


def test_a_panel_registered_late_shows_the_current_state(qtbot, context):
    context.select_trace(AGENT)
    first = span_ids(context, AGENT)[0]
    context.select_span(first)
    qtbot.waitUntil(lambda: context.span_id == first)
    widget = QtTimelinePanel(context)
    qtbot.addWidget(widget)
    assert widget.bar_count() == len(span_ids(context, AGENT))
    assert widget.highlighted_span() == first
