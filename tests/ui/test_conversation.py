"""Conversations read like a chat: markdown rendered safely (or shown as written, remembered), long
messages folded with "Show all", the input/output split remembered, and large messages quick."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, QSettings, Qt
from PySide6.QtGui import QMouseEvent, QTextTable
from PySide6.QtWidgets import QApplication
from rich_links import follow_link, fragments

from spanscope.core.model import Kind, Span, message
from spanscope.core.presentation.content import PREVIEW_CHARS
from spanscope.ui.detail import QtDetailPanel
from spanscope.ui.detail.prose import MARKDOWN_SKIPPED

RAG = "62f746b484e61ceb95bd447e7184d454"
RAG_LLM = "d2ab5d67c074a644"
TABLE = "| City | Temp (°C) | Rain |\n|---|---:|---|\n| Lisbon | 17 | 20% |\n| Porto | 15 | 65% |"


def synthetic(**fields) -> Span:
    defaults = {"trace_id": "t" * 32, "span_id": "s" * 16, "parent_id": None, "name": "synthetic"}
    return Span(
        **(defaults | {"start_ns": 1_000_000_000, "end_ns": 3_000_000_000, "kind": Kind.LLM} | fields)
    )


@pytest.fixture
def settings(tmp_path) -> QSettings:
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


def make_panel(qtbot, context, settings) -> QtDetailPanel:
    panel = QtDetailPanel(context, settings=settings)
    qtbot.addWidget(panel)
    panel.resize(700, 700)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def show_rag_call(qtbot, panel) -> str:
    """Selects the demo's RAG model call; returns its system prompt, a markdown text."""
    panel.context.select_trace(RAG)
    panel.context.select_span(RAG_LLM)
    qtbot.waitUntil(lambda: panel.span is not None and panel.span.span_id == RAG_LLM)
    system = panel.span.input[0]
    assert system["role"] == "system"
    return system["content"]


def headings(browser) -> list[tuple[int, str]]:
    block, found = browser.document().begin(), []
    while block.isValid():
        if block.blockFormat().headingLevel():
            found.append((block.blockFormat().headingLevel(), block.text()))
        block = block.next()
    return found


def tables(browser) -> list[list[list[str]]]:
    """Each table of the document as rows of cell texts."""
    found = []
    for frame in browser.document().rootFrame().childFrames():
        if isinstance(frame, QTextTable):
            rows = []
            for row in range(frame.rows()):
                cells = [frame.cellAt(row, column) for column in range(frame.columns())]
                rows.append([browser.document().findBlock(c.firstPosition()).text() for c in cells])
            found.append(rows)
    return found


def test_markdown_headings_lists_and_tables_become_rich_text(qtbot, panel):
    prompt = show_rag_call(qtbot, panel)
    written = [line[3:] for line in prompt.splitlines() if line.startswith("## ")]
    assert len(written) >= 3
    browser = panel.input.view.rich.browser
    follow_link(browser, "Show all")  # the system prompt is folded: it is not the last message
    assert headings(browser) == [(2, title) for title in written]
    shown = panel.input.view.rich.text()
    assert "## " not in shown and "\n- " not in shown  # headings and list items are rendered
    first_item = next(line[2:] for line in prompt.splitlines() if line.startswith("- "))
    assert first_item in shown

    panel.set_span(synthetic(output=[message("assistant", f"## Forecast\n\n{TABLE}\n\n`code` and **bold**")]))
    browser = panel.output.view.rich.browser
    assert headings(browser) == [(2, "Forecast")]
    assert tables(browser) == [
        [["City", "Temp (°C)", "Rain"], ["Lisbon", "17", "20%"], ["Porto", "15", "65%"]]
    ]
    assert "|" not in panel.output.view.rich.text()
    styled = dict((text, fmt) for text, fmt in fragments(browser.document()))
    assert styled["bold"].fontWeight() >= 600
    assert styled["code"].fontFixedPitch() or "mono" in styled["code"].fontFamilies()[0].lower()


def test_code_blocks_are_monospace_and_keep_their_lines(qtbot, panel):
    code = "def f(x):\n    return x * 2"
    panel.set_span(synthetic(output=[message("assistant", f"Here:\n```python\n{code}\n```\nDone.")]))
    shown = panel.output.view.rich.text()
    assert code in shown and "```" not in shown
    fmt = dict(fragments(panel.output.view.rich.browser.document()))["    return x * 2"]
    assert fmt.fontFixedPitch() or "mono" in fmt.fontFamilies()[0].lower()


