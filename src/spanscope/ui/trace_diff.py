"""Compare traces: two traces side by side, aligned step by step, with word-level diffs.

The diff is worked out off the GUI thread (core.trace_diff reads every payload of both traces);
the window shows the totals, the aligned steps coloured by what changed, and for the selected pair
its figures and a word-level diff of input and output.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from spanscope.core.diff.trace_diff import (
    CHANGES,
    DiffRow,
    Step,
    TraceDiff,
    TraceTotals,
    collapse,
    diff_traces,
)
from spanscope.core.presentation import display
from spanscope.core.presentation.tree_text import indent
from spanscope.core.store.lookups import suggest_partner
from spanscope.core.store.queries import NotFound, list_traces, resolve_trace_id
from spanscope.ui.context import QtTraceContext
from spanscope.ui.detail.html import esc, muted
from spanscope.ui.detail.rich_view import QtSafeBrowser
from spanscope.ui.plain_tooltip import plain_tooltip
from spanscope.ui.screen_fit import fit_to_screen
from spanscope.ui.style import ERROR_COLOR, MUTED_COLOR, ink, kind_icon, tint
from spanscope.ui.workers import Policy, QtWorker

#: Traces offered in each picker (newest first); any other can be typed as an id or prefix.
MAX_CHOICES = 2000
#: Unchanged text kept around each change in the pair's diff, unless "Full text" is ticked.
DETAIL_CONTEXT = 240

CHANGE_COLORS = {
    "same": None,
    "changed": "#fff3cd",
    "moved": "#dde9fb",
    "added": "#dcf5e1",
    "removed": "#fde0dc",
}
ABSENT_COLOR = "#f1f2f2"
MARKS = {"same": "", "changed": "~", "moved": "↕", "added": "+", "removed": "−"}
MARK_COLORS = {"changed": "#b7791f", "moved": "#2e86de", "added": "#1e8449", "removed": ERROR_COLOR}
#: Words of a diff: (background, text colour, extra CSS) of added and removed runs, through
#: style.tint and style.ink when written, so they read on a dark palette too.
WORD_COLORS = {
    "added": ("#c8f0d0", "#14532d", ""),
    "removed": ("#fbd0cb", "#7b241c", "; text-decoration: line-through"),
}
FIELDS = ("step", "latency", "tokens", "cost")
COLUMNS = (
    "",
    *(f"A {f}" if f == "step" else f for f in FIELDS),
    *(f"B {f}" if f == "step" else f for f in FIELDS),
)


def _signed(a: float | None, b: float | None, show: Any) -> str:
    """` (+1.2 s)`, ` (−3)`: the change from a to b, `show(size, sign)` writing it."""
    if a is None or b is None or a == b:
        return ""
    return f" ({show(abs(b - a), '+' if b > a else '−')})"


def _sign_first(show: Callable[[Any], str]) -> Callable[[Any, str], str]:
    """A change shown as its sign then its size: `+1.2 s`."""
    return lambda size, sign: sign + show(size)


def _cost_change(computed: bool) -> Callable[[float, str], str]:
    """A change of cost, its mark before its sign: `~−$0.00102`."""
    return lambda size, sign: display.cost(size, computed=computed, sign=sign)


_LATENCY_CHANGE = _sign_first(display.duration)


def _tokens(step: Step) -> str:
    if step.input_tokens is None and step.output_tokens is None:
        return ""
    return f"{display.count(step.input_tokens) or '?'} / {display.count(step.output_tokens) or '?'}"


class QtTraceDiffModel(QAbstractTableModel):
    """The aligned steps: a mark, then step, latency, tokens and cost of A and of B."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.diff: TraceDiff | None = None

    def set_diff(self, diff: TraceDiff | None) -> None:
        self.beginResetModel()
        self.diff = diff
        self.endResetModel()

    def row_at(self, row: int) -> DiffRow | None:
        return self.diff.rows[row] if self.diff is not None and 0 <= row < len(self.diff.rows) else None

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() or self.diff is None else len(self.diff.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        row = self.row_at(index.row())
        if row is None:
            return None
        column = index.column()
        if column == 0:
            return self._mark(row, role)
        side = 0 if column <= len(FIELDS) else 1
        field = FIELDS[(column - 1) % len(FIELDS)]
        step = row.a if side == 0 else row.b
        if role == Qt.ItemDataRole.BackgroundRole:
            color = ABSENT_COLOR if step is None else CHANGE_COLORS[row.change]
            return None if color is None else QBrush(QColor(tint(color)))
        if step is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, side, field, step)
        if role == Qt.ItemDataRole.DecorationRole and field == "step":
            return kind_icon(step.kind)
        if role == Qt.ItemDataRole.ForegroundRole and field == "step" and step.status == "error":
            return QBrush(QColor(ink(ERROR_COLOR)))
        if role == Qt.ItemDataRole.ToolTipRole and field == "step":
            differs = f"\ndiffers in: {', '.join(row.differs)}" if row.differs else ""
            model = step.model or "—"
            return plain_tooltip(
                f"{step.kind} {step.name} #{step.span_id}\nmodel: {model}\nstatus: {step.status}{differs}"
            )
        if role == Qt.ItemDataRole.TextAlignmentRole and field != "step":
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _mark(self, row: DiffRow, role: int):
        if role == Qt.ItemDataRole.DisplayRole:
            return MARKS[row.change]
        if role == Qt.ItemDataRole.ForegroundRole and row.change in MARK_COLORS:
            return QBrush(QColor(ink(MARK_COLORS[row.change])))
        if role == Qt.ItemDataRole.ToolTipRole:
            return plain_tooltip(row.change)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignCenter)
        return None

    @staticmethod
    def _text(row: DiffRow, side: int, field: str, step: Step) -> str:
        other = row.a if side == 1 else None
        if field == "step":
            model = f"  ·  {step.model}" if step.model else ""
            error = "  ·  error" if step.status == "error" else ""
            return indent(row.depth, "    ") + step.name + model + error
        if field == "latency":
            text = display.duration(step.latency_ns)
            return text + (_signed(other.latency_ns, step.latency_ns, _LATENCY_CHANGE) if other else "")
        if field == "tokens":
            return _tokens(step)
        text = display.cost(step.cost_usd, computed=step.cost_computed)
        if other is None:
            return text
        change = _cost_change(step.cost_computed or other.cost_computed)
        return text + _signed(other.cost_usd, step.cost_usd, change)


