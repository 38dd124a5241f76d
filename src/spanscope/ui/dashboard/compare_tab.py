"""The Compare models tab: check two or more models to see them side by side.

A table of the figures of core.model_comparison, a bar chart per figure, and a cost-vs-latency
scatter with one point per call; clicking a point opens that span in the Traces tab. When the store
holds reference answers (or a file of them is attached), the table and its CSV also give each
model's mean reference metrics, read by a job of their own so the other figures never wait for them.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QGridLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from spanscope.core.analysis.model_comparison import (
    METRICS,
    REFERENCE_COLUMNS,
    CallPoints,
    ModelRow,
    call_points,
    compare_models,
    comparison_table,
    score_names,
)
from spanscope.core.evaluation.model_references import ReferenceMeans, reference_means
from spanscope.core.evaluation.reference_metrics import ModelMeans, metric_texts
from spanscope.core.presentation import display
from spanscope.core.store.usage import UsageFilter, models_by_calls
from spanscope.ui.context import QtObserver, QtTraceContext
from spanscope.ui.dashboard.chart import QtChart, draw_bars, model_colors, model_label
from spanscope.ui.dashboard.dashboard_tab import load_book
from spanscope.ui.dashboard.filter_bar import QtUsageFilterBar
from spanscope.ui.plain_tooltip import plain_tooltip
from spanscope.ui.reference_answers import reference_answers
from spanscope.ui.workers import Policy, QtWorker

DEFAULT_CHOSEN = 2
#: Widest a model's column of the table grows to fit its name.
MAX_COLUMN_PX = 220
#: Room around a cell's text: margins and the header's sort indicator space.
CELL_PADDING_PX = 24
POINT_SIZE = 5
#: A click further than this from every point (in pixels) selects nothing.
CLICK_RADIUS_PX = 8
#: At most this share of the width beside the scatter goes to the table of figures.
TABLE_SHARE = 0.7
REFERENCE_TIP = (
    "Automatic metric of the outputs against reference answers (Inspect targets, MLflow "
    "expectations, an attached file), averaged over the model's spans that have one: not a human score"
)


def format_value(key: str, value: float | None) -> str:
    if value is None:
        return "unknown"
    if key.startswith("cost"):
        return display.cost(value)
    if key == "error_rate":
        return f"{value:.1f}%"
    if key == "calls":
        return f"{int(value):,}"
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


class QtCompareTab(QWidget, QtObserver):
    """Side-by-side figures of the checked models under the tab's filter."""

    drawn = Signal()
    #: The reference metrics under the current filter are in (and in the table, if it is drawn).
    references_read = Signal()

    def __init__(self, context: QtTraceContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self._stale = False
        self._chosen: list[str | None] | None = None
        self._points = CallPoints()
        self._rows: list[ModelRow] = []
        #: The reference metrics under the current filter; None while they are being read.
        self._references: ReferenceMeans | None = None
        self.references = reference_answers(context)
        self.references.changed.connect(self.refresh)
        self.draw_count = 0
        self.book, _problem = load_book()
        self.filter_bar = QtUsageFilterBar()
        self.filter_bar.changed.connect(self.refresh)
        self.models = QListWidget()
        self.models.setToolTip("Check two or more models to compare")
        self.models.itemChanged.connect(self._choice_changed)
        self.status = QLabel("No store open")
        self.status.setWordWrap(True)
        self.status.setContentsMargins(8, 2, 8, 4)
        self.table = QTableWidget()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        # Columns as wide as their figures and model names (up to MAX_COLUMN_PX, then the name is
        # elided in the middle, whole in its tooltip); more models scroll sideways, never squeezed.
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 8)
        self.scatter = QtChart("Cost vs latency, one point per call")
        self.scatter.plot.setLabel("bottom", "latency (ms)")
        self.scatter.plot.setLabel("left", "cost (USD)")
        self.scatter.view_box.setMouseEnabled(x=True, y=True)
        self.scatter.plot.scene().sigMouseClicked.connect(self._on_scatter_click)
        self.bars = {m.key: QtChart(m.label + (f" ({m.unit})" if m.unit else "")) for m in METRICS}
        for chart in self.bars.values():
            chart.view_box.setMouseEnabled(x=False, y=False)
        self._build_layout()
        self._restyle = QTimer(self, singleShot=True, interval=0)
        self._restyle.timeout.connect(self._draw_charts)
        for chart in self.charts():
            chart.restyled.connect(self._restyle.start)
        self.job = QtWorker("Compare models", self, Policy.LATEST, threads=2)
        self.job.finished.connect(self._draw)
        self.job.failed.connect(lambda message: self.status.setText(f"Could not compare: {message}"))
        self.models_job = QtWorker("Compare models", self, Policy.LATEST)
        self.models_job.finished.connect(self._fill_models)
        self.references_job = QtWorker("Compare models", self, Policy.LATEST)
        self.references_job.finished.connect(self._references_read)
        self.references_job.failed.connect(
            lambda message: self.status.setText(f"Could not compute the reference metrics: {message}")
        )
        context.register(self)

    def _build_layout(self) -> None:
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(6, 0, 0, 6)
        left_layout.addWidget(QLabel("<b>Models</b> (calls)"))
        left_layout.addWidget(self.models)
        self.top = top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.table)
        top.addWidget(self.scatter)
        top.setSizes([700, 560])
        grid_host = QWidget()
        grid = QGridLayout(grid_host)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(10)
        for i, chart in enumerate(self.bars.values()):
            grid.addWidget(chart, i // 3, i % 3)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(grid_host)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(top)
        right.addWidget(scroll)
        right.setSizes([430, 500])
        body = QSplitter(Qt.Orientation.Horizontal)
        body.addWidget(left)
        body.addWidget(right)
        body.setSizes([300, 1300])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.filter_bar)
        layout.addWidget(self.status)
        layout.addWidget(body, 1)

    def charts(self) -> list[QtChart]:
        return [self.scatter, *self.bars.values()]

    # QtObserver

    def on_store_loaded(self, context: QtTraceContext) -> None:
        self.book, _problem = load_book()
        self.refresh()

    def on_store_closed(self) -> None:
        self.job.cancel()
        self.models_job.cancel()
        self.references_job.cancel()
        self._rows, self._points, self._references = [], CallPoints(), None
        self.models.clear()
        self.table.clear()
        for chart in self.charts():
            chart.clear()
        self.status.setText("No store open")

    # Choosing

    def chosen(self) -> list[str | None]:
        items = (self.models.item(i) for i in range(self.models.count()))
        return [
            item.data(Qt.ItemDataRole.UserRole)
            for item in items
            if item.checkState() == Qt.CheckState.Checked
        ]

    def set_chosen(self, models: list[str | None]) -> None:
        self.models.blockSignals(True)
        for i in range(self.models.count()):
            item = self.models.item(i)
            wanted = item.data(Qt.ItemDataRole.UserRole) in models
            item.setCheckState(Qt.CheckState.Checked if wanted else Qt.CheckState.Unchecked)
        self.models.blockSignals(False)
        # Kept as asked: a model the list does not show yet (calls just stored) is checked once it does.
        self._chosen = list(models)
        self._compare()

    def _choice_changed(self, *_args: object) -> None:
        self._chosen = self.chosen()
        self._compare()

    # Computing

    def refresh(self, *_args: object) -> None:
        """Re-read the model list (and then the comparison) for the current filter."""
        if not self.isVisible():
            self._stale = True
            return
        self._stale = False
        if self._context.store_path is None:
            return
        self.status.setText("Reading models…")
        where = self.filter_bar.current()
        self.models_job.start_reads(
            self._context.store_path, {"models": partial(models_by_calls, where=where)}
        )
        self._references = None
        entries = self.references.entries
        self.references_job.start_reads(
            self._context.store_path, {"means": partial(reference_means, entries=entries, where=where)}
        )

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._stale:
            self.refresh()

    def _fill_models(self, results: dict) -> None:
        found: list[tuple[str | None, int]] = results["models"]
        keep = self._chosen if self._chosen is not None else [m for m, _ in found[:DEFAULT_CHOSEN]]
        self.models.blockSignals(True)
        self.models.clear()
        for model, calls in found:
            item = QListWidgetItem(f"{model_label(model)}  ({calls:,})")
            item.setToolTip(plain_tooltip(model_label(model)))
            item.setData(Qt.ItemDataRole.UserRole, model)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if model in keep else Qt.CheckState.Unchecked)
            self.models.addItem(item)
        self.models.blockSignals(False)
        self._chosen = self.chosen()
        self._compare()

    def _compare(self) -> None:
        models = self._chosen or []
        if len(models) < 2 or self._context.store_path is None:
            self.job.cancel()
            self.status.setText("Check two or more models in the list to compare them.")
            return
        where: UsageFilter = self.filter_bar.current()
        self.status.setText(f"Comparing {len(models)} models…")
        self.job.start_reads(
            self._context.store_path,
            {
                "rows": partial(compare_models, models=models, where=where, book=self.book),
                "points": partial(call_points, models=models, where=where, book=self.book),
            },
        )

    # Drawing

    def _draw(self, results: dict) -> None:
        self._rows = results["rows"]
        self._points = results["points"]
        self._fill_table(self._rows)
        self._draw_charts()
        self._show_status()
        self.draw_count += 1
        self.drawn.emit()

    def _draw_charts(self) -> None:
        """The bars and the scatter of the figures read; again on a palette change (dark mode), as
        their labels took the palette's colours. The points are read apart from the rows, so calls of a
        model stored in between (live) have a colour too."""
        charted = [row.model for row in self._rows]
        colors = model_colors(charted + [m for m in self._points.latency_ms if m not in charted])
        self._draw_bars(self._rows, colors)
        self._draw_scatter(colors)

    def _references_read(self, results: dict) -> None:
        self._references = results["means"]
        if self._rows:
            self._fill_table(self._rows)
            self._set_tables(self._rows)
            self._show_status()
        self.references_read.emit()

    def _show_status(self) -> None:
        rows = self._rows
        unpriced = sum(r.unpriced_calls for r in rows)
        parts = [f"{len(rows)} models, {sum(int(r.values['calls'] or 0) for r in rows):,} calls"]
        if unpriced:
            parts.append(f"{unpriced:,} calls of unknown cost are left out of the cost figures")
        parts += self._references_status()
        self.status.setText("; ".join(parts))

    def _references_status(self) -> list[str]:
        held = self.references
        parts = [held.problem] if held.problem else []
        found = self._references
        if found is not None and found.spans:
            source = f" (with {held.path.name})" if held.path is not None else ""
            parts.append(f"reference metrics over {found.spans:,} spans with a reference answer{source}")
        elif found is not None and held.path is not None:
            parts.append(f"no span under this filter has a reference answer, {held.path.name} included")
        if found is not None and found.unmatched:
            parts.append(
                f"{found.unmatched:,} lines of {held.path.name if held.path else 'the file'} matched no span"
            )
        return parts

    def _widen_table(self) -> None:
        """Give the table the width its columns need, up to TABLE_SHARE of the room beside the
        scatter, so two or three models read side by side on a laptop screen."""
        sizes = self.top.sizes()
        room = sum(sizes)
        chrome = self.table.frameWidth() * 2 + self.table.verticalScrollBar().sizeHint().width()
        needed = self.table.verticalHeader().sizeHint().width() + chrome
        needed += sum(self.table.columnWidth(c) for c in range(self.table.columnCount()))
        wanted = min(needed, int(room * TABLE_SHARE))
        if room and wanted > sizes[0]:
            self.top.setSizes([wanted, room - wanted])

    def _fill_table(self, rows: list[ModelRow]) -> None:
        """Models side by side; a row per figure, then one per score name when calls carry scores."""
        names = score_names(rows)
        found = self._references if self._references is not None and self._references.spans else None
        reference_labels = (
            ["Reference: spans scored", *(f"Reference: {h}" for _, h in REFERENCE_COLUMNS)]
            if found is not None
            else []
        )
        self.table.clear()
        self.table.setColumnCount(len(rows))
        self.table.setRowCount(len(METRICS) + 1 + len(names) + len(reference_labels))
        self.table.setHorizontalHeaderLabels([model_label(r.model) for r in rows])
        labels = [m.label + (f" ({m.unit})" if m.unit and m.unit != "%" else "") for m in METRICS]
        self.table.setVerticalHeaderLabels(
            [*labels, "Calls of unknown cost", *(f"Score: {n}" for n in names), *reference_labels]
        )
        for r in range(len(labels) + 1 + len(names), self.table.rowCount()):
            self.table.verticalHeaderItem(r).setToolTip(REFERENCE_TIP)
        for column, row in enumerate(rows):
            cells = [format_value(m.key, row.values[m.key]) for m in METRICS] + [f"{row.unpriced_calls:,}"]
            cells += [_score_text(row.scores.get(n)) for n in names]
            if found is not None:
                cells += _reference_cells(found.by_model.get(row.model))
            for r, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, column, item)
            header = self.table.horizontalHeaderItem(column)
            header.setToolTip(plain_tooltip(header.text()))
            self.table.setColumnWidth(column, self._column_width(header.text(), cells))
        QTimer.singleShot(0, self._widen_table)  # once laid out: the splitter knows its room then

    def _column_width(self, name: str, cells: list[str]) -> int:
        """Wide enough for every figure and, up to MAX_COLUMN_PX, the model's name."""
        metrics = self.table.fontMetrics()
        figures = max((metrics.horizontalAdvance(text) for text in cells), default=0)
        title = min(metrics.horizontalAdvance(name), MAX_COLUMN_PX)
        return max(figures, title) + CELL_PADDING_PX

    def _draw_bars(self, rows: list[ModelRow], colors: dict) -> None:
        names = [model_label(r.model) for r in rows]
        for metric in METRICS:
            values = [r.values[metric.key] for r in rows]
            labels = [format_value(metric.key, v) for v in values]
            draw_bars(self.bars[metric.key], names, values, labels, [colors[r.model] for r in rows])
        self._set_tables(rows)

    def _set_tables(self, rows: list[ModelRow]) -> None:
        """What every bar chart's "Export data as CSV" writes: the whole side-by-side table."""
        table = comparison_table(rows, self._references)
        for chart in self.bars.values():
            chart.table = table

    def _draw_scatter(self, colors: dict) -> None:
        chart, points = self.scatter, self._points
        chart.clear()
        chart.table = points.table()
        key = []
        for model, latencies in points.latency_ms.items():
            if not latencies:
                continue
            order = np.argsort(latencies)  # clipping to the view needs x ascending
            x = np.asarray(latencies)[order]
            y = np.asarray(points.cost_usd[model])[order]
            hue = colors[model]
            item = pg.PlotDataItem(
                x,
                y,
                pen=None,
                symbol="o",
                symbolSize=POINT_SIZE,
                symbolPen=None,
                symbolBrush=pg.mkBrush(hue.red(), hue.green(), hue.blue(), 150),
            )
            chart.plot.addItem(item)
            # Only once in the plot: set before, pyqtgraph looks for the view box in the wrong place.
            item.setClipToView(True)
            item.setDownsampling(auto=True, method="subsample")
            key.append((model_label(model), hue))
        chart.set_legend(key)
        notes = []
        if points.read < points.matching:
            notes.append(f"an even sample of {points.read:,} of {points.matching:,} calls")
        if points.unpriced:
            notes.append(f"{points.unpriced:,} calls of unknown cost not shown")
        chart.set_note("Showing " + "; ".join(notes) if notes else None)
        chart.hover = self._scatter_hover

    # Scatter interaction

    def nearest_call(self, x: float, y: float) -> tuple[str | None, int] | None:
        """The shown call nearest to view point (x, y), within CLICK_RADIUS_PX, as (model, index)."""
        px, py = self.scatter.view_box.viewPixelSize()
        best: tuple[float, str | None, int] | None = None
        for model, latencies in self._points.latency_ms.items():
            if not latencies:
                continue
            dx = (np.asarray(latencies) - x) / px
            dy = (np.asarray(self._points.cost_usd[model]) - y) / py
            distance = dx * dx + dy * dy
            i = int(np.argmin(distance))
            if distance[i] <= CLICK_RADIUS_PX**2 and (best is None or distance[i] < best[0]):
                best = (float(distance[i]), model, i)
        return None if best is None else (best[1], best[2])

    def _scatter_hover(self, x: float, y: float) -> str | None:
        found = self.nearest_call(x, y)
        if found is None:
            return None
        model, i = found
        ms, cost = self._points.latency_ms[model][i], self._points.cost_usd[model][i]
        return f"{model_label(model)}: {ms:,.0f} ms, {format_value('cost', cost)} — click to open the span"

    def _on_scatter_click(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        box = self.scatter.view_box
        if not box.sceneBoundingRect().contains(event.scenePos()):
            return
        point = box.mapSceneToView(event.scenePos())
        found = self.nearest_call(point.x(), point.y())
        if found is not None:
            event.accept()
            self.open_call(*found)

    def open_call(self, model: str | None, index: int) -> None:
        """Show the call's span in the Traces view."""
        self._context.open_span(*self._points.spans[model][index])


def _reference_cells(means: ModelMeans | None) -> list[str]:
    if means is None:
        return ["0", *("no reference" for _ in REFERENCE_COLUMNS)]
    return [f"{means.spans:,}", *metric_texts(means.scores)]


def _score_text(score: tuple[float, int] | None) -> str:
    return "no scores" if score is None else f"{score[0]:.3g} (mean of {score[1]:,})"
