"""Trace text is shown as text: every label, tooltip, tab and rich view of the step detail panel and
the Review tab, filled from a trace whose names and values are markup, shows that markup literally
(a span named `<img src="/dev/zero">` once made Qt read /dev/zero on hover and abort)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt, QUrl
from PySide6.QtGui import Qt as QtGui_Qt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QAbstractItemView, QLabel, QTabBar, QTextEdit, QWidget

from otlp import llm, request, span, write_jsonl
from spanscope.core.model import Event, Kind, LogRecord, Score, Span, Status, message
from spanscope.core.review.label_sets import LabelSet, save_label_set
from spanscope.core.store import Outcome, import_file
from spanscope.ui.main_window import QtMainWindow
from spanscope.ui.review.annotate_dialog import QtAnnotateDialog

IMAGE = '<img src="/dev/zero">'
HOSTILE = f'{IMAGE}<b>bold</b><a href="file:///etc/passwd">link</a><font size=7>big</font>'
HOSTILE_MD = (
    f'## {IMAGE}\n\n![x](/dev/zero) [f](file:///etc/passwd "{IMAGE}") <file:///etc/hosts>\n\n{HOSTILE}'
)
OUR_LINKS = ("spanscope-", "#call-", "http://", "https://")


class _Inert(QTextDocument):
    def loadResource(self, kind: int, name: QUrl) -> Any:
        raise AssertionError(f"a resource was requested: {name.toString()}")


def _is_rich(text: str, label_format: Qt.TextFormat | None = None) -> bool:
    if label_format is not None and label_format != Qt.TextFormat.AutoText:
        return label_format == Qt.TextFormat.RichText
    return QtGui_Qt.mightBeRichText(text)


def shown_texts(root: QWidget) -> Iterator[tuple[str, str, bool]]:
    """(where, text, read as rich text) for every label, tooltip, tab and item tooltip below root."""
    for widget in [root, *root.findChildren(QWidget)]:
        where = f"{type(widget).__name__} {widget.objectName()}"
        if widget.toolTip():
            yield f"{where} tooltip", widget.toolTip(), _is_rich(widget.toolTip())
        if isinstance(widget, QLabel):
            yield f"{where} text", widget.text(), _is_rich(widget.text(), widget.textFormat())
        if isinstance(widget, QTabBar):
            for n in range(widget.count()):
                yield f"{where} tab {n}", widget.tabText(n), False
                yield f"{where} tab {n} tooltip", widget.tabToolTip(n), _is_rich(widget.tabToolTip(n))
        if isinstance(widget, QAbstractItemView) and widget.model() is not None:
            model = widget.model()
            for row in range(model.rowCount()):
                for column in range(model.columnCount()):
                    tip = model.index(row, column).data(Qt.ItemDataRole.ToolTipRole)
                    if isinstance(tip, str):
                        yield f"{where} cell {row},{column} tooltip", tip, _is_rich(tip)


def assert_shown_as_text(root: QWidget) -> int:
    """Checks every text below root; returns how many of them held the hostile image tag."""
    holding = 0
    for where, text, rich in shown_texts(root):
        if rich:
            document = _Inert()
            document.setHtml(text)
            assert_inert(document, where)
            shown = document.toPlainText()
        else:
            shown = text
        if "/dev/zero" in text:  # shown as written, or as JSON (quotes escaped)
            assert "<img src=" in shown, f"{where} renders markup from the trace: {text!r}"
            holding += 1
    for view in root.findChildren(QTextEdit):
        assert_inert(view.document(), f"{type(view).__name__} document")
    return holding


def assert_inert(document: QTextDocument, where: str) -> None:
    """No image but our own thumbnails, no link but ours and the web's."""
    block = document.begin()
    while block.isValid():
        fragments = block.begin()
        while not fragments.atEnd():
            fmt = fragments.fragment().charFormat()
            if fmt.isImageFormat():
                name = fmt.toImageFormat().name()
                assert name.startswith("spanscope-image:"), f"{where} shows an image from the trace: {name}"
            if fmt.isAnchor() and fmt.anchorHref():
                assert fmt.anchorHref().startswith(OUR_LINKS), f"{where} links to {fmt.anchorHref()}"
            assert not fmt.toolTip(), f"{where} has a tooltip from the text: {fmt.toolTip()}"
            fragments += 1
        block = block.next()


