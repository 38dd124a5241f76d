"""Usage of one span as a form: tokens by type, cost and where it came from, timing, and the ids
and origin needed to find the span again."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QFormLayout,
    QGroupBox,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from spanscope.core.debugging.tree import TraceTree
from spanscope.core.debugging.tree_costs import CostSum, TreeCosts
from spanscope.core.model import Span
from spanscope.core.presentation import display
from spanscope.core.presentation.content import cost_text, preview
from spanscope.core.pricing.prices import PriceBook, known_models
from spanscope.ui.costs import prices

UNKNOWN = "—"
NOT_REPORTED = "not reported"
#: Rows whose values are identifiers, shown in a fixed-width font.
ID_ROWS = frozenset({"Trace id", "Span id", "Parent id"})
Rows = list[tuple[str, str]]


def _tokens(span: Span) -> Rows:
    counts = (span.input_tokens, span.output_tokens, span.total_tokens)
    details = (span.cache_read_tokens, span.cache_write_tokens, span.reasoning_tokens)
    if all(n is None for n in (*counts, *details)):
        return [("Tokens", NOT_REPORTED)]
    rows = [("Input tokens", display.count(span.input_tokens) or NOT_REPORTED)]
    if span.cache_read_tokens is not None:
        rows.append(("  of which cached (read)", display.count(span.cache_read_tokens)))
    if span.cache_write_tokens is not None:
        rows.append(("  of which cache write", display.count(span.cache_write_tokens)))
    rows.append(("Output tokens", display.count(span.output_tokens) or NOT_REPORTED))
    if span.reasoning_tokens is not None:
        rows.append(("  of which reasoning", display.count(span.reasoning_tokens)))
    total = display.count(span.total_tokens)
    if not total and span.input_tokens is not None and span.output_tokens is not None:
        total = f"{display.count(span.input_tokens + span.output_tokens)} (input + output)"
    rows.append(("Total tokens", total or NOT_REPORTED))
    return rows


def _timing(span: Span) -> Rows:
    return [
        ("Latency", display.duration(span.duration_ns)),
        (
            "Time to first token",
            display.duration(span.ttft_ns) if span.ttft_ns is not None else "not recorded",
        ),
        ("Start", display.timestamp(span.start_ns) + " UTC"),
        ("End", display.timestamp(span.end_ns) + " UTC" if span.end_ns is not None else "still running"),
    ]


def _origin(span: Span) -> Rows:
    scope = " ".join(str(span.scope[k]) for k in ("name", "version") if span.scope.get(k))
    status = span.status.value + (f": {preview(span.status_message)}" if span.status_message else "")
    return [
        ("Trace id", span.trace_id),
        ("Span id", span.span_id),
        ("Parent id", span.parent_id or "none (root span)"),
        ("Status", status),
        ("Kind", span.kind.value + (f" (source: {span.source_kind})" if span.source_kind else "")),
        ("Model", span.model or UNKNOWN),
        ("Provider", span.provider or UNKNOWN),
        ("Service", span.service or UNKNOWN),
        ("Session", span.session_id or UNKNOWN),
        ("User", span.user_id or UNKNOWN),
        ("Scope", scope or UNKNOWN),
    ]


def usage_sections(span: Span, book: PriceBook) -> list[tuple[str, Rows]]:
    """The form's sections as (title, [(label, value)]), in display order."""
    return [
        ("Tokens", _tokens(span)),
        ("Cost", [("Cost", cost_text(span, book))]),
        ("Timing", _timing(span)),
        ("Identity", _origin(span)),
    ]


