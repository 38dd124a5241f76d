"""One chart of the dashboard or comparison: a titled pyqtgraph plot with a read-out of the values
under the mouse, and PNG / CSV export from its header menu or its right-click menu."""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QAction, QColor, QFont, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from spanscope.core.analysis.chart_csv import Table

#: Tableau 10: distinct in print and for the common colour blindnesses; a model keeps its index.
PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#76b7b2",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)
TITLE_HEIGHT = 26


def _unbroken(name: str) -> str:
    """A key entry that wraps between entries, never inside a model name at its hyphens."""
    return html.escape(name).replace("-", "\u2011").replace(" ", "&nbsp;")


def color(i: int) -> QColor:
    return QColor(PALETTE[i % len(PALETTE)])


def model_label(model: str | None) -> str:
    return model if model is not None else "(no model)"


class QtCountAxis(pg.AxisItem):
    """Counts as people write them: 1.5M, 250k, 40."""

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        return [compact(v * scale) for v in values]


def compact(value: float) -> str:
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.4g}{suffix}"
    return f"{value:.4g}"


class QtChart(QWidget):
    """A plot with a title, a hover read-out, and export of the picture and of `table`.

    `hover` maps the mouse's x (view coordinates) to the text shown for it, or None for nothing.
    """

    def __init__(
        self, title: str, *, time_axis: bool = False, counts: bool = False, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        # A white card (the plot's own background) on the window's grey.
        card = self.palette()
        card.setColor(QPalette.ColorRole.Window, card.color(QPalette.ColorRole.Base))
        self.setPalette(card)
        self.setAutoFillBackground(True)
        self.title = title
        self.table: Table | None = None
        self.hover: Callable[[float, float], str | None] | None = None
        axes: dict[str, pg.AxisItem] = {"bottom": pg.DateAxisItem(utcOffset=0)} if time_axis else {}
        if counts:
            axes["left"] = QtCountAxis("left")
        self.plot = pg.PlotWidget(axisItems=axes, background=self.palette().color(QPalette.ColorRole.Base))
        # Charts share the grid evenly, whatever their plots would prefer.
        self.plot.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)
        self.plot.setMinimumHeight(140)
        self.plot.setMenuEnabled(True)
        self.plot.showGrid(x=False, y=True, alpha=0.15)
        self.plot.getPlotItem().hideButtons()
        self.view_box = self.plot.getPlotItem().getViewBox()
        self.view_box.setMouseEnabled(x=True, y=False)
        ink = self.palette().color(QPalette.ColorRole.Text)
        for name in ("left", "bottom"):
            axis = self.plot.getAxis(name)
            axis.setTextPen(ink)
            axis.setPen(pg.mkPen(QColor(ink.red(), ink.green(), ink.blue(), 90)))
            axis.enableAutoSIPrefix(False)
        self.cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(QColor(ink), width=1))
        self.cursor.setZValue(20)

        self.title_label = QLabel(title)
        font = self.title_label.font()
        font.setBold(True)
        self.title_label.setFont(font)
        self.readout = QLabel()
        self.readout.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.readout.setStyleSheet("color: palette(placeholder-text);")
        self.key = QLabel()
        self.key.setWordWrap(True)
        self.key.setContentsMargins(6, 0, 6, 0)
        self.key.hide()
        self.note = QLabel()
        self.note.setStyleSheet("color: palette(placeholder-text);")
        self.note.setContentsMargins(6, 0, 6, 0)
        self.note.setWordWrap(True)
        self.note.hide()
        self.export_button = QToolButton()
        self.export_button.setText("Export")
        self.export_button.setToolTip("Save this chart as a PNG picture, or its data as CSV")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.export_button.setAutoRaise(True)
        menu = QMenu(self.export_button)
        self.png_action, self.csv_action = self._export_actions(menu)
        self.export_button.setMenu(menu)
        view_menu = self.view_box.menu
        view_menu.addSeparator()
        self._export_actions(view_menu)

        header = QHBoxLayout()
        header.setContentsMargins(6, 2, 2, 0)
        header.addWidget(self.title_label)
        header.addWidget(self.readout, 1)
        header.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(header)
        layout.addWidget(self.key)
        layout.addWidget(self.note)
        layout.addWidget(self.plot, 1)
        self.plot.scene().sigMouseMoved.connect(self._on_mouse_moved)

    def _export_actions(self, menu: QMenu) -> tuple[QAction, QAction]:
        png = menu.addAction("Export PNG…")
        png.triggered.connect(self._ask_png)
        csv = menu.addAction("Export data as CSV…")
        csv.triggered.connect(self._ask_csv)
        return png, csv

    # Content

    def clear(self) -> None:
        """Drop every item: charts are replaced whole when new data arrives."""
        self.plot.clear()
        self.set_legend([])
        self.plot.addItem(self.cursor, ignoreBounds=True)
        self.cursor.hide()
        self.readout.clear()
        self.table = None
        self.set_note(None)

    def set_legend(self, entries: list[tuple[str, QColor | str]]) -> None:
        """A key above the plot (never over the data): a coloured square and a name per entry."""
        self.key.setText(
            "&nbsp;&nbsp; ".join(
                f"<span style='color:{QColor(hue).name()}'>&#9632;</span>&nbsp;{_unbroken(name)}"
                for name, hue in entries
            )
        )
        self.key.setVisible(bool(entries))

    def set_note(self, text: str | None) -> None:
        """A line under the title for what the chart leaves out (unpriced calls, a sample)."""
        self.note.setText(text or "")
        self.note.setVisible(bool(text))

    def set_category_axis(self, names: list[str], axis: str = "left") -> None:
        """Label positions 0..n-1 of `axis` with `names` (bar charts of models)."""
        self.plot.getAxis(axis).setTicks([list(enumerate(names)), []])

    # Export

    def picture(self) -> QPixmap:
        """What Export PNG saves: the title, the key and note when shown, and the plot."""
        plot = self.plot.grab()
        ratio = plot.devicePixelRatio()
        width = plot.width() / ratio
        extras = [label.grab() for label in (self.key, self.note) if label.isVisible()]
        height = TITLE_HEIGHT + sum(x.height() / x.devicePixelRatio() for x in extras) + plot.height() / ratio
        out = QPixmap(int(width * ratio), int(height * ratio))
        out.setDevicePixelRatio(ratio)
        out.fill(self.palette().color(QPalette.ColorRole.Base))
        painter = QPainter(out)
        painter.setFont(QFont(self.title_label.font()))
        painter.setPen(self.palette().color(QPalette.ColorRole.Text))
        painter.drawText(QRectF(8, 0, width - 16, TITLE_HEIGHT), Qt.AlignmentFlag.AlignVCenter, self.title)
        top = float(TITLE_HEIGHT)
        for part in [*extras, plot]:
            painter.drawPixmap(QPointF(0, top), part)
            top += part.height() / part.devicePixelRatio()
        painter.end()
        return out

    def export_png(self, path: Path) -> None:
        if not self.picture().save(str(path), "PNG"):
            raise OSError(f"{path}: could not write the PNG")

    def export_csv(self, path: Path) -> None:
        if self.table is None:
            raise ValueError(f"{self.title}: no data to export yet")
        self.table.write_csv(Path(path))

    def _ask_png(self) -> None:
        name, _ = QFileDialog.getSaveFileName(
            self, f"Export {self.title}", self._file_stem() + ".png", "PNG (*.png)"
        )
        if name:
            self._try(lambda: self.export_png(Path(name)))

    def _ask_csv(self) -> None:
        name, _ = QFileDialog.getSaveFileName(
            self, f"Export data of {self.title}", self._file_stem() + ".csv", "CSV (*.csv)"
        )
        if name:
            self._try(lambda: self.export_csv(Path(name)))

    def _try(self, action: Callable[[], None]) -> None:
        try:
            action()
        except (OSError, ValueError) as exc:
            self.set_note(f"Export failed: {exc}")

    def _file_stem(self) -> str:
        return "".join(c if c.isalnum() else "-" for c in self.title.lower()).strip("-")

    # Hover

    def _on_mouse_moved(self, pos: QPointF) -> None:
        if self.hover is None or not self.view_box.sceneBoundingRect().contains(pos):
            self.cursor.hide()
            return
        point = self.view_box.mapSceneToView(pos)
        text = self.hover(point.x(), point.y())
        self.readout.setText(text or "")
        self.readout.setToolTip(text or "")
        self.cursor.setVisible(text is not None)
        self.cursor.setPos(point.x())


