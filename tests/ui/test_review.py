"""Human review in the app, driven as a user would: review mode from the keyboard, the annotate and
label set dialogs, export; every check reads what the store holds."""

from __future__ import annotations

import csv
import sqlite3

import orjson
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton
from tooltips import shown_text

from spanscope.core.review.annotations import (
    COMMENT,
    RATING,
    THUMBS,
    WHOLE_TRACE,
    Given,
    annotations_of,
    given_by,
)
from spanscope.core.review.label_sets import LabelSet, label_sets, save_label_set
from spanscope.core.store import connect
from spanscope.core.store.trace_query import TraceFilter, fetch_rows, sorted_trace_ids
from spanscope.ui.main_window import QtMainWindow
from spanscope.ui.review.annotate_dialog import QtAnnotateDialog
from spanscope.ui.review.label_sets_dialog import QtLabelSetsDialog
from spanscope.ui.trace_list_model import COLUMNS

AUTHOR = "tester"


@pytest.fixture
def window(qtbot, tmp_path, demo_store):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("review/author", AUTHOR)
    w = QtMainWindow(settings)
    qtbot.addWidget(w)
    w.open_store(demo_store)
    w.show()
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)
    yield w
    w.close()


def listed(store, trace_filter: TraceFilter | None = None, order_by="start_ns", descending=True) -> list[str]:
    """Trace ids in the order the trace list shows them (by default: newest first)."""
    trace_filter = trace_filter or TraceFilter()
    db = connect(store, readonly=True)
    return [t.trace_id for t in fetch_rows(db, sorted_trace_ids(db, trace_filter, order_by, descending))]


def mine(store, trace_id: str) -> dict:
    """What the tester gave the whole trace, as {name: (value, label, comment)}."""
    given = given_by(connect(store, readonly=True), trace_id, WHOLE_TRACE, AUTHOR)
    return {name: (g.value, g.label, g.comment) for name, g in given.items()}


def press(qtbot, tab, *keys: str) -> None:
    for key in keys:
        qtbot.keyClick(QApplication.focusWidget() or tab, key)


def start_review(qtbot, window):
    QTest.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    tab = window.review.tab
    qtbot.waitUntil(lambda: window.tabs.currentWidget() is tab and tab.trace is not None)
    qtbot.waitUntil(lambda: tab.hasFocus())
    return tab


def test_review_mode_scores_three_traces_by_keyboard(qtbot, window, demo_store):
    order = listed(demo_store)  # the trace list's default order: newest first
    window.context.select_trace(order[0])
    tab = start_review(qtbot, window)
    assert tab.trace.trace_id == order[0]
    assert tab.progress_label.text() == "<b>0</b> of 7 reviewed"
    press(qtbot, tab, "4", "u", "j", "2", "d", "j", "5", "j")
    assert tab.position_label.text() == "Trace 4 of 7"
    press(qtbot, tab, "k")
    assert tab.trace.trace_id == order[2]
    press(qtbot, tab, "3")  # a second key replaces the rating given before
    assert mine(demo_store, order[0]) == {RATING: (4.0, None, None), THUMBS: (None, "up", None)}
    assert mine(demo_store, order[1]) == {RATING: (2.0, None, None), THUMBS: (None, "down", None)}
    assert mine(demo_store, order[2]) == {RATING: (3.0, None, None)}
    assert mine(demo_store, order[3]) == {}
    assert tab.progress_label.text() == "<b>3</b> of 7 reviewed"
    press(qtbot, tab, "0")
    assert mine(demo_store, order[2]) == {}
    assert tab.progress_label.text() == "<b>2</b> of 7 reviewed"
    press(qtbot, tab, "k", "k", "n")  # from the first: the next one not reviewed
    assert tab.trace.trace_id == order[2]


def test_the_trace_list_catches_up_when_review_mode_is_left(qtbot, window, demo_store):
    tab = start_review(qtbot, window)
    first = tab.trace.trace_id
    press(qtbot, tab, "5")
    window.tabs.setCurrentIndex(0)
    model = window.trace_list.model
    row = model.row_of(first)
    scores_column = next(
        i for i in range(model.columnCount()) if model.headerData(i, Qt.Orientation.Horizontal) == "Scores"
    )
    qtbot.waitUntil(lambda: model.index(row, scores_column).data() == "rating 5")
    tooltip = model.index(row, scores_column).data(Qt.ItemDataRole.ToolTipRole)
    assert shown_text(tooltip) == f"rating 5 — {AUTHOR} (local review)"


