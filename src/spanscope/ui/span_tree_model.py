"""The span tree's model: the current trace's visible rows as a flat table Qt accepts.

Built for 100,000-span traces: the model keeps no object per span but reads the tree's column lists
by row; expanding a parent inserts its visible descendants (core's VisibleRows) as one block of rows.
Search is computed in core then shown by a model reset (a recursive QSortFilterProxyModel is hundreds
of times slower at this size). The view and panel are in span_tree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from enum import IntEnum
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QColor, QFont

from spanscope.core.debugging.tree import TraceTree
from spanscope.core.debugging.tree_costs import TreeCosts
from spanscope.core.debugging.visible_rows import VisibleRows
from spanscope.core.model import MODEL_KINDS
from spanscope.core.presentation import display
from spanscope.ui.context import EMPTY_TREE
from spanscope.ui.costs import prices
from spanscope.ui.plain_tooltip import plain_tooltip
from spanscope.ui.style import ERROR_COLOR, MUTED_COLOR, kind_color, kind_icon

COLUMNS = ("Name", "Latency", "Tokens", "Cost", "Model", "Status")
NAME, LATENCY, TOKENS, COST, MODEL, STATUS = range(len(COLUMNS))
COLUMN_TIPS = (
    "Span name; the icon shows its kind",
    "Duration, and where the span sits on the trace's time axis",
    "Input / output tokens. Σ: summed over the model calls below (wrappers that repeat usage are skipped)",
    "Cost: reported by the source, ~ computed from tokens and prices, ? no price known. "
    "Σ: summed over the model calls below",
    "Model the span called",
    "Error status; a collapsed span shows how many errors it hides",
)

#: (start, end) as fractions of the trace's time axis, and the bar's colour.
WATERFALL_ROLE = Qt.ItemDataRole.UserRole.value + 1
#: Error spans strictly below a span that it hides by being collapsed.
HIDDEN_ERRORS_ROLE = Qt.ItemDataRole.UserRole.value + 2
#: (depth, Branch): what the Name delegate draws left of the icon.
BRANCH_ROLE = Qt.ItemDataRole.UserRole.value + 3
#: The scores given to a span: (how many, one line: "relevance 0.8, correctness 1"); None for none.
SCORES_ROLE = Qt.ItemDataRole.UserRole.value + 4
#: Traces below this size open with two levels expanded; larger ones show just the roots' children.
SMALL_TRACE = 2000


class Branch(IntEnum):
    """A row's expand arrow."""

    LEAF = 0
    COLLAPSED = 1
    EXPANDED = 2


