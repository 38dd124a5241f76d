"""Debugger-style stepping through the current trace: a controller and the widgets that drive it.

The controller owns a core StepCursor and keeps it in step with the context's current span both ways,
so the tree, the detail panel and these widgets always show the same step. The widgets only talk to
the controller, which lets the main window place them wherever it likes.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import replace
from itertools import groupby
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QFont, QFontDatabase, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from spanscope.core.debugging.breakpoints import Breakpoint, ExpressionError
from spanscope.core.debugging.cursor import StepCursor, StepState
from spanscope.core.debugging.tree_costs import CostSum, TreeCosts
from spanscope.core.diff.conversation_diff import diff_messages, message_text, previous_llm_step, word_diff
from spanscope.core.model import is_messages
from spanscope.core.presentation import display
from spanscope.core.store.span_io import span_io
from spanscope.ui.context import QtObserver, QtTraceContext
from spanscope.ui.costs import prices
from spanscope.ui.folding_toolbar import QtFoldingToolBar
from spanscope.ui.style import ERROR_COLOR, MUTED_COLOR, ink, tint

ADDED_COLOR = "#27ae60"
ADDED_BACKGROUND = "#e6f6ea"
REMOVED_BACKGROUND = "#fbe7e7"
EDITED_BACKGROUND = "#fff8e1"
#: Play speeds offered by the toolbar, in steps per second.
PLAY_SPEEDS = (2, 5, 10)


class QtStepController(QObject, QtObserver):
    """The open trace's StepCursor, following the context's span and moving it on every step."""

    #: The current span id (None: no trace).
    step_changed = Signal(object)
    #: The StepState of the current step (None: no trace).
    state_changed = Signal(object)
    breakpoints_changed = Signal()
    playing_changed = Signal(bool)
    #: Replay the current step, an LLM call: (trace id, span id).
    replay_requested = Signal(str, str)

    def __init__(self, context: QtTraceContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.cursor = StepCursor()
        self.breakpoints: list[Breakpoint] = []
        self._trace_id: str | None = None
        self._following = False
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._play_step)
        self.cursor.subscribe(self)
        context.register(self)

    # --- context observer ------------------------------------------------------------------------

    def on_store_closed(self) -> None:
        self._trace_id = None
        self.stop()
        self.cursor.close()

    def on_store_loaded(self, context: QtTraceContext) -> None:
        """Spans of the open trace arrived (an import, or live capture): step through all of them,
        staying on the current step."""
        tree = self.cursor.tree
        if tree is None or not context.trace_grew(self._trace_id, len(tree.rows)):
            return
        current = self.context.span_id
        self._following = True
        try:
            self.cursor.load(self.context.trace_tree(self._trace_id), self.payload)
            if current is not None:
                self.cursor.go_to(current)
        finally:
            self._following = False

    def on_trace_changed(self, trace_id: str | None) -> None:
        self.stop()
        self._trace_id = trace_id
        if trace_id is None or self.context.db is None:
            self.cursor.close()
            return
        # Loading puts the cursor at step 0; the context keeps whatever span its panels choose.
        self._following = True
        try:
            self.cursor.load(self.context.trace_tree(trace_id), self.payload)
        finally:
            self._following = False

    def on_span_changed(self, trace_id: str | None, span_id: str | None) -> None:
        if trace_id != self._trace_id or span_id is None:
            return
        self._following = True
        try:
            self.cursor.go_to(span_id)
        finally:
            self._following = False

    # --- cursor observer -------------------------------------------------------------------------

    def on_trace_loaded(self, cursor: StepCursor) -> None:
        """Nothing to do: on_step_changed follows at once with the first step."""

    def on_trace_closed(self) -> None:
        self.step_changed.emit(None)
        self.state_changed.emit(None)

    def on_step_changed(self, cursor: StepCursor) -> None:
        if not self._following:
            self.context.select_span(cursor.step)
        self.step_changed.emit(cursor.step)
        self.state_changed.emit(self.state)

    # --- facts -----------------------------------------------------------------------------------

    @property
    def state(self) -> StepState | None:
        return None if self.cursor.current < 0 else self.cursor.state_at(self.cursor.current)

    @property
    def on_llm_call(self) -> bool:
        """The current step is an LLM call (one the Replay window can send again)."""
        tree, at = self.cursor.tree, self.cursor.current
        return tree is not None and at >= 0 and tree.rows.columns["kind"][self.cursor.order[at]] == "LLM"

    def replay(self) -> None:
        if self.on_llm_call and self._trace_id is not None:
            self.replay_requested.emit(self._trace_id, self.cursor.step)

    def payload(self, span_id: str) -> tuple[Any, Any]:
        """The span's (input, output), read through the GUI connection."""
        if self.context.db is None or self._trace_id is None:
            return None, None
        return span_io(self.context.db, self._trace_id, span_id)

    # --- moves -----------------------------------------------------------------------------------

    def step_next(self) -> str | None:
        return self.cursor.next()

    def step_previous(self) -> str | None:
        return self.cursor.previous()

    def step_into(self) -> str | None:
        return self.cursor.step_into()

    def step_over(self) -> str | None:
        return self.cursor.step_over()

    def step_out(self) -> str | None:
        return self.cursor.step_out()

    def to_start(self) -> str | None:
        return self.cursor.to_start()

    def to_end(self) -> str | None:
        return self.cursor.to_end()

    def next_error(self) -> str | None:
        return self.cursor.next_error()

    def previous_error(self) -> str | None:
        return self.cursor.previous_error()

    def next_llm(self) -> str | None:
        return self.cursor.next_llm()

    def previous_llm(self) -> str | None:
        return self.cursor.previous_llm()

    def next_tool(self) -> str | None:
        return self.cursor.next_tool()

    def previous_tool(self) -> str | None:
        return self.cursor.previous_tool()

    def continue_forward(self) -> str | None:
        return self.cursor.continue_forward(self.breakpoints)

    def continue_backward(self) -> str | None:
        return self.cursor.continue_backward(self.breakpoints)

    # --- breakpoints -----------------------------------------------------------------------------

    def add_breakpoint(self, text: str) -> Breakpoint | ExpressionError:
        """Parse and add `text`; a bad expression is returned (not raised) for the panel to show."""
        try:
            breakpoint_ = Breakpoint.from_text(text.strip())
        except ExpressionError as exc:
            return exc
        self.breakpoints.append(breakpoint_)
        self.breakpoints_changed.emit()
        return breakpoint_

    def remove_breakpoint(self, index: int) -> None:
        del self.breakpoints[index]
        self.breakpoints_changed.emit()

    def set_breakpoint_enabled(self, index: int, enabled: bool) -> None:
        if self.breakpoints[index].enabled != enabled:
            self.breakpoints[index] = replace(self.breakpoints[index], enabled=enabled)
            self.breakpoints_changed.emit()

    def toggle_breakpoint(self, index: int) -> None:
        self.set_breakpoint_enabled(index, not self.breakpoints[index].enabled)

    # --- play ------------------------------------------------------------------------------------

    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    def play(self, interval_ms: int) -> None:
        """Advance one step every `interval_ms` until the end or a matching breakpoint."""
        if self.cursor.current < 0:
            return
        self._timer.start(interval_ms)
        self.playing_changed.emit(True)

    def stop(self) -> None:
        if self._timer.isActive():
            self._timer.stop()
            self.playing_changed.emit(False)

    def _play_step(self) -> None:
        moved = self.cursor.next()
        at_end = self.cursor.current >= len(self.cursor) - 1
        if moved is None or at_end or self.cursor.hits(self.cursor.current, self.breakpoints):
            self.stop()


