"""Reference metrics in the app: per model in the Compare models tab (and its CSV), per span in the
Scores tab, and a file of reference answers attached from the Review menu. Expected figures come from
core.reference_metrics run here on the same store, independently of the app."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from otlp import write_jsonl
from spanscope.core.analysis.model_comparison import REFERENCE_COLUMNS
from spanscope.core.evaluation.reference_metrics import load_references, metric_texts, reference_metrics
from spanscope.core.store import connect, import_files
from spanscope.ui.context import QtTraceContext
from spanscope.ui.dashboard.compare_tab import QtCompareTab
from spanscope.ui.detail import QtDetailPanel
from spanscope.ui.reference_answers import attach_file, reference_answers

WAIT_MS = 20_000
INSPECT = "inspect-eval/2026-11-27T04-29-52-00-00_fixture-qa_SnEVxhayFbrkpvjoomYVL3.eval"
OTHER = "otel-genai/latest-experimental-span-content.otlp.jsonl"
INSPECT_MODEL = "gpt-4o-mini"


@pytest.fixture
def store(fixtures_dir, tmp_path):
    """The Inspect log (5 samples with targets, gpt-4o-mini) and an OpenTelemetry GenAI capture
    (other models, no references)."""
    path = tmp_path / "store.db"
    import_files(path, [fixtures_dir / INSPECT, fixtures_dir / OTHER])
    return path


@pytest.fixture
def ctx(qtbot, store):
    context = QtTraceContext()
    context.open_store(store)
    yield context
    context.close_store()


def expected_means(store, entries=()):
    db = connect(store, readonly=True)
    try:
        return {g.model: g for g in reference_metrics(db, entries).by_model()}
    finally:
        db.conn.close()


def other_call(store) -> tuple[str, str, str]:
    """(trace id, span id, model) of a model call not to gpt-4o-mini."""
    db = connect(store, readonly=True)
    try:
        return db.execute(
            "SELECT trace_id, span_id, model FROM spans WHERE counted = 1 AND model != ? ORDER BY id",
            [INSPECT_MODEL],
        ).fetchone()
    finally:
        db.conn.close()


@pytest.fixture
def compare(qtbot, ctx, store):
    tab = QtCompareTab(ctx)
    qtbot.addWidget(tab)
    tab.resize(1400, 900)
    with qtbot.waitSignal(tab.references_read, timeout=WAIT_MS):
        tab.show()
    qtbot.waitUntil(lambda: tab.models.count() > 0, timeout=WAIT_MS)
    with qtbot.waitSignal(tab.drawn, timeout=WAIT_MS):
        tab.set_chosen([INSPECT_MODEL, other_call(store)[2]])
    return tab


def column(tab: QtCompareTab, model: str) -> dict[str, str]:
    """The table's cells of one model by row label."""
    c = next(i for i in range(tab.table.columnCount()) if tab.table.horizontalHeaderItem(i).text() == model)
    return {
        tab.table.verticalHeaderItem(r).text(): tab.table.item(r, c).text()
        for r in range(tab.table.rowCount())
    }


def csv_rows(tab: QtCompareTab) -> dict[str, dict[str, object]]:
    table = tab.bars["calls"].table
    return {row[0]: dict(zip(table.header, row, strict=True)) for row in table.rows}


REFERENCE_ROWS = ["Reference: spans scored", *(f"Reference: {h}" for _, h in REFERENCE_COLUMNS)]


def test_compare_tab_gives_each_models_reference_means(store, compare):
    means = expected_means(store)
    assert set(means) == {INSPECT_MODEL} and means[INSPECT_MODEL].spans == 5
    inspect, other = compare.chosen()
    shown = column(compare, inspect)
    assert [shown[label] for label in REFERENCE_ROWS] == ["5", *metric_texts(means[INSPECT_MODEL].scores)]
    assert [column(compare, other)[label] for label in REFERENCE_ROWS] == ["0", *["no reference"] * 4]
    assert "reference metrics over 5 spans with a reference answer" in compare.status.text()
    rows = csv_rows(compare)
    for field, header in REFERENCE_COLUMNS:
        assert rows[inspect][header] == pytest.approx(getattr(means[INSPECT_MODEL].scores, field))
        assert rows[other][header] is None
    assert (rows[inspect]["spans with a reference"], rows[other]["spans with a reference"]) == (5, 0)
    tip = compare.table.verticalHeaderItem(compare.table.rowCount() - 1).toolTip()
    assert "not a human score" in tip


def test_the_filter_narrows_the_reference_means(qtbot, store, compare):
    q1 = inspect_sample(store, "q1")
    with qtbot.waitSignal(compare.references_read, timeout=WAIT_MS):
        compare.filter_bar.trace_name.setText("q1 epoch")
    found = compare._references
    assert found.spans == 1 and found.by_model[INSPECT_MODEL].scores == q1.scores


def test_no_reference_rows_for_a_store_without_references(qtbot, context):
    tab = QtCompareTab(context)  # the demo store: no Inspect log, no expectations
    qtbot.addWidget(tab)
    with qtbot.waitSignal(tab.references_read, timeout=WAIT_MS):
        tab.show()
    qtbot.waitUntil(lambda: tab.table.rowCount() > 0, timeout=WAIT_MS)
    labels = [tab.table.verticalHeaderItem(r).text() for r in range(tab.table.rowCount())]
    assert not any(label.startswith("Reference") for label in labels)
    assert "spans with a reference" not in tab.bars["calls"].table.header