def test_label_and_comment_keys(qtbot, window, demo_store):
    save_label_set(demo_store, LabelSet("verdict", ("correct", "partly correct", "wrong")))
    tab = start_review(qtbot, window)
    trace_id = tab.trace.trace_id
    press(qtbot, tab, "l")
    qtbot.waitUntil(tab.label_menu.isVisible)
    assert [a.text() for a in tab.label_menu.actions() if a.data()] == [
        "1  correct",
        "2  partly correct",
        "3  wrong",
    ]
    qtbot.keyClick(tab.label_menu, "2")
    assert mine(demo_store, trace_id) == {"verdict": (None, "partly correct", None)}
    assert tab.form.labels["verdict"].value() == "partly correct"
    press(qtbot, tab, "c")
    assert QApplication.focusWidget() is tab.form.comment
    qtbot.keyClicks(tab.form.comment, "misses the refund policy")
    qtbot.keyClick(tab.form.comment, Qt.Key.Key_Return)
    assert mine(demo_store, trace_id)[COMMENT] == (None, None, "misses the refund policy")
    assert tab.hasFocus()  # back to the keys
    press(qtbot, tab, "c")
    qtbot.keyClicks(tab.form.comment, " and more")
    qtbot.keyClick(tab.form.comment, Qt.Key.Key_Escape)  # left without saving
    assert tab.form.comment.text() == "misses the refund policy"
    assert mine(demo_store, trace_id)[COMMENT] == (None, None, "misses the refund policy")
    press(qtbot, tab, "l")
    qtbot.waitUntil(tab.label_menu.isVisible)
    qtbot.keyClick(tab.label_menu, "2")  # the label given: taken back
    assert "verdict" not in mine(demo_store, trace_id)
    assert tab.progress_label.text() == "<b>1</b> of 7 reviewed"


def test_review_mode_walks_the_filtered_list_in_its_order(qtbot, window, demo_store):
    window.trace_list.errors_only.setChecked(True)
    by_cost = next(i for i, c in enumerate(COLUMNS) if c.key == "cost_usd")
    window.trace_list.view.sortByColumn(by_cost, Qt.SortOrder.DescendingOrder)
    expected = listed(demo_store, TraceFilter(errors_only=True), "cost_usd", True)
    tab = start_review(qtbot, window)
    seen = [tab.trace.trace_id]
    for _ in range(len(expected)):
        press(qtbot, tab, "j")
        if tab.trace.trace_id != seen[-1]:
            seen.append(tab.trace.trace_id)
    assert seen == expected and 0 < len(expected) < 7
    assert "with errors · by Cost, descending" in tab.walk_label.text()
    assert tab.position_label.text() == f"Trace {len(expected)} of {len(expected)}"


def test_the_final_output_and_input_are_shown(qtbot, window, demo_store):
    tab = start_review(qtbot, window)
    assert tab.io is not None and tab.io.output is not None
    assert tab.output.heading.text().startswith("<b>Final output</b>")
    assert tab.input.heading.text().startswith("<b>Input</b>")


def test_a_review_that_cannot_be_stored_is_reported(qtbot, window, demo_store, monkeypatch):
    monkeypatch.setattr("spanscope.core.store.review.BUSY_TIMEOUT_MS", 100)
    tab = start_review(qtbot, window)
    holder = sqlite3.connect(demo_store, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        press(qtbot, tab, "4")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert tab.failure.isVisible() and "busy" in tab.failure.text()
    assert tab.form.rating.value() is None  # shows what is stored: nothing
    assert mine(demo_store, tab.trace.trace_id) == {}
    press(qtbot, tab, "4")
    assert not tab.failure.isVisible()
    assert mine(demo_store, tab.trace.trace_id) == {RATING: (4.0, None, None)}


def test_another_reviewer_has_their_own_progress(qtbot, window, demo_store):
    tab = start_review(qtbot, window)
    press(qtbot, tab, "4")
    tab.reviewer_name.setText("second")
    tab.reviewer_name.editingFinished.emit()
    assert tab.progress_label.text() == "<b>0</b> of 7 reviewed"
    assert tab.form.rating.value() is None
    assert "tester (local review)" in tab.others.text()


def test_annotate_a_span_from_the_scores_tab(qtbot, window, demo_store):
    save_label_set(demo_store, LabelSet("verdict", ("correct", "wrong")))
    trace_id = listed(demo_store)[0]
    window.context.select_trace(trace_id)
    span_id = window.context.trace_tree(trace_id).rows[1]["span_id"]
    window.context.select_span(span_id)
    qtbot.waitUntil(lambda: window.detail.span is not None and window.detail.span.span_id == span_id)
    window.detail.tabs.setCurrentIndex(4)
    button = next(b for b in window.detail.findChildren(QPushButton) if b.text() == "Annotate Span…")
    button.click()
    dialog = next(
        w for w in QApplication.topLevelWidgets() if isinstance(w, QtAnnotateDialog) and w.isVisible()
    )
    assert dialog.span_id == span_id
    dialog.form.rating.buttons[4].click()
    dialog.form.labels["verdict"].buttons[1].click()
    dialog.form.comment.setText("quotes the wrong price")
    dialog.save()
    db = connect(demo_store, readonly=True)
    stored = {
        (a.span_id, a.name): (a.value, a.label, a.comment, a.author) for a in annotations_of(db, trace_id)
    }
    assert stored == {
        (span_id, RATING): (5.0, None, None, AUTHOR),
        (span_id, "verdict"): (None, "wrong", None, AUTHOR),
        (span_id, COMMENT): (None, None, "quotes the wrong price", AUTHOR),
    }
    assert window.detail.tabs.tabText(4) == "Scores (3)"
    shown = " ".join(window.detail.scores.text().split())
    assert f"rating 5 {AUTHOR} (local review)" in shown and "quotes the wrong price" in shown


def test_the_annotate_dialog_changes_only_what_was_changed(qtbot, window, demo_store):
    trace_id = listed(demo_store)[0]
    window.context.select_trace(trace_id)
    window.review.reviewer.give(trace_id, WHOLE_TRACE, {RATING: Given(2)})
    dialog = QtAnnotateDialog(window.review.reviewer, window.context.db, trace_id, WHOLE_TRACE, window)
    qtbot.addWidget(dialog)
    assert dialog.form.rating.value() == 2.0
    dialog.form.thumbs.buttons[0].click()
    assert dialog.form.changes() == {THUMBS: Given(label="up")}
    dialog.form.rating.buttons[1].click()  # the rating given: turned off
    dialog.save()
    assert mine(demo_store, trace_id) == {THUMBS: (None, "up", None)}


def test_label_sets_dialog_creates_renames_and_refuses_bad_sets(qtbot, window, demo_store, monkeypatch):
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: warnings.append(text))
    start_review(qtbot, window)
    dialog = QtLabelSetsDialog(window.review.reviewer, window)
    qtbot.addWidget(dialog)
    dialog.name.setText("verdict")
    dialog.labels.setPlainText("correct\nwrong\n")
    assert dialog.save()
    dialog.name.setText("judgement")
    dialog.labels.setPlainText("correct\nwrong\nrefused")
    assert dialog.save()
    assert label_sets(connect(demo_store, readonly=True)) == [
        LabelSet("judgement", ("correct", "wrong", "refused"))
    ]
    dialog._new()
    dialog.name.setText("rating")
    dialog.labels.setPlainText("x")
    assert not dialog.save() and "choose another name" in warnings[-1]
    assert window.review.tab.form.labels.keys() == {"judgement"}  # the review form follows