#: The toolbar's groups: title (its menu button's when folded), the rank it folds in (lowest first),
#: and its actions as (name, text, shortcut, controller method).
STEP_GROUPS: tuple[tuple[str, int, tuple[tuple[str, str, str, str], ...]], ...] = (
    (
        "Go",
        4,
        (
            ("to_start", "Start", "Ctrl+Home", "to_start"),
            ("previous", "Prev", "Alt+Left", "step_previous"),
            ("next", "Next", "Alt+Right", "step_next"),
            ("to_end", "End", "Ctrl+End", "to_end"),
        ),
    ),
    (
        "Step",
        3,
        (
            ("step_over", "Over", "F10", "step_over"),
            ("step_into", "Into", "F11", "step_into"),
            ("step_out", "Out", "Shift+F11", "step_out"),
            ("continue_backward", "◀ Continue", "Shift+F5", "continue_backward"),
            ("continue", "Continue ▶", "F5", "continue_forward"),
        ),
    ),
    (
        "Jump to",
        1,
        (
            ("previous_error", "◀ Error", "Shift+F8", "previous_error"),
            ("next_error", "Error ▶", "F8", "next_error"),
            ("previous_llm", "◀ LLM", "Ctrl+Shift+L", "previous_llm"),
            ("next_llm", "LLM ▶", "Ctrl+L", "next_llm"),
            ("previous_tool", "◀ Tool", "Ctrl+Shift+T", "previous_tool"),
            ("next_tool", "Tool ▶", "Ctrl+T", "next_tool"),
        ),
    ),
)


