"""The stepping controller and its widgets, driven against the demo store's agent trace."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMainWindow

from spanscope.core.debugging.cursor import StepCursor
from spanscope.ui.stepping import (
    QtBreakpointsPanel,
    QtConversationDiffView,
    QtStateStrip,
    QtStepController,
    QtSteppingToolbar,
)

AGENT_TRACE = "214119cf6d84cc7956364be9b85993a7"
FIRST_LLM = "a35ffc5b8ba060f1"
GET_WEATHER = "c861f3a5f201da49"
SECOND_LLM = "2a5dd92eaf91e1be"
FAILED_TOOL = "a5e833b64580daa6"  # step 9 of 16: the first error in execution order


@pytest.fixture
def controller(context):
    controller = QtStepController(context)
    context.select_trace(AGENT_TRACE)
    return controller


@pytest.fixture
def window(qtbot, controller):
    window = QMainWindow()
    qtbot.addWidget(window)
    window.toolbar = QtSteppingToolbar(controller, window)
    window.addToolBar(window.toolbar)
    window.strip = QtStateStrip(controller, window)
    window.setCentralWidget(window.strip)
    return window


def test_continue_action_stops_at_the_failed_tool(qtbot, context, controller, window):
    assert isinstance(controller.add_breakpoint('status == "error"'), type(controller.breakpoints[0]))
    window.toolbar.actions_by_name["continue"].trigger()
    qtbot.waitUntil(lambda: context.span_id == FAILED_TOOL)
    assert window.strip.label.text().startswith("step 9 of 16 · elapsed ")
    assert "tokens in " in window.strip.label.text()


def test_f5_continues_anywhere_in_the_window(qtbot, context, controller, window):
    controller.add_breakpoint('status == "error"')
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    QTest.keyClick(window, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: context.span_id == FAILED_TOOL)
    QTest.keyClick(window, Qt.Key.Key_F5, Qt.KeyboardModifier.ShiftModifier)  # no error before it
    assert controller.cursor.step == FAILED_TOOL


def test_actions_name_their_keys(window):
    action = window.toolbar.actions_by_name["step_out"]
    assert action.shortcut().toString() == "Shift+F11"
    assert action.toolTip().endswith("(Shift+F11)")
    assert action.shortcutContext() == Qt.ShortcutContext.WindowShortcut


def test_invalid_expression_shows_the_error_and_adds_nothing(qtbot, controller):
    panel = QtBreakpointsPanel(controller)
    qtbot.addWidget(panel)
    panel.edit.setText('status === "error"')
    QTest.keyClick(panel.edit, Qt.Key.Key_Return)
    assert controller.breakpoints == []
    assert panel.list.count() == 0
    assert not panel.error_label.isHidden()
    assert "^" in panel.error_label.text()
    assert panel.edit.text() == 'status === "error"'


def test_breakpoint_list_adds_toggles_and_removes(qtbot, controller):
    panel = QtBreakpointsPanel(controller)
    qtbot.addWidget(panel)
    panel.edit.setText('kind == "TOOL"')
    panel.add_button.click()
    assert [b.text for b in controller.breakpoints] == ['kind == "TOOL"']
    assert panel.edit.text() == "" and panel.error_label.isHidden()
    panel.list.item(0).setCheckState(Qt.CheckState.Unchecked)
    assert not controller.breakpoints[0].enabled
    assert controller.continue_forward() is None  # a disabled breakpoint never stops
    panel.list.setCurrentRow(0)
    panel.remove_button.click()
    assert controller.breakpoints == [] and panel.list.count() == 0


def test_moves_follow_the_core_cursor(qtbot, context, controller):
    expected = StepCursor()
    expected.load(context.trace_tree(AGENT_TRACE))
    for name, core in [
        ("step_next", "next"),
        ("step_over", "step_over"),
        ("step_into", "step_into"),
        ("step_out", "step_out"),
        ("next_error", "next_error"),
        ("step_previous", "previous"),
        ("next_llm", "next_llm"),
        ("previous_tool", "previous_tool"),
        ("next_tool", "next_tool"),
        ("previous_llm", "previous_llm"),
        ("to_end", "to_end"),
        ("previous_error", "previous_error"),
        ("to_start", "to_start"),
    ]:
        getattr(controller, name)()
        getattr(expected, core)()
        qtbot.waitUntil(lambda step=expected.step: context.span_id == step)
        assert controller.cursor.current == expected.current, name


def test_context_selection_moves_the_cursor(qtbot, context, controller):
    states = []
    controller.state_changed.connect(states.append)
    context.select_span(SECOND_LLM)
    qtbot.waitUntil(lambda: controller.cursor.step == SECOND_LLM)
    assert states[-1].index == 4
    controller.step_next()
    qtbot.waitUntil(lambda: context.span_id == "7288ad316e472364")


def test_play_stops_at_a_breakpoint(qtbot, context, controller):
    controller.add_breakpoint('kind == "TOOL"')
    controller.play(1)
    assert controller.playing
    qtbot.waitUntil(lambda: not controller.playing)
    qtbot.waitUntil(lambda: context.span_id == GET_WEATHER)


def test_play_stops_at_the_end(qtbot, controller):
    controller.play(1)
    qtbot.waitUntil(lambda: not controller.playing)
    assert controller.cursor.current == len(controller.cursor) - 1


def test_closing_the_trace_empties_the_strip(qtbot, context, controller):
    strip = QtStateStrip(controller)
    qtbot.addWidget(strip)
    assert strip.label.text().startswith("step 1 of 16")
    context.select_trace(None)
    assert strip.label.text() == ""


def test_diff_view_shows_tool_results_added_since_the_previous_call(qtbot, context, controller):
    view = QtConversationDiffView(controller)
    qtbot.addWidget(view)
    assert "not an LLM step" in view.browser.toPlainText()
    controller.next_llm()
    assert "first LLM call in this trace" in view.browser.toPlainText()
    controller.next_llm()
    assert controller.cursor.step == SECOND_LLM
    text = view.browser.toPlainText()
    assert "(step 2)" in text
    assert "2 unchanged messages" in text
    assert "+ assistant" in text and "+ tool" in text
    assert "get_weather(" in text and "Lisbon, PT" in text
    assert "− " not in text and "~ " not in text
