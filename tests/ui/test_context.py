"""The shared context: late observers are brought up to date, rapid steps coalesce, trees are shared."""

from __future__ import annotations

from spanscope.ui.context import EMPTY_TREE, QtObserver, View

AGENT = "214119cf6d84cc7956364be9b85993a7"


class Recorder(QtObserver):
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def on_store_loaded(self, context) -> None:
        self.calls.append(("loaded",))

    def on_trace_changed(self, trace_id) -> None:
        self.calls.append(("trace", trace_id))

    def on_span_changed(self, trace_id, span_id) -> None:
        self.calls.append(("span", trace_id, span_id))


def test_a_late_observer_is_told_the_current_state_at_once(context):
    context.select_trace(AGENT)
    recorder = Recorder()
    context.register(recorder)
    assert recorder.calls == [("loaded",), ("trace", AGENT), ("span", AGENT, None)]


def test_rapid_span_changes_deliver_only_the_newest(qtbot, context):
    context.select_trace(AGENT)
    spans = list(context.trace_tree(AGENT).rows.columns["span_id"])
    recorder = Recorder()
    context.register(recorder)
    recorder.calls.clear()
    for span_id in spans[:10]:
        context.select_span(span_id)
    qtbot.waitUntil(lambda: context.span_id == spans[9])
    qtbot.wait(20)
    assert recorder.calls == [("span", AGENT, spans[9])]


def test_the_tree_of_a_trace_is_built_once_and_rebuilt_after_new_data(context):
    tree = context.trace_tree(AGENT)
    assert len(tree.rows) == 16
    assert context.trace_tree(AGENT) is tree
    context.refresh()
    rebuilt = context.trace_tree(AGENT)
    assert rebuilt is not tree and len(rebuilt.rows) == 16
    assert context.trace_tree(None) is EMPTY_TREE


def test_trace_grew_compares_what_a_panel_shows_with_the_store(context):
    assert not context.trace_grew(AGENT, 16)
    assert context.trace_grew(AGENT, 15)
    assert not context.trace_grew(None, 0)


def test_open_span_makes_it_current_and_asks_for_the_traces_view(qtbot, context):
    span = context.trace_tree(AGENT).rows.columns["span_id"][3]
    with qtbot.waitSignal(context.view_requested) as requested:
        context.open_span(AGENT, span)
    assert requested.args == [View.TRACES]
    assert context.trace_id == AGENT
    qtbot.waitUntil(lambda: context.span_id == span)


def test_show_trace_and_show_view_ask_for_their_view(qtbot, context):
    with qtbot.waitSignal(context.view_requested) as requested:
        context.show_trace(AGENT)
    assert (requested.args, context.trace_id) == ([View.TRACES], AGENT)
    with qtbot.waitSignal(context.view_requested) as requested:
        context.show_view(View.SEARCH)
    assert requested.args == [View.SEARCH]