def hostile_span() -> Span:
    call = {"id": HOSTILE, "name": HOSTILE, "arguments": {HOSTILE: HOSTILE}}
    return Span(
        trace_id="t" * 32,
        span_id="s" * 16,
        parent_id=None,
        name=HOSTILE,
        kind=Kind.LLM,
        model=HOSTILE,
        start_ns=1_000_000_000,
        end_ns=2_000_000_000,
        status=Status.ERROR,
        status_message=HOSTILE,
        attributes={HOSTILE: HOSTILE, "metadata": {"langgraph_node": HOSTILE}, "nested": {"k": [HOSTILE]}},
        events=[Event(HOSTILE, 1_500_000_000, {"exception.type": HOSTILE, "exception.message": HOSTILE})],
        scores=[Score(name=HOSTILE, value=1.0, label=HOSTILE, comment=HOSTILE, source=HOSTILE)],
        logs=[
            LogRecord(
                "t" * 32,
                "s" * 16,
                1_500_000_000,
                severity_text=HOSTILE,
                event_name=HOSTILE,
                body=HOSTILE,
                attributes={HOSTILE: HOSTILE},
            )
        ],
        input=[
            message("system", HOSTILE_MD),
            message(HOSTILE, HOSTILE),
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": HOSTILE, "content": HOSTILE},
            message("user", HOSTILE_MD),
        ],
        output=HOSTILE_MD,
    )


@pytest.mark.parametrize("markdown", [True, False], ids=["markdown", "raw"])
def test_detail_panel_shows_hostile_trace_text_as_text(qtbot, panel, markdown):
    panel.markdown.set_rendered(markdown)
    panel.set_span(hostile_span())
    for tab in range(panel.tabs.count()):
        panel.tabs.setCurrentIndex(tab)
        qtbot.wait(1)
    holding = assert_shown_as_text(panel)
    assert holding >= 4  # header name and message tooltip, attribute tooltips
    shown = panel.input.view.rich.text()
    assert shown.count(IMAGE) >= 3 and "file:///etc/passwd" in shown


def test_review_tab_shows_hostile_trace_text_as_text(qtbot, tmp_path):
    content = {
        "openinference.span.kind": "CHAIN",
    }
    model_call = {
        "llm.input_messages.0.message.role": "user",
        "llm.input_messages.0.message.content": HOSTILE_MD,
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.content": HOSTILE,
    }
    path = write_jsonl(
        tmp_path / "hostile.otlp.jsonl",
        request(
            span("a" * 16, name=HOSTILE, attrs=content, error=HOSTILE),
            llm("b" * 16, "a" * 16, HOSTILE, 10, 5, name=HOSTILE, attrs=model_call),
        ),
    )
    store = tmp_path / "hostile.db"
    assert import_file(store, path).outcome is Outcome.IMPORTED
    save_label_set(store, LabelSet(f"verdict {IMAGE}", (f"good {IMAGE}", "bad <b>x</b>")))
    window = QtMainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.open_store(store)
    window.show()
    window.review.start()
    tab = window.review.tab
    qtbot.waitUntil(lambda: tab.trace is not None)
    assert HOSTILE in tab.input.title  # the input came from the model call, named in the heading
    assert assert_shown_as_text(tab) >= 5  # headings, the details, the label set and its labels' tooltips
    window.context.select_trace(tab.trace.trace_id)
    window.context.select_span("b" * 16)
    qtbot.waitUntil(lambda: window.detail.span is not None)
    assert assert_shown_as_text(window.detail) >= 3
    dialog = QtAnnotateDialog(window.review.reviewer, window.context.db, tab.trace.trace_id, "b" * 16, window)
    qtbot.addWidget(dialog)
    assert assert_shown_as_text(dialog) >= 2  # the span's name in the heading, the label set
