"""The Search tab driven as a user would: open it, type, read the results, open a span."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings, Qt

from otlp import request, span, write_jsonl
from spanscope.core.search.find import Hit, search
from spanscope.core.search.index import build_index
from spanscope.core.store import connect
from spanscope.ui.context import View
from spanscope.ui.main_window import QtMainWindow
from spanscope.ui.search import QtSearchResults, snippet_html


@pytest.fixture
def window(qtbot, tmp_path, demo_store):
    w = QtMainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    w.open_store(demo_store)
    w.show()
    yield w
    w.close()


def search_for(qtbot, window, text):
    panel = window.search
    panel.query.clear()
    with qtbot.waitSignal(panel.searched, timeout=10_000):
        qtbot.keyClicks(panel.query, text)
        qtbot.keyClick(panel.query, Qt.Key.Key_Return)
    return panel


def wait_indexed(qtbot, panel):
    qtbot.waitUntil(lambda: not panel.indexer.busy and "spans indexed" in panel.status.text(), timeout=20_000)


def test_ctrl_shift_f_searches_and_enter_opens_the_span_in_the_traces_tab(qtbot, window):
    qtbot.keyClick(
        window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    )
    assert window.tabs.currentWidget() is window.search
    panel = window.search
    assert panel.query.hasFocus()
    wait_indexed(qtbot, panel)
    search_for(qtbot, window, "refund")
    hits = panel.results.hits
    assert hits and all("refund" in h.snippet.lower() for h in hits)
    first = panel.results.index(0, QtSearchResults.MATCH)
    assert panel.results.data(first) == hits[0].snippet
    assert "matching span" in panel.status.text()
    qtbot.keyClick(panel.query, Qt.Key.Key_Down)
    assert panel.view.hasFocus()
    qtbot.keyClick(panel.view, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.context.span_id == hits[0].span_id)
    assert window.tabs.currentIndex() == 0
    assert window.context.trace_id == hits[0].trace_id


def test_double_click_opens_a_filtered_hit(qtbot, window):
    window.context.show_view(View.SEARCH)
    wait_indexed(qtbot, window.search)
    panel = search_for(qtbot, window, "kind:tool status:error")
    assert panel.results.hits and {h.kind for h in panel.results.hits} == {"TOOL"}
    rect = panel.view.visualRect(panel.results.index(0, 1))
    qtbot.mouseClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: window.context.span_id == panel.results.hits[0].span_id)
    assert window.tabs.currentIndex() == 0


def test_a_bad_query_says_why_in_the_status_line(qtbot, window):
    window.context.show_view(View.SEARCH)
    panel = search_for(qtbot, window, '"unclosed')
    assert panel.results.rowCount() == 0
    assert "quote is not closed" in panel.status.text()


def test_an_import_while_the_tab_is_in_use_is_indexed_and_found(qtbot, window, tmp_path):
    window.context.show_view(View.SEARCH)
    panel = window.search
    wait_indexed(qtbot, panel)
    before = panel._index.total
    added = write_jsonl(tmp_path / "new.jsonl", request(span("00000000000000f1", name="quokka_census")))
    window.import_files([added])
    qtbot.waitUntil(lambda: panel._index is not None and panel._index.total == before + 1, timeout=20_000)
    wait_indexed(qtbot, panel)
    search_for(qtbot, window, "quokka*")
    assert [h.span_name for h in panel.results.hits] == ["quokka_census"]
    assert "1 matching span" in panel.status.text()


def test_snippet_html_escapes_text_and_marks_matches():
    hit = Hit("t", "s", None, "n", "LLM", "ok", None, "input", "a <b> & refund", ((8, 14),))
    text = snippet_html(hit)
    assert text.startswith("a &lt;b&gt; &amp; <span")
    assert ">refund</span>" in text


def test_a_store_searched_before_is_indexed_after_an_import_without_opening_the_tab(
    qtbot, tmp_path, demo_store
):
    build_index(demo_store)
    w = QtMainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    w.open_store(demo_store)
    w.show()
    assert w.tabs.currentIndex() == 0
    added = write_jsonl(tmp_path / "new.jsonl", request(span("00000000000000f2", name="platypus_count")))
    w.import_files([added])
    db = connect(demo_store, readonly=True)
    qtbot.waitUntil(lambda: search(db, "platypus").count == 1, timeout=20_000)
    db.conn.close()
    w.close()
