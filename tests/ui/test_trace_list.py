"""The trace list panel: a sound model, header sorting, filters, selection in both directions, refresh."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter

import pytest
from PySide6.QtCore import QPoint, QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication
from tooltips import shown_text

from spanscope.core.store import Outcome, connect, import_file
from spanscope.core.store.queries import TRACE_COLUMNS, list_traces
from spanscope.ui.column_choice import AUTOMATIC_TEXT
from spanscope.ui.context import QtTraceContext
from spanscope.ui.costs import prices
from spanscope.ui.style import ERROR_COLOR
from spanscope.ui.trace_list import COLUMNS_KEY, QtTraceListPanel
from spanscope.ui.trace_list_model import COLUMNS, TRACE_ID_ROLE, QtTraceListModel

_INSERT = (
    f"INSERT OR REPLACE INTO traces ({', '.join(TRACE_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(TRACE_COLUMNS))})"
)


def column(key: str) -> int:
    return next(i for i, c in enumerate(COLUMNS) if c.key == key)


@pytest.fixture
def panel(qtbot, context):
    widget = QtTraceListPanel(context)
    qtbot.addWidget(widget)
    widget.resize(1000, 400)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    context.unregister(widget)


def shown(panel, key: str) -> list:
    """The values of traces-table column `key` in display order."""
    traces = [panel.model.trace_at(row) for row in range(panel.model.rowCount())]
    return [getattr(t, key) for t in traces]


def click_header(qtbot, panel, section: int) -> None:
    header = panel.view.horizontalHeader()
    x = header.sectionViewportPosition(section) + header.sectionSize(section) // 2
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, header.height() // 2))


def click_row(qtbot, panel, row: int) -> None:
    rect = panel.view.visualRect(panel.model.index(row, column("root_name")))
    qtbot.mouseClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_model_passes_the_model_tester(qtmodeltester, context):
    model = QtTraceListModel()
    model.set_db(context.db)
    qtmodeltester.check(model)
    model.sort(column("duration_ns"), Qt.SortOrder.AscendingOrder)
    qtmodeltester.check(model)


def test_cells_read_like_the_cli(context):
    model = QtTraceListModel()
    model.set_db(context.db)
    newest = list_traces(context.db, order_by="start_ns", descending=True)[0]
    text = [model.index(0, c).data() for c in range(len(COLUMNS))]
    assert text[column("root_name")] == "invoke_agent destination_researcher"
    assert text[column("duration_ns")] == "1 min 49 s"
    assert text[column("input_tokens")] == "36,325"
    # The same figure as the span tree's root, which prices each span (tested there against the package).
    root = context.trace_tree(newest.trace_id).roots[0]
    assert (
        text[column("cost_usd")]
        == prices().tree_costs(context.trace_tree(newest.trace_id)).subtree(root).text
    )
    assert text[column("cost_usd")] == "~$0.0667"
    tip = model.index(0, column("cost_usd")).data(Qt.ItemDataRole.ToolTipRole)
    assert "computed with anthropic/claude-sonnet-4-5 prices of" in tip
    assert model.index(0, 0).data(TRACE_ID_ROLE) == newest.trace_id == model.trace_id_at(0)
    errors = model.index(0, column("error_count"))
    assert errors.data(Qt.ItemDataRole.ForegroundRole).name() == ERROR_COLOR
    assert errors.data(Qt.ItemDataRole.TextAlignmentRole) & Qt.AlignmentFlag.AlignRight
    assert shown_text(
        model.index(0, column("models")).data(Qt.ItemDataRole.ToolTipRole)
    ).splitlines() == list(newest.models)


def test_a_call_without_a_price_is_marked_never_a_silent_zero(context):
    model = QtTraceListModel()
    model.set_db(context.db)
    row = next(r for r in range(model.rowCount()) if model.trace_at(r).cost_unknown)
    trace = model.trace_at(row)
    assert (trace.root_name, trace.cost_computed, trace.cost_unknown) == ("triage_ticket", 1, 1)
    assert model.index(row, column("cost_usd")).data() == "~$0.00106 +?"
    tip = model.index(row, column("cost_usd")).data(Qt.ItemDataRole.ToolTipRole)
    assert "1 call of gpt-4o: unknown: no token counts" in tip  # failed: charged to the model it asked for


def test_newest_first_with_a_count(panel):
    starts = shown(panel, "start_ns")
    assert starts == sorted(starts, reverse=True)
    assert panel.count_label.text() == "7 traces"


def test_clicking_headers_sorts(qtbot, panel):
    click_header(qtbot, panel, column("duration_ns"))
    durations = shown(panel, "duration_ns")
    assert durations == sorted(durations, reverse=True)  # numbers: largest first
    click_header(qtbot, panel, column("duration_ns"))
    assert shown(panel, "duration_ns") == sorted(durations)
    click_header(qtbot, panel, column("root_name"))
    names = shown(panel, "root_name")
    assert names == sorted(names)  # text: A to Z
    assert names[0] == "answer_question"


def test_text_filter(qtbot, panel):
    qtbot.keyClicks(panel.search, "support_turn")
    qtbot.waitUntil(lambda: panel.model.rowCount() == 3)
    assert set(shown(panel, "root_name")) == {"support_turn"}
    assert panel.count_label.text() == "3 of 7 traces"
    panel.search.clear()
    qtbot.waitUntil(lambda: panel.model.rowCount() == 7)
    assert panel.count_label.text() == "7 traces"


def test_errors_only(panel):
    panel.errors_only.setChecked(True)
    assert sorted(shown(panel, "error_count")) == [1, 2, 2]
    assert panel.count_label.text() == "3 of 7 traces"


def test_model_filter(panel):
    assert panel.model_choice.currentText() == "All models"
    panel.model_choice.setCurrentIndex(panel.model_choice.findData("gpt-4o-2024-08-06"))
    assert shown(panel, "root_name") == ["triage_ticket", "support_turn"]


def test_time_range_counts_back_from_the_newest_trace(panel):
    panel.time_choice.setCurrentIndex(panel.time_choice.findText("Last hour"))
    assert shown(panel, "root_name") == ["invoke_agent destination_researcher", "triage_ticket"]
    panel.time_choice.setCurrentIndex(panel.time_choice.findText("Any time"))
    assert panel.model.rowCount() == 7


def test_clicks_and_arrow_keys_make_a_trace_current(qtbot, panel, context):
    click_row(qtbot, panel, 2)
    assert context.trace_id == panel.model.trace_id_at(2)
    qtbot.keyClick(panel.view, Qt.Key.Key_Down)
    assert context.trace_id == panel.model.trace_id_at(3)
    qtbot.keyClick(panel.view, Qt.Key.Key_Up)
    qtbot.keyClick(panel.view, Qt.Key.Key_Up)
    assert context.trace_id == panel.model.trace_id_at(1)


def test_typing_in_the_table_filters_instead_of_scanning_rows(qtbot, panel):
    panel.view.setFocus()
    qtbot.keyClicks(panel.view, "t")
    assert panel.search.text() == "t"
    assert panel.search.hasFocus()
    qtbot.keyClicks(panel.search, "riage")
    qtbot.waitUntil(lambda: panel.model.rowCount() == 1)


def test_a_trace_made_current_elsewhere_is_selected_once(panel, context):
    changes = []
    context.trace_changed.connect(changes.append)
    wanted = panel.model.trace_id_at(4)
    context.select_trace(wanted)
    assert panel.view.selectionModel().currentIndex().row() == 4
    assert panel.current_trace_id() == wanted
    assert changes == [wanted]


def test_sorting_and_filtering_keep_the_current_trace(qtbot, panel, context):
    click_row(qtbot, panel, 0)
    current = context.trace_id
    click_header(qtbot, panel, column("span_count"))
    assert panel.current_trace_id() == current
    panel.errors_only.setChecked(True)
    assert panel.current_trace_id() == current
    panel.model_choice.setCurrentIndex(panel.model_choice.findData("gemini-2.5-flash"))
    assert panel.current_trace_id() is None
    assert context.trace_id == current  # hidden by the filter, still current for the other panels
    panel.model_choice.setCurrentIndex(0)
    assert panel.current_trace_id() == current


def synthetic(i: int, start_ns: int) -> tuple:
    row = dict.fromkeys(TRACE_COLUMNS)
    row.update(trace_id=f"{i:032x}", root_name=f"bulk {i}", start_ns=start_ns, span_count=1, error_count=0)
    return tuple(row[c] for c in TRACE_COLUMNS)


def write(store, rows) -> None:
    db = connect(store)
    with db.conn:
        db.conn.execute("BEGIN")
        db.conn.executemany(_INSERT, rows)
    db.conn.close()


def test_new_traces_do_not_move_the_list(qtbot, panel, context, demo_store):
    first = min(t.start_ns for t in list_traces(context.db))
    write(demo_store, [synthetic(i, first - 1_000_000 * i) for i in range(1, 301)])
    context.refresh()
    assert panel.model.rowCount() == 307
    scroll_bar = panel.view.verticalScrollBar()
    scroll_bar.setValue(100)
    click_row(qtbot, panel, 105)
    top, current = panel.model.trace_id_at(100), context.trace_id
    # Newer traces arrive on top, and the current trace is rewritten (so it gets a new rowid).
    newest = max(t.start_ns for t in list_traces(context.db))
    write(demo_store, [synthetic(1000 + i, newest + i) for i in range(1, 51)])
    write(demo_store, [synthetic(int(current, 16), panel.model.trace_at(105).start_ns)])
    context.refresh()
    assert panel.model.rowCount() == 357
    assert scroll_bar.value() == 150
    assert panel.model.trace_id_at(150) == top
    assert panel.view.currentIndex().row() == 155
    assert panel.current_trace_id() == current == context.trace_id


def test_closing_the_store_empties_the_list(panel, context):
    context.close_store()
    assert panel.model.rowCount() == 0
    assert panel.count_label.text() == ""


def raw_projects(fixtures_dir) -> Counter[str]:
    """Traces per Phoenix project, MLflow experiment and OTel service.name, read from the raw files."""
    counts: Counter[str] = Counter()
    for path, sql in (
        (
            "phoenix-sqlite/phoenix.db",
            "SELECT p.name FROM projects p JOIN traces t ON t.project_rowid = p.id",
        ),
        (
            "mlflow-sqlite/mlflow.db",
            "SELECT e.name FROM experiments e JOIN trace_info t ON t.experiment_id = e.experiment_id",
        ),
    ):
        raw = sqlite3.connect(f"file:{fixtures_dir / path}?mode=ro", uri=True)
        counts.update(name for (name,) in raw.execute(sql))
        raw.close()
    otlp = json.loads((fixtures_dir / OTLP_FILE).read_text())
    for resource_spans in otlp["resourceSpans"]:
        attributes = {a["key"]: a["value"] for a in resource_spans["resource"]["attributes"]}
        service = attributes["service.name"]["stringValue"]
        traces = {s["traceId"] for scope in resource_spans["scopeSpans"] for s in scope["spans"]}
        counts[service] += len(traces)
    return counts


OTLP_FILE = "openinference-openai/chain-and-session.otlp.json"


def test_a_project_column_and_filter_keep_projects_experiments_and_services_apart(
    qtbot, tmp_path, fixtures_dir
):
    expected = raw_projects(fixtures_dir)
    store = tmp_path / "store.db"
    for name in ("phoenix-sqlite/phoenix.db", "mlflow-sqlite/mlflow.db", OTLP_FILE):
        assert import_file(store, fixtures_dir / name).outcome is Outcome.IMPORTED
    context = QtTraceContext()
    context.open_store(store)
    panel = QtTraceListPanel(context)
    qtbot.addWidget(panel)
    panel.show()
    choice, total = panel.project_choice, sum(expected.values())
    assert choice.isVisible() and [choice.itemText(i) for i in range(choice.count())] == [
        "All projects",
        *sorted(expected),
    ]
    assert panel.model.rowCount() == total
    project = column("service")
    assert not panel.view.isColumnHidden(project)
    for name, count in expected.items():
        choice.setCurrentIndex(choice.findData(name))
        assert panel.model.rowCount() == count
        assert {panel.model.index(row, project).data() for row in range(count)} == {name}
        assert panel.count_label.text() == f"{count} of {total} traces"
    choice.setCurrentIndex(0)
    assert panel.model.rowCount() == total
    # Columns no trace fills leave their room to the others; the rest are shown.
    traces = list_traces(context.db)
    for i, c in enumerate(COLUMNS):
        filled = any(getattr(t, c.key, None) for t in traces)
        assert panel.view.isColumnHidden(i) == (c.optional and not filled), c.title
    context.unregister(panel)
    context.close_store()


def test_columns_fit_the_view_and_never_go_below_their_least(panel):
    """Wide enough, every shown column gets at least what its content wants and Name the rest;
    too narrow, columns give up width down to their least and the list scrolls sideways."""
    header = panel.view.horizontalHeader()
    shown = [i for i in range(header.count()) if not header.isSectionHidden(i)]
    least = panel.fitter.least
    for width in (2400, 1280, 700, 300):
        panel.resize(width, 400)
        QApplication.processEvents()
        sizes = {i: header.sectionSize(i) for i in shown}
        assert all(sizes[i] >= least[i] > 0 for i in shown), (width, sizes)
        name = column("root_name")
        texts = [panel.model.index(r, name).data() for r in range(panel.model.rowCount())]
        needed = max(map(panel.view.fontMetrics().horizontalAdvance, texts))
        if sum(least[i] for i in shown) < panel.view.viewport().width():
            assert sum(sizes.values()) <= panel.view.viewport().width()
        if width >= 1280:
            assert sizes[name] > needed, "the demo's names show whole"


def automatically_hidden(db) -> set[int]:
    """The optional columns no trace of `db` fills, read from the traces themselves."""
    traces = list_traces(db)
    # The Server column is filled from remote_traces, which no trace of these stores is in.
    return {i for i, c in enumerate(COLUMNS) if c.optional and not any(getattr(t, c.key, "") for t in traces)}


def column_panel(qtbot, context, settings) -> QtTraceListPanel:
    widget = QtTraceListPanel(context, settings=settings)
    qtbot.addWidget(widget)
    widget.resize(1400, 400)
    widget.show()
    return widget


def menu_actions(panel) -> dict:
    """The header menu's column checkboxes by title, and its way back to automatic."""
    return {a.text(): a for a in panel.columns.menu().actions() if a.text()}