class QtWhatIf(QGroupBox):
    """What the selected span and everything below it would have cost with another model's prices,
    next to what it did cost; core's TreeCosts.what_if does the pricing."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("What if", parent)
        self.model_choice = QComboBox(editable=True, insertPolicy=QComboBox.InsertPolicy.NoInsert)
        self.model_choice.setMinimumContentsLength(24)
        self.model_choice.lineEdit().setPlaceholderText("another model, e.g. gpt-4o-mini")
        self.model_choice.addItems(known_models())
        self.model_choice.setCurrentIndex(-1)
        self.model_choice.completer().setFilterMode(Qt.MatchFlag.MatchContains)
        self.model_choice.completer().setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.model_choice.currentTextChanged.connect(self._show)
        self.result = QLabel(wordWrap=True, textFormat=Qt.TextFormat.PlainText)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QFormLayout(self)
        layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        layout.addRow("Price every call as", self.model_choice)
        layout.addRow(self.result)
        self._selection: tuple[TreeCosts, int] | None = None

    def set_selection(self, costs: TreeCosts | None, row: int | None) -> None:
        """The priced tree and the selected row (None: nothing to reprice)."""
        self._selection = None if costs is None or row is None else (costs, row)
        self.setVisible(self._selection is not None)
        self._show()

    def _show(self) -> None:
        if self._selection is None:
            return
        costs, row = self._selection
        actual = costs.subtree(row)
        lines = [f"Actual cost of this span and below: {_sum_text(actual) if actual.text else 'none'}"]
        model = self.model_choice.currentText().strip()
        if model:
            repriced = costs.what_if(row, model)
            calls = repriced.computed + repriced.unknown
            if not calls:
                lines.append("No model calls here or below to reprice.")
            else:
                many = f"{calls:,} call{'' if calls == 1 else 's'}"
                lines.append(f"As {model} ({many}): {_sum_text(repriced)}{_ratio(repriced, actual)}")
        self.result.setText("\n".join(lines))


def _sum_text(cost: CostSum) -> str:
    """`$0.0123`, with `~` when computed, and the calls without a price spelled out."""
    if cost.usd is None:
        return f"unknown ({cost.unknown:,} without a price)"
    text = display.cost(cost.usd, computed=cost.computed > 0)
    return text + (f" (+ {cost.unknown:,} calls without a price)" if cost.unknown else "")


def _ratio(repriced: CostSum, actual: CostSum) -> str:
    if repriced.usd is None or not actual.usd:
        return ""
    return f", {repriced.usd / actual.usd:.2f}× the actual cost"


class QtUsageView(QScrollArea):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        body = QWidget()
        # The what-if sits right under the cost it reprices, before timing and identity.
        self.forms = (QFormLayout(), QFormLayout())
        self.what_if = QtWhatIf()
        column = QVBoxLayout(body)
        for form, below in zip(self.forms, (self.what_if, None), strict=True):
            form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
            column.addLayout(form)
            if below is not None:
                column.addWidget(below)
        column.addStretch(1)
        self.setWidget(body)
        self._fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self._span: Span | None = None
        #: The current trace's tree, for the what-if (the panel sets it; None: none).
        self.trees: Callable[[str], TraceTree | None] | None = None
        prices().changed.connect(self._reprice)

    def set_span(self, span: Span | None) -> None:
        self._span = span
        for form in self.forms:
            while form.rowCount():
                form.removeRow(0)
        self._set_what_if(span)
        if span is None:
            return
        sections = usage_sections(span, prices().book)
        # Both forms get one label width, so their values line up.
        width = max(self.fontMetrics().horizontalAdvance(label) for _, rows in sections for label, _ in rows)
        form = self.forms[0]
        for title, rows in sections:
            heading = QLabel(f"<b>{title}</b>")
            heading.setContentsMargins(0, 8 if form.rowCount() else 0, 0, 0)
            form.addRow(heading)
            for label, value in rows:
                name = QLabel(label, textFormat=Qt.TextFormat.PlainText)
                name.setMinimumWidth(width)
                form.addRow(name, self._value(label, value))
            if title == "Cost":
                form = self.forms[1]

    def rows(self) -> dict[str, str]:
        """What the form shows, label to value, in both parts (headings left out)."""
        shown = {}
        for form in self.forms:
            for row in range(form.rowCount()):
                label = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
                value = form.itemAt(row, QFormLayout.ItemRole.FieldRole)
                if label is not None and value is not None:
                    shown[label.widget().text().strip()] = value.widget().text()
        return shown

    def _reprice(self) -> None:
        self.set_span(self._span)

    def _set_what_if(self, span: Span | None) -> None:
        tree = self.trees(span.trace_id) if span is not None and self.trees is not None else None
        row = tree.index.get(span.span_id) if tree is not None and span is not None else None
        self.what_if.set_selection(prices().tree_costs(tree) if tree is not None else None, row)

    def _value(self, label: str, text: str) -> QLabel:
        value = QLabel(text, textFormat=Qt.TextFormat.PlainText, wordWrap=True)
        value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        if label in ID_ROWS:
            value.setFont(self._fixed)
        return value
