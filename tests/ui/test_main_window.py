"""The whole window driven as a user would: open, import, select, see every panel follow."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QFileDialog

from capture_folders import bodies, capture_folder, raw_trace_ids
from old_stores import before_computed_costs
from otlp import llm, request, write_jsonl
from spanscope.core.resources import demo_traces
from spanscope.core.store import FileResult, Outcome, connect, import_file
from spanscope.core.store.queries import list_traces
from spanscope.ui.app import prepare_window
from spanscope.ui.context import View
from spanscope.ui.costs import prices
from spanscope.ui.main_window import QtMainWindow
from spanscope.ui.panels import PANELS, Dock, Tab
from spanscope.ui.workers import QtWorker, worker_errors

AGENT_TRACE = "214119cf6d84cc7956364be9b85993a7"


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def window(qtbot, settings):
    w = QtMainWindow(settings)
    qtbot.addWidget(w)
    yield w
    w.close()


def wait_for_imports(qtbot, window):
    qtbot.waitUntil(lambda: not window.imports.busy, timeout=20_000)
    qtbot.wait(50)


def test_start_without_arguments_shows_the_demo(qtbot, tmp_path, monkeypatch):
    isolated = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    monkeypatch.setattr("spanscope.ui.main_window.QSettings", lambda *a: isolated)
    window = prepare_window([], tmp_path)
    qtbot.addWidget(window)
    wait_for_imports(qtbot, window)
    traces = list_traces(window.context.db)
    assert len(traces) == 7
    assert window.trace_list.model.rowCount() == 7
    assert window.context.trace_id == window.trace_list.model.trace_id_at(0)  # shown at once
    assert window.span_tree.model.rowCount() > 0
    window.close()


@pytest.fixture
def my_model_prices(user_config_dir):
    """The app's book with the user's price for my-* models, and back to no overrides afterwards."""
    user_config_dir.mkdir(parents=True)
    (user_config_dir / "prices.json").write_text('{"models": {"my-*": {"input": 3, "output": 6}}}')
    prices().reload()
    yield
    (user_config_dir / "prices.json").unlink()
    prices().reload()


def test_opening_a_store_from_before_computed_costs_prices_it_with_the_users_prices(
    qtbot, window, tmp_path, my_model_prices
):
    store = tmp_path / "old.db"
    import_file(store, write_jsonl(tmp_path / "a.jsonl", request(llm("a" * 16, None, "my-ft", 1_000, 100))))
    before_computed_costs(store, trace_cost=None)
    assert window.open_store(store)
    [trace] = list_traces(window.context.db)
    assert trace.cost_usd == pytest.approx(1_000 * 3e-6 + 100 * 6e-6)
    assert (trace.cost_computed, trace.cost_unknown) == (1, 0)


def test_import_files_reports_problems_in_the_panel(qtbot, window, tmp_path):
    store = tmp_path / "store.db"
    connect(store).conn.close()
    window.open_store(store)
    bad = tmp_path / "notes.txt"
    bad.write_text("hello\n")
    with qtbot.waitSignal(window.imports.idle, timeout=10_000):
        window.import_files([bad])
    assert window.problems_dock.isVisibleTo(window)
    assert window.problems.count == 1
    assert "notes.txt" in window.problems.table.item(0, 0).text()
    assert "tried" in window.problems.table.item(0, 2).text()


def test_selecting_a_trace_and_span_updates_every_panel(qtbot, window, demo_store):
    window.open_store(demo_store)
    window.show()
    window.context.select_trace(AGENT_TRACE)
    error_span = next(r["span_id"] for r in _rows(demo_store, AGENT_TRACE) if r["status"] == "error")
    window.context.select_span(error_span)
    qtbot.waitUntil(lambda: window.context.span_id == error_span)
    assert window.trace_list.current_trace_id() == AGENT_TRACE
    assert window.span_tree.current_span_id() == error_span
    assert window.detail.span is not None and window.detail.span.span_id == error_span


def _rows(store: Path, trace_id: str):
    from spanscope.core.store.queries import trace_rows

    return trace_rows(connect(store, readonly=True), trace_id)


def drop(window, path: Path) -> None:
    """Drop `path` on the window as a file manager would."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    buttons, modifiers = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    window.dropEvent(QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, buttons, modifiers))


def test_drop_files_imports_them(qtbot, window, tmp_path):
    store = tmp_path / "store.db"
    connect(store).conn.close()
    window.open_store(store)
    done = []
    window.imports.finished.connect(done.append)
    drop(window, demo_traces())
    wait_for_imports(qtbot, window)
    assert [r.outcome for r in done] == [Outcome.IMPORTED]
    assert window.trace_list.model.rowCount() == 7