class QtSpanTreeModel(QAbstractTableModel):
    """A flat model of the rows the tree shows (see VisibleRows); a row's depth and expansion are
    data the Name delegate draws, so the view never walks the tree."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._full = EMPTY_TREE
        self._columns = EMPTY_TREE.rows.columns
        self._visible = VisibleRows(EMPTY_TREE)
        self._matched: frozenset[int] | None = None
        self._query = ""
        self._muted = QColor(MUTED_COLOR)
        self._error = QColor(ERROR_COLOR)
        self._italic = QFont()
        self._italic.setItalic(True)
        self._bold = QFont()
        self._bold.setBold(True)
        self._bar_colors: dict[tuple[str, bool, bool], QColor] = {}
        #: Scores by TraceTree row, for the few spans that have any.
        self._scores: dict[int, tuple[int, str]] = {}
        self._roles: dict[int, Callable[[int, int], Any]] = {
            Qt.ItemDataRole.DisplayRole.value: self._display,
            Qt.ItemDataRole.DecorationRole.value: self._decoration,
            Qt.ItemDataRole.ToolTipRole.value: self._tooltip,
            Qt.ItemDataRole.ForegroundRole.value: self._foreground,
            Qt.ItemDataRole.FontRole.value: self._font,
            Qt.ItemDataRole.TextAlignmentRole.value: self._alignment,
            WATERFALL_ROLE: self._waterfall,
            HIDDEN_ERRORS_ROLE: self._hidden_errors,
            SCORES_ROLE: self._score_line,
        }

    @property
    def tree(self) -> TraceTree:
        """What is shown: the whole trace, or the search's matches with their ancestors."""
        return self._visible.tree

    @property
    def full_span_count(self) -> int:
        """Spans in the whole trace, whatever the search shows."""
        return len(self._full.rows)

    @property
    def matched(self) -> frozenset[int] | None:
        """Rows the search matched (None: no search)."""
        return self._matched

    def set_tree(self, tree: TraceTree, query: str = "") -> None:
        """Show another trace, filtered by `query` when it is not blank (and, until `set_scores`,
        without scores)."""
        self._full, self._columns = tree, tree.rows.columns
        self._scores = {}
        self.set_filter(query)

    def set_scores(self, scores: Mapping[str, Sequence[str]]) -> None:
        """Mark the spans that carry scores: {span id: its scores, each as text}."""
        index = self._full.index
        self._scores = {
            index[span_id]: (len(texts), ", ".join(texts))
            for span_id, texts in scores.items()
            if span_id in index
        }
        if self.rowCount():
            self.dataChanged.emit(self.index(0, NAME), self.index(self.rowCount() - 1, NAME))

    def grow(self, tree: TraceTree) -> None:
        """Show the same trace after more of it arrived, keeping what was open open (a search is
        simply run again; scores, whose rows moved, wait for `set_scores`)."""
        old = self._visible
        self._full, self._columns = tree, tree.rows.columns
        self._scores = {}
        if self._matched is not None:
            self.set_filter(self._query)
        else:
            self._reset(VisibleRows.carried_over(old, tree))

    def set_filter(self, query: str) -> None:
        """Show the spans matching `query` plus their ancestors, all expanded; a blank query shows
        every span, two levels open on a small trace and one on a large one."""
        query = query.strip()
        self._query = query
        self._matched = self._full.matches(query) if query else None
        if self._matched is not None:
            self._reset(VisibleRows.all_expanded(self._full.filtered(self._matched)))
        else:
            depth = 1 if len(self._full.rows) < SMALL_TRACE else 0
            self._reset(VisibleRows.to_depth(self._full, depth))

    def row_of(self, index: QModelIndex | QPersistentModelIndex) -> int:
        """The TraceTree row behind `index`; -1 for an invalid one."""
        return self._visible.rows[index.row()] if index.isValid() else -1

    def span_id(self, index: QModelIndex | QPersistentModelIndex) -> str | None:
        return self._columns["span_id"][self._visible.rows[index.row()]] if index.isValid() else None

    def index_of(self, span_id: str | None, column: int = NAME) -> QModelIndex:
        """The index showing `span_id`, expanding its ancestors; invalid when the search hides it."""
        row = self.tree.index.get(span_id) if span_id is not None else None
        return self.reveal(row, column) if row is not None and self.tree.shown(row) else QModelIndex()

    def index_for(self, row: int, column: int = NAME) -> QModelIndex:
        """The index of TraceTree row `row`; invalid while a collapsed ancestor or the search hides it."""
        return self.index(self._visible.find(row), column)

    def reveal(self, row: int, column: int = NAME) -> QModelIndex:
        """Expand the ancestors of `row`, then its index. Collapsed ancestors below the topmost one
        are only marked open, so the whole path shows as one block of rows: expanding level by level
        would search the rows once per level, quadratic down a 100,000-deep chain."""
        closed = [up for up in self.tree.path(row)[:-1] if not self.is_expanded(up)]
        if closed:
            self._visible.expanded.update(closed[1:])
            self.expand(closed[0])
        return self.index_for(row, column)

    # Expansion; `row` is a TraceTree row.

    def is_expanded(self, row: int) -> bool:
        return self._visible.is_expanded(row)

    def has_children(self, row: int) -> bool:
        """Whether `row` has shown children (an arrow to expand it)."""
        return self._visible.has_children(row)

    def expand(self, row: int) -> None:
        """Show the children of `row`: one block of rows inserted below it (none while hidden)."""
        visible = self._visible
        if visible.is_expanded(row) or not visible.has_children(row):
            return
        pos = visible.find(row)
        if pos < 0:
            visible.expanded.add(row)
            return
        block = visible.opening(pos)
        self.beginInsertRows(QModelIndex(), pos + 1, pos + len(block[0]))
        visible.open(pos, block)
        self.endInsertRows()
        self._row_changed(pos)

    def collapse(self, row: int) -> None:
        """Hide everything below `row`: one block of rows removed."""
        visible = self._visible
        if not visible.is_expanded(row):
            return
        pos = visible.find(row)
        if pos < 0:
            visible.expanded.discard(row)
            return
        count = visible.closing(pos)
        if count:
            self.beginRemoveRows(QModelIndex(), pos + 1, pos + count)
        visible.close(pos, count)
        if count:
            self.endRemoveRows()
        self._row_changed(pos)

    def toggle(self, row: int) -> None:
        if self.is_expanded(row):
            self.collapse(row)
        else:
            self.expand(row)

    def expand_all(self) -> None:
        self._relayout(VisibleRows.all_expanded(self.tree))

    def collapse_all(self) -> None:
        """Just the top-level spans."""
        self._relayout(VisibleRows(self.tree))

    def expand_only(self, rows: Iterable[int]) -> None:
        """Expand exactly `rows`, collapsing the rest."""
        self._relayout(VisibleRows(self.tree, rows))

    def _reset(self, visible: VisibleRows) -> None:
        self.beginResetModel()
        self._visible = visible
        self.endResetModel()

    def _relayout(self, visible: VisibleRows) -> None:
        """Show the same tree expanded differently; unlike a reset, the selection and the current row
        stay on their spans while those still show."""
        self.layoutAboutToBeChanged.emit()
        old = self.persistentIndexList()
        rows = [self._visible.rows[i.row()] for i in old]
        self._visible = visible
        self.changePersistentIndexList(
            old, [self.index(visible.find(r), i.column()) for r, i in zip(rows, old, strict=True)]
        )
        self.layoutChanged.emit()

    def _row_changed(self, pos: int) -> None:
        """The arrow and the hidden-errors note of the row at `pos` changed."""
        self.dataChanged.emit(self.index(pos, NAME), self.index(pos, STATUS))

    # QAbstractItemModel

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._visible)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
        if not index.isValid():
            return None
        if role == BRANCH_ROLE:
            return self._branch(index.row())
        getter = self._roles.get(role)
        return getter(self._visible.rows[index.row()], index.column()) if getter else None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return COLUMN_TIPS[section]
        return None

    # Roles; `i` is the TraceTree row.

    def _branch(self, pos: int) -> tuple[int, Branch]:
        visible = self._visible
        row = visible.rows[pos]
        if not visible.has_children(row):
            return visible.depths[pos], Branch.LEAF
        return visible.depths[pos], Branch.EXPANDED if visible.is_expanded(row) else Branch.COLLAPSED

    def _score_line(self, i: int, column: int) -> tuple[int, str] | None:
        return self._scores.get(i) if column == NAME else None

    def _hidden_errors(self, i: int, column: int) -> int:
        return 0 if self._visible.is_expanded(i) else self._full.errors_below(i)

    def _display(self, i: int, column: int) -> str:
        columns = self._columns
        if column == NAME:
            return columns["name"][i]
        if column == LATENCY:
            end = columns["end_ns"][i]
            return display.duration(None if end is None else end - columns["start_ns"][i])
        if column == TOKENS:
            return self._tokens_text(i)
        if column == COST:
            return self._cost_text(i)
        if column == MODEL:
            return columns["model"][i] or ""
        return _status_text(columns["status"][i], columns["status_message"][i])

    def _is_parent(self, i: int) -> bool:
        return bool(self._full.children[i])

    def _tokens_text(self, i: int) -> str:
        if self._is_parent(i):
            rolled = self._full.rolled
            text = _in_out(rolled["input_tokens"][i], rolled["output_tokens"][i])
            return f"Σ {text}" if text else ""
        return _in_out(self._columns["input_tokens"][i], self._columns["output_tokens"][i])

    @property
    def costs(self) -> TreeCosts:
        """Every span's cost, worked out the first time the Cost column is painted."""
        return prices().tree_costs(self._full)

    def _cost_text(self, i: int) -> str:
        costs = self.costs
        if self._is_parent(i):
            text = costs.subtree(i).text
            return f"Σ {text}" if text else ""
        return _own_cost_text(costs, i)

    def _decoration(self, i: int, column: int) -> Any:
        return kind_icon(self._columns["kind"][i]) if column == NAME else None

    def _foreground(self, i: int, column: int) -> QColor | None:
        if column in (NAME, STATUS) and self._columns["status"][i] == "error":
            return self._error
        if column == STATUS or (column in (TOKENS, COST) and self._is_parent(i)):
            return self._muted
        return None

    def _font(self, i: int, column: int) -> QFont | None:
        if column != NAME:
            return None
        if self._matched is not None and i in self._matched:
            return self._bold
        columns = self._columns
        return self._italic if columns["orphan"][i] or columns["clock_skew"][i] else None

    def _alignment(self, i: int, column: int) -> int | None:
        if column in (LATENCY, TOKENS, COST):
            return (Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter).value
        return None

    def _waterfall(self, i: int, column: int) -> tuple[float, float, QColor]:
        tree, columns = self._full, self._columns
        length = max(1, tree.end_ns - tree.start_ns)
        end = columns["end_ns"][i]
        start = (columns["start_ns"][i] - tree.start_ns) / length
        finish = ((tree.end_ns if end is None else end) - tree.start_ns) / length
        color = self._bar_color(columns["kind"][i], columns["status"][i] == "error", end is None)
        return start, finish, color

    def _bar_color(self, kind: str, error: bool, running: bool) -> QColor:
        """Kind colour, red for errors, faded while running; one QColor per combination."""
        key = (kind, error, running)
        color = self._bar_colors.get(key)
        if color is None:
            base = self._error if error else kind_color(kind)
            color = QColor(base.red(), base.green(), base.blue(), 110 if running else 255)
            self._bar_colors[key] = color
        return color

    def _tooltip(self, i: int, column: int) -> str | None:
        tips: dict[int, Callable[[int], str | None]] = {
            NAME: self._name_tip,
            LATENCY: self._latency_tip,
            TOKENS: self._tokens_tip,
            COST: self._cost_tip,
            MODEL: self._model_tip,
            STATUS: self._status_tip,
        }
        tip = tips.get(column)
        return plain_tooltip(tip(i)) if tip else None

    def _name_tip(self, i: int) -> str:
        row = self._full.rows[i]
        lines = [row["name"], f"{row['kind']} · span {row['span_id']}"]
        if row["orphan"]:
            lines.append(f"Orphan: its parent {row['parent_id']} is not in this trace.")
        if row["clock_skew"]:
            lines.append("Clock skew: starts before its parent.")
        if i in self._scores:
            lines.append(f"Scores: {self._scores[i][1]}")
        return "\n".join(lines)

    def _latency_tip(self, i: int) -> str:
        row = self._full.rows[i]
        offset = display.duration(row["start_ns"] - self._full.start_ns)
        if row["end_ns"] is None:
            return f"Starts {offset} into the trace; still running"
        return f"Starts {offset} into the trace; takes {display.duration(row['end_ns'] - row['start_ns'])}"

    def _tokens_tip(self, i: int) -> str:
        row, rolled = self._full.rows[i], self._full.rolled
        lines = [f"This span: {_usage(lambda c: row[c])}"]
        if self._is_parent(i):
            lines.append(f"Σ model calls here and below: {_usage(lambda c: rolled[c][i])}")
        if row["kind"] in MODEL_KINDS and not row["counted"]:
            lines.append("Not counted: a model call below it reports the same usage.")
        return "\n".join(lines)

    def _cost_tip(self, i: int) -> str:
        cost = self.costs.cost(i)
        if cost is None:
            own = "none (not a model call)"
        else:
            shown = display.cost(cost.usd, computed=cost.source == "computed")
            own = cost.detail if cost.usd is None else f"{shown}, {cost.detail}"
        lines = [f"This span: {own}"]
        if self._is_parent(i):
            below = self.costs.subtree(i)
            lines.append(f"Σ model calls here and below: {below.text or 'none'}")
            if below.computed or below.unknown:
                lines.append(f"({below.computed:,} computed, {below.unknown:,} without a price)")
        if self._columns["kind"][i] in MODEL_KINDS and not self._columns["counted"][i]:
            lines.append("Not counted: a model call below it reports the same usage.")
        return "\n".join(lines)

    def _model_tip(self, i: int) -> str | None:
        row = self._full.rows[i]
        return " · ".join(filter(None, (row["model"], row["provider"]))) or None

    def _status_tip(self, i: int) -> str | None:
        row, below = self._full.rows[i], self._full.errors_below(i)
        lines = [row["status_message"] or row["status"]] if row["status"] != "unset" else []
        if below:
            lines.append(errors_below_text(below))
        return "\n".join(lines) or None