def test_a_prompt_written_line_by_line_keeps_its_lines(qtbot, panel):
    text = "Rules:\nAnswer briefly.\nCite the **source**.\n\n- one\n- two"
    panel.set_span(synthetic(output=[message("assistant", text)]))
    shown = panel.output.view.rich.text()
    assert "Rules:\nAnswer briefly.\nCite the source." in shown


def test_raw_shows_the_source_and_is_remembered(qtbot, context, settings):
    panel = make_panel(qtbot, context, settings)
    prompt = show_rag_call(qtbot, panel)
    assert panel.input.raw.isVisible() and not panel.input.raw.isChecked()
    qtbot.mouseClick(panel.input.raw, Qt.MouseButton.LeftButton)
    assert panel.output.raw.isChecked()  # one choice for every conversation
    follow_link(panel.input.view.rich.browser, "Show all")
    assert prompt in panel.input.view.rich.text()  # as written, "## Scope" and all

    settings.sync()
    reopened = QSettings(settings.fileName(), QSettings.Format.IniFormat)  # as in the next run
    again = make_panel(qtbot, context, reopened)
    show_rag_call(qtbot, again)
    assert again.input.raw.isChecked()
    qtbot.mouseClick(again.input.raw, Qt.MouseButton.LeftButton)
    assert "## " not in again.input.view.rich.text()
    reopened.sync()
    assert make_panel(
        qtbot, context, QSettings(settings.fileName(), QSettings.Format.IniFormat)
    ).markdown.rendered


def test_markdown_text_output_renders_and_raw_shows_it_as_written(qtbot, panel):
    answer = f"## Forecast\n\n{TABLE}"
    panel.set_span(synthetic(output=answer))
    assert panel.output.view.currentWidget() is panel.output.view.rich
    assert len(tables(panel.output.view.rich.browser)) == 1
    panel.markdown.set_rendered(False)
    assert panel.output.view.currentWidget() is panel.output.view.text
    assert panel.output.view.text.text() == answer


def test_html_in_markdown_is_shown_as_text_and_nothing_is_loaded_or_linked(qtbot, panel):
    text = (
        "## Title\n\n<b>not bold</b> <script>alert(1)</script>\n\n<div>block</div>\n\n"
        '![cat](https://example.com/cat.png) ![disk](/dev/zero) [passwd](file:///etc/passwd "<img src=x>") '
        "[docs](https://example.com/docs)"
    )
    panel.set_span(synthetic(output=[message("assistant", text)]))
    browser = panel.output.view.rich.browser
    shown = browser.toPlainText()
    assert "<b>not bold</b> <script>alert(1)</script>" in shown and "<div>block</div>" in shown
    assert "[image: cat · https://example.com/cat.png]" in shown and "[image: disk · /dev/zero]" in shown
    runs = list(fragments(browser.document()))
    assert not any(fmt.isImageFormat() for _, fmt in runs)
    links = {text: fmt.anchorHref() for text, fmt in runs if fmt.isAnchor()}
    assert links == {"docs": "https://example.com/docs"}
    assert not any(fmt.toolTip() for _, fmt in runs)
    assert next(fmt for text, fmt in runs if "not bold" in text).fontWeight() < 600


def test_long_messages_fold_but_the_last_one_does_not(qtbot, panel):
    prompt = show_rag_call(qtbot, panel)
    last_line = prompt.rstrip().splitlines()[-1].lstrip("- ")
    view = panel.input.view.rich
    assert prompt.splitlines()[0] in view.text() and last_line not in view.text()
    assert "Show all" in view.text() and "more lines" in view.text() and "KB" in view.text()
    follow_link(view.browser, "Show all")
    assert last_line in view.text() and "Show less" in view.text()
    follow_link(view.browser, "Show less")
    assert last_line not in view.text()

    long_answer = "\n".join(f"Line {n} of the answer." for n in range(200))
    panel.set_span(synthetic(output=[message("assistant", long_answer)]))
    assert "Line 199 of the answer." in panel.output.view.rich.text()
    assert "Show all" not in panel.output.view.rich.text()