# --- HTML ---------------------------------------------------------------------------------------


def word_diff_html(runs: list[tuple[str, str]]) -> str:
    styles = {
        op: f"background: {tint(back)}; color: {ink(text)}{more}"
        for op, (back, text, more) in WORD_COLORS.items()
    }
    parts = [
        esc(text) if op == "same" else f'<span style="{styles[op]}">{esc(text)}</span>' for op, text in runs
    ]
    return f'<p style="white-space: pre-wrap; margin: 2px 0 8px 0">{"".join(parts)}</p>'


def _count_html(change: str, count: int) -> str:
    color = ink(MARK_COLORS.get(change, MUTED_COLOR))
    return f'<span style="color: {color}">{MARKS[change] or "="} {count} {change}</span>'


def _figure(label: str, a: Any, b: Any) -> str:
    style = "" if a == b else f' style="background: {tint(CHANGE_COLORS["changed"])}"'
    a, b = ("—" if v is None else str(v) for v in (a, b))
    return f"<tr{style}><td>{muted(label)}</td><td>{esc(a)}</td><td>{esc(b)}</td></tr>"


def pair_html(row: DiffRow, full: bool) -> str:
    """The selected row: each side's figures, then the word-level diff of input and output."""
    a, b = row.a, row.b
    title = {
        "same": "Same step, same content",
        "changed": f"Changed: {', '.join(row.differs)}",
        "moved": "Moved: found at another place"
        + (f"; differs in {', '.join(row.differs)}" if row.differs else ""),
        "added": "Only in B",
        "removed": "Only in A",
    }[row.change]
    rows = [("name", "name"), ("kind", "kind"), ("model", "model"), ("status", "status")]
    table = "".join(
        _figure(label, getattr(a, f, "") if a else "", getattr(b, f, "") if b else "") for label, f in rows
    )
    table += _figure(
        "latency", display.duration(a.latency_ns) if a else "", display.duration(b.latency_ns) if b else ""
    )
    table += _figure("tokens in / out", _tokens(a) if a else "", _tokens(b) if b else "")
    table += _figure(
        "cost",
        display.cost(a.cost_usd, computed=a.cost_computed) if a else "",
        display.cost(b.cost_usd, computed=b.cost_computed) if b else "",
    )
    html = (
        f'<p style="margin: 2px 0 6px 0"><b>{esc(title)}</b></p>'
        '<table cellspacing="0" cellpadding="3">'
        f'<tr><th></th><th align="left">A</th><th align="left">B</th></tr>{table}</table>'
    )
    for field, runs in (("Input", row.input_diff), ("Output", row.output_diff)):
        text = runs() if full else collapse(runs(), DETAIL_CONTEXT)
        note = "" if field.lower() in row.differs or (a is None or b is None) else muted("  (same)")
        html += f'<p style="margin: 10px 0 2px 0"><b>{field}</b>{note}</p>'
        html += word_diff_html(text) if text else f"<p>{muted('(none)')}</p>"
    return html