def _own_cost_text(costs: TreeCosts, i: int) -> str:
    """`$0.0123` reported, `~$0.0123` computed, `?` unknown, "" for a span that is no model call."""
    source = costs.source(i)
    if source is None:
        return ""
    return display.cost(costs.usd[i], computed=source == "computed", unknown=source == "unknown")


def _status_text(status: str, message: str | None) -> str:
    if status == "error":
        return message or "error"
    return "ok" if status == "ok" else ""


def errors_below_text(count: int) -> str:
    """Said of a collapsed span, in its Status cell and its tooltip."""
    return f"{count} error{'' if count == 1 else 's'} below"


def _compact(n: int) -> str:
    """Short enough for a narrow column; the tooltip has the exact figure."""
    if n < 10_000:
        return f"{n:,}"
    if n < 1_000_000:
        return f"{n / 1e3:.1f}k"
    return f"{n / 1e6:.1f}M"


def _in_out(tokens_in: int | None, tokens_out: int | None) -> str:
    if tokens_in is None and tokens_out is None:
        return ""
    return " / ".join("?" if n is None else _compact(n) for n in (tokens_in, tokens_out))


def _usage(value: Callable[[str], int | None]) -> str:
    labels = {
        "input_tokens": "in",
        "output_tokens": "out",
        "total_tokens": "total",
        "cache_read_tokens": "cache read",
        "cache_write_tokens": "cache write",
        "reasoning_tokens": "reasoning",
    }
    parts = [f"{label} {value(c):,}" for c, label in labels.items() if value(c) is not None]
    return " · ".join(parts) or "no tokens"