class QtSteppingToolbar(QtFoldingToolBar):
    """Step, jump, continue and play actions; their shortcuts work anywhere in the window. On a
    narrow window the jumps fold into a menu first, then the steps (see QtFoldingToolBar)."""

    def __init__(self, controller: QtStepController, parent: QWidget | None = None) -> None:
        super().__init__("Stepping", parent)
        self.controller = controller
        self.setObjectName("stepping_toolbar")
        self.actions_by_name: dict[str, QAction] = {}
        for title, rank, entries in STEP_GROUPS:
            actions = [
                self._make(name, text, keys, getattr(controller, method))
                for name, text, keys, method in entries
            ]
            self.add_group(title, actions, rank)
            self.addSeparator()
        self.play_action = self._make("play", "Play", "F6", self._toggle_play)
        self.addAction(self.play_action)
        self.speed = QComboBox(self)
        for speed in PLAY_SPEEDS:
            self.speed.addItem(f"{speed} steps/s", speed)
        self.speed.setToolTip("Play speed")
        self.addWidget(self.speed)
        self.replay_action = self._make("replay", "Replay…", "Ctrl+Shift+R", controller.replay)
        self.addAction(self.replay_action)
        controller.playing_changed.connect(self._show_playing)
        controller.state_changed.connect(self._enable)
        self._enable(controller.state)

    def _make(self, name: str, text: str, keys: str, slot: Callable[[], object]) -> QAction:
        action = QAction(text, self)
        action.setShortcut(QKeySequence(keys))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setToolTip(f"{_TIPS[name]} ({keys})")
        action.triggered.connect(lambda: slot())
        self.actions_by_name[name] = action
        return action

    def _toggle_play(self) -> None:
        if self.controller.playing:
            self.controller.stop()
        else:
            self.controller.play(1000 // self.speed.currentData())

    def _show_playing(self, playing: bool) -> None:
        self.play_action.setText("Stop" if playing else "Play")

    def _enable(self, state: StepState | None) -> None:
        for action in self.actions_by_name.values():
            action.setEnabled(state is not None)
        self.replay_action.setEnabled(self.controller.on_llm_call)


_TIPS = {
    "to_start": "Go to the first step",
    "previous": "Previous step in execution order",
    "next": "Next step in execution order",
    "to_end": "Go to the last step",
    "step_over": "Step over: the next sibling, skipping this span's children",
    "step_into": "Step into: this span's first child",
    "step_out": "Step out: what follows this span's parent",
    "continue_backward": "Continue backward to the previous step where a breakpoint matches",
    "continue": "Continue to the next step where a breakpoint matches",
    "previous_error": "Previous error span",
    "next_error": "Next error span",
    "previous_llm": "Previous LLM call",
    "next_llm": "Next LLM call",
    "previous_tool": "Previous tool call",
    "next_tool": "Next tool call",
    "play": "Play: advance automatically until the end or a breakpoint; again to stop",
    "replay": "Replay this LLM call: edit its request, send it to a model, compare the answers",
}


def _monospace() -> QFont:
    return QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)


