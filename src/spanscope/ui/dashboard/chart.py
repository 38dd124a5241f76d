"""One chart of the dashboard or comparison: a titled pyqtgraph plot with a read-out of the values
under the mouse, a key beside the plot (never over it), PNG / CSV export from its header menu or its
right-click menu, and colours that follow the window's palette, light or dark."""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QAction, QColor, QFont, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from spanscope.core.analysis.chart_csv import Table
from spanscope.core.analysis.model_groups import OTHER
from spanscope.ui.plain_tooltip import plain_tooltip

#: Tableau 10's hues without its grey, and two of Tableau 20's (olive, raspberry) plus a light blue:
#: MAX_SHOWN colours told apart in print, on a light or a dark card, and for the common colour
#: blindnesses; the grey is kept for "other".
PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#b6992d",
    "#d37295",
    "#a0cbe8",
)
OTHER_COLOR = "#bab0ac"
TITLE_HEIGHT = 26
MIN_PLOT_HEIGHT = 140
#: Height a bar chart gives each row, so value labels never overlap (the dashboard scrolls instead).
ROW_PX = 22
#: Up to this many entries the key is one line above the plot; more go in a column beside it.
INLINE_KEYS = 3
#: Width of the key beside the plot; longer names are elided in the middle (hover shows them whole).
SIDE_KEY_WIDTH = 190
#: The key's swatch, its space and the margins: what of SIDE_KEY_WIDTH a name may not use.
SIDE_KEY_CHROME = 40
#: Longest model name written on a category axis before it is elided in the middle.
AXIS_NAME_CHARS = 26


def _unbroken(name: str) -> str:
    """A key entry that wraps between entries, never inside a model name at its hyphens."""
    return html.escape(name).replace("-", "\u2011").replace(" ", "&nbsp;")


def color(i: int) -> QColor:
    return QColor(PALETTE[i % len(PALETTE)])


def model_colors(models: list[str | None]) -> dict[str | None, QColor]:
    """A colour per charted model in order: distinct up to MAX_SHOWN, grey for "other"."""
    named = [m for m in models if m != OTHER]
    colors = {m: color(i) for i, m in enumerate(named)}
    if OTHER in models:
        colors[OTHER] = QColor(OTHER_COLOR)
    return colors


def model_label(model: str | None, members: dict[str | None, list[str | None]] | None = None) -> str:
    """A model as charts name it: "(no model)" for calls that name none, "other (n models)" for the
    models past the busiest, a family with the snapshots it holds counted."""
    if model is None:
        return "(no model)"
    merged = (members or {}).get(model, [model])
    if model == OTHER:
        return f"other ({len(merged)} models)"
    return model if len(merged) == 1 else f"{model} ({len(merged)} versions)"