def test_export_from_the_menu(qtbot, window, demo_store, tmp_path, monkeypatch):
    trace_id = listed(demo_store)[0]
    tab = start_review(qtbot, window)
    press(qtbot, tab, "4", "u")
    shown = []
    monkeypatch.setattr(QMessageBox, "information", lambda parent, title, text: shown.append(text))
    for fmt in ("jsonl", "csv"):
        target = tmp_path / f"reviews.{fmt}"
        monkeypatch.setattr(
            "spanscope.ui.review.menu.QFileDialog.getSaveFileName", lambda *a, t=target: (str(t), "")
        )
        window.review.menu.export_dialog()
        assert shown[-1] == f"2 annotations written to {target}."
    records = [orjson.loads(line) for line in (tmp_path / "reviews.jsonl").read_text().splitlines()]
    assert {(r["trace_id"], r["name"], r["value"], r["label"], r["author"]) for r in records} == {
        (trace_id, RATING, 4.0, None, AUTHOR),
        (trace_id, THUMBS, None, "up", AUTHOR),
    }
    rows = list(csv.DictReader((tmp_path / "reviews.csv").open()))
    assert {(r["name"], r["label"]) for r in rows} == {(RATING, ""), (THUMBS, "up")}


def test_reviews_are_there_after_a_restart(qtbot, window, demo_store, tmp_path):
    tab = start_review(qtbot, window)
    first = tab.trace.trace_id
    press(qtbot, tab, "2", "d")
    window.close()
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    again = QtMainWindow(settings)
    qtbot.addWidget(again)
    again.open_store(demo_store)
    again.show()
    again.activateWindow()
    qtbot.waitUntil(again.isActiveWindow)
    again.context.select_trace(first)
    tab = start_review(qtbot, again)
    assert tab.trace.trace_id == first
    assert tab.progress_label.text() == "<b>1</b> of 7 reviewed"
    assert (tab.form.rating.value(), tab.form.thumbs.value()) == (2.0, "down")
    again.close()


def test_the_annotate_dialog_stays_open_when_the_store_is_busy(qtbot, window, demo_store, monkeypatch):
    monkeypatch.setattr("spanscope.core.store.review.BUSY_TIMEOUT_MS", 100)
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: warnings.append(text))
    trace_id = listed(demo_store)[0]
    dialog = QtAnnotateDialog(window.review.reviewer, window.context.db, trace_id, WHOLE_TRACE, window)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.form.comment.setText("worth keeping")
    holder = sqlite3.connect(demo_store, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        dialog.save()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "busy" in warnings[-1]
    assert dialog.isVisible() and dialog.form.comment.text() == "worth keeping"
    dialog.save()
    assert not dialog.isVisible()
    assert mine(demo_store, trace_id) == {COMMENT: (None, None, "worth keeping")}
