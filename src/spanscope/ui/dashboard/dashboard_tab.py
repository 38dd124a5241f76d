"""The Dashboard tab: cost, tokens and requests over time, latency and errors per model.

All charts follow the tab's filter bar and share one time axis. Their data comes from
core.usage_series in two parts computed in parallel off the GUI thread; when it arrives every
chart is replaced whole. Models are charted as core.analysis.model_groups says (snapshots under their
family unless "Split snapshots" is checked; past the busiest, one "other"), so 2 models and 40 read
alike; the toggle and a palette change redraw from the data already read.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from functools import partial

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QColor, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from spanscope.core.analysis.analytics import CHAIN_KINDS, TOOL_KINDS
from spanscope.core.analysis.chart_csv import Table
from spanscope.core.analysis.model_groups import ModelView, shown_as
from spanscope.core.analysis.usage_series import (
    LatencyStats,
    UsageSeries,
    coarse_edges_ms,
    latency_stats,
    usage_series,
)
from spanscope.core.presentation import display
from spanscope.core.pricing.prices import PriceBook, PriceFileError
from spanscope.core.store.db import Database
from spanscope.core.store.trace_query import time_bounds
from spanscope.core.store.usage import UsageFilter, store_services, top_names
from spanscope.ui.context import QtObserver, QtTraceContext
from spanscope.ui.dashboard.chart import (
    QtChart,
    draw_bars,
    elided,
    model_colors,
    model_label,
)
from spanscope.ui.dashboard.filter_bar import QtUsageFilterBar, describe
from spanscope.ui.detail.html import coloured
from spanscope.ui.workers import Policy, QtWorker

INPUT_COLOR, OUTPUT_COLOR = "#4e79a7", "#f28e2b"
CHAIN_COLOR, TOOL_COLOR = "#9c755f", "#76b7b2"
TOP_NAMES = 8
REQUEST_COLOR, ERROR_COLOR = "#8cb0d8", "#e15759"
BAR_FILL = 0.86
GAPPED_BARS = 80


def load_book() -> tuple[PriceBook, str | None]:
    """The user's prices, or the package's alone and why when the override file is unusable."""
    try:
        return PriceBook.load(), None
    except PriceFileError as exc:
        return PriceBook(), f"price overrides ignored: {exc}"


def width_label(width_ns: int) -> str:
    minutes = width_ns // 60_000_000_000
    if minutes < 60:
        return f"{minutes}-minute"
    if minutes < 24 * 60:
        return "hourly" if minutes == 60 else f"{minutes // 60}-hour"
    days = minutes // (24 * 60)
    return "daily" if days == 1 else f"{days}-day"


class QtDashboardTab(QWidget, QtObserver):
    """Usage charts of the open store under the tab's filter."""

    #: Emitted after every redraw of the usage charts (tests and the benchmark wait for it), and
    #: after the lists of chains and tools, which are read next so they never delay the charts.
    drawn = Signal()
    lists_drawn = Signal()

    def __init__(self, context: QtTraceContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self._stale = False
        self._where = UsageFilter()
        self.draw_count = 0
        self.book, self._book_problem = load_book()
        self.filter_bar = QtUsageFilterBar()
        self.filter_bar.changed.connect(self.refresh)
        self.summary = QLabel("No store open")
        self.summary.setWordWrap(True)
        self.summary.setContentsMargins(8, 2, 8, 4)
        self.split_snapshots = QCheckBox("Split snapshots")
        self.split_snapshots.setToolTip(
            "Chart dated snapshots (gpt-4o-2024-08-06) apart rather than under their model (gpt-4o)"
        )
        self.split_snapshots.toggled.connect(self._redraw)
        #: The last data read (series, latency), redrawn on the toggle or a palette change.
        self._read: tuple[UsageSeries, LatencyStats] | None = None
        self._restyle = QTimer(self, singleShot=True, interval=0)
        self._restyle.timeout.connect(self._restyled)
        self._lists: dict | None = None
        self.cost = QtChart("Cost over time, by model", time_axis=True)
        self.tokens = QtChart("Tokens over time", time_axis=True, counts=True)
        self.requests = QtChart("Requests over time", time_axis=True, counts=True)
        self.latency = QtChart("Latency distribution per model")
        self.errors = QtChart("Error rate per model")
        self.speed = QtChart("Output tokens per second per model")
        self.chains = QtChart("Most frequent chains and agents")
        self.tools = QtChart("Most frequent tools")
        for chart in (self.tokens, self.requests):
            chart.plot.setXLink(self.cost.plot)
        self.latency.plot.setLabel("bottom", "latency (log scale) · tick: median")
        for chart, unit in (
            (self.cost, "USD"),
            (self.tokens, "tokens"),
            (self.requests, "calls"),
        ):
            chart.plot.setLabel("left", unit)
        for chart, unit in (
            (self.errors, "% of calls failed"),
            (self.speed, "output tokens/s"),
            (self.chains, "spans"),
            (self.tools, "spans"),
        ):
            chart.plot.setLabel("bottom", unit)
            chart.view_box.setMouseEnabled(x=False, y=False)
        # The charts scroll on a small screen rather than forcing the window taller than it.
        charts = QWidget()
        grid = QGridLayout(charts)
        grid.setContentsMargins(4, 0, 4, 4)
        grid.setSpacing(10)
        for i, chart in enumerate(self.charts()):
            grid.addWidget(chart, i // 2, i % 2)
        for row in range(4):
            grid.setRowStretch(row, 1)
        for chart in self.charts():
            chart.restyled.connect(self._restyle.start)
        header = QHBoxLayout()
        header.setContentsMargins(0, 0, 8, 0)
        header.addWidget(self.summary, 1)
        header.addWidget(self.split_snapshots)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.filter_bar)
        layout.addLayout(header)
        scroll = QScrollArea(widgetResizable=True, frameShape=QFrame.Shape.NoFrame)
        scroll.setWidget(charts)
        layout.addWidget(scroll, 1)
        self.job = QtWorker("Dashboard", self, Policy.LATEST, threads=2)
        self.job.finished.connect(self._draw)
        self.job.failed.connect(self._failed)
        self.lists_job = QtWorker("Dashboard", self, Policy.LATEST, threads=2)
        self.lists_job.finished.connect(self._draw_lists)
        self.lists_job.failed.connect(self._failed)
        self.facts_job = QtWorker("Dashboard", self, Policy.LATEST)
        self.facts_job.finished.connect(self._store_facts)
        context.register(self)

    def charts(self) -> list[QtChart]:
        return [
            self.cost,
            self.tokens,
            self.requests,
            self.latency,
            self.errors,
            self.speed,
            self.chains,
            self.tools,
        ]

    # QtObserver

    def on_store_loaded(self, context: QtTraceContext) -> None:
        self.book, self._book_problem = load_book()
        if context.store_path is not None:
            self.facts_job.start_reads(context.store_path, {"facts": _read_store_facts})
        self.refresh()

    def on_store_closed(self) -> None:
        self.job.cancel()
        self.lists_job.cancel()
        self.facts_job.cancel()
        self._read = self._lists = None
        for chart in self.charts():
            chart.clear()
        self.summary.setText("No store open")

    # Computing

    def refresh(self, *_args: object) -> None:
        """Recompute for the current filter now if the tab is shown, else when it is next shown."""
        if not self.isVisible():
            self._stale = True
            return
        self._stale = False
        path = self._context.store_path
        if path is None:
            return
        where = self.filter_bar.current()
        self.summary.setText(f"Computing usage for {describe(where)}…")
        self.lists_job.cancel()
        self.job.start_reads(
            path,
            {
                "series": partial(usage_series, where=where, book=self.book),
                "latency": partial(latency_stats, where=where),
            },
        )
        self._where = where

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._stale:
            self.refresh()

    def _store_facts(self, results: dict) -> None:
        services, bounds = results["facts"]
        first, last = bounds or (None, None)
        self.filter_bar.set_store_facts(services, first, last)

    def _failed(self, message: str) -> None:
        self.summary.setText(f"Could not compute usage: {message}")

    # Drawing

    def model_view(self) -> ModelView:
        return ModelView(families=not self.split_snapshots.isChecked())

    def _draw(self, results: dict) -> None:
        self._read = results["series"], results["latency"]
        self._redraw()
        if self._context.store_path is not None:
            where = self._where
            self.lists_job.start_reads(
                self._context.store_path,
                {
                    "chains": partial(top_names, kinds=CHAIN_KINDS, where=where, limit=TOP_NAMES),
                    "tools": partial(top_names, kinds=TOOL_KINDS, where=where, limit=TOP_NAMES),
                },
            )

    def _redraw(self, *_args: object) -> None:
        """Draw the usage charts from the data read, models keyed as the toggle says."""
        if self._read is None:
            return
        raw, raw_latency = self._read
        calls = {m: t.calls for m, t in raw.totals.items()} | {
            m: 0 for m in raw_latency.bins if m not in raw.totals
        }
        keys = shown_as(calls, self.model_view())
        series, latency = raw.merged(keys), raw_latency.merged(keys)
        colors = model_colors(series.models)
        self._summarize(series, self._where)
        self._draw_cost(series, colors)
        self._draw_tokens(series)
        self._draw_requests(series)
        self._draw_latency(series, latency, colors)
        self._draw_per_model(self.errors, series, latency, colors)
        self._draw_per_model(self.speed, series, latency, colors)
        starts = series.first_bucket_ns / 1e9
        self.cost.plot.setXRange(starts, starts + len(series.requests) * series.width_ns / 1e9, padding=0.01)
        self.draw_count += 1
        self.drawn.emit()

    def _summarize(self, series: UsageSeries, where: UsageFilter) -> None:
        calls = sum(series.requests)
        errors = sum(series.errors)
        cost = sum(t.cost_usd for t in series.totals.values())
        unpriced = sum(series.unpriced)
        parts = [f"<b>{_plural(calls, 'model call')}</b>", f"<b>{display.cost(cost)}</b> known cost"]
        if unpriced:
            parts.append(f"<b>{_plural(unpriced, 'call')}</b> of unknown cost")
        parts.append(f"{100 * errors / calls:.1f}% errors" if calls else "no errors")
        parts.append(f"{width_label(series.width_ns)} buckets")
        text = " · ".join(parts) + f" — {describe(where)}"
        if self._book_problem:
            text += f"<br>{coloured(self._book_problem, ERROR_COLOR, bold=False)}"
        self.summary.setText(text)

    def _bucket_edges(self, series: UsageSeries) -> tuple[np.ndarray, np.ndarray]:
        x0 = np.array(series.bucket_starts_ns(), dtype=np.float64) / 1e9
        width = series.width_ns / 1e9
        # Narrow bars touch: gaps of under a pixel would flicker in and out along the axis.
        fill = BAR_FILL if len(x0) <= GAPPED_BARS else 1.0
        return x0 + width * (1 - fill) / 2, x0 + width * (1 + fill) / 2

    def _bucket_at(self, series: UsageSeries, x: float) -> int | None:
        i = math.floor((x * 1e9 - series.first_bucket_ns) / series.width_ns)
        return i if 0 <= i < len(series.requests) else None

    def _draw_cost(self, series: UsageSeries, colors: dict) -> None:
        chart = self.cost
        chart.clear()
        key = []
        x0, x1 = self._bucket_edges(series)
        below = np.zeros(len(x0))
        for model, values in series.cost.items():
            height = np.array([v or 0.0 for v in values])
            if not height.any():
                continue
            bars = pg.BarGraphItem(x0=x0, x1=x1, y0=below, y1=below + height, brush=colors[model], pen=None)
            chart.plot.addItem(bars)
            key.append((model_label(model, series.members), colors[model]))
            below = below + height
        unpriced = {m: t.unpriced_calls for m, t in series.totals.items() if t.unpriced_calls}
        if unpriced:
            listed = ", ".join(
                f"{model_label(m, series.members)}: {_plural(n, 'call')}" for m, n in unpriced.items()
            )
            chart.set_note(f"Not in the bars, cost unknown (no price or no token counts): {listed}")
        chart.set_legend(key)
        chart.table = series.cost_table()

        def hover(x: float, _y: float) -> str | None:
            i = self._bucket_at(series, x)
            if i is None:
                return None
            known = [(m, v[i]) for m, v in series.cost.items() if v[i]]
            text = (
                ", ".join(f"{model_label(m, series.members)} {display.cost(v)}" for m, v in known)
                or "no known cost"
            )
            extra = f" ({series.unpriced[i]:,} calls unpriced)" if series.unpriced[i] else ""
            return f"{_bucket_name(series, i)}: {text}{extra}"

        chart.hover = hover

    def _draw_tokens(self, series: UsageSeries) -> None:
        chart = self.tokens
        chart.clear()
        key = []
        edges = (
            np.append(
                np.array(series.bucket_starts_ns(), dtype=np.float64),
                series.first_bucket_ns + len(series.requests) * series.width_ns,
            )
            / 1e9
        )
        for label, values, hue in (
            ("input", series.input_tokens, INPUT_COLOR),
            ("output", series.output_tokens, OUTPUT_COLOR),
        ):
            fill = QColor(hue)
            fill.setAlpha(90)
            curve = pg.PlotDataItem(
                edges,
                np.array(values, dtype=np.float64),
                stepMode="center",
                fillLevel=0,
                brush=fill,
                pen=pg.mkPen(hue, width=1.5),
            )
            chart.plot.addItem(curve)
            key.append((f"{label} tokens", hue))
        chart.set_legend(key)
        chart.table = series.tokens_table()

        def hover(x: float, _y: float) -> str | None:
            i = self._bucket_at(series, x)
            if i is None:
                return None
            return (
                f"{_bucket_name(series, i)}: {series.input_tokens[i]:,} in, {series.output_tokens[i]:,} out"
            )

        chart.hover = hover

    def _draw_requests(self, series: UsageSeries) -> None:
        chart = self.requests
        chart.clear()
        key = []
        x0, x1 = self._bucket_edges(series)
        for label, values, hue in (
            ("calls", series.requests, REQUEST_COLOR),
            ("errors", series.errors, ERROR_COLOR),
        ):
            bars = pg.BarGraphItem(x0=x0, x1=x1, y0=0, y1=np.array(values), brush=hue, pen=None)
            chart.plot.addItem(bars)
            key.append((label, hue))
        chart.set_legend(key)
        chart.table = series.requests_table()
        per = width_label(series.width_ns).replace("-", " ")

        def hover(x: float, _y: float) -> str | None:
            i = self._bucket_at(series, x)
            if i is None:
                return None
            calls, errors = series.requests[i], series.errors[i]
            return f"{_bucket_name(series, i)}: {calls:,} calls ({per}), {errors:,} errors"

        chart.hover = hover

    def _draw_latency(self, series: UsageSeries, latency: LatencyStats, colors: dict) -> None:
        """A row per model on a log latency axis: each 1-2-5 bin shaded by the share of the model's
        calls in it, a tick at the median. Rows never overlap, however many models (curves did)."""
        chart = self.latency
        chart.clear()
        chart.table = latency.latency_table()
        bins = latency.coarse()
        used = sorted({b for by_bin in bins.values() for b in by_bin})
        if not used:
            return
        steps = _contiguous_bins(used[0], used[-1])
        edges = np.array([coarse_edges_ms(b)[0] for b in steps] + [coarse_edges_ms(steps[-1])[1]])
        log_edges = np.log10(edges)
        chart.plot.getAxis("bottom").setTicks(_log_ticks(edges[0], edges[-1]))
        models = [m for m in series.models if m in bins] + [m for m in bins if m not in series.totals]
        names = [model_label(m, series.members) for m in models]
        chart.set_category_axis([elided(name) for name in names])
        chart.fit_rows(len(models))
        shares: dict = {}
        ink = chart.ink()
        for row, model in enumerate(models):
            total = sum(bins[model].values())
            shares[model] = np.array([100 * bins[model].get(b, 0) / total for b in steps])
            hue = colors[model]
            # The busiest bin at full strength, the others in proportion, an empty one not at all.
            strength = shares[model] / shares[model].max()
            brushes = [
                QColor(hue.red(), hue.green(), hue.blue(), int(40 + 215 * a) if a else 0) for a in strength
            ]
            y = len(models) - 1 - row
            chart.plot.addItem(
                pg.BarGraphItem(
                    x0=log_edges[:-1], x1=log_edges[1:], y=y, height=0.8, brushes=brushes, pen=None
                )
            )
            median = latency.median_ms(model)
            if median is not None:
                chart.plot.addItem(
                    pg.PlotDataItem([math.log10(median)] * 2, [y - 0.4, y + 0.4], pen=pg.mkPen(ink, width=2))
                )
        chart.plot.setYRange(-0.6, len(models) - 0.4, padding=0)
        chart.plot.setXRange(log_edges[0], log_edges[-1], padding=0.02)

        def hover(x: float, y: float) -> str | None:
            k = int(np.searchsorted(log_edges, x, side="right")) - 1
            row = len(models) - 1 - round(y)
            if not 0 <= k < len(steps) or not 0 <= row < len(models):
                return None
            model = models[row]
            low, high = coarse_edges_ms(steps[k])
            median = latency.median_ms(model)
            share = f"{shares[model][k]:.1f}% of calls took {_ms(low)}–{_ms(high)}"
            return f"{names[row]}: {share}; median ~{_ms(median)}" if median else f"{names[row]}: {share}"

        chart.hover = hover

    def _draw_per_model(
        self, chart: QtChart, series: UsageSeries, latency: LatencyStats, colors: dict
    ) -> None:
        """Error rate or output speed, a bar per model (top = most calls)."""
        models = series.models
        totals = [series.totals[m] for m in models]
        if chart is self.errors:
            values = [100 * t.error_rate for t in totals]
            labels = [f"{v:.1f}% ({t.errors:,} of {t.calls:,})" for v, t in zip(values, totals, strict=True)]
            table = series.error_table()
        else:
            values = [latency.tokens_per_s(m) for m in models]
            labels = ["no timed output" if v is None else f"{v:,.0f} tokens/s" for v in values]
            table = latency.speed_table()
        names = [model_label(m, series.members) for m in models]
        draw_bars(chart, names, values, labels, [colors[m] for m in models])
        chart.table = table

    def _restyled(self) -> None:
        """The palette changed: draw again what was drawn, in the new colours."""
        self._redraw()
        if self._lists is not None:
            self._draw_lists(self._lists)

    def _draw_lists(self, results: dict) -> None:
        self._lists = results
        for chart, key, hue in ((self.chains, "chains", CHAIN_COLOR), (self.tools, "tools", TOOL_COLOR)):
            found: list[tuple[str | None, int, int]] = results[key]
            labels = [f"{n:,}" + (f" ({errors:,} failed)" if errors else "") for _name, n, errors in found]
            names = [name or "(unnamed)" for name, _n, _errors in found]
            draw_bars(chart, names, [n for _name, n, _errors in found], labels, [hue] * len(found))
            chart.table = Table(["name", "spans", "errors"], [list(row) for row in found])
            if not found:
                chart.set_note("No spans of this kind under the filter")
        self.lists_drawn.emit()


def _read_store_facts(db: Database) -> tuple[list[str], tuple[int, int] | None]:
    """The filter bar's choices: services, and the first and last trace start."""
    return store_services(db), time_bounds(db)


def _log_ticks(low_ms: float, high_ms: float) -> list[list[tuple[float, str]]]:
    """Ticks at each decade of an axis of log10(ms), and at 2 and 5 of it as a second level, whose
    labels the axis shows only where they fit."""
    decades = range(math.floor(math.log10(low_ms)), math.ceil(math.log10(high_ms)) + 1)
    return [
        [(math.log10(m * 10.0**e), _ms(m * 10.0**e)) for e in decades for m in levels]
        for levels in ((1,), (2, 5))
    ]


def _contiguous_bins(first: int, last: int) -> list[int]:
    """Every coarse latency bin from `first` to `last`: 1, 2 and 5 of each decade in turn."""
    return [b for b in range(first, last + 1) if b % 10 in (1, 2, 5)]


def _bucket_name(series: UsageSeries, i: int) -> str:
    start = series.first_bucket_ns + i * series.width_ns
    fmt = "%Y-%m-%d" if series.width_ns >= 24 * 3_600_000_000_000 else "%Y-%m-%d %H:%M"
    return datetime.fromtimestamp(start / 1e9, UTC).strftime(fmt) + " UTC"


def _ms(ms: float) -> str:
    return f"{ms / 1000:g} s" if ms >= 1000 else f"{ms:.3g} ms"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"
