"""The timeline: every span of the current trace as a bar on a shared time axis, one row per span in
tree pre-order, so overlaps, gaps and the critical path show at a glance.

It is kept apart from the span tree's waterfall column on purpose: that column is ~75 px wide at
1280x720 and cannot zoom; here the whole width is time, zoomable (wheel: time only) and pannable, with
each bar named (inside it where it fits, else beside it), a tooltip per bar, an axis in the unit the
range calls for (µs to h) and rows of a fixed height (a 1-span trace is one slim bar, not a slab).

Bars are drawn as one pg.BarGraphItem per colour (kind, error, running), each painting all its
rectangles with a single drawRects call: a 100,000-span trace stays smooth to zoom and pan. Names are
one item that paints only the rows in view. The current span is a separate small item, so stepping
through spans never redraws the bars. A model call's first token is a tick on its bar (one scatter
item for the whole trace). A span still running is drawn to the trace's last known time, or, while
the trace is live (its last known time is recent), to now, growing each second.
"""

from __future__ import annotations

import html
import math
import time

import numpy as np
import pyqtgraph as pg
from pyqtgraph.GraphicsScene.mouseEvents import MouseClickEvent
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QCursor, QPainter, QPalette, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem, QToolTip, QVBoxLayout, QWidget

from spanscope.core.debugging.tree import TraceTree
from spanscope.core.model import Kind
from spanscope.core.presentation import display
from spanscope.ui.context import QtObserver, QtTraceContext
from spanscope.ui.duration_axis import QtDurationAxis
from spanscope.ui.style import ERROR_COLOR, KIND_COLORS

#: Bar height in rows: the gap between rows keeps neighbouring bars apart.
BAR_HEIGHT = 0.7
#: Opacity of spans still running (drawn up to the trace's end, or now while it is live).
RUNNING_ALPHA = 90
#: Height of a row in pixels: rows never stretch to fill the panel nor squash below a name's height.
ROW_PX = 20
#: A trace whose last known time is this recent is live: its running spans are drawn to now.
LIVE_NS = 10 * 60 * 1_000_000_000
#: How often a live trace's running bars grow.
LIVE_TICK_MS = 1000
#: Least time range shown (ms), so a trace with no duration yet still has an axis to read.
MIN_RANGE_MS = 1.0
#: Names are painted for at most this many rows in view (rows are ROW_PX high: far more than fit).
MAX_LABELS = 400
#: Padding in pixels between a bar's edge and its name.
LABEL_PAD_PX = 4
#: How far (in pixels) a click may miss a bar and still pick it: zoomed out, most bars are slivers.
CLICK_SLOP_PX = 4
#: Height in pixels of the first-token tick.
TICK_PX = 14


class _TimeZoomViewBox(pg.ViewBox):
    """The wheel zooms time only: rows keep ROW_PX whatever the zoom."""

    def wheelEvent(self, ev, axis=None) -> None:
        super().wheelEvent(ev, axis=0)