def elided(label: str, limit: int = AXIS_NAME_CHARS) -> str:
    """A label cut in the middle to `limit` characters (model names differ at both ends); a trailing
    "(3 versions)" is kept whole."""
    if len(label) <= limit:
        return label
    name, space, suffix = label.rpartition(" (") if label.endswith(")") else (label, "", "")
    tail = space + suffix
    room = max(limit - len(tail), 8) - 1
    head = room // 2
    return name[:head] + "\u2026" + name[len(name) - (room - head) :] + tail


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

    #: The window's palette changed (light to dark): whoever drew the chart draws it again, as text
    #: items and bars took their colours from the palette they were drawn under.
    restyled = Signal()

    def __init__(
        self, title: str, *, time_axis: bool = False, counts: bool = False, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._restyling = False
        self.setAutoFillBackground(True)
        self.title = title
        self.table: Table | None = None
        self.hover: Callable[[float, float], str | None] | None = None
        axes: dict[str, pg.AxisItem] = {"bottom": pg.DateAxisItem(utcOffset=0)} if time_axis else {}
        if counts:
            axes["left"] = QtCountAxis("left")
        self.plot = pg.PlotWidget(axisItems=axes)
        # Charts share the grid evenly, whatever their plots would prefer.
        self.plot.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)
        self.plot.setMinimumHeight(MIN_PLOT_HEIGHT)
        self.plot.setMenuEnabled(True)
        self.plot.showGrid(x=False, y=True, alpha=0.15)
        self.plot.getPlotItem().hideButtons()
        self.view_box = self.plot.getPlotItem().getViewBox()
        self.view_box.setMouseEnabled(x=True, y=False)
        for name in ("left", "bottom"):
            self.plot.getAxis(name).enableAutoSIPrefix(False)
        self.cursor = pg.InfiniteLine(angle=90, movable=False)
        self.cursor.setZValue(20)

        self.title_label = QLabel(title)
        font = self.title_label.font()
        font.setBold(True)
        self.title_label.setFont(font)
        # The readout and the note name models: trace data, shown as written.
        self.readout = QLabel(textFormat=Qt.TextFormat.PlainText)
        self.readout.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.readout.setStyleSheet("color: palette(placeholder-text);")
        self.key = QLabel()
        self.key.setWordWrap(True)
        self.key.setContentsMargins(6, 0, 6, 0)
        self.key.hide()
        self.side_key = QLabel()
        self.side_key.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.side_key.setContentsMargins(4, 4, 4, 4)
        self.side_scroll = QScrollArea(widgetResizable=True, frameShape=QFrame.Shape.NoFrame)
        self.side_scroll.setWidget(self.side_key)
        self.side_scroll.setFixedWidth(SIDE_KEY_WIDTH)
        self.side_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.side_scroll.hide()
        self.note = QLabel(textFormat=Qt.TextFormat.PlainText)
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
        self.body = QWidget()
        body = QHBoxLayout(self.body)
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(0)
        body.addWidget(self.plot, 1)
        body.addWidget(self.side_scroll)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(header)
        layout.addWidget(self.key)
        layout.addWidget(self.note)
        layout.addWidget(self.body, 1)
        self.plot.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self._apply_palette()

    # Palette

    def ink(self) -> QColor:
        """The colour of text and marks on the card, light theme or dark."""
        return self.palette().color(QPalette.ColorRole.Text)

    def _apply_palette(self) -> None:
        """A card of the window's Base colour (the plot's own background) on its Window colour, axes
        and cursor in its Text colour."""
        palette = self.palette()
        base = palette.color(QPalette.ColorRole.Base)
        if palette.color(QPalette.ColorRole.Window) != base:
            card = QPalette(palette)
            card.setColor(QPalette.ColorRole.Window, base)
            self._restyling = True  # setPalette sends a PaletteChange of its own
            try:
                self.setPalette(card)
            finally:
                self._restyling = False
        ink = self.ink()
        self.plot.setBackground(base)
        for name in ("left", "bottom"):
            axis = self.plot.getAxis(name)
            axis.setTextPen(ink)
            axis.setPen(pg.mkPen(QColor(ink.red(), ink.green(), ink.blue(), 90)))
        self.cursor.setPen(pg.mkPen(QColor(ink), width=1))

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and not self._restyling:
            self._apply_palette()
            self.restyled.emit()

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
        """A key outside the plot, never over the data: a coloured square and a name per entry, on one
        line above the plot for a few entries, else in a column beside it (so many entries cost the
        plot width, never its height)."""
        side = len(entries) > INLINE_KEYS
        swatches = [f"<span style='color:{QColor(hue).name()}'>&#9632;</span>" for _, hue in entries]
        if side:
            room = SIDE_KEY_WIDTH - SIDE_KEY_CHROME
            self.side_key.setText(
                "<br>".join(
                    f"{swatch}&nbsp;{_unbroken(self._fitted(name, room))}"
                    for swatch, (name, _) in zip(swatches, entries, strict=True)
                )
            )
            self.side_key.setToolTip("<br>".join(html.escape(name) for name, _ in entries))
        else:
            self.key.setText(
                "&nbsp;&nbsp; ".join(
                    f"{swatch}&nbsp;{_unbroken(name)}"
                    for swatch, (name, _) in zip(swatches, entries, strict=True)
                )
            )
        self.key.setVisible(bool(entries) and not side)
        self.side_scroll.setVisible(side)

    def _fitted(self, label: str, width: int) -> str:
        """`label` elided in the middle (see `elided`) to fit `width` pixels of the key's font."""
        metrics = self.side_key.fontMetrics()
        limit = len(label)
        while limit > 8 and metrics.horizontalAdvance(elided(label, limit)) > width:
            limit -= 1
        return elided(label, limit)

    def set_note(self, text: str | None) -> None:
        """A line under the title for what the chart leaves out (unpriced calls, a sample)."""
        self.note.setText(text or "")
        self.note.setVisible(bool(text))

    def fit_rows(self, rows: int) -> None:
        """Room for `rows` rows of a chart of models at ROW_PX each, so their labels never overlap:
        the dashboard scrolls rather than squeezing them."""
        self.plot.setMinimumHeight(max(MIN_PLOT_HEIGHT, rows * ROW_PX + 50))

    def set_category_axis(self, names: list[str]) -> None:
        """Label the rows of a chart of models, the first on top (row n-1) and the last at 0."""
        last = len(names) - 1
        self.plot.getAxis("left").setTicks([[(last - i, name) for i, name in enumerate(names)], []])

    # Export

    def picture(self) -> QPixmap:
        """What Export PNG saves: the title, the key and note when shown, and the plot with the key
        beside it."""
        plot = self.body.grab()
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
        self.readout.setToolTip(plain_tooltip(text))
        self.cursor.setVisible(text is not None)
        self.cursor.setPos(point.x())


def draw_bars(
    chart: QtChart, names: list[str], values: list[float | None], labels: list[str], brushes: list
) -> None:
    """Horizontal bars, the first on top, each labelled with its value; None draws no bar. The plot
    grows with the rows, so labels keep ROW_PX each; long names are elided on the axis, whole in
    the read-out."""
    chart.clear()
    y = np.arange(len(names))[::-1]
    width = np.array([v or 0.0 for v in values])
    chart.fit_rows(len(names))
    chart.plot.addItem(pg.BarGraphItem(x0=0, width=width, y=y, height=0.7, brushes=brushes, pen=None))
    chart.set_category_axis([elided(name) for name in names])
    top = width.max(initial=0.0) or 1.0  # all zero: a plain 0-1 axis, not a microscopic one
    ink = chart.ink()
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