class QtBreakpointsPanel(QWidget):
    """Type a condition to break on; the list shows each breakpoint with a checkbox to turn it off."""

    def __init__(self, controller: QtStepController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.edit = QLineEdit(self)
        self.edit.setPlaceholderText('Break when… e.g. status == "error" or cost_usd > 0.01')
        self.edit.setFont(_monospace())
        self.edit.returnPressed.connect(self.add)
        self.add_button = QPushButton("Add", self)
        self.add_button.clicked.connect(self.add)
        self.error_label = QLabel(self)
        self.error_label.setFont(_monospace())
        self.error_label.setStyleSheet(f"color: {ERROR_COLOR};")
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)
        self.error_label.hide()
        self.list = QListWidget(self)
        self.list.setFont(_monospace())
        self.list.itemChanged.connect(self._item_changed)
        self.remove_button = QPushButton("Remove", self)
        self.remove_button.setToolTip("Remove the selected breakpoint (Delete)")
        self.remove_button.clicked.connect(self.remove_selected)
        QShortcut(
            QKeySequence.StandardKey.Delete,
            self.list,
            self.remove_selected,
            context=Qt.ShortcutContext.WidgetShortcut,
        )
        entry = QHBoxLayout()
        entry.addWidget(self.edit, 1)
        entry.addWidget(self.add_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(entry)
        layout.addWidget(self.error_label)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.remove_button, 0, Qt.AlignmentFlag.AlignRight)
        controller.breakpoints_changed.connect(self._refill)
        self._refill()

    def add(self) -> None:
        """Add the typed expression, or show why it does not parse and keep it for editing."""
        if not self.edit.text().strip():
            return
        result = self.controller.add_breakpoint(self.edit.text())
        if isinstance(result, ExpressionError):
            self.error_label.setText(str(result))
            self.error_label.show()
            return
        self.error_label.hide()
        self.edit.clear()

    def remove_selected(self) -> None:
        row = self.list.currentRow()
        if 0 <= row < len(self.controller.breakpoints):
            self.controller.remove_breakpoint(row)

    def _refill(self) -> None:
        row = self.list.currentRow()
        self.list.blockSignals(True)
        self.list.clear()
        for breakpoint_ in self.controller.breakpoints:
            item = QListWidgetItem(breakpoint_.text, self.list)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if breakpoint_.enabled else Qt.CheckState.Unchecked)
        self.list.setCurrentRow(min(row, self.list.count() - 1))
        self.list.blockSignals(False)

    def _item_changed(self, item: QListWidgetItem) -> None:
        enabled = item.checkState() == Qt.CheckState.Checked
        self.controller.set_breakpoint_enabled(self.list.row(item), enabled)


def state_text(state: StepState | None, cost: CostSum | None = None) -> str:
    """The strip's line: where we are, time since the trace started, and usage so far (`cost`: the
    cost of the counted calls so far, reported or computed; `?` marks calls without a price)."""
    if state is None:
        return ""
    so_far = f"cost {cost.text}" if cost is not None and cost.text else "no cost"
    return (
        f"{state.label} · elapsed {display.duration(state.elapsed_ns)} · tokens in "
        f"{display.count(state.input_tokens)} / out {display.count(state.output_tokens)} · {so_far}"
    )