class QtTimelinePanel(QWidget, QtObserver):
    """A zoomable time axis of the current trace; registers with `context`, follows its current span
    and makes a clicked span current."""

    def __init__(self, context: QtTraceContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self._trace_id: str | None = None
        self._tree: TraceTree | None = None
        self._bars: list[pg.BarGraphItem] = []
        #: The bar items of running spans with their TraceTree rows: they grow while the trace is live.
        self._running: list[tuple[pg.BarGraphItem, np.ndarray]] = []
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
        self.plot = pg.PlotWidget(self, viewBox=_TimeZoomViewBox(), axisItems={"bottom": QtDurationAxis()})
        self.plot.hideAxis("left")
        self.plot.hideButtons()
        self.plot.setMenuEnabled(False)
        self.view_box: pg.ViewBox = self.plot.getViewBox()
        self.view_box.invertY(True)
        self.view_box.sigResized.connect(self._fit_rows)
        self.highlight = QGraphicsRectItem()
        self.highlight.setZValue(10)
        self.start_line = pg.InfiniteLine(angle=90, movable=False)
        self.start_line.setZValue(9)
        self.first_tokens = pg.ScatterPlotItem(symbol="|", size=TICK_PX, brush=None)
        self.first_tokens.setZValue(5)
        self.labels = _BarLabels(self)
        self.labels.setZValue(6)
        self.view_box.addItem(self.first_tokens, ignoreBounds=True)
        self.view_box.addItem(self.labels, ignoreBounds=True)
        for item in (self.highlight, self.start_line):
            item.setVisible(False)
            self.view_box.addItem(item, ignoreBounds=True)
        self.plot.scene().sigMouseClicked.connect(self._on_click)
        self.plot.scene().sigMouseMoved.connect(self._on_hover)
        self._live = QTimer(self, interval=LIVE_TICK_MS)
        self._live.timeout.connect(self._grow_running)
        self._apply_palette()
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

    def is_live(self) -> bool:
        """Whether running spans are drawn to now and grow (the trace is being received)."""
        return self._live.isActive()

    def tooltip_at(self, span_id: str) -> str:
        """The tooltip of a span's bar: plain text from the trace, escaped for Qt's rich text."""
        assert self._tree is not None
        return _tooltip(self._tree, self._tree.index[span_id])

    # Palette

    def _apply_palette(self) -> None:
        """The plot on the window's Base colour, marks and axis in its Text colour: light or dark."""
        palette = self.palette()
        ink = palette.color(QPalette.ColorRole.Text)  # stands out on Base, light theme or dark
        self.plot.setBackground(palette.color(QPalette.ColorRole.Base))
        axis = self.plot.getAxis("bottom")
        axis.setTextPen(ink)
        axis.setPen(pg.mkPen(QColor(ink.red(), ink.green(), ink.blue(), 90)))
        pen = QPen(ink, 3)
        pen.setCosmetic(True)
        self.highlight.setPen(pen)
        self.start_line.setPen(pg.mkPen(ink, width=1, style=Qt.PenStyle.DashLine))
        self.first_tokens.setPen(pg.mkPen(ink, width=2))
        self.labels.update()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._apply_palette()

    # Drawing

    def _show(self, trace_id: str | None) -> None:
        self._trace_id = trace_id
        for item in self._bars:
            self.view_box.removeItem(item)
        self._bars, self._running = [], []
        tree = self._context.trace_tree(trace_id)
        self._tree = tree if len(tree.rows) else None
        live = self._tree is not None and _is_live(self._tree)
        self._layout(self._tree, live)
        self._draw_highlight(None)
        self.first_tokens.setData(x=self._first_x, y=self._y[self._first_rows])
        self.labels.relayout()
        running_rows = 0
        if self._tree is not None:
            for (color, running), rows in _groups(self._tree).items():
                self._bars.append(self._bar_item(rows, color, running))
                self.view_box.addItem(self._bars[-1])
                if running:
                    self._running.append((self._bars[-1], rows))
                    running_rows += len(rows)
        if live and running_rows:
            self._live.start()
        else:
            self._live.stop()
        if self._tree is None:
            return
        self.view_box.setRange(xRange=(0, max(self._x1.max(), MIN_RANGE_MS)), padding=0.02)
        self._fit_rows()
        self.view_box.setYRange(-0.5, self._rows_in_view() - 0.5, padding=0)
        if self._context.trace_id == trace_id:
            self._draw_highlight(self._context.span_id)

    def _rows_in_view(self) -> float:
        return max(self.view_box.height(), ROW_PX) / ROW_PX

    def _fit_rows(self) -> None:
        """Rows of ROW_PX pixels whatever the panel's height: the view spans that many rows, and may
        pan over the trace's rows but not past them."""
        rows = self._rows_in_view()
        self.view_box.setLimits(
            minYRange=rows, maxYRange=rows, yMin=-0.5, yMax=max(len(self._y), math.ceil(rows)) - 0.5
        )

    def _layout(self, tree: TraceTree | None, live: bool) -> None:
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
        last = max(time.time_ns(), tree.end_ns) if live else tree.end_ns
        end = np.array([last if e is None else e for e in columns["end_ns"]], dtype=np.int64)
        self._x0 = (start - tree.start_ns) / 1e6
        self._x1 = (np.maximum(end, start) - tree.start_ns) / 1e6
        ttft = columns["ttft_ns"]
        self._first_rows = np.fromiter((i for i, ns in enumerate(ttft) if ns is not None), dtype=np.int64)
        first = np.array([ttft[i] for i in self._first_rows], dtype=np.int64)
        self._first_x = (start[self._first_rows] + first - tree.start_ns) / 1e6

    def _grow_running(self) -> None:
        """A live trace's running spans reach now: only their bars are updated."""
        if self._tree is None:
            self._live.stop()
            return
        now_ms = (time.time_ns() - self._tree.start_ns) / 1e6
        for item, rows in self._running:
            self._x1[rows] = np.maximum(now_ms, self._x0[rows])
            item.setOpts(x1=self._x1[rows])
        self.labels.update()

    def _bar_item(self, rows: np.ndarray, color: str, running: bool) -> pg.BarGraphItem:
        """All bars of one look as one item; the outline keeps slivers visible when zoomed out."""
        fill = QColor(color)
        if running:
            fill.setAlpha(RUNNING_ALPHA)
        outline = QColor(color).darker(130)
        pen = pg.mkPen(outline, width=1, style=Qt.PenStyle.DashLine if running else Qt.PenStyle.SolidLine)
        item = pg.BarGraphItem(
            x0=self._x0[rows], x1=self._x1[rows], y=self._y[rows], height=BAR_HEIGHT, brush=fill, pen=pen
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

    def _row_under(self, scene_pos: QPointF) -> int | None:
        """The TraceTree row whose bar is under (or next to) a scene point, if any."""
        if self._tree is None or not self.view_box.sceneBoundingRect().contains(scene_pos):
            return None
        point = self.view_box.mapSceneToView(scene_pos)
        y = round(point.y())
        if not 0 <= y < len(self._row_at) or abs(point.y() - y) > BAR_HEIGHT / 2:
            return None
        i = int(self._row_at[y])
        slop = CLICK_SLOP_PX * self.view_box.viewPixelSize()[0]
        return i if self._x0[i] - slop <= point.x() <= self._x1[i] + slop else None

    def _on_click(self, event: MouseClickEvent) -> None:
        """Make the clicked span current: the row under the click, if the click is on (or next to) its
        bar."""
        if event.button() != Qt.MouseButton.LeftButton:
            return
        i = self._row_under(event.scenePos())
        if i is not None:
            event.accept()
            self._context.select_span(self._tree.rows.columns["span_id"][i])

    def _on_hover(self, scene_pos: QPointF) -> None:
        i = self._row_under(scene_pos)
        if i is None:
            QToolTip.hideText()
        else:
            QToolTip.showText(QCursor.pos(), _tooltip(self._tree, i), self.plot)


class _BarLabels(pg.GraphicsObject):
    """Each bar's name and duration, painted for the rows in view only: inside the bar where it fits,
    else beside it (each row holds one bar, so a name beside its bar covers no other)."""

    def __init__(self, panel: QtTimelinePanel) -> None:
        super().__init__()
        self._panel = panel
        #: TraceTree row -> (text, ink), worked out for the rows painted only: a 100,000-span trace
        #: opens without formatting 100,000 names.
        self._labels: dict[int, tuple[str, QColor | None]] = {}
        panel.view_box.sigRangeChanged.connect(self.prepareGeometryChange)

    def relayout(self) -> None:
        """Forget the labels of the previous trace."""
        self.prepareGeometryChange()
        self._labels = {}
        self.update()

    def label(self, i: int) -> tuple[str, QColor | None]:
        """TraceTree row `i`'s text (name and duration) and the ink that reads on its bar."""
        found = self._labels.get(i)
        if found is None:
            found = self._labels[i] = _label(self._panel._tree, i)
        return found

    def boundingRect(self) -> QRectF:
        # Names beside a bar may reach past the trace's end: the view is this item's to paint, and it
        # tells of each change (prepareGeometryChange on the view's range change).
        return self._panel.view_box.viewRect() if self._panel._tree is not None else QRectF()

    def paint(self, painter: QPainter, *_args: object) -> None:
        panel = self._panel
        if panel._tree is None:
            return
        (left, right), (top, bottom) = panel.view_box.viewRange()
        first, last = max(0, math.floor(top)), min(len(panel._row_at) - 1, math.ceil(bottom))
        if last < first or last - first > MAX_LABELS:
            return
        to_device = painter.transform()
        view = to_device.mapRect(QRectF(left, top, right - left, bottom - top))
        painter.save()
        painter.resetTransform()
        metrics = painter.fontMetrics()
        ink = panel.palette().color(QPalette.ColorRole.Text)
        for y in range(first, last + 1):
            i = int(panel._row_at[y])
            bar = to_device.mapRect(
                QRectF(panel._x0[i], y - BAR_HEIGHT / 2, panel._x1[i] - panel._x0[i], BAR_HEIGHT)
            )
            text, on_bar = self.label(i)
            width = metrics.horizontalAdvance(text) + 2 * LABEL_PAD_PX
            inside = bar.intersected(view)
            if inside.width() >= width:
                painter.setPen(on_bar or ink)
                box = inside.adjusted(LABEL_PAD_PX, 0, -LABEL_PAD_PX, 0)
            elif view.right() - bar.right() >= width or bar.left() - view.left() < width:
                painter.setPen(ink)
                box = QRectF(max(bar.right(), view.left()) + LABEL_PAD_PX, bar.top(), width, bar.height())
            else:
                painter.setPen(ink)
                box = QRectF(bar.left() - width, bar.top(), width - LABEL_PAD_PX, bar.height())
            painter.drawText(box, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, text)
        painter.restore()


def _is_live(tree: TraceTree) -> bool:
    """A trace with running spans whose last known time is recent is still being received."""
    return any(e is None for e in tree.rows.columns["end_ns"]) and 0 <= time.time_ns() - tree.end_ns < LIVE_NS


def _label(tree: TraceTree, i: int) -> tuple[str, QColor | None]:
    """A bar's text (name and duration) and the ink that reads on its fill (black on light colours);
    None for a running span, whose faded bar shows the panel's background through it."""
    columns = tree.rows.columns
    start, end = columns["start_ns"][i], columns["end_ns"][i]
    text = f"{columns['name'][i]}  {display.duration(None if end is None else end - start)}"
    if end is None:
        return text, None
    fill = QColor(ERROR_COLOR if columns["status"][i] == "error" else kind_fill(columns["kind"][i]))
    return text, QColor("black") if fill.lightnessF() > 0.62 else QColor("white")


def _tooltip(tree: TraceTree, i: int) -> str:
    """A bar's tooltip: what the trace says of the span, every piece escaped (trace data is never
    read as rich text)."""
    row = tree.rows[i]
    end = row["end_ns"]
    offset = display.duration(row["start_ns"] - tree.start_ns)
    lines = [
        f"<b>{html.escape(str(row['name']))}</b> · {html.escape(str(row['kind']))}",
        f"starts {offset} into the trace; "
        + ("still running" if end is None else f"takes {display.duration(end - row['start_ns'])}"),
    ]
    if row["model"]:
        lines.append(f"model {html.escape(str(row['model']))}")
    if row["input_tokens"] is not None or row["output_tokens"] is not None:
        lines.append(
            f"tokens {display.count(row['input_tokens'])} in / {display.count(row['output_tokens'])} out"
        )
    if row["status"] == "error":
        message = row["status_message"] or "error"
        lines.append(f"<span style='color:{ERROR_COLOR}'>{html.escape(str(message)[:300])}</span>")
    return "<br>".join(lines)


def kind_fill(kind: str) -> str:
    return KIND_COLORS.get(kind, KIND_COLORS[Kind.SPAN])


def _groups(tree: TraceTree) -> dict[tuple[str, bool], np.ndarray]:
    """TraceTree rows by look: (fill colour, running). Errors take ERROR_COLOR whatever their kind."""
    columns = tree.rows.columns
    colors = np.array(
        [
            ERROR_COLOR if status == "error" else kind_fill(kind)
            for kind, status in zip(columns["kind"], columns["status"], strict=True)
        ]
    )
    running = np.array([e is None for e in columns["end_ns"]], dtype=bool)
    keys, inverse = np.unique(np.char.add(colors, np.where(running, "~", "")), return_inverse=True)
    return {
        (str(key).rstrip("~"), str(key).endswith("~")): np.flatnonzero(inverse == k)
        for k, key in enumerate(keys)
    }