def totals_html(diff: TraceDiff) -> str:
    def side(label: str, t: TraceTotals) -> str:
        cost = display.cost(t.cost_usd, computed=t.computed > 0) or "?"
        if t.unpriced:
            cost += f" (+{t.unpriced} unpriced)"
        return (
            f"<tr><td><b>{label}</b></td><td>{esc(t.root_name or '')}</td>"
            f'<td style="color: {MUTED_COLOR}">{esc(t.trace_id[:12])}</td>'
            f"<td>{display.duration(t.duration_ns)}</td><td>{t.spans} spans</td>"
            f"<td>{t.errors} errors</td><td>{_tokens_total(t)}</td><td>{esc(cost)}</td>"
            f"<td>{esc(', '.join(t.models))}</td></tr>"
        )

    a, b = diff.a, diff.b

    def delta(x: float | None, y: float | None, show: Any) -> str:
        return _signed(x, y, show).strip(" ()")

    change_cost = _cost_change(a.computed + b.computed > 0)
    counted = _sign_first(str)
    tokens = _sign_first(display.count)
    deltas = (
        f"<td></td><td></td><td></td><td>{delta(a.duration_ns, b.duration_ns, _LATENCY_CHANGE)}</td>"
        f"<td>{delta(a.spans, b.spans, counted)}</td><td>{delta(a.errors, b.errors, counted)}</td>"
        f"<td>{delta(a.input_tokens, b.input_tokens, tokens)} / "
        f"{delta(a.output_tokens, b.output_tokens, tokens)}</td>"
        f"<td>{delta(a.cost_usd, b.cost_usd, change_cost)}</td><td></td>"
    )
    counts = diff.counts()
    summary = " &nbsp; ".join(_count_html(c, counts[c]) for c in CHANGES)
    return (
        f'<table cellspacing="0" cellpadding="3">{side("A", a)}{side("B", b)}'
        f'<tr style="color: {MUTED_COLOR}"><td>B − A</td>{deltas}</tr></table>'
        f'<p style="margin: 4px 0 0 0">Steps: {summary}</p>'
    )


def _tokens_total(t: TraceTotals) -> str:
    return f"{display.count(t.input_tokens) or '?'} / {display.count(t.output_tokens) or '?'} tokens"


