"""The trace header links a replay (or a judge's call) to the recorded call it is of, and a recorded
trace to its replays and judgements; both ways go through the context."""

from __future__ import annotations

from PySide6.QtGui import QTextDocument

from spanscope.core.endpoints.chat import ChatRequest, Completion
from spanscope.core.endpoints.config import Endpoint
from spanscope.core.model import Kind, message
from spanscope.core.replay.spans import call_span
from spanscope.core.store import connect
from spanscope.core.store.queries import get_trace, iter_spans
from spanscope.core.store.replays import store_spans
from spanscope.ui.span_tree import QtSpanTreePanel

ENDPOINT = Endpoint("local", "http://127.0.0.1:8080/v1")


def _text(html: str) -> str:
    document = QTextDocument()
    document.setHtml(html)
    return document.toPlainText()


def _stored_replay(store, recorded, model: str, purpose: str = "replay"):
    request = ChatRequest(model, [message("user", "<b>bold?</b>")])
    completion = Completion(model, "answer", [], "stop", 1_000, 2_000)
    span = call_span(
        request,
        completion,
        endpoint=ENDPOINT,
        purpose=purpose,
        of_trace_id=recorded.trace_id,
        of_span_id=recorded.span_id,
    )
    store_spans(store, [span], f"{purpose}: {model}", purpose)
    return span


def test_a_replay_and_its_recorded_call_link_to_each_other(qtbot, context, demo_store):
    recorded = next(s for s in iter_spans(connect(demo_store, readonly=True)) if s.kind is Kind.LLM)
    replays = [_stored_replay(demo_store, recorded, model) for model in ("local-small", "<i>local</i>")]
    _stored_replay(demo_store, recorded, "judge-model", "judge")
    context.refresh()
    panel = QtSpanTreePanel(context)
    qtbot.addWidget(panel)
    panel.resize(900, 500)
    panel.show()
    context.select_trace(recorded.trace_id)
    links = panel.header.links
    assert links.isVisible()
    assert _text(links.text()) == "Replayed with <i>local</i>, local-small  ·  Judged 1 time (see Scores)"
    with qtbot.waitSignal(context.span_changed):
        links.linkActivated.emit("#1")
    assert (context.trace_id, context.span_id) == (replays[0].trace_id, replays[0].span_id)
    name = get_trace(connect(demo_store, readonly=True), recorded.trace_id).root_name
    assert _text(links.text()) == f"Replay of {name}"
    with qtbot.waitSignal(context.span_changed):
        links.linkActivated.emit("#0")
    assert (context.trace_id, context.span_id) == (recorded.trace_id, recorded.span_id)
    context.unregister(panel)