def drag(widget, by: QPoint) -> None:
    """Press, move and release the left button on `widget` (QTest moves carry no button in Qt 6)."""
    start = QPointF(widget.rect().center())
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    for kind, at, button, held in (
        (QEvent.Type.MouseButtonPress, start, left, left),
        (QEvent.Type.MouseMove, start + QPointF(by), none, left),
        (QEvent.Type.MouseButtonRelease, start + QPointF(by), left, none),
    ):
        event = QMouseEvent(kind, at, widget.mapToGlobal(at), button, held, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(widget, event)


def test_the_input_output_split_is_remembered(qtbot, context, settings):
    panel = make_panel(qtbot, context, settings)
    show_rag_call(qtbot, panel)
    top, bottom = panel.io.sizes()
    assert top > bottom  # the input, usually longer, gets more at first
    drag(panel.io.handle(1), QPoint(0, -150))
    moved = panel.io.sizes()
    assert moved[0] < top - 100
    again = make_panel(qtbot, context, settings)
    assert again.io.sizes() == moved


def test_a_megabyte_markdown_message_opens_at_once(qtbot, panel):
    section = "## Part\n\nSome **bold** text and `code` in a paragraph of the answer.\n\n"
    big = section * (1_000_000 // len(section)) + "THE END"
    started = time.perf_counter()
    panel.set_span(
        synthetic(input=[message("system", big), message("user", "Hi")], output=[message("assistant", big)])
    )
    qtbot.wait(1)
    assert time.perf_counter() - started < 0.5
    rich = panel.output.view.rich
    assert len(rich.text()) <= PREVIEW_CHARS + 200 and rich.bar.isVisible()
    assert MARKDOWN_SKIPPED in rich.text()  # too much to render as markdown at once
    assert len(panel.input.view.rich.text()) < 2000  # the long system prompt is folded
    qtbot.mouseClick(rich.bar.button, Qt.MouseButton.LeftButton)
    assert "THE END" in rich.text() and not rich.bar.isVisible()


def test_a_section_takes_the_whole_height_and_shares_it_again(qtbot, context, settings):
    panel = make_panel(qtbot, context, settings)
    show_rag_call(qtbot, panel)
    shared = panel.io.sizes()
    qtbot.mouseClick(panel.input.expand, Qt.MouseButton.LeftButton)
    top, bottom = panel.io.sizes()
    assert top > shared[0] and bottom <= panel.output.heading.height() + 8  # only the title line left
    qtbot.mouseDClick(panel.input.heading, Qt.MouseButton.LeftButton)
    assert panel.io.sizes() == shared
    qtbot.mouseDClick(panel.output.heading, Qt.MouseButton.LeftButton)
    assert panel.io.sizes()[0] <= panel.input.heading.height() + 8


def test_the_review_tab_shows_markdown_as_the_reader_chose(qtbot, tmp_path, demo_store):
    from spanscope.ui.main_window import QtMainWindow

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = QtMainWindow(settings)
    qtbot.addWidget(window)
    window.open_store(demo_store)
    window.show()
    window.context.select_trace(RAG)
    window.context.select_span(RAG_LLM)
    qtbot.waitUntil(lambda: window.detail.span is not None)
    qtbot.mouseClick(window.detail.input.raw, Qt.MouseButton.LeftButton)  # raw, in the Traces tab
    window.review.start()
    tab = window.review.tab
    qtbot.waitUntil(lambda: tab.trace is not None)
    assert tab.input.raw.isChecked() and not tab.input.view.rich.reading.markdown


def test_long_retrieved_documents_fold_and_render_their_markdown(qtbot, panel):
    long_doc = "## Returns policy\n\n" + "\n".join(f"- Rule {n} of the policy." for n in range(40))
    docs = [
        {"id": "kb-1", "score": 0.9, "content": long_doc},
        {"id": "kb-2", "score": 0.5, "content": "Short."},
    ]
    panel.set_span(synthetic(kind=Kind.RETRIEVER, output=docs))
    view = panel.output.view.rich
    assert headings(view.browser) == [(2, "Returns policy")] and "Rule 39" not in view.text()
    assert panel.output.raw.isVisible()
    follow_link(view.browser, "Show all")
    assert "Rule 39 of the policy." in view.text() and "Short." in view.text()


@pytest.mark.parametrize("size", [(1280, 720), (1366, 768)])
def test_every_detail_tab_stays_in_sight_on_a_laptop_screen(qtbot, tmp_path, demo_store, size):
    from spanscope.ui.main_window import QtMainWindow

    window = QtMainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.resize(*size)
    window.open_store(demo_store)
    window.show()
    window.context.select_trace(RAG)
    window.context.select_span(RAG_LLM)  # a model call with documents: the Grounding tab too
    qtbot.waitUntil(lambda: window.detail.span is not None)
    bar = window.detail.tabs.tabBar()
    shown = [n for n in range(bar.count()) if bar.isTabVisible(n)]
    assert len(shown) >= 6
    for n in shown:
        assert bar.rect().contains(bar.tabRect(n)), f"tab {bar.tabText(n)} is out of sight"
        assert bar.tabRect(n).width() >= bar.fontMetrics().horizontalAdvance(bar.tabText(n)[:4])