# --- the window ---------------------------------------------------------------------------------


#: The diff table's column widths: the change mark, then for A and for B the step (0: a share of the
#: window's width, at least STEP_MIN_WIDTH), latency, tokens and cost (B's with the change from A).
FIGURE_WIDTHS = (28, 0, 80, 100, 80, 0, 150, 100, 150)
STEP_MIN_WIDTH = 200
#: The window's margins and the table's frame and scroll bar, beside its columns.
TABLE_CHROME = 48
#: The least width of a trace picker, in characters: two side by side fit a small screen; each
#: widens with the window to show a whole trace's name, model, start and id.
PICKER_MIN_CHARS = 24


class QtTracePicker(QComboBox):
    """The newest traces to choose from; any trace can be typed as an id or unique prefix."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.setMinimumContentsLength(PICKER_MIN_CHARS)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)

    def fill(self, db: Any, keep: list[str]) -> None:
        """The newest MAX_CHOICES traces, and the ones in `keep` (listed first) if they are older."""
        self.blockSignals(True)
        self.clear()
        traces = list_traces(db, order_by="start_ns", descending=True, limit=MAX_CHOICES)
        listed = {t.trace_id for t in traces}
        for trace_id in keep:
            if trace_id not in listed:
                self.addItem(trace_id, trace_id)
        for t in traces:
            label = (
                f"{t.root_name or '(no root)'}  ·  {', '.join(t.models)}  ·  {display.timestamp(t.start_ns)}"
            )
            self.addItem(f"{label}  ·  {t.trace_id[:8]}", t.trace_id)
        self.blockSignals(False)

    def show_trace(self, trace_id: str | None) -> None:
        index = self.findData(trace_id)
        if index >= 0:
            self.setCurrentIndex(index)
            self.lineEdit().setCursorPosition(0)

    def trace_id(self, db: Any) -> str:
        """The chosen trace: the listed one shown, else the typed id or prefix (NotFound if none)."""
        index = self.findText(self.currentText())
        if index >= 0:
            return self.itemData(index)
        return resolve_trace_id(db, self.currentText().strip())


class QtTraceDiffWindow(QWidget):
    """A window comparing trace B with trace A."""

    span_opened = Signal(str, str)

    def __init__(self, context: QtTraceContext, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.context = context
        self.setWindowTitle("Compare traces")
        fit_to_screen(self, 1400, 900)
        self.diff: TraceDiff | None = None
        self.job = QtWorker("Compare traces", self, Policy.LATEST)
        self.job.finished.connect(self._on_finished)
        self.job.failed.connect(self._show_error)
        self.pick_a, self.pick_b = QtTracePicker(), QtTracePicker()
        self.swap_button = QPushButton("Swap")
        self.swap_button.setToolTip("Compare the other way round")
        self.totals = QLabel()
        self.totals.setTextFormat(Qt.TextFormat.RichText)
        self.totals.setWordWrap(True)
        self.model = QtTraceDiffModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        # the two step columns share what the figures leave of the window's width
        step = max(STEP_MIN_WIDTH, (self.width() - sum(FIGURE_WIDTHS) - TABLE_CHROME) // 2)
        for column, width in enumerate(FIGURE_WIDTHS):
            header.resizeSection(column, width or step)
        header.setStretchLastSection(True)
        self.full_text = QCheckBox("Full text")
        self.full_text.setToolTip(
            f"Show all unchanged text, not only {DETAIL_CONTEXT} characters around each change"
        )
        self.detail = QtSafeBrowser()
        self._build_layout()
        self.pick_a.activated.connect(self.compare)
        self.pick_b.activated.connect(self.compare)
        self.pick_a.lineEdit().returnPressed.connect(self.compare)
        self.pick_b.lineEdit().returnPressed.connect(self.compare)
        self.swap_button.clicked.connect(self.swap)
        self.full_text.toggled.connect(self._show_selected)
        self.table.selectionModel().currentRowChanged.connect(self._show_selected)
        self.table.doubleClicked.connect(self._open_span)

    def _build_layout(self) -> None:
        pickers = QHBoxLayout()
        pickers.addWidget(QLabel("A"))
        pickers.addWidget(self.pick_a, 1)
        pickers.addWidget(self.swap_button)
        pickers.addWidget(QLabel("B"))
        pickers.addWidget(self.pick_b, 1)
        below = QWidget()
        below_layout = QVBoxLayout(below)
        below_layout.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        bar.addWidget(
            QLabel("Selected pair: figures, and word-level diff of input and output (B against A)"), 1
        )
        bar.addWidget(self.full_text)
        below_layout.addLayout(bar)
        below_layout.addWidget(self.detail, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(below)
        split.setSizes([380, 470])
        layout = QVBoxLayout(self)
        layout.addLayout(pickers)
        layout.addWidget(self.totals)
        layout.addWidget(split, 1)

    def open_traces(self, trace_a: str | None, trace_b: str | None = None) -> None:
        """Fill the pickers from the open store and compare `trace_a` with `trace_b` (by default the
        next run of the same root step)."""
        db = self.context.db
        if db is None or trace_a is None:
            self._show_error("Open a store and select a trace to compare.")
            return
        trace_b = trace_b or suggest_partner(db, trace_a)
        if trace_b is None:
            self._show_error("The store holds only one trace: nothing to compare it with.")
            return
        for picker in (self.pick_a, self.pick_b):
            picker.fill(db, [trace_a, trace_b])
        self.pick_a.show_trace(trace_a)
        self.pick_b.show_trace(trace_b)
        self.compare()

    def swap(self) -> None:
        a, b = self.pick_a.currentText(), self.pick_b.currentText()
        self.pick_a.setCurrentText(b)
        self.pick_b.setCurrentText(a)
        self.compare()

    def compare(self) -> None:
        db, path = self.context.db, self.context.store_path
        if db is None or path is None:
            self._show_error("No store open.")
            return
        try:
            ids = self.pick_a.trace_id(db), self.pick_b.trace_id(db)
        except NotFound as exc:
            self._show_error(str(exc))
            return
        self.totals.setText(muted(f"Comparing {ids[0][:12]} with {ids[1][:12]}…"))
        self.job.start_reads(path, {"diff": lambda thread_db: diff_traces(thread_db, *ids)})

    def _on_finished(self, results: dict[str, Any]) -> None:
        self.diff = results["diff"]
        self.model.set_diff(self.diff)
        self.totals.setText(totals_html(self.diff))
        changed = next((k for k, r in enumerate(self.diff.rows) if r.change != "same"), 0)
        if self.diff.rows:
            self.table.selectRow(changed)
        else:
            self.detail.clear()

    def _show_error(self, text: str) -> None:
        self.totals.setText(f'<span style="color: {ERROR_COLOR}">{esc(text)}</span>')

    def _show_selected(self, *_: Any) -> None:
        row = self.model.row_at(self.table.currentIndex().row())
        if row is None:
            self.detail.clear()
            return
        self.detail.setHtml(pair_html(row, self.full_text.isChecked()))

    def _open_span(self, index: QModelIndex) -> None:
        """Double-click: show that step in the main window (B's, or A's when only A has it)."""
        row = self.model.row_at(index.row())
        if row is None or self.diff is None:
            return
        on_a = (index.column() <= len(FIELDS) and row.a is not None) or row.b is None
        step, trace = (row.a, self.diff.a.trace_id) if on_a else (row.b, self.diff.b.trace_id)
        self.span_opened.emit(trace, step.span_id)

    def closeEvent(self, event: Any) -> None:
        self.job.cancel()
        self.job.wait(2000)
        super().closeEvent(event)