def test_the_header_menu_shows_a_hidden_column_and_hides_another_remembered(qtbot, context, tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    panel = column_panel(qtbot, context, settings)
    view, empty = panel.view, automatically_hidden(context.db)
    assert empty, "the demo leaves a column empty"
    assert {i for i in range(len(COLUMNS)) if view.isColumnHidden(i)} == empty
    popups = []

    def look_and_close() -> None:
        popups.append(QApplication.activePopupWidget())
        popups[-1].close()

    QTimer.singleShot(0, look_and_close)  # right-click on the header: its menu opens there
    view.horizontalHeader().customContextMenuRequested.emit(QPoint(5, 5))
    assert [a.text() for a in popups[0].actions() if a.isCheckable()] == [
        c.title for c in COLUMNS if c.key != "root_name"
    ]
    actions = menu_actions(panel)
    assert "Name" not in actions  # the column that takes the spare width stays
    assert not actions[AUTOMATIC_TEXT].isEnabled()
    assert {t for t, a in actions.items() if a.isCheckable() and not a.isChecked()} == {
        COLUMNS[i].title for i in empty
    }
    brought_back, session = min(empty), column("session_id")
    actions[COLUMNS[brought_back].title].setChecked(True)
    menu_actions(panel)["Session"].setChecked(False)
    assert not view.isColumnHidden(brought_back) and view.columnWidth(brought_back) > 0
    assert view.isColumnHidden(session)
    context.unregister(panel)

    again = column_panel(qtbot, context, settings)  # as the app opens next time
    assert not again.view.isColumnHidden(brought_back) and again.view.isColumnHidden(session)
    actions = menu_actions(again)
    assert actions[COLUMNS[brought_back].title].isChecked() and not actions["Session"].isChecked()
    actions[AUTOMATIC_TEXT].trigger()
    assert {i for i in range(len(COLUMNS)) if again.view.isColumnHidden(i)} == empty
    context.unregister(again)
    settings.sync()
    assert json.loads(QSettings(settings.fileName(), QSettings.Format.IniFormat).value(COLUMNS_KEY)) == {}


#: Remembered columns a hand or an older version could leave: cut short, unknown values and keys, a list.
UNREADABLE = ['{"session_id": "hidden"', '{"session_id": "sideways", "x": "hidden"}', "[1]"]


@pytest.mark.parametrize("saved", UNREADABLE)
def test_unreadable_remembered_columns_count_as_no_choice(qtbot, context, tmp_path, saved):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue(COLUMNS_KEY, saved)
    panel = column_panel(qtbot, context, settings)
    hidden = {i for i in range(len(COLUMNS)) if panel.view.isColumnHidden(i)}
    assert hidden == automatically_hidden(context.db)
    context.unregister(panel)
