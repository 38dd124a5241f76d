"""Every text the app shows that can hold trace data stays plain: the whole window is walked (every
widget's tooltip and label, every item view's tooltips, every text view's document, the charts'
items) on every span of a trace whose names, models, messages, attributes, service, session, scores,
input and output are markup, in every tab and in the Compare Traces window.

The probe is an image Qt would try to load if it rendered it (`<img src="/dev/zero">` made Qt read
/dev/zero until it aborted); here its address is harmless, and a leak is found by reading the texts
as Qt would, before anything renders them.
"""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QAbstractItemModel, QModelIndex, QSettings
from PySide6.QtGui import Qt, QTextDocument
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QGraphicsTextItem,
    QGraphicsView,
    QLabel,
    QTabBar,
    QTextEdit,
    QWidget,
)

from otlp import llm, request, span, write_jsonl
from spanscope.core.store import Outcome, import_file
from spanscope.ui.context import View
from spanscope.ui.main_window import QtMainWindow

PROBE = '<img src="spanscope-probe:1">'
BOLD = "<b>hostile-bold</b>"
HOSTILE = f"{PROBE}{BOLD}"
#: What a leak looks like in a text Qt takes for rich text.
LEAKS = ('<img src="spanscope-probe', "<b>hostile-bold")
TRACES = ("0af7651916cd43dd8448eb211c80319c", "1bf7651916cd43dd8448eb211c80319d")
ROWS_WALKED = 200
COLUMNS_WALKED = 40


def hostile_trace(trace: str) -> dict:
    markdown = f"# Answer\n\n{HOSTILE}\n\n| a | b |\n|---|---|\n| {BOLD} | x |\n"
    messages = json.dumps({"messages": [{"role": "user", "content": HOSTILE}]})
    attrs = {
        "session.id": HOSTILE,
        "user.id": HOSTILE,
        HOSTILE: HOSTILE,
        "input.value": messages,
        "input.mime_type": "application/json",
        "output.value": markdown,
        "llm.invocation_parameters": json.dumps({"model": HOSTILE}),
    }
    return request(
        span(
            "a" * 16, trace=trace, name=HOSTILE, end=9_000, attrs={"session.id": HOSTILE, "user.id": HOSTILE}
        ),
        llm("b" * 16, "a" * 16, HOSTILE, 10, 5, trace=trace, name=HOSTILE, error=HOSTILE, attrs=attrs),
        span("c" * 16, "b" * 16, trace=trace, name=BOLD, attrs={"openinference.span.kind": "TOOL"}),
        service=HOSTILE,
    )


def leaked(text: str | None, rich: bool | None = None) -> bool:
    """Whether `text` carries the probe as markup: shown as rich text (`rich`, or as Qt decides for a
    tooltip or an automatic label) with the tags unescaped."""
    if not text:
        return False
    if rich is None:
        rich = Qt.mightBeRichText(text)
    return rich and any(leak in text for leak in LEAKS)


def model_tooltips(model: QAbstractItemModel) -> list[str]:
    """Tooltips of the first rows of a model, and of their children two levels down."""
    tips: list[str] = []

    def walk(parent: QModelIndex, depth: int) -> None:
        for row in range(min(model.rowCount(parent), ROWS_WALKED)):
            for column in range(COLUMNS_WALKED):  # list models keep columnCount private
                index = model.index(row, column, parent)
                if not index.isValid():
                    break
                tip = index.data(Qt.ItemDataRole.ToolTipRole)
                if isinstance(tip, str):
                    tips.append(tip)
            if depth < 3 and model.rowCount(model.index(row, 0, parent)) > 0:
                walk(model.index(row, 0, parent), depth + 1)

    walk(QModelIndex(), 0)
    return tips


def leaks_in(widget: QWidget) -> list[str]:
    """Where `widget` shows the probe as markup."""
    found = []
    name = f"{type(widget).__name__} {widget.objectName()}"
    if leaked(widget.toolTip()):
        found.append(f"{name}: tooltip {widget.toolTip()!r}")
    if isinstance(widget, QLabel):
        rich = {Qt.TextFormat.RichText: True, Qt.TextFormat.PlainText: False}.get(widget.textFormat())
        if leaked(widget.text(), rich):
            found.append(f"{name}: label {widget.text()!r}")
    if isinstance(widget, QTextEdit) and '<img src="spanscope-probe' in widget.toHtml():
        found.append(f"{name}: document renders the probe image")
    if isinstance(widget, QTabBar):
        found += [f"{name}: tab tip" for i in range(widget.count()) if leaked(widget.tabToolTip(i))]
    if isinstance(widget, QAbstractItemView) and widget.model() is not None:
        found += [f"{name}: item tip {tip!r}" for tip in model_tooltips(widget.model()) if leaked(tip)]
    if isinstance(widget, QGraphicsView) and widget.scene() is not None:
        for item in widget.scene().items():
            if leaked(item.toolTip()):
                found.append(f"{name}: chart item tip {item.toolTip()!r}")
            if isinstance(item, QGraphicsTextItem) and '<img src="spanscope-probe' in item.toHtml():
                found.append(f"{name}: chart text renders the probe image")
    for action in widget.actions():
        if leaked(action.toolTip()):
            found.append(f"{name}: action tip {action.toolTip()!r}")
    return found


def walk_window(qtbot, where: str) -> list[str]:
    qtbot.wait(30)
    return [f"{where}: {leak}" for w in QApplication.allWidgets() if w.isVisible() for leak in leaks_in(w)]


@pytest.fixture
def window(qtbot, tmp_path):
    store = tmp_path / "store.db"
    for number, trace in enumerate(TRACES):
        path = write_jsonl(tmp_path / f"t{number}.jsonl", hostile_trace(trace))
        assert import_file(store, path).outcome is Outcome.IMPORTED
    w = QtMainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    w.resize(1280, 720)
    w.open_store(store)
    w.show()
    yield w
    w.close()


def test_no_text_of_the_window_renders_trace_markup(qtbot, window):
    context, leaks = window.context, []
    qtbot.waitUntil(lambda: window.trace_list.model.rowCount() == len(TRACES), timeout=10_000)
    for span_id in ("a" * 16, "b" * 16, "c" * 16):
        context.open_span(TRACES[0], span_id)
        qtbot.waitUntil(lambda span_id=span_id: context.span_id == span_id, timeout=5_000)
        for tab in range(window.detail.tabs.count()):
            window.detail.tabs.setCurrentIndex(tab)
            leaks += walk_window(qtbot, f"span {span_id[:1]}, detail tab {window.detail.tabs.tabText(tab)}")
    for view in (View.DASHBOARD, View.COMPARE, View.REVIEW, View.SEARCH):
        context.show_view(view)
        qtbot.wait(300)
        leaks += walk_window(qtbot, view.value)
    search = window.search
    search.query.setText("hostile")
    search.run_search()
    qtbot.waitUntil(lambda: search.results.rowCount() > 0, timeout=10_000)
    leaks += walk_window(qtbot, "search results")
    context.show_view(View.TRACES)
    diff = window.compare_traces(*TRACES)
    qtbot.wait(500)
    leaks += walk_window(qtbot, "Compare Traces")
    diff.close()
    assert not leaks, "\n".join(leaks)


def test_the_walk_finds_a_leak(qtbot):
    """The check itself: a label and a tooltip that render the probe are found."""
    label = QLabel(HOSTILE)
    qtbot.addWidget(label)
    label.setToolTip(BOLD)
    assert len(leaks_in(label)) == 2
    document = QTextDocument()
    document.setPlainText(HOSTILE)
    assert not leaked(document.toPlainText(), rich=False)