class QtStateStrip(QWidget):
    """One line of where execution stands at the current step."""

    def __init__(self, controller: QtStepController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.label = QLabel(self)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setToolTip("~: cost computed from token counts and prices · ?: calls without a price")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addWidget(self.label)
        #: Running cost sums along the cursor's order, worked out once per priced tree.
        self._steps: tuple[TreeCosts, list[CostSum]] | None = None
        controller.state_changed.connect(self._show)
        prices().changed.connect(self._reprice)
        self._show(controller.state)

    def _show(self, state: StepState | None) -> None:
        self.label.setText(state_text(state, self._cost_at(state)))

    def _reprice(self) -> None:
        self._show(self.controller.state)

    def _cost_at(self, state: StepState | None) -> CostSum | None:
        """Cost of the counted calls up to the step; from the context's tree, which is read again
        when the store is priced again (the cursor's keeps the same rows in the same order)."""
        cursor, context = self.controller.cursor, self.controller.context
        if state is None or cursor.tree is None:
            return None
        costs = prices().tree_costs(context.trace_tree(context.trace_id))
        if self._steps is None or self._steps[0] is not costs:
            self._steps = (costs, costs.steps(cursor.order))
        return self._steps[1][state.index]


class QtConversationDiffView(QWidget):
    """For an LLM step: what its input conversation adds, drops or edits since the previous LLM call."""

    def __init__(self, controller: QtStepController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.browser = QTextBrowser(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.browser)
        controller.state_changed.connect(self._show)
        self._show(controller.state)

    def _show(self, state: StepState | None) -> None:
        self.browser.setHtml(self._html(state))

    def _html(self, state: StepState | None) -> str:
        cursor = self.controller.cursor
        if state is None or cursor.tree is None or cursor.step is None:
            return ""
        columns, row = cursor.tree.rows.columns, cursor.order[state.index]
        if columns["kind"][row] != "LLM":
            return _note("not an LLM step")
        current = self.controller.payload(cursor.step)[0]
        if not is_messages(current):
            return _note("this LLM call has no input conversation")
        before_step = previous_llm_step(cursor, state.index)
        if before_step is None:
            return _note("first LLM call in this trace")
        previous = self.controller.payload(columns["span_id"][cursor.order[before_step]])[0]
        changes = diff_messages(previous if is_messages(previous) else None, current)
        parts = [
            f"<p style='color:{MUTED_COLOR}'>Input since the previous LLM call (step {before_step + 1})</p>"
        ]
        # Unchanged runs collapse to one muted line: the point is what the agent loop appended.
        for same, run in groupby(changes, key=lambda change: change.kind == "same"):
            if same:
                n = len(list(run))
                parts.append(_note(f"{n} unchanged message{'s' if n > 1 else ''}"))
            else:
                parts += [_change_html(c.kind, c.before, c.after) for c in run]
        return "".join(parts)


def _note(text: str) -> str:
    return f"<p style='color:{MUTED_COLOR}'><i>{html.escape(text)}</i></p>"


def _change_html(kind: str, before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """One message as a coloured block: + added, − removed, ~ edited with its word diff."""
    message = after if after is not None else before
    assert message is not None
    role = html.escape(str(message.get("role")))
    if kind == "edited" and before is not None and after is not None:
        body = "".join(
            _run_html(tag, text) for tag, text in word_diff(message_text(before), message_text(after))
        )
        sign, background = "~", EDITED_BACKGROUND
    else:
        body = html.escape(message_text(message))
        sign, background = ("+", ADDED_BACKGROUND) if kind == "added" else ("−", REMOVED_BACKGROUND)
    table = f"<table width='100%' cellpadding='4' style='background:{tint(background)}; margin-bottom:4px'>"
    return (
        f"{table}<tr><td>"
        f"<b>{sign} {role}</b><pre style='white-space:pre-wrap; margin:0'>{body}</pre></td></tr></table>"
    )


def _run_html(tag: str, text: str) -> str:
    escaped = html.escape(text)
    if tag == "added":
        colors = f"background:{tint(ADDED_BACKGROUND)}; color:{ink(ADDED_COLOR)}"
        return f"<span style='{colors}'>{escaped}</span>"
    if tag == "removed":
        colors = f"background:{tint(REMOVED_BACKGROUND)}; color:{ink(ERROR_COLOR)}"
        return f"<span style='{colors}'><s>{escaped}</s></span>"
    return escaped
