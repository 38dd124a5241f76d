"""The Compare Traces window on the demo store: pickers, totals, aligned rows and the pair's diff."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from spanscope.ui.trace_diff import ABSENT_COLOR, CHANGE_COLORS, QtTraceDiffWindow

GPT4O, GEMINI, RAG_TURN = (
    "7b22d383dcdd2eb91e4702a1dfb68c9b",
    "b588f3a343466395de44cb2318fa69fc",
    "4c1116b570a8a7b26f062712ae1cdcd3",
)


@pytest.fixture
def window(qtbot, context):
    widget = QtTraceDiffWindow(context)
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    widget.close()


def compared(qtbot, window, a, b=None):
    window.diff = None
    window.open_traces(a, b)
    qtbot.waitUntil(
        lambda: window.diff is not None and window.diff.b.trace_id == (b or window.diff.b.trace_id)
    )
    return window.diff


def test_opens_on_the_next_run_of_the_same_chain(qtbot, window):
    diff = compared(qtbot, window, GPT4O)
    assert (diff.a.trace_id, diff.b.trace_id) == (GPT4O, GEMINI)
    assert window.pick_a.currentData() == GPT4O and window.pick_b.currentData() == GEMINI
    text = window.totals.text()
    assert "gpt-4o-2024-08-06" in text and "gemini-2.5-flash" in text and "3 changed" in text


def test_rows_are_coloured_by_change_and_the_pair_shows_its_word_diff(qtbot, window):
    compared(qtbot, window, GEMINI, RAG_TURN)
    model = window.model
    marks = [model.index(r, 0).data() for r in range(model.rowCount())]
    assert marks == ["~", "−", "+", "+", "~"]
    added = model.index(2, 5)
    assert added.data() == "    retrieve_documents"
    assert added.data(Qt.ItemDataRole.BackgroundRole).color().name() == CHANGE_COLORS["added"]
    assert model.index(2, 1).data(Qt.ItemDataRole.BackgroundRole).color().name() == ABSENT_COLOR
    assert model.index(4, 5).data() == "    ChatCompletion  ·  gpt-4.1-mini-2025-04-14"
    assert model.index(4, 6).data() == "1.11 s (+424 ms)"
    window.table.selectRow(4)
    html = window.detail.toHtml()
    assert "Changed: name, model, input, output" in window.detail.toPlainText()
    assert "line-through" in html  # removed words struck through
    assert "Policy passages:" in window.detail.toPlainText()
    assert "…" in window.detail.toPlainText()
    window.full_text.setChecked(True)
    assert "…" not in window.detail.toPlainText().split("Input", 1)[1].split("Output")[0][:40]


def test_swap_and_a_typed_prefix(qtbot, window):
    compared(qtbot, window, GPT4O, GEMINI)
    window.diff = None
    window.swap()
    qtbot.waitUntil(lambda: window.diff is not None)
    assert (window.diff.a.trace_id, window.diff.b.trace_id) == (GEMINI, GPT4O)
    window.diff = None
    window.pick_b.setCurrentText(RAG_TURN[:6])
    window.compare()
    qtbot.waitUntil(lambda: window.diff is not None)
    assert window.diff.b.trace_id == RAG_TURN
    window.pick_b.setCurrentText("ffff")
    window.compare()
    assert "no trace &#x27;ffff&#x27; in the store" in window.totals.text()


def test_double_click_opens_the_step_in_the_main_window(qtbot, window):
    compared(qtbot, window, GPT4O, GEMINI)
    with qtbot.waitSignal(window.span_opened) as signal:
        window.table.doubleClicked.emit(window.model.index(2, 6))
    assert signal.args == [GEMINI, "72f3050256b8b55c"]


def test_main_window_menu_opens_the_comparison(qtbot, tmp_path, demo_store):
    from PySide6.QtCore import QSettings

    from spanscope.ui.main_window import QtMainWindow

    main = QtMainWindow(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(main)
    main.open_store(demo_store)
    main.context.select_trace(RAG_TURN)
    action = next(a for a in main.menuBar().actions() if a.text() == "&View").menu().actions()[-1]
    assert action.text() == "&Compare Traces…"
    action.trigger()
    diff_window = main.findChild(QtTraceDiffWindow)
    qtbot.waitUntil(lambda: diff_window.diff is not None)
    assert diff_window.diff.a.trace_id == RAG_TURN and diff_window.diff.b.trace_id == GEMINI
    diff_window.span_opened.emit(GPT4O, "c77120dd4605e29f")
    assert main.context.trace_id == GPT4O
    diff_window.close()