def test_cancel_stops_the_running_import_and_the_queued_ones(qtbot, window, tmp_path):
    store = tmp_path / "store.db"
    connect(store).conn.close()
    window.open_store(store)
    copies = [tmp_path / f"copy{i}.otlp.jsonl" for i in range(2)]
    for copy in copies:
        copy.write_bytes(demo_traces().read_bytes())
    done = []
    window.imports.finished.connect(done.append)
    with qtbot.waitSignal(window.imports.idle, timeout=20_000):
        window.import_files(copies)
        window.cancel_button.click()
    assert [(r.path, r.outcome) for r in done] == [(c, Outcome.CANCELLED) for c in copies]
    assert list_traces(window.context.db) == []
    assert window.problems.count == 2
    assert not window.progress.isVisibleTo(window)


def test_a_worker_failure_is_shown_in_the_status_bar(qtbot, window):
    def fail(_state):
        raise RuntimeError("the disk went away")

    worker = QtWorker("Cannot price the store again", window)
    with qtbot.waitSignal(worker_errors().raised, timeout=10_000):
        worker.start(fail)
    assert window.statusBar().currentMessage() == (
        "Cannot price the store again: RuntimeError: the disk went away"
    )


def test_a_scores_only_file_says_what_it_added_and_its_scores_show_in_the_list(
    qtbot, window, tmp_path, fixtures_dir
):
    store = tmp_path / "store.db"
    connect(store).conn.close()
    window.open_store(store)
    folder = fixtures_dir / "langfuse-sdk"
    scores = folder / "chain-and-session.api_public_scores.0002.json"
    with qtbot.waitSignal(window.imports.idle, timeout=20_000):
        window.import_files([folder / "chain-and-session.otlp.json", scores])
    assert window.statusBar().currentMessage() == f"{scores.name}: 2 new scores in 1 traces"
    assert window.problems.count == 0
    shown = {t.trace_id: t.scores for t in list_traces(window.context.db)}
    assert sorted(shown.values(), key=str) == [None, "has_summary yes, helpfulness 0.9"]


