"""The Replay window end to end: real captures imported into a store, a real OpenAI-compatible
server on loopback (tests/openai_server.py), the official client between them."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from openai_server import MODELS, Answer, Fault, OpenAICompatibleServer
from spanscope.core.endpoints.config import Endpoint
from spanscope.core.store import Outcome, connect, import_file
from spanscope.core.store.queries import list_traces
from spanscope.core.store.replays import replay_origin, replays_of

OPENAI_CAPTURE = "openinference-openai/chain-and-session.otlp.json"
IMAGE_CAPTURE = "multimodal/image-audio-openinference.otlp.json"
#: How long a test waits for a replay to finish before failing.
WAIT_MS = 15_000


def _template(tmp_path_factory, capture: Path) -> Path:
    path = tmp_path_factory.mktemp("replay") / "store.db"
    assert import_file(path, capture).outcome is Outcome.IMPORTED
    return path


@pytest.fixture(scope="module")
def openai_template(tmp_path_factory, fixtures_dir) -> Path:
    return _template(tmp_path_factory, fixtures_dir / OPENAI_CAPTURE)


@pytest.fixture(scope="module")
def image_template(tmp_path_factory, fixtures_dir) -> Path:
    return _template(tmp_path_factory, fixtures_dir / IMAGE_CAPTURE)


def _context(template: Path, tmp_path: Path):
    from spanscope.ui.context import QtTraceContext

    store = tmp_path / "store.db"
    shutil.copy(template, store)
    context = QtTraceContext()
    context.open_store(store)
    return context


@pytest.fixture
def context(qtbot, openai_template, tmp_path):
    ctx = _context(openai_template, tmp_path)
    yield ctx
    ctx.close_store()


@pytest.fixture
def server():
    with OpenAICompatibleServer() as running:
        yield running


def llm_spans(context) -> list[tuple[str, str]]:
    """(trace id, span id) of every LLM span of the open store, in trace order."""
    found = []
    for trace in list_traces(context.db):
        tree = context.trace_tree(trace.trace_id)
        columns = tree.rows.columns
        found += [
            (trace.trace_id, columns["span_id"][i])
            for i in range(len(tree.rows))
            if columns["kind"][i] == "LLM"
        ]
    return found


def trace_count(store: Path) -> int:
    db = connect(store, readonly=True)
    try:
        return len(list_traces(db))
    finally:
        db.conn.close()


def open_window(qtbot, context, server, *, span: tuple[str, str] | None = None, timeout_s: float = 10.0):
    from spanscope.ui.replay.window import QtReplayWindow

    trace_id, span_id = span or llm_spans(context)[0]
    endpoint = Endpoint("test server", server.base_url, timeout_s=timeout_s, max_retries=0)
    window = QtReplayWindow(context, trace_id, span_id, endpoints=[endpoint])
    qtbot.addWidget(window)
    window.picker.endpoint_box.setCurrentIndex(0)
    window.picker.set_model(MODELS[0])
    window.show()
    return window


def last_user(window):
    return [e for e in window.editor.messages.editors() if e.role.currentText() == "user"][-1]


def run_and_wait(qtbot, window) -> None:
    window.run_button.click()
    assert window.job.busy
    qtbot.waitUntil(lambda: not window.job.busy, timeout=WAIT_MS)


def test_opening_sends_nothing(qtbot, context, server):
    window = open_window(qtbot, context, server)
    qtbot.wait(100)
    assert server.requests == [] and server.headers == []
    assert not window.picker.job.busy and window.picker.model_box.count() == 0
    assert window.run_button.isEnabled() and not window.cancel_button.isEnabled()
    assert [e.role.currentText() for e in window.editor.messages.editors()] == ["system", "user"]


def test_replay_streams_the_edited_message_and_stores_a_linked_trace(qtbot, context, server):
    window = open_window(qtbot, context, server)
    store = context.store_path
    before = trace_count(store)
    edited = "Which of these " + " ".join(f"word{i}" for i in range(60)) + " matters?"
    last_user(window).text.setPlainText(edited)
    shown: list[str] = []  # what the replay side showed at each piece of the stream
    window.job.progress.connect(lambda _text: shown.append(window.result.replay_view.toPlainText()))
    run_and_wait(qtbot, window)

    assert window.result.replay is not None
    assert window.result.replay.text == "echo: " + edited
    assert server.requests[-1]["stream"] is True
    assert server.requests[-1]["messages"][-1]["content"] == edited
    # the text showed while it arrived: growing prefixes of the answer, before the whole of it
    streamed = [text.rstrip("▍") for text in shown]
    assert len(set(streamed)) >= 2 and all(("echo: " + edited).startswith(s) for s in streamed)
    assert len(streamed[0]) < len("echo: " + edited)

    assert trace_count(store) == before + 1
    trace_id, span_id = window.stored
    origin = replay_origin(context.db, trace_id)
    assert [(r.of_trace_id, r.of_span_id, r.purpose) for r in origin] == [
        (window.trace_id, window.span_id, "replay")
    ]
    assert [r.trace_id for r in replays_of(context.db, window.trace_id, window.span_id)] == [trace_id]
    assert window.replays.count.isVisible() and "Replays: 1" in window.replays.count.text()
    figures = window.result.figures.text()
    assert MODELS[0] in figures and ">11<" in figures and ">7<" in figures  # the server's usage
    assert window.result.replay_figures.latency and window.result.replay_figures.ttft
    assert trace_id in {t.trace_id for t in list_traces(context.db)}  # the context sees it
    assert window.open_button.isEnabled()

    window.open_replay()
    qtbot.waitUntil(lambda: context.span_id == span_id)
    assert context.trace_id == trace_id


def test_tool_call_answer_is_a_card(qtbot, context, server):
    server.answers.append(
        Answer(tool_calls=[{"id": "call_1", "name": "get_weather", "arguments": '{"city": "Paris"}'}])
    )
    window = open_window(qtbot, context, server)
    run_and_wait(qtbot, window)
    assert window.result.replay.tool_calls[0]["name"] == "get_weather"
    shown = window.result.replay_view.toPlainText()
    assert "get_weather" in shown and '"city": "Paris"' in shown
    assert "tool call call_1" in shown


@pytest.mark.parametrize(
    ("fault", "said"),
    [
        (Fault.UNAUTHORIZED, "401"),
        (Fault.RATE_LIMITED, "429"),
        (Fault.SERVER_ERROR, "500"),
        (Fault.STALL, "no answer"),
        (Fault.MALFORMED_STREAM, "127.0.0.1"),
    ],
)
def test_a_failed_call_shows_a_banner_and_stores_nothing(qtbot, context, server, fault, said):
    server.faults.append(fault)
    server.stall_s = 3.0
    window = open_window(qtbot, context, server, timeout_s=0.5)
    before = trace_count(context.store_path)
    run_and_wait(qtbot, window)
    assert window.result.banner.text().startswith(said) or said in window.result.banner.text()
    assert window.result.banner.isVisible()
    assert window.result.replay is None and window.stored is None
    assert "Nothing was stored" in window.result.replay_view.toPlainText()
    assert trace_count(context.store_path) == before
    assert replays_of(context.db, window.trace_id, window.span_id) == []
    assert window.run_button.isEnabled() and not window.cancel_button.isEnabled()


def _cancel_when(qtbot, window, ready) -> float:
    qtbot.waitUntil(ready, timeout=WAIT_MS)
    started = time.monotonic()
    window.cancel()
    qtbot.waitUntil(lambda: not window.job.busy, timeout=WAIT_MS)
    return time.monotonic() - started


def test_cancel_mid_stream_stops_at_once_and_stores_nothing(qtbot, context, server):
    server.answers.append(Answer(text=" ".join(f"w{i}" for i in range(400))))  # ~2 s of stream
    window = open_window(qtbot, context, server)
    before = trace_count(context.store_path)
    window.run()
    took = _cancel_when(qtbot, window, lambda: bool(window.result.streamed))
    assert took < 0.2
    assert window.stored is None and "Cancelled" in window.result.replay_view.toPlainText()
    assert trace_count(context.store_path) == before


def test_cancel_while_the_server_is_silent(qtbot, context, server):
    server.delay_s = 3.0
    window = open_window(qtbot, context, server)
    before = trace_count(context.store_path)
    window.run()
    took = _cancel_when(qtbot, window, lambda: bool(server.requests))
    assert took < 0.2
    assert window.stored is None and window.run_button.isEnabled()
    assert trace_count(context.store_path) == before


def test_markup_is_shown_as_text(qtbot, context, server):
    markup = '<img src="x" onerror="alert(1)"><b>bold</b> &amp; <a href="https://evil">link</a>'
    server.answers.append(Answer(text="answer " + markup))
    window = open_window(qtbot, context, server)
    last_user(window).text.setPlainText(markup)
    run_and_wait(qtbot, window)
    assert server.requests[-1]["messages"][-1]["content"] == markup
    for view in (window.result.replay_view, window.result.original_view):
        assert "<a href" not in view.toHtml() and "<img" not in view.toHtml()
    assert markup in window.result.replay_view.toPlainText()
    assert markup in last_user(window).text.toPlainText()
    window.result.show_banner(markup)
    assert window.result.banner.text() == markup


def test_edits_reach_the_request(qtbot, context, server):
    window = open_window(qtbot, context, server)
    parameters = window.editor.parameters
    parameters.ticks["temperature"].setChecked(True)
    parameters.editors["temperature"].setValue(0.3)
    parameters.ticks["stop"].setChecked(True)
    parameters.editors["stop"].setText('["END", "\\n\\n"]')
    window.editor.tools.editor.setPlainText(
        '[{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]'
    )
    messages = window.editor.messages
    assistant = messages.append({"role": "assistant", "content": "", "tool_calls": [], "tool_call_id": None})
    assistant.role.setCurrentText("assistant")
    assistant.add_call.click()
    call = assistant.call_editors()[0]
    call.name.setText("lookup")
    call.call_id.setText("call_9")
    call.arguments.setPlainText('{"q": "x"}')
    result = messages.add_tool_result()
    assert result.call_id.text() == "call_9"
    result.text.setPlainText("42")
    follow = messages.append({"role": "user", "content": "and then?", "tool_calls": [], "tool_call_id": None})
    messages.editors()[0].removed.emit(messages.editors()[0])  # the system message goes
    follow.moved.emit(follow, -1)  # above the tool result
    follow.moved.emit(follow, 1)  # and back
    run_and_wait(qtbot, window)

    sent = server.requests[-1]
    assert sent["temperature"] == 0.3 and sent["stop"] == ["END", "\n\n"]
    assert sent["tools"][0]["function"]["name"] == "lookup"
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "tool", "user"]
    assert sent["messages"][1]["tool_calls"][0]["function"] == {"name": "lookup", "arguments": '{"q": "x"}'}
    assert sent["messages"][2]["tool_call_id"] == "call_9" and sent["messages"][2]["content"] == "42"
    assert window.result.replay.text == "echo: and then?"


def test_what_cannot_be_sent_is_said_before_anything_goes(qtbot, context, server):
    window = open_window(qtbot, context, server)
    window.editor.tools.editor.setPlainText("[{")
    assert "not JSON" in window.editor.tools.status.text()
    window.run()
    assert not window.job.busy and "Tools: not JSON" in window.result.banner.text()
    window.editor.tools.editor.setPlainText("")
    tool = window.editor.messages.append(
        {"role": "tool", "content": "x", "tool_calls": [], "tool_call_id": None}
    )
    tool.call_id.setText("")
    window.run()
    assert "needs the id of the tool call" in window.result.banner.text()
    tool.removed.emit(tool)
    window.picker.endpoint_box.setEditText("not an endpoint")
    window.run()
    assert "no endpoint named" in window.result.banner.text()
    assert server.requests == []


def test_models_are_listed_when_asked(qtbot, context, server):
    window = open_window(qtbot, context, server)
    window.picker.list_button.click()
    qtbot.waitUntil(lambda: window.picker.model_box.count() == len(MODELS), timeout=WAIT_MS)
    assert [window.picker.model_box.itemText(i) for i in range(len(MODELS))] == sorted(MODELS)
    assert window.picker.model() == MODELS[0]  # what was typed stays


def test_typed_base_url_is_an_endpoint(qtbot, context, server):
    window = open_window(qtbot, context, server)
    window.picker.endpoint_box.setEditText(server.base_url)
    run_and_wait(qtbot, window)
    assert window.stored is not None


def test_images_are_thumbnails_and_can_be_removed(qtbot, image_template, tmp_path, server):
    context = _context(image_template, tmp_path)
    try:
        with_images = []
        for span in llm_spans(context):
            window = open_window(qtbot, context, server, span=span)
            chips = [c for e in window.editor.messages.editors() for c in e.image_parts()]
            if chips:
                with_images.append(window)
                break
            window.close()
        assert with_images, "the multimodal capture has an LLM call with an image"
        window = with_images[0]
        editor = next(e for e in window.editor.messages.editors() if e.image_parts())
        chip = editor.images.itemAt(0).widget()
        assert not chip.picture.pixmap().isNull()
        kept = sum(len(e.image_parts()) for e in window.editor.messages.editors()) - 1
        chip.removed.emit(chip)
        run_and_wait(qtbot, window)
        sent = [
            p
            for m in server.requests[-1]["messages"]
            if isinstance(m.get("content"), list)
            for p in m["content"]
        ]
        assert len([p for p in sent if p.get("type") == "image_url"]) == kept
    finally:
        context.close_store()


def test_the_main_window_opens_replay_from_the_tree_the_detail_and_stepping(
    qtbot, openai_template, tmp_path, server
):
    from PySide6.QtCore import QSettings, Qt
    from PySide6.QtWidgets import QMenu

    from spanscope.ui.main_window import QtMainWindow
    from spanscope.ui.replay.window import QtReplayWindow

    main = QtMainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(main)
    store = tmp_path / "store.db"
    shutil.copy(openai_template, store)
    assert main.open_store(store)
    trace_id, span_id = llm_spans(main.context)[0]
    main.context.open_span(trace_id, span_id)
    qtbot.waitUntil(lambda: main.context.span_id == span_id)
    opened: list[tuple[str, str]] = []
    assert main.findChildren(QtReplayWindow) == []
    for signal in (
        main.span_tree.replay_requested,
        main.detail.replay_corner.replay_requested,
        main.stepping.replay_requested,
    ):
        signal.connect(lambda t, s: opened.append((t, s)))

    corner = main.detail.replay_corner
    assert not corner.isHidden() and corner.count.isHidden()
    corner.button.click()
    assert main.stepping_toolbar.replay_action.isEnabled()
    main.stepping_toolbar.replay_action.trigger()
    row = main.span_tree.model.index_of(span_id)
    point = main.span_tree.view.visualRect(row).center()
    view = main.span_tree.view
    assert view.contextMenuPolicy() == Qt.ContextMenuPolicy.CustomContextMenu
    view.customContextMenuRequested.emit(point)
    menu = main.span_tree.findChildren(QMenu)[-1]
    assert [a.text() for a in menu.actions()] == ["Replay…", "", "Judge…", "Export as Dataset…"]
    menu.actions()[0].trigger()
    assert opened == [(trace_id, span_id)] * 3
    windows = main.findChildren(QtReplayWindow)
    assert len(windows) == 3 and all(w.span_id == span_id for w in windows)

    # a replay stored from one of them is counted on the span's detail, and its link opens it
    replay = windows[0]
    replay.picker.endpoint_box.setEditText(server.base_url)
    replay.picker.set_model(MODELS[1])
    run_and_wait(qtbot, replay)
    qtbot.waitUntil(lambda: not corner.count.isHidden())
    assert "Replays: 1" in corner.count.text()
    corner.count.linkActivated.emit("newest")
    qtbot.waitUntil(lambda: main.context.trace_id == replay.stored[0])
    # a span that is no model call has no way in
    root = main.context.trace_tree(trace_id).rows.columns["span_id"][0]
    main.context.open_span(trace_id, root)
    qtbot.waitUntil(lambda: main.context.span_id == root)
    assert corner.isHidden() and not main.stepping_toolbar.replay_action.isEnabled()
    for window in windows:
        window.close()
    main.close()


def test_ctrl_enter_runs(qtbot, context, server):
    from PySide6.QtCore import Qt

    window = open_window(qtbot, context, server)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    editor = last_user(window).text
    editor.setFocus()
    qtbot.keyClick(editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert window.job.busy
    qtbot.waitUntil(lambda: window.stored is not None, timeout=WAIT_MS)
    assert "\n" not in editor.toPlainText()


def test_a_replay_goes_into_the_store_of_its_call(qtbot, context, server, openai_template, tmp_path):
    window = open_window(qtbot, context, server)
    first = context.store_path
    other = tmp_path / "other.db"
    shutil.copy(openai_template, other)
    context.open_store(other)
    run_and_wait(qtbot, window)
    assert trace_count(other) == trace_count(openai_template)
    db = connect(first, readonly=True)
    try:
        assert [r.trace_id for r in replays_of(db, window.trace_id, window.span_id)] == [window.stored[0]]
    finally:
        db.conn.close()
    window.open_replay()
    assert str(first) in window.result.banner.text() and context.trace_id != window.stored[0]


def test_a_span_that_is_no_model_call_cannot_be_replayed(qtbot, context, server):
    trace_id = llm_spans(context)[0][0]
    root = context.trace_tree(trace_id).rows.columns["span_id"][0]
    window = open_window(qtbot, context, server, span=(trace_id, root))
    assert "not a model call" in window.header.text() and not window.run_button.isEnabled()
    window.run()
    assert server.requests == []


def test_the_last_endpoint_and_model_that_ran_are_chosen_again_without_asking_them(
    qtbot, context, server, tmp_path
):
    from PySide6.QtCore import QSettings

    from spanscope.ui.replay.window import QtReplayWindow

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    trace_id, span_id = llm_spans(context)[0]
    first = QtReplayWindow(context, trace_id, span_id, endpoints=[], settings=settings)
    qtbot.addWidget(first)
    assert first.picker.endpoint_box.currentText() == ""
    first.picker.endpoint_box.setEditText(server.base_url)
    first.picker.set_model("local-large")
    run_and_wait(qtbot, first)
    sent = len(server.requests)
    again = QtReplayWindow(context, trace_id, span_id, endpoints=[], settings=settings)
    qtbot.addWidget(again)
    qtbot.wait(100)
    assert (again.picker.endpoint_box.currentText(), again.picker.model()) == (server.base_url, "local-large")
    assert len(server.requests) == sent
