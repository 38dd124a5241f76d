"""The timeline: every span of the current trace as a bar on a shared time axis, one row per span in
tree pre-order, so overlaps, gaps and the critical path show at a glance.

Bars are drawn as one pg.BarGraphItem per colour (kind, error, running), each painting all its
rectangles with a single drawRects call: a 100,000-span trace stays smooth to zoom and pan. The
current span is a separate small item, so stepping through spans never redraws the bars. A model
call's first token is a tick on its bar (one scatter item for the whole trace).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from pyqtgraph.GraphicsScene.mouseEvents import MouseClickEvent
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPalette, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem, QVBoxLayout, QWidget

from spanscope.core.debugging.tree import TraceTree
from spanscope.core.model import Kind
from spanscope.ui.context import QtObserver, QtTraceContext
from spanscope.ui.style import ERROR_COLOR, KIND_COLORS

#: Bar height in rows: the gap between rows keeps neighbouring bars apart.
BAR_HEIGHT = 0.7
#: Opacity of spans still running (drawn up to the trace's end).
RUNNING_ALPHA = 90
#: Rows shown when a trace opens; a huge trace is zoomed in on its start rather than squashed.
INITIAL_ROWS = 60
#: How far (in pixels) a click may miss a bar and still pick it: zoomed out, most bars are slivers.
CLICK_SLOP_PX = 4
#: Height in pixels of the first-token tick.
TICK_PX = 14


class QtTimelinePanel(QWidget, QtObserver):
    """A zoomable time axis of the current trace; registers with `context`, follows its current span
    and makes a clicked span current."""

    def __init__(self, context: QtTraceContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self._trace_id: str | None = None
        self._tree: TraceTree | None = None
        self._bars: list[pg.BarGraphItem] = []
        #: Per TraceTree row: its y (pre-order place), x0 and x1 in ms since the trace's start.
        self._y = np.empty(0, dtype=np.int64)
        self._x0 = np.empty(0)
        self._x1 = np.empty(0)
        #: Per y: the TraceTree row drawn there.
        self._row_at = np.empty(0, dtype=np.int64)
        #: TraceTree rows with a time to first token, and the x (ms) of their first token.
        self._first_rows = np.empty(0, dtype=np.int64)
        self._first_x = np.empty(0)
        self._highlighted: str | None = None
        self.render_count = 0
        self.plot = pg.PlotWidget(self, background=self.palette().color(QPalette.ColorRole.Base))
        self.plot.hideAxis("left")
        self.plot.setLabel("bottom", "ms since start")
        self.plot.hideButtons()
        self.plot.setMenuEnabled(False)
        self.view_box: pg.ViewBox = self.plot.getViewBox()
        self.view_box.invertY(True)
        ink = self.palette().color(QPalette.ColorRole.Text)  # stands out on Base, light theme or dark
        self.highlight = QGraphicsRectItem()
        pen = QPen(ink, 3)
        pen.setCosmetic(True)
        self.highlight.setPen(pen)
        self.highlight.setZValue(10)
        self.start_line = pg.InfiniteLine(
            angle=90, movable=False, pen=pg.mkPen(ink, width=1, style=Qt.PenStyle.DashLine)
        )
        self.start_line.setZValue(9)
        self.first_tokens = pg.ScatterPlotItem(
            symbol="|", size=TICK_PX, pen=pg.mkPen(ink, width=2), brush=None
        )
        self.first_tokens.setZValue(5)
        self.view_box.addItem(self.first_tokens, ignoreBounds=True)
        for item in (self.highlight, self.start_line):
            item.setVisible(False)
            self.view_box.addItem(item, ignoreBounds=True)
        self.plot.scene().sigMouseClicked.connect(self._on_click)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        context.register(self)

    # QtObserver

    def on_store_loaded(self, context: QtTraceContext) -> None:
        """An import committed: reload the shown trace if spans of it arrived (a trace can span files)."""
        if context.trace_grew(self._trace_id, self.bar_count()):
            self._show(self._trace_id)

    def on_store_closed(self) -> None:
        self._show(None)

    def on_trace_changed(self, trace_id: str | None) -> None:
        self._show(trace_id)

    def on_span_changed(self, trace_id: str | None, span_id: str | None) -> None:
        if trace_id == self._trace_id:
            self._draw_highlight(span_id)
            self._reveal(span_id)

    # For tests and benchmarks

    def bar_count(self) -> int:
        return len(self._y)

    def highlighted_span(self) -> str | None:
        return self._highlighted

    def rows_in_order(self) -> list[int]:
        """TraceTree rows top to bottom."""
        return self._row_at.tolist()

    def first_token_marks(self) -> dict[str, tuple[float, float]]:
        """Span id -> (x in ms since the trace's start, y row) of each first-token tick drawn."""
        if self._tree is None:
            return {}
        span_ids = self._tree.rows.columns["span_id"]
        x, y = self.first_tokens.getData()
        return {span_ids[i]: (float(a), float(b)) for i, a, b in zip(self._first_rows, x, y, strict=True)}

    def bar_rect(self, span_id: str) -> QRectF:
        """The bar of `span_id` in data coordinates (ms, rows)."""
        assert self._tree is not None
        i = self._tree.index[span_id]
        return QRectF(self._x0[i], self._y[i] - BAR_HEIGHT / 2, self._x1[i] - self._x0[i], BAR_HEIGHT)

    # Drawing

    def _show(self, trace_id: str | None) -> None:
        self._trace_id = trace_id
        for item in self._bars:
            self.view_box.removeItem(item)
        self._bars = []
        tree = self._context.trace_tree(trace_id)
        self._tree = tree if len(tree.rows) else None
        self._layout(self._tree)
        self._draw_highlight(None)
        self.first_tokens.setData(x=self._first_x, y=self._y[self._first_rows])
        if self._tree is None:
            return
        for (color, running), rows in _groups(self._tree).items():
            self._bars.append(self._bar_item(rows, color, running))
            self.view_box.addItem(self._bars[-1])
        self.view_box.setRange(
            xRange=(0, max(self._x1.max(), 1e-3)),
            yRange=(-0.5, min(len(self._y), INITIAL_ROWS) - 0.5),
            padding=0.02,
        )
        if self._context.trace_id == trace_id:
            self._draw_highlight(self._context.span_id)

    def _layout(self, tree: TraceTree | None) -> None:
        """Work out every bar's place as arrays, so drawing and hit-testing are numpy work."""
        if tree is None:
            self._y, self._x0, self._x1 = np.empty(0, dtype=np.int64), np.empty(0), np.empty(0)
            self._row_at = self._first_rows = np.empty(0, dtype=np.int64)
            self._first_x = np.empty(0)
            return
        columns = tree.rows.columns
        self._row_at = np.fromiter((i for i, _ in tree.walk()), dtype=np.int64, count=len(tree.rows))
        self._y = np.empty_like(self._row_at)
        self._y[self._row_at] = np.arange(len(self._row_at))
        start = np.array(columns["start_ns"], dtype=np.int64)
        end = np.array([tree.end_ns if e is None else e for e in columns["end_ns"]], dtype=np.int64)
        self._x0 = (start - tree.start_ns) / 1e6
        self._x1 = (np.maximum(end, start) - tree.start_ns) / 1e6
        ttft = columns["ttft_ns"]
        self._first_rows = np.fromiter((i for i, ns in enumerate(ttft) if ns is not None), dtype=np.int64)
        first = np.array([ttft[i] for i in self._first_rows], dtype=np.int64)
        self._first_x = (start[self._first_rows] + first - tree.start_ns) / 1e6

    def _bar_item(self, rows: np.ndarray, color: str, running: bool) -> pg.BarGraphItem:
        """All bars of one look as one item; the outline keeps slivers visible when zoomed out."""
        fill = QColor(color)
        if running:
            fill.setAlpha(RUNNING_ALPHA)
        outline = QColor(fill).darker(130)
        item = pg.BarGraphItem(
            x0=self._x0[rows],
            x1=self._x1[rows],
            y=self._y[rows],
            height=BAR_HEIGHT,
            brush=fill,
            pen=pg.mkPen(outline, width=1),
        )
        # Moving the highlight repaints a strip across the bars: blit it from a pixmap, not 100,000 rects.
        item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        return item

    def _draw_highlight(self, span_id: str | None) -> None:
        """Move the highlight and start line to `span_id`: two small items, the bars stay as they are."""
        tree = self._tree
        shown = tree is not None and span_id is not None and span_id in tree.index
        self._highlighted = span_id if shown else None
        self.highlight.setVisible(shown)
        self.start_line.setVisible(shown)
        if shown:
            rect = self.bar_rect(span_id)
            self.highlight.setRect(rect)
            self.start_line.setValue(rect.left())
        self.render_count += 1

    def _reveal(self, span_id: str | None) -> None:
        """Pan (never zoom) so the span's bar is in view when it is not."""
        if self._highlighted is None or span_id is None:
            return
        rect = self.bar_rect(span_id)
        (left, right), (top, bottom) = self.view_box.viewRange()
        width, height = right - left, bottom - top
        x_range = y_range = None
        if rect.right() < left or rect.left() > right:
            x_range = (rect.left() - width * 0.1, rect.left() + width * 0.9)
        if rect.bottom() < top or rect.top() > bottom:
            middle = rect.center().y()
            y_range = (middle - height / 2, middle + height / 2)
        if x_range or y_range:
            self.view_box.setRange(xRange=x_range, yRange=y_range, padding=0)

    # Mouse

    def _on_click(self, event: MouseClickEvent) -> None:
        """Make the clicked span current: the row under the click, if the click is on (or next to) its
        bar."""
        if event.button() != Qt.MouseButton.LeftButton or self._tree is None:
            return
        scene_pos = event.scenePos()
        if not self.view_box.sceneBoundingRect().contains(scene_pos):
            return
        point = self.view_box.mapSceneToView(scene_pos)
        y = round(point.y())
        if not 0 <= y < len(self._row_at) or abs(point.y() - y) > BAR_HEIGHT / 2:
            return
        i = int(self._row_at[y])
        slop = CLICK_SLOP_PX * self.view_box.viewPixelSize()[0]
        if self._x0[i] - slop <= point.x() <= self._x1[i] + slop:
            event.accept()
            self._context.select_span(self._tree.rows.columns["span_id"][i])


def _groups(tree: TraceTree) -> dict[tuple[str, bool], np.ndarray]:
    """TraceTree rows by look: (fill colour, running). Errors take ERROR_COLOR whatever their kind."""
    columns = tree.rows.columns
    default = KIND_COLORS[Kind.SPAN]
    colors = np.array(
        [
            ERROR_COLOR if status == "error" else KIND_COLORS.get(kind, default)
            for kind, status in zip(columns["kind"], columns["status"], strict=True)
        ]
    )
    running = np.array([e is None for e in columns["end_ns"]], dtype=bool)
    keys, inverse = np.unique(np.char.add(colors, np.where(running, "~", "")), return_inverse=True)
    return {
        (str(key).rstrip("~"), str(key).endswith("~")): np.flatnonzero(inverse == k)
        for k, key in enumerate(keys)
    }