def test_attaching_a_file_scores_another_model_and_is_remembered(qtbot, tmp_path, ctx, store, compare):
    trace_id, span_id, model = other_call(store)
    refs = tmp_path / "refs.jsonl"
    write_jsonl(refs, {"trace_id": trace_id, "span_id": span_id, "expected": "Sunny and 22 degrees"})
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    holder = reference_answers(ctx)
    holder.use_settings(settings)
    window = QWidget()
    qtbot.addWidget(window)
    with qtbot.waitSignal(compare.references_read, timeout=WAIT_MS):
        assert attach_file(window, holder, refs)
    # The comparison, started with the metrics, may be drawn after them.
    qtbot.waitUntil(lambda: "(with refs.jsonl)" in compare.status.text(), timeout=WAIT_MS)
    means = expected_means(store, load_references(refs))
    assert means[model].spans == 1
    assert [column(compare, model)[label] for label in REFERENCE_ROWS] == [
        "1",
        *metric_texts(means[model].scores),
    ]
    # reopening the store attaches the file again
    ctx.close_store()
    assert holder.path is None
    ctx.open_store(store)
    assert holder.path == refs and len(holder.entries) == 1


def test_a_bad_file_is_explained_with_its_line_and_changes_nothing(qtbot, tmp_path, ctx, monkeypatch):
    good, bad = tmp_path / "good.jsonl", tmp_path / "bad.jsonl"
    write_jsonl(good, {"input": "q", "expected": "a"})
    bad.write_text('{"input": "q", "expected": "a"}\n{"input": "q"}\n')
    holder = reference_answers(ctx)
    window = QWidget()
    qtbot.addWidget(window)
    assert attach_file(window, holder, good)
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: shown.append(text))
    assert not attach_file(window, holder, bad)
    (text,) = shown
    assert f"{bad}, line 2" in text and '"expected" must be a text or a list of texts' in text
    assert holder.path == good and len(holder.entries) == 1
    assert not attach_file(window, holder, tmp_path / "missing.jsonl")
    assert "missing.jsonl" in shown[-1] and holder.path == good


def inspect_sample(store, sample: str):
    db = connect(store, readonly=True)
    try:
        return next(m for m in reference_metrics(db).spans if m.span_id == f"{sample}_epoch_1")
    finally:
        db.conn.close()


def select(qtbot, panel: QtDetailPanel, trace_id: str, span_id: str) -> None:
    panel.context.select_trace(trace_id)
    panel.context.select_span(span_id)
    qtbot.waitUntil(lambda: panel.span is not None and panel.span.span_id == span_id)


def shown(panel: QtDetailPanel) -> str:
    return panel.scores.text().replace("\xa0", " ")


def test_scores_tab_shows_the_reference_and_its_metrics(qtbot, ctx, store, tmp_path):
    panel = QtDetailPanel(ctx)
    qtbot.addWidget(panel)
    panel.show()
    q1 = inspect_sample(store, "q1")
    select(qtbot, panel, q1.trace_id, q1.span_id)
    text = shown(panel)
    assert "Automatic metrics against a reference answer" in text
    assert "computed from the output, not a human score · reference from inspect target" in text
    exact, f1, rouge, bleu = metric_texts(q1.scores)
    assert f"exact match {exact}  ·  token F1 {f1}  ·  ROUGE-L {rouge}  ·  BLEU {bleu}" in text
    assert q1.reference.expected == ("Paris",) and "Expected:\nParis" in text
    assert panel.tabs.tabText(4).endswith("+ metrics")
    # the sample's human/evaluator scores stay below, under their own heading
    assert text.index("Scores") > text.index("Automatic metrics")
    # an attached file's answer replaces the source's, and the tab follows at once
    refs = tmp_path / "refs.jsonl"
    write_jsonl(refs, {"trace_id": q1.trace_id, "expected": ["Lyon", q1.output]})
    attach_file(QWidget(), reference_answers(ctx), refs)
    text = shown(panel)
    assert "reference from refs.jsonl:1" in text and "exact match 1.00" in text
    assert "Expected answers (the best match counts):\nLyon" in text
    # a span without a reference has no metrics
    trace_id, span_id, _ = other_call(store)
    select(qtbot, panel, trace_id, span_id)
    assert "Automatic metrics" not in shown(panel)
    assert not panel.tabs.tabText(4).endswith("+ metrics")


def test_the_review_menu_attaches_a_file(qtbot, tmp_path, store, monkeypatch):
    from spanscope.ui.main_window import QtMainWindow

    window = QtMainWindow(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    action = next(a for a in window.review.menu.actions() if "ference Answers" in a.text())
    told = []
    monkeypatch.setattr(QMessageBox, "information", lambda parent, title, text: told.append(text))
    action.trigger()
    assert told and "Open a store first" in told[0]
    window.open_store(store)
    refs = tmp_path / "refs.jsonl"
    write_jsonl(refs, {"input": "What is the capital of France?", "expected": "Paris"})
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args: (str(refs), ""))
    action.trigger()
    assert reference_answers(window.context).path == refs
    assert "1 reference answers from refs.jsonl attached" in window.statusBar().currentMessage()
    # with a file attached, the action offers another file or detaching it
    other = tmp_path / "other.jsonl"
    write_jsonl(other, {"input": "q", "expected": "a"})
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args: (str(other), ""))
    answer(monkeypatch, "Attach Another…")
    action.trigger()
    assert reference_answers(window.context).path == other
    answer(monkeypatch, "Detach")
    action.trigger()
    assert reference_answers(window.context).path is None
    window.context.close_store()
    window.open_store(store)
    assert reference_answers(window.context).path is None  # forgotten for this store
    window.close()


def answer(monkeypatch, button: str) -> None:
    """Make the next message box answer as if `button` were clicked."""

    def click(box: QMessageBox) -> int:
        next(b for b in box.buttons() if b.text() == button).click()
        return 0

    monkeypatch.setattr(QMessageBox, "exec", click)
