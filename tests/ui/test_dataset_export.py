"""Export Dataset in the app: from the span tree's selected span and from the File menu (the current
trace, the Search tab's query), counted, written on a worker, the result said; expected lines come
from core's own export of the same selection."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from spanscope.core.datasets.export import Request, write_dataset
from spanscope.core.datasets.records import Link
from spanscope.core.datasets.selection import Selection
from spanscope.core.model import Kind
from spanscope.core.store import connect, import_file
from spanscope.core.store.queries import iter_priced_spans, list_traces
from spanscope.ui.context import QtTraceContext
from spanscope.ui.dataset_export import QtDatasetExportDialog, span_choices, window_choices
from spanscope.ui.main_window import QtMainWindow
from spanscope.ui.span_tree import QtSpanTreePanel
from spanscope.ui.style import ColorScheme, apply_color_scheme

WAIT_MS = 20_000
INSPECT = "inspect-eval/2026-11-27T04-30-04-00-00_fixture-qa_6TRE8QQmdqaAmyCnqo4jPc.json"


@pytest.fixture
def store(fixtures_dir, tmp_path) -> Path:
    path = tmp_path / "store.db"
    import_file(path, fixtures_dir / INSPECT)
    return path


@pytest.fixture
def ctx(qtbot, store):
    context = QtTraceContext()
    context.open_store(store)
    yield context
    context.close_store()


def first_trace(store: Path) -> str:
    return list_traces(connect(store, readonly=True), limit=1)[0].trace_id


def llm_spans(store: Path, trace_id: str) -> list:
    return [s for s, _ in iter_priced_spans(connect(store, readonly=True), trace_id) if s.kind is Kind.LLM]


def core_lines(store: Path, selection: Selection, fmt: str) -> list[dict]:
    out = io.BytesIO()
    link = Link(str(store), ("--db", str(store)))
    write_dataset(connect(store, readonly=True), Request(selection, fmt, link), out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def open_dialog(qtbot, ctx, choices) -> QtDatasetExportDialog:
    dialog = QtDatasetExportDialog(ctx, choices)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(
        lambda: "span" in dialog.count_label.text() and "Counting" not in dialog.count_label.text()
    )
    return dialog


def export(qtbot, dialog: QtDatasetExportDialog, path: Path, fmt: str) -> None:
    dialog.format.setCurrentIndex(dialog.format.findData(fmt))
    dialog.path.setText(str(path))
    with qtbot.waitSignal(dialog.writer.finished, timeout=WAIT_MS):
        dialog.export_button.click()


def test_the_span_trees_selected_span_is_exported(qtbot, ctx, store, tmp_path):
    trace_id = first_trace(store)
    call = llm_spans(store, trace_id)[0]
    tree = QtSpanTreePanel(ctx)
    qtbot.addWidget(tree)
    ctx.select_trace(trace_id)
    ctx.select_span(call.span_id)
    qtbot.waitUntil(lambda: tree.current_span_id() == call.span_id)
    [action] = [a for a in tree.view.actions() if a.text() == "Export as Dataset…"]
    action.trigger()
    [dialog] = [
        w for w in QApplication.topLevelWidgets() if isinstance(w, QtDatasetExportDialog) and w.isVisible()
    ]
    qtbot.addWidget(dialog)
    assert dialog.spans.currentText() == f"The selected span ({call.name})"
    qtbot.waitUntil(lambda: dialog.count_label.text() == "1 span")
    out = tmp_path / "one.jsonl"
    export(qtbot, dialog, out, "jsonl")
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines == core_lines(store, span_choices(trace_id, call.span_id, None)[0].selection, "jsonl")
    assert [line["link"]["span_id"] for line in lines] == [call.span_id]
    assert dialog.message.text() == f"1 record, written to {out}."
    dialog.close()


def test_the_file_menu_exports_the_current_traces_calls_for_inspect(qtbot, ctx, store, tmp_path):
    trace_id = first_trace(store)
    calls = llm_spans(store, trace_id)
    choices = window_choices(trace_id, "")
    assert [c.label for c in choices] == [
        "The model calls of the current trace",
        "Every model call of the store",
    ]
    dialog = open_dialog(qtbot, ctx, choices)
    assert dialog.count_label.text() == f"{len(calls)} span{'s' if len(calls) > 1 else ''}"
    out = tmp_path / "inspect.jsonl"
    export(qtbot, dialog, out, "inspect")
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines == core_lines(store, Selection(traces=(trace_id,)), "inspect")
    assert {line["metadata"]["link"]["span_id"] for line in lines} == {c.span_id for c in calls}


def test_a_search_that_finds_nothing_says_so_and_writes_nothing(qtbot, ctx, tmp_path):
    choices = window_choices(None, "zzzqqqnothing")
    dialog = open_dialog(qtbot, ctx, choices)
    assert dialog.spans.currentText() == "The spans the search “zzzqqqnothing” finds"
    assert dialog.count_label.text() == "0 spans"
    out = tmp_path / "none.jsonl"
    export(qtbot, dialog, out, "openai-evals")
    assert not out.exists()
    assert dialog.message.text() == "No records: the choice holds no span. The file was not written."


def test_a_bad_query_is_explained_in_place(qtbot, ctx):
    dialog = QtDatasetExportDialog(ctx, window_choices(None, '"unclosed'))
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: "quote is not closed" in dialog.count_label.text(), timeout=WAIT_MS)


def test_no_file_chosen_is_asked_for(qtbot, ctx, store):
    dialog = open_dialog(qtbot, ctx, window_choices(first_trace(store), ""))
    dialog.export_button.click()
    assert dialog.message.text() == "Choose a file to write the dataset to."
    assert not dialog.writer.busy


def test_the_file_menu_offers_the_current_trace_and_search(qtbot, store, tmp_path):
    window = QtMainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    trace_id = first_trace(store)
    window.context.open_store(store)
    window.context.select_trace(trace_id)
    window.search.query.setText("capital")
    file_menu = window.menuBar().actions()[0].menu()
    [action] = [a for a in file_menu.actions() if a.text() == "Export &Dataset…"]
    action.trigger()
    [dialog] = [
        w for w in QApplication.topLevelWidgets() if isinstance(w, QtDatasetExportDialog) and w.isVisible()
    ]
    qtbot.addWidget(dialog)
    labels = [dialog.spans.itemText(i) for i in range(dialog.spans.count())]
    assert labels == [
        "The model calls of the current trace",
        "The spans the search “capital” finds",
        "Every model call of the store",
    ]
    assert dialog.spans.currentData().selection == Selection(traces=(trace_id,))
    dialog.close()
    window.close()


@pytest.mark.parametrize("scheme", [ColorScheme.LIGHT, ColorScheme.DARK])
def test_the_dialog_renders(qtbot, qapp, ctx, store, tmp_path, scheme):
    """Rendered after an export, light and dark, for a person to look at (SPANSCOPE_SHOTS=folder)."""
    import os

    apply_color_scheme(qapp, scheme)
    try:
        dialog = open_dialog(qtbot, ctx, window_choices(first_trace(store), "capital"))
        export(qtbot, dialog, tmp_path / "shot.jsonl", "inspect")
        image = dialog.grab()
        assert image.width() >= 500 and dialog.message.text().endswith(
            f"written to {tmp_path / 'shot.jsonl'}."
        )
        if folder := os.environ.get("SPANSCOPE_SHOTS"):
            image.save(str(Path(folder) / f"dataset-export-{scheme.value}.png"))
    finally:
        apply_color_scheme(qapp, ColorScheme.LIGHT)
