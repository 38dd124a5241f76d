"""Time to first token in the desktop app: the detail's header and Usage tab, a tick on the timeline
bar, and the Compare models table; figures worked out from the raw capture."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from spanscope.core.store import import_files
from spanscope.ui.context import QtTraceContext
from spanscope.ui.dashboard.compare_tab import QtCompareTab
from spanscope.ui.detail import QtDetailPanel
from spanscope.ui.timeline import QtTimelinePanel

LEGACY = "vercel-ai-sdk/travel-app-legacy.otlp-http.json"
V4 = "vercel-ai-sdk-v4/packing-advisor.otlp-http.json"
STRANDS = "strands-agents/travel-agent-latest.otlp.json"
WAIT_MS = 10_000


def raw_spans(path: Path) -> list[dict]:
    body = json.loads(path.read_text())
    return [s for rs in body["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]


def attr(span: dict, key: str):
    for a in span.get("attributes", []):
        if a["key"] == key:
            return next(iter(a["value"].values()))
    return None


@pytest.fixture
def streamed(fixtures_dir, tmp_path, qtbot):
    """A context over the legacy Vercel capture, its streamed call as written, the expected TTFT in ns
    (ai.response.msToFirstChunk is in milliseconds) and the start of the call's trace."""
    store = tmp_path / "store.db"
    import_files(store, [fixtures_dir / LEGACY])
    raw = raw_spans(fixtures_dir / LEGACY)
    [call] = [s for s in raw if attr(s, "ai.response.msToFirstChunk") is not None]
    trace_start = min(int(s["startTimeUnixNano"]) for s in raw if s["traceId"] == call["traceId"])
    context = QtTraceContext()
    context.open_store(store)
    yield context, call, round(attr(call, "ai.response.msToFirstChunk") * 1_000_000), trace_start
    context.close_store()


def test_detail_shows_the_time_to_first_token(qtbot, streamed):
    context, call, ns, _ = streamed
    panel = QtDetailPanel(context)
    qtbot.addWidget(panel)
    context.select_trace(call["traceId"])
    context.select_span(call["spanId"])
    qtbot.waitUntil(lambda: panel.span is not None and panel.span.span_id == call["spanId"])
    shown = f"{ns / 1e6:.0f} ms"
    assert panel.usage.rows()["Time to first token"] == shown
    assert f"first token after {shown}" in panel.header.title.text()
    context.select_span(call["parentSpanId"])
    qtbot.waitUntil(lambda: panel.span is not None and panel.span.span_id == call["parentSpanId"])
    assert panel.usage.rows()["Time to first token"] == "not recorded"
    assert "first token" not in panel.header.title.text()


def test_timeline_draws_a_tick_at_the_first_token_on_the_bar(qtbot, streamed):
    context, call, ns, trace_start = streamed
    panel = QtTimelinePanel(context)
    qtbot.addWidget(panel)
    panel.resize(1000, 300)
    panel.show()
    context.select_trace(call["traceId"])
    marks = panel.first_token_marks()
    assert list(marks) == [call["spanId"]]
    x, y = marks[call["spanId"]]
    assert x == pytest.approx((int(call["startTimeUnixNano"]) + ns - trace_start) / 1e6)
    bar = panel.bar_rect(call["spanId"])
    assert y == bar.center().y() and bar.left() < x < bar.right()
    assert panel.first_tokens.isVisible() and len(panel.first_tokens.points()) == 1
    context.select_trace(None)
    assert panel.first_token_marks() == {}


def nearest_rank_ms(values: list[int], p: int) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(p * len(ordered) / 100) - 1] / 1e6


def test_compare_models_shows_ttft_percentiles_per_model(qtbot, fixtures_dir, tmp_path):
    """gpt-4o streams in both captures (Strands and the AI SDK 4 both write milliseconds); gpt-4o-mini
    never does."""
    store = tmp_path / "store.db"
    import_files(store, [fixtures_dir / STRANDS, fixtures_dir / V4])
    firsts: dict[str, list[int]] = {}
    for file, key in ((STRANDS, "gen_ai.server.time_to_first_token"), (V4, "ai.response.msToFirstChunk")):
        for s in raw_spans(fixtures_dir / file):
            if attr(s, key) is not None:
                model = attr(s, "ai.response.model") or attr(s, "gen_ai.request.model")
                firsts.setdefault(model, []).append(round(float(attr(s, key)) * 1_000_000))
    assert list(firsts) == ["gpt-4o"] and len(firsts["gpt-4o"]) == 6
    context = QtTraceContext()
    context.open_store(store)
    tab = QtCompareTab(context)
    qtbot.addWidget(tab)
    tab.resize(1400, 900)
    with qtbot.waitSignal(tab.drawn, timeout=WAIT_MS):
        tab.show()
    labels = [tab.table.verticalHeaderItem(r).text() for r in range(tab.table.rowCount())]
    models = [tab.table.horizontalHeaderItem(c).text() for c in range(tab.table.columnCount())]
    for p in (50, 95):
        row = labels.index(f"p{p} time to first token (ms)")
        cells = {m: tab.table.item(row, c).text() for c, m in enumerate(models)}
        expected = nearest_rank_ms(firsts["gpt-4o"], p)
        assert cells["gpt-4o"] == (f"{expected:,.1f}" if expected < 100 else f"{expected:,.0f}")
        assert cells["gpt-4o-mini"] == "unknown"
    assert tab.bars["ttft_p50_ms"].table is not None
    context.close_store()
