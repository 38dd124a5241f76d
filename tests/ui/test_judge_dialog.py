"""The Judge Spans dialog against a local OpenAI-compatible server: a run from the selected span, a
search or the selected traces, with progress and cancel; results linking to the judged span and the
judge's own call; the views refreshed; each fault said; looked at in light and dark."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QGuiApplication, QPalette
from PySide6.QtWidgets import QWidget

from openai_server import MODELS, Answer, Fault, OpenAICompatibleServer
from spanscope.core.presentation.content import TextBudget
from spanscope.core.store import connect, import_files
from spanscope.core.store.queries import get_span, list_traces
from spanscope.ui.context import QtTraceContext
from spanscope.ui.detail.scores import scores_html
from spanscope.ui.judge_dialog import SEARCH, SPANS, TRACES, JudgeScope, QtJudgeDialog, judge_launcher
from spanscope.ui.span_tree import QtSpanTreePanel
from spanscope.ui.style import ColorScheme, apply_color_scheme
from spanscope.ui.trace_list import QtTraceListPanel
from test_judge import TRACES as TRACE_IDS
from test_judge import answer, recorded_calls

NOTES_PNG = Path("/work/notes/judge-run.png")
CALL = "c" * 15


@pytest.fixture
def judged_context(qtbot, tmp_path):
    db = tmp_path / "store.db"
    import_files(db, [recorded_calls(tmp_path / "calls.jsonl")])
    context = QtTraceContext()
    context.open_store(db)
    yield context
    context.close_store()


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


def dialog_on(qtbot, context, server, scope, settings=None) -> QtJudgeDialog:
    dialog = QtJudgeDialog(context, scope, None, settings)
    qtbot.addWidget(dialog)
    dialog.endpoint_choice.setEditText(server.base_url)
    dialog.model_choice.setEditText("judge-model")
    return dialog


def choose(dialog: QtJudgeDialog, scope: str, evaluator: str = "helpfulness") -> None:
    dialog.scope_choice.setCurrentIndex(dialog.scope_choice.findData(scope))
    names = [e.name for e in dialog._evaluators]
    dialog.evaluator_choice.setCurrentIndex(names.index(evaluator))


def run_to_end(qtbot, dialog: QtJudgeDialog, timeout: int = 15_000) -> None:
    with qtbot.waitSignal(dialog.worker.finished, timeout=timeout):
        dialog.run_button.click()


def test_a_run_on_the_selected_span_stores_its_score_and_links_both_ways(qtbot, judged_context, settings):
    context = judged_context
    scope = JudgeScope(((TRACE_IDS[3], CALL + "3"),), (TRACE_IDS[3],))
    with OpenAICompatibleServer() as server:
        server.answers.append(answer(4, "Right sum, stated plainly.\nNothing missing."))
        dialog = dialog_on(qtbot, context, server, scope, settings)
        assert [dialog.scope_choice.itemData(i) for i in range(3)] == [SPANS, TRACES, SEARCH]
        choose(dialog, SPANS)
        with qtbot.waitSignal(context.store_loaded, timeout=15_000):  # the views are refreshed
            run_to_end(qtbot, dialog)
        assert len(server.requests) == 1
    table = dialog.table
    cells = [table.item(0, c).text() for c in range(4)]
    assert cells == [f"chat  {CALL}3", TRACE_IDS[3][:16], "4", "Right sum, stated plainly."]
    assert "Nothing missing." in table.item(0, 3).toolTip()
    assert dialog.status.text() == "helpfulness by judge-model: 1 span judged; mean 4; 0 failures"
    assert dialog.progress.value() == dialog.progress.maximum() == 1
    judged = get_span(context.db, TRACE_IDS[3], CALL + "3")
    (score,) = judged.scores
    assert (score.value, score.source) == (4.0, "LLM judge judge-model")
    shown = scores_html(judged, TextBudget()).html  # the Scores tab
    assert "<b>helpfulness</b>" in shown and "LLM judge judge-model" in shown and "Nothing missing." in shown
    assert {t.trace_id: t.scores for t in list_traces(context.db)}[TRACE_IDS[3]] == "helpfulness 4"
    table.selectRow(0)
    dialog.open_span.click()
    qtbot.waitUntil(lambda: (context.trace_id, context.span_id) == (TRACE_IDS[3], CALL + "3"))
    dialog.open_judge.click()
    assert context.trace_id == score.key
    # the choices are remembered for the next dialog
    again = QtJudgeDialog(context, scope, None, settings)
    qtbot.addWidget(again)
    assert (again.endpoint_choice.currentText(), again.model_choice.currentText()) == (
        server.base_url,
        "judge-model",
    )


def test_a_search_scope_judges_what_it_finds_concurrently(qtbot, judged_context):
    with OpenAICompatibleServer(delay_s=0.1) as server:
        server.answers.extend(
            Answer(text=json.dumps({"reasoning": "r", "label": "no_tool_needed"})) for _ in range(6)
        )
        dialog = dialog_on(qtbot, judged_context, server, JudgeScope())
        choose(dialog, SEARCH, "tool-use")
        dialog.filter_edit.setText("kind:llm")
        dialog.concurrency.setValue(3)
        run_to_end(qtbot, dialog)
        assert server.max_concurrent == 3
    assert dialog.table.rowCount() == 6
    assert {dialog.table.item(r, 2).text() for r in range(6)} == {"no_tool_needed"}
    assert dialog.status.text().startswith(
        "tool-use by judge-model: 6 spans judged; mean 1; no_tool_needed 6"
    )


def test_the_selected_traces_scope_from_the_trace_list_and_the_span_trees_menu(qtbot, judged_context):
    context = judged_context
    window = QWidget()
    qtbot.addWidget(window)
    traces = QtTraceListPanel(context, window)
    traces.view.selectAll()
    traces.judge_action.trigger()
    dialog = judge_launcher(context).dialog
    assert dialog.scope_of == JudgeScope((), tuple(TRACE_IDS[::-1]))  # newest first, as listed
    assert dialog.scope_choice.currentText() == "the model calls of the 6 selected traces"
    tree = QtSpanTreePanel(context, window)
    context.open_span(TRACE_IDS[1], CALL + "1")
    qtbot.waitUntil(lambda: context.span_id == CALL + "1")
    tree.judge_action.trigger()
    assert judge_launcher(context).dialog is dialog
    assert dialog.scope_of == JudgeScope(((TRACE_IDS[1], CALL + "1"),), (TRACE_IDS[1],))
    with OpenAICompatibleServer() as server:
        server.answers.extend(answer(n) for n in (2, 3))
        dialog.endpoint_choice.setEditText(server.base_url)
        dialog.model_choice.setEditText("judge-model")
        choose(dialog, TRACES)
        dialog.scope_of = JudgeScope((), (TRACE_IDS[1], TRACE_IDS[2]))
        run_to_end(qtbot, dialog)
    assert [dialog.table.item(r, 1).text() for r in range(2)] == [TRACE_IDS[1][:16], TRACE_IDS[2][:16]]
    context.close_store()  # while the panels it tells are alive


def test_cancel_stops_the_run_and_keeps_what_was_judged(qtbot, judged_context):
    with OpenAICompatibleServer(delay_s=0.3) as server:
        server.answers.extend(answer(3) for _ in range(6))
        dialog = dialog_on(qtbot, judged_context, server, JudgeScope())
        choose(dialog, SEARCH)
        dialog.concurrency.setValue(1)
        with qtbot.waitSignal(dialog.worker.finished, timeout=15_000):
            dialog.run_button.click()
            assert dialog.cancel_button.isEnabled() and not dialog.run_button.isEnabled()
            qtbot.waitUntil(lambda: dialog.progress.value() >= 1, timeout=10_000)
            dialog.cancel_button.click()
    result = dialog.result
    assert result.cancelled and 1 <= len(result.scored) < 6
    assert "Cancelled: the spans judged before are stored." in dialog.status.text()
    assert dialog.run_button.isEnabled() and not dialog.cancel_button.isEnabled()
    scores = connect(judged_context.store_path, readonly=True).execute("SELECT count(*) FROM scores")
    assert scores.fetchone()[0] == len(result.scored)


def test_faults_and_mistakes_are_said_in_the_dialog(qtbot, judged_context, tmp_path, monkeypatch):
    monkeypatch.setenv("SPANSCOPE_API_KEY", "sk-wrong")
    with OpenAICompatibleServer(api_key="sk-right") as server:
        dialog = dialog_on(qtbot, judged_context, server, JudgeScope())
        run_to_end(qtbot, dialog)
    assert dialog.status.text().endswith(
        f"Stopped: 401 from {server.base_url}: the API key was refused (Incorrect API key provided.); "
        "check $SPANSCOPE_API_KEY"
    )
    assert "sk-wrong" not in dialog.status.text()
    with OpenAICompatibleServer() as server:
        server.faults.append(Fault.SERVER_ERROR)
        server.answers.append(answer(5))
        dialog.endpoint_choice.setEditText(server.base_url)
        choose(dialog, SEARCH)
        dialog.filter_edit.setText(f"trace:{TRACE_IDS[0]}")
        monkeypatch.setattr(type(dialog), "endpoint", lambda self: _no_retries(server))
        run_to_end(qtbot, dialog)
    assert dialog.table.item(0, 2).text() == "failed"
    assert dialog.table.item(0, 3).text().startswith(f"500 server error from {server.base_url}")
    bad = tmp_path / "bad.toml"
    bad.write_text('prompt = "{{output}}"\n[score]\ntype = "labels"\nlabels = []\n')
    assert not dialog.add_evaluator_file(bad)
    assert (
        dialog.status.text()
        == f"{bad}, line 4: [score] labels must be a non-empty list of texts: labels = [...]"
    )
    dialog.filter_edit.setText('"unclosed')
    dialog.run_button.click()
    assert dialog.status.text().startswith("The search cannot be read: a quote is not closed")
    dialog.model_choice.setEditText("")
    dialog.run_button.click()
    assert dialog.status.text() == "Name the judge model (List Models asks the endpoint)."


def _no_retries(server):
    from spanscope.core.endpoints.config import Endpoint

    return Endpoint("test", server.base_url, max_retries=0)


def test_list_models_fills_the_model_choice(qtbot, judged_context):
    with OpenAICompatibleServer() as server:
        dialog = dialog_on(qtbot, judged_context, server, JudgeScope())
        with qtbot.waitSignal(dialog.models_worker.finished, timeout=10_000):
            dialog.list_models.click()
    assert [dialog.model_choice.itemText(i) for i in range(dialog.model_choice.count())] == sorted(MODELS)
    assert dialog.model_choice.currentText() == "judge-model"
    assert dialog.status.text() == "3 models offered."


#: The demo's support-chat model calls (the last has no output), and what the judge says of each.
SUPPORT_CALLS = [
    ("62f746b484e61ceb95bd447e7184d454", "d2ab5d67c074a644"),
    ("7b22d383dcdd2eb91e4702a1dfb68c9b", "c77120dd4605e29f"),
    ("b588f3a343466395de44cb2318fa69fc", "72f3050256b8b55c"),
    ("4c1116b570a8a7b26f062712ae1cdcd3", "4bea8d301f024c7b"),
    ("4618af73096542254ee47c2267b573bc", "ea6930406ba083e3"),
    ("4618af73096542254ee47c2267b573bc", "ddc9d83de49d9826"),
]
VERDICTS = [
    (5, "Says the 30-day window has passed and offers the warranty repair instead: what the user needed."),
    (
        4,
        "Explains why the parcel has not moved and when it will; could offer to say once it ships.",
    ),
    (5, "Confirms the new address with a change reference and says what happens next."),
    (4, "Right policy, and the refund worked out ($224.10 of $249.00); the restocking fee could come first."),
    (2, "A ticket classification, not an answer: nothing in it the customer can act on."),
]


@pytest.mark.parametrize("scheme", [ColorScheme.LIGHT, ColorScheme.DARK])
def test_the_dialog_with_results_looked_at_in_light_and_dark(qtbot, qapp, context, tmp_path, scheme):
    palette, kept = QPalette(qapp.palette()), qapp.property("spanscope_color_scheme")
    apply_color_scheme(qapp, scheme)
    try:
        with OpenAICompatibleServer() as server:
            server.answers.extend(answer(score, reason) for score, reason in VERDICTS)
            dialog = dialog_on(qtbot, context, server, JudgeScope(tuple(SUPPORT_CALLS), ()))
            dialog.endpoint_choice.setEditText("Ollama")
            dialog.model_choice.setEditText("qwen3:8b")
            monkeypatched = _at(server)
            dialog.endpoint = monkeypatched
            dialog.concurrency.setValue(1)
            dialog.resize(1280, 720)
            dialog.show()
            run_to_end(qtbot, dialog)
        assert [dialog.table.item(r, 2).text() for r in range(6)] == ["5", "4", "5", "4", "2", "failed"]
        assert dialog.table.item(5, 3).text() == "the span has no output to judge"
        dialog.table.selectRow(0)
        image = dialog.grab()
        assert (image.width(), image.height()) == (1280, 720)
        assert image.save(str(tmp_path / f"judge-run-{scheme.value}.png"))
        if scheme is ColorScheme.LIGHT and NOTES_PNG.parent.is_dir():
            image.save(str(NOTES_PNG))
        dark = QGuiApplication.palette().color(QPalette.ColorRole.Window).lightness() < 128
        assert dark is (scheme is ColorScheme.DARK)
    finally:
        qapp.setProperty("spanscope_color_scheme", kept)
        qapp.setPalette(palette)


def _at(server):
    """The endpoint the dialog names "Ollama", pointed at the test server (as a saved one would be)."""
    from spanscope.core.endpoints.config import Endpoint

    return lambda: Endpoint("Ollama", server.base_url, max_retries=0)