def draw_bars(
    chart: QtChart, names: list[str], values: list[float | None], labels: list[str], brushes: list
) -> None:
    """Horizontal bars, the first on top, each labelled with its value; None draws no bar."""
    chart.clear()
    y = np.arange(len(names))[::-1]
    width = np.array([v or 0.0 for v in values])
    chart.plot.addItem(pg.BarGraphItem(x0=0, width=width, y=y, height=0.7, brushes=brushes, pen=None))
    chart.plot.getAxis("left").setTicks([[(int(y[i]), name) for i, name in enumerate(names)], []])
    top = width.max(initial=0.0) or 1.0  # all zero: a plain 0-1 axis, not a microscopic one
    ink = chart.palette().text().color()
    for i, label in enumerate(labels):
        text = pg.TextItem(label, color=ink, anchor=(0, 0.5))
        text.setPos(width[i] + top * 0.01, y[i])
        chart.plot.addItem(text)
    chart.plot.setXRange(0, top * 1.35, padding=0)
    chart.plot.setYRange(-0.6, max(len(names), 1) - 0.4, padding=0)

    def hover(_x: float, at: float) -> str | None:
        k = len(names) - 1 - round(at)
        return f"{names[k]}: {labels[k]}" if 0 <= k < len(names) else None

    chart.hover = hover