def test_a_user_opens_a_real_fixture_and_every_panel_shows_the_clicked_span(
    qtbot, window, tmp_path, fixtures_dir
):
    """Import a file written by the real OpenInference instrumentation, click a trace, expand the
    tree with the keyboard, click an LLM span: the header, conversation, attributes and usage all
    show that span's own data, as read from the store."""

    from spanscope.core.store.queries import get_span

    store = tmp_path / "store.db"
    connect(store).conn.close()
    window.open_store(store)
    window.show()
    with qtbot.waitSignal(window.imports.idle, timeout=20_000):
        window.import_files([fixtures_dir / "openinference-openai" / "chain-and-session.otlp.jsonl"])
    table = window.trace_list.view
    assert window.trace_list.model.rowCount() == 2
    row = next(r for r in range(2) if window.trace_list.model.trace_at(r).span_count == 18)
    rect = table.visualRect(window.trace_list.model.index(row, 1))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    trace_id = window.trace_list.model.trace_id_at(row)
    qtbot.waitUntil(lambda: window.context.trace_id == trace_id)

    tree_view, tree_model = window.span_tree.view, window.span_tree.model
    tree_view.setFocus()
    window.span_tree.expand_all()
    assert tree_model.rowCount() == 18
    llm_row = next(
        r
        for r in range(tree_model.rowCount())
        if tree_model.index(r, 0).data() == "ChatCompletion" and tree_model.index(r, 4).data()  # has a model
    )
    rect = tree_view.visualRect(tree_model.index(llm_row, 0))
    qtbot.mouseClick(tree_view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    span_id = tree_model.span_id(tree_model.index(llm_row, 0))
    qtbot.waitUntil(lambda: window.detail.span is not None and window.detail.span.span_id == span_id)

    span = get_span(connect(store, readonly=True), trace_id, span_id)
    detail = window.detail
    assert span.model in detail.header.title.text()
    shown = detail.input.view.rich.text()
    contents = [m["content"] for m in span.input if isinstance(m["content"], str) and m["content"]]
    assert contents
    for content in contents:
        assert content[:40] in shown
    assert detail.attributes.model.rowCount() >= len(span.attributes)
    usage = detail.usage.rows()
    assert any(f"{span.input_tokens:,}" in v for v in usage.values())
    assert window.span_tree.current_span_id() == span_id
    assert window.trace_list.current_trace_id() == trace_id


def test_f5_runs_to_an_error_breakpoint_and_every_panel_shows_it(qtbot, window, demo_store):
    """The agent loop fails inside a tool call: with `status == "error"` set, F5 stops there and the
    tree, detail, timeline and state strip all show that span."""
    from PySide6.QtTest import QTest

    window.open_store(demo_store)
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.context.select_trace(AGENT_TRACE)
    rows = _rows(demo_store, AGENT_TRACE)
    first_error = min((r for r in rows if r["status"] == "error"), key=lambda r: r["start_ns"])
    assert window.stepping.add_breakpoint('status == "error"') is not None
    QTest.keyClick(window, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: window.context.span_id == first_error["span_id"])
    qtbot.waitUntil(
        lambda: window.detail.span is not None and window.detail.span.span_id == window.context.span_id
    )
    assert window.span_tree.current_span_id() == first_error["span_id"]
    assert window.timeline.highlighted_span() == first_error["span_id"]
    step = window.stepping.cursor.current + 1
    assert window.state_strip.label.text().startswith(f"step {step} of {len(rows)}")
    assert "ERROR" in window.detail.header.title.text() or window.detail.span.status == "error"


def test_the_window_is_built_from_its_panel_table(qtbot, window):
    tabs = [p.place.title for p in PANELS if isinstance(p.place, Tab)]
    assert tabs == ["Traces", "Dashboard", "Compare models", "Review", "Search"]
    assert [window.tabs.tabText(i) for i in range(window.tabs.count())] == tabs
    docks = [p.place.title for p in PANELS if isinstance(p.place, Dock)]
    assert docks == ["Timeline", "Breakpoints", "Conversation changes", "Problems"]
    view_menu = next(a for a in window.menuBar().actions() if a.text() == "&View").menu()
    assert [a.text() for a in view_menu.actions() if a.isCheckable()] == docks
    window.show()
    window.problems_dock.show()  # a hidden dock keeps its place but is no tab until shown
    window.changes_dock.show()
    window.breakpoints_dock.show()
    qtbot.waitExposed(window)
    assert window.tabifiedDockWidgets(window.problems_dock) == [window.timeline_dock]
    assert window.tabifiedDockWidgets(window.changes_dock) == [window.breakpoints_dock]


def test_views_asked_for_through_the_context_come_forward(qtbot, window, demo_store):
    window.open_store(demo_store)
    for view, widget in (
        (View.SEARCH, window.search),
        (View.DASHBOARD, window.dashboard),
        (View.REVIEW, window.review.tab),
        (View.COMPARE, window.compare),
        (View.TRACES, window.traces),
    ):
        window.context.show_view(view)
        assert window.tabs.currentWidget() is widget


def test_drop_a_folder_imports_its_trace_files_and_lists_the_skipped(qtbot, window, tmp_path, fixtures_dir):
    store = tmp_path / "store.db"
    connect(store).conn.close()
    window.open_store(store)
    folder = capture_folder(fixtures_dir, tmp_path)
    done = []
    window.imports.finished.connect(done.append)
    drop(window, folder)
    wait_for_imports(qtbot, window)
    imported = [(r.path, r.outcome) for r in done if isinstance(r, FileResult)]
    assert imported == [(body, Outcome.IMPORTED) for body in bodies(folder)]
    assert {t.trace_id for t in list_traces(window.context.db)} == raw_trace_ids(folder)
    assert window.trace_list.model.rowCount() == len(raw_trace_ids(folder))
    assert window.problems.count == 1
    assert window.problems.table.item(0, 0).text() == "README.txt"
    assert window.problems.table.item(0, 2).text().startswith("skipped: ")
    recent = window.settings.value("recent")
    assert recent[0] == str(folder.resolve()) and not any("ingest" in r for r in recent)


def test_open_folder_from_the_file_menu(qtbot, window, tmp_path, fixtures_dir, monkeypatch):
    store = tmp_path / "store.db"
    connect(store).conn.close()
    window.open_store(store)
    folder = capture_folder(fixtures_dir, tmp_path)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args: str(folder))
    action = next(a for a in window.menuBar().actions()[0].menu().actions() if "Folder" in a.text())
    action.trigger()
    wait_for_imports(qtbot, window)
    assert {t.trace_id for t in list_traces(window.context.db)} == raw_trace_ids(folder)


