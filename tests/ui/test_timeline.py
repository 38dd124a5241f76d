"""The timeline: a bar per span, the highlight following the context, clicks selecting, clearing."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt

from otlp import request, span, write_jsonl
from spanscope.core.store import import_files
from spanscope.core.store.queries import list_traces, trace_rows
from spanscope.ui.context import QtTraceContext
from spanscope.ui.duration_axis import tick_label, tick_step, time_unit
from spanscope.ui.timeline import ROW_PX, QtTimelinePanel

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
        panel.view_box.setYRange(centre.y() - 1, centre.y() + 1, padding=0)  # rows keep their height
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


# --- reading a trace: names, tooltips, the time axis, running spans --------------------------------

S = 1_000_000_000  # ns
ROOT, STEP, CALL = "00000000000000a1", "00000000000000a2", "00000000000000a3"


def trace_store(tmp_path, *spans) -> Path:
    path = write_jsonl(tmp_path / "trace.jsonl", request(*spans))
    import_files(tmp_path / "store.db", [path])
    return tmp_path / "store.db"


@pytest.fixture
def shown(qtbot, tmp_path):
    """Show a trace made of OTLP spans (times in ns since the helpers' origin) in a fresh panel."""
    contexts = []

    def show(*spans) -> QtTimelinePanel:
        context = QtTraceContext()
        context.open_store(trace_store(tmp_path, *spans))
        contexts.append(context)
        widget = QtTimelinePanel(context)
        qtbot.addWidget(widget)
        widget.resize(1000, 300)
        widget.show()
        qtbot.waitExposed(widget)
        context.select_trace(list_traces(context.db)[0].trace_id)
        qtbot.wait(20)  # a paint: the axis picks its unit when it draws
        return widget

    yield show
    for context in contexts:
        context.close_store()


def test_a_110_second_trace_reads_in_seconds(shown):
    panel = shown(
        span(ROOT, name="agent run", start=0, end=110 * S),
        span(STEP, ROOT, name="plan", start=2 * S, end=30 * S),
    )
    assert panel.plot.getAxis("bottom").unit() == "s"
    (left, right), _ = panel.view_box.viewRange()
    assert right - left == pytest.approx(110_000, rel=0.05)


@pytest.mark.parametrize(
    ("range_ms", "unit"),
    [(0.4, "µs"), (40, "ms"), (999, "ms"), (110_000, "s"), (600_000, "min"), (5 * 3_600_000, "h")],
)
def test_the_axis_unit_follows_the_range(range_ms, unit):
    assert time_unit(range_ms)[0] == unit
    step, name, per = tick_step(range_ms, 10)
    assert name == unit
    assert 3 <= range_ms / step <= 25  # round steps, about the asked count
    assert tick_label(2 * step, step, name, per).endswith(f" {unit}")


def test_a_running_span_is_drawn_to_the_traces_last_known_time(shown):
    panel = shown(
        span(ROOT, name="agent run", start=0, end=None),
        span(STEP, ROOT, name="plan", start=1 * S, end=4 * S),
        span(CALL, ROOT, name="chat", start=5 * S, end=None),
    )
    root = panel.bar_rect(ROOT)
    assert root.left() == 0
    assert root.width() == pytest.approx(5_000)  # to the last start or end the trace holds
    assert panel.bar_rect(CALL).width() == pytest.approx(0)
    assert not panel.is_live()  # recorded long ago: nothing grows
    assert panel.plot.getAxis("bottom").unit() == "s"


def test_a_live_trace_grows_its_running_spans_to_now(shown, qtbot):
    ago = time.time_ns() - 1_700_000_000_000_000_000 - 3 * S  # started 3 s ago, by the helpers' origin
    panel = shown(
        span(ROOT, name="agent run", start=ago, end=None),
        span(STEP, ROOT, name="plan", start=ago + S // 2, end=ago + S),
    )
    assert panel.is_live()
    assert panel.bar_rect(ROOT).width() == pytest.approx(3_000, abs=500)
    before = panel.bar_rect(ROOT).width()
    qtbot.waitUntil(lambda: panel.bar_rect(ROOT).width() > before + 500, timeout=3000)


def test_tooltips_show_trace_text_as_text(shown):
    panel = shown(
        span(ROOT, name="<img src=x onerror=alert(1)> run", start=0, end=2 * S, error="<b>boom</b>"),
    )
    tip = panel.tooltip_at(ROOT)
    assert "&lt;img src=x onerror=alert(1)&gt; run" in tip
    assert "&lt;b&gt;boom&lt;/b&gt;" in tip
    assert "<img" not in tip and "<b>boom" not in tip
    assert "2.00 s" in tip


def test_bars_carry_their_names(shown):
    panel = shown(
        span(ROOT, name="agent run", start=0, end=10 * S),
        span(STEP, ROOT, name="a step with a long name", start=1 * S, end=int(1.01 * S)),
    )
    texts = [panel.labels.label(i)[0] for i in panel.rows_in_order()]
    assert texts[0] == "agent run  10.00 s"
    assert texts[1] == "a step with a long name  10 ms"


def test_rows_keep_their_height_on_a_one_span_trace(shown):
    panel = shown(span(ROOT, name="only", start=0, end=S))
    _, (top, bottom) = panel.view_box.viewRange()
    assert bottom - top == pytest.approx(panel.view_box.height() / ROW_PX, rel=0.05)
