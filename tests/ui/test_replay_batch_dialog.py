"""Replay with Another Model from the trace list, against a real OpenAI-compatible server on
loopback: the selected traces (or all the list shows) replayed with progress, the failures in plain
text, Cancel storing no half trace, then Compare models with both models checked and the Compare
Traces window on an original and its replay."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QItemSelectionModel, QSettings

from openai_server import Fault, OpenAICompatibleServer
from spanscope.core.endpoints.config import Endpoint, save_endpoints
from spanscope.core.store import connect, import_files
from spanscope.core.store.queries import count_traces
from spanscope.ui.main_window import QtMainWindow
from spanscope.ui.replay_batch_dialog import QtReplayBatchDialog
from spanscope.ui.trace_diff import QtTraceDiffWindow

AGENTS = "openai-agents/travel-desk-openinference.otlp.json"
TRAVEL, SUPPORT = "6644f435383191517b5da4846b6f71d4", "6461179094c7bb691a7bacd3e71e8f45"
MODEL = "local-small"


@pytest.fixture
def server():
    with OpenAICompatibleServer() as server:
        yield server


@pytest.fixture
def store(tmp_path, fixtures_dir) -> Path:
    path = tmp_path / "store.db"
    import_files(path, [fixtures_dir / AGENTS])
    return path


@pytest.fixture
def window(qtbot, tmp_path, store):
    w = QtMainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    w.open_store(store)
    w.show()
    yield w
    w.close()


def _select(window, *trace_ids: str) -> None:
    view, model = window.trace_list.view, window.trace_list.model
    flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
    view.selectionModel().clear()
    for trace_id in trace_ids:
        view.selectionModel().select(model.index(model.row_of(trace_id), 0), flags)


def _dialog(qtbot, window) -> QtReplayBatchDialog:
    window.trace_list.replay_action.trigger()
    dialog = window.findChild(QtReplayBatchDialog)
    assert dialog is not None and dialog.isVisible()
    qtbot.addWidget(dialog)
    return dialog


def _run(qtbot, dialog, endpoint: str, concurrency: int = 2) -> None:
    dialog.endpoint.setCurrentText(endpoint)
    dialog.model.setCurrentText(MODEL)
    dialog.concurrency.setValue(concurrency)
    dialog.run_button.click()
    assert dialog.cancel_button.isEnabled() and not dialog.run_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.run_button.isEnabled(), timeout=20_000)


def test_the_selected_traces_are_replayed_then_compared_by_model_and_step_by_step(qtbot, window, server):
    _select(window, TRAVEL, SUPPORT)
    dialog = _dialog(qtbot, window)
    assert dialog.use_selected.isChecked() and dialog.use_selected.text() == "The selected traces (2)"
    _run(qtbot, dialog, server.base_url)
    assert dialog.status.text().splitlines()[0].endswith(": 2 traces replayed (6 calls)")
    assert dialog.bar.value() == dialog.bar.maximum() == 6
    assert dialog.pairs.count() == 2 and not dialog.failures.isVisible()
    assert dialog.notes.toPlainText().splitlines() == [
        f"trace {SUPPORT}, span {span}: the call used tools but their definitions were not recorded: "
        "sent without tools"
        for span in ("f806605cd6292c39", "111be7657de26862")
    ]
    assert dialog.compare_button.isEnabled() and dialog.diff_button.isEnabled()
    assert count_traces(window.context.db) == 7  # the list shows them: the context was refreshed
    assert window.trace_list.model.rowCount() == 7

    dialog.compare_button.click()
    assert window.tabs.currentWidget() is window.compare
    wanted = {"gpt-4o-2024-08-06", "gpt-4o-mini", MODEL}
    qtbot.waitUntil(lambda: set(window.compare.chosen()) == wanted, timeout=10_000)

    texts = [dialog.pairs.item(row).text() for row in range(dialog.pairs.count())]
    dialog.pairs.setCurrentRow(next(row for row, text in enumerate(texts) if TRAVEL[:12] in text))
    dialog.diff_button.click()
    diff_window = window.findChild(QtTraceDiffWindow)
    qtbot.waitUntil(lambda: diff_window.diff is not None, timeout=10_000)
    assert diff_window.diff.a.trace_id == TRAVEL
    assert [r.change for r in diff_window.diff.rows].count("changed") == 4
    diff_window.close()


def test_failures_are_listed_as_plain_text_and_run_again_retries_them(qtbot, window, server):
    save_endpoints([Endpoint("local <b>test</b>", server.base_url, max_retries=0)])
    server.faults.append(Fault.SERVER_ERROR)
    _select(window, TRAVEL, SUPPORT)
    dialog = _dialog(qtbot, window)
    assert dialog.endpoint.itemText(0) == "local <b>test</b>"
    _run(qtbot, dialog, "local <b>test</b>", concurrency=1)
    # The list shows the newest first, and one call at a time the first call is support_chat's.
    assert "1 trace replayed (4 calls), 1 failed" in dialog.status.text()
    assert dialog.failures.toPlainText().startswith(
        f"trace {SUPPORT}, span f806605cd6292c39: 500 server error from {server.base_url}"
    )
    assert dialog.run_button.text() == "Run again"
    dialog.run_button.click()
    qtbot.waitUntil(lambda: dialog.run_button.isEnabled(), timeout=20_000)
    assert "1 trace replayed (2 calls), 1 replayed before in this run" in dialog.status.text()
    assert not dialog.failures.isVisible()


def test_cancel_stores_no_half_trace(qtbot, window, server, store):
    server.delay_s = 0.5
    _select(window, TRAVEL)
    dialog = _dialog(qtbot, window)
    dialog.endpoint.setCurrentText(server.base_url)
    dialog.model.setCurrentText(MODEL)
    dialog.run_button.click()
    qtbot.waitUntil(lambda: len(server.requests) >= 1, timeout=10_000)
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: dialog.run_button.isEnabled(), timeout=10_000)
    assert "Cancelled: the traces whose calls all answered are stored" in dialog.status.text()
    assert count_traces(connect(store, readonly=True)) == 5 and not dialog.pairs.isVisible()


def test_all_traces_the_list_shows_and_a_refused_key(qtbot, window, monkeypatch):
    window.trace_list.search.setText("support_chat")
    window.trace_list._apply_filter()
    _select(window)
    dialog = _dialog(qtbot, window)
    assert not dialog.use_selected.isEnabled() and dialog.use_listed.isChecked()
    assert dialog.use_listed.text() == "All traces the trace list shows (2)"
    monkeypatch.setenv("SPANSCOPE_API_KEY", "sk-wrong")
    with OpenAICompatibleServer(api_key="sk-right") as locked:
        _run(qtbot, dialog, locked.base_url)
    assert "Stopped: 401 from" in dialog.status.text() and "sk-wrong" not in dialog.status.text()
    assert not dialog.compare_button.isEnabled()
    with OpenAICompatibleServer() as server:
        _run(qtbot, dialog, server.base_url)
        assert dialog.status.text().splitlines()[0].endswith(": 2 traces replayed (3 calls)")
        assert window.trace_list.model.rowCount() == 4  # the replays are support_chat traces too
        dialog.run_button.click()  # the same run: its replays are left out, its traces are done
        qtbot.waitUntil(lambda: dialog.run_button.isEnabled(), timeout=20_000)
        assert ": 0 traces replayed (0 calls), 2 replayed before in this run" in dialog.status.text()
        assert len(server.requests) == 3


def test_list_models_fills_the_model_choice_or_says_why_it_cannot(qtbot, window, server):
    _select(window, TRAVEL)
    dialog = _dialog(qtbot, window)
    dialog.endpoint.setCurrentText(server.base_url)
    dialog.list_button.click()
    qtbot.waitUntil(lambda: dialog.model.count() == 3, timeout=10_000)
    assert [dialog.model.itemText(i) for i in range(3)] == ["judge-model", "local-large", "local-small"]
    assert dialog.model.currentText() == "judge-model" and dialog.status.text() == "3 models offered"
    dialog.endpoint.setCurrentText("http://127.0.0.1:9/v1")
    dialog.list_button.click()
    qtbot.waitUntil(lambda: dialog.list_button.isEnabled(), timeout=20_000)
    assert dialog.status.text().startswith("cannot reach http://127.0.0.1:9/v1 while listing its models")