def test_picking_a_trace_selects_its_root_and_the_detail_shows_its_input_and_output(
    qtbot, window, tmp_path, fixtures_dir
):
    """No blank detail: the app opens on the first trace's first error span (else its root), and
    clicking another trace in the list selects that trace's root with its input and output shown."""
    from spanscope.core.store.queries import trace_rows
    from spanscope.core.store.span_io import span_io

    store = tmp_path / "store.db"
    connect(store).conn.close()
    window.open_store(store)
    window.show()
    with qtbot.waitSignal(window.imports.idle, timeout=20_000):
        window.import_files([fixtures_dir / "openinference-openai" / "chain-and-session.otlp.jsonl"])
    db = connect(store, readonly=True)
    first = window.trace_list.model.trace_id_at(0)
    rows = trace_rows(db, first)
    errors = [r["span_id"] for r in rows if r["status"] == "error"]
    opened_on = errors[0] if errors else next(r["span_id"] for r in rows if r["parent_id"] is None)
    qtbot.waitUntil(lambda: window.detail.span is not None and window.detail.span.span_id == opened_on)
    assert window.span_tree.current_span_id() == opened_on

    other = window.trace_list.model.trace_id_at(1)
    rect = window.trace_list.view.visualRect(window.trace_list.model.index(1, 1))
    qtbot.mouseClick(window.trace_list.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    root = next(r["span_id"] for r in trace_rows(db, other) if r["parent_id"] is None)
    qtbot.waitUntil(lambda: window.detail.span is not None and window.detail.span.span_id == root)
    assert window.span_tree.current_span_id() == root
    assert window.stepping.cursor.step == root
    shown_input, shown_output = span_io(db, other, root)
    assert isinstance(shown_input, str) and isinstance(shown_output, str)
    for section, value in ((window.detail.input, shown_input), (window.detail.output, shown_output)):
        page = section.view.currentWidget()
        assert page is not section.view.empty
        assert value[:40] in page.text()


def test_at_1280x720_with_every_dock_open_columns_keep_their_least_and_the_selected_trace_shows_whole(
    qtbot, window, demo_store
):
    window.setWindowState(Qt.WindowState.WindowNoState)  # not maximized on the offscreen screen
    window.resize(1280, 720)
    window.open_store(demo_store)
    window.show()
    qtbot.waitExposed(window)
    for dock in (window.timeline_dock, window.breakpoints_dock, window.changes_dock, window.problems_dock):
        dock.show()
    listed = window.trace_list.model
    last = listed.rowCount() - 1
    window.context.select_trace(listed.trace_id_at(last))
    qtbot.waitUntil(lambda: window.context.span_id is not None)
    window.span_tree.expand_all()
    qtbot.wait(50)
    assert (window.width(), window.height()) == (1280, 720)
    for panel in (window.trace_list, window.span_tree):
        header, least = panel.view.horizontalHeader(), panel.fitter.least
        for section in range(header.count()):
            if not header.isSectionHidden(section):
                assert header.sectionSize(section) >= least[section] > 0, (type(panel).__name__, section)
    view = window.trace_list.view
    row = view.visualRect(listed.index(last, 0))
    assert row.isValid() and view.viewport().rect().contains(row), (row, view.viewport().rect())
    tree = window.span_tree
    shown = tree.view.visualRect(tree.model.index_of(window.context.span_id))
    assert tree.view.viewport().rect().contains(shown)


def test_compare_selected_opens_the_diff_on_the_two_selected_traces(qtbot, window, demo_store):
    from spanscope.ui.trace_diff import QtTraceDiffWindow

    window.open_store(demo_store)
    window.show()
    panel = window.trace_list
    assert not panel.compare_button.isEnabled()
    view = panel.view
    for row, modifier in ((1, Qt.KeyboardModifier.NoModifier), (4, Qt.KeyboardModifier.ControlModifier)):
        rect = view.visualRect(panel.model.index(row, 1))
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, modifier, rect.center())
    assert panel.compare_button.isEnabled() and panel.compare_action.isEnabled()
    # Newest first: row 4 started before row 1, so it is the "before" trace.
    before, after = panel.model.trace_id_at(4), panel.model.trace_id_at(1)
    with qtbot.waitSignal(panel.compare_requested) as asked:
        qtbot.mouseClick(panel.compare_button, Qt.MouseButton.LeftButton)
    assert asked.args == [before, after]
    [diff] = window.findChildren(QtTraceDiffWindow)
    db = window.context.db
    assert (diff.pick_a.trace_id(db), diff.pick_b.trace_id(db)) == (before, after)
    diff.close()
    rect = view.visualRect(panel.model.index(2, 1))
    qtbot.mouseClick(
        view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier, rect.center()
    )
    assert not panel.compare_button.isEnabled(), "three rows selected"
