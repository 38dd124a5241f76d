"""The window on small and large screens: nothing collapses, nothing hides, nothing is larger than
the screen, and the layout is remembered; light and dark palettes."""

from __future__ import annotations

import base64

import pytest
from PySide6.QtCore import QRect, QSettings, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QScrollArea, QSplitter, QTabBar, QToolButton

from otlp import llm, request, span, write_jsonl
from spanscope.core.resources import demo_traces
from spanscope.core.store import Outcome, import_file
from spanscope.ui.context import View
from spanscope.ui.detail.header import MESSAGE_LINES
from spanscope.ui.main_window import TRACE_ROWS, QtMainWindow
from spanscope.ui.screen_fit import FRAME_ALLOWANCE
from spanscope.ui.span_tree import COLUMN_LEAST
from spanscope.ui.span_tree_model import NAME
from spanscope.ui.style import ERROR_COLOR, ColorScheme, apply_color_scheme, ink, is_dark, tint

AGENT_TRACE = "214119cf6d84cc7956364be9b85993a7"
FAILED_TOOL = "a5e833b64580daa6"  # the agent's first error in execution order
#: Synthetic traces besides the demo's, so the trace list has more rows than fit; they start after
#: the demo's (in 2027), so the demo's traces are listed last, below the first screenful.
MANY, NEWER_THAN_THE_DEMO = 40, 100_000_000_000_000_000


@pytest.fixture(scope="module")
def many_traces_template(tmp_path_factory):
    """The demo and MANY small traces of a root and one model call each."""
    folder = tmp_path_factory.mktemp("many")
    store = folder / "many.db"
    assert import_file(store, demo_traces()).outcome is Outcome.IMPORTED
    lines = []
    for n in range(MANY):
        trace = f"{n + 1:032x}"
        root, call = f"{2 * n + 1:016x}", f"{2 * n + 2:016x}"
        start = NEWER_THAN_THE_DEMO + n * 10_000_000_000
        lines.append(
            request(
                span(root, trace=trace, name=f"run {n}", start=start, end=start + 5_000),
                llm(call, root, "gpt-4o", 100, 10, trace=trace, start=start + 1_000, end=start + 4_000),
            )
        )
    assert import_file(store, write_jsonl(folder / "many.jsonl", *lines)).outcome is Outcome.IMPORTED
    return store


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


def shown_window(qtbot, settings, store, width: int, height: int, docks_first: bool = False) -> QtMainWindow:
    window = QtMainWindow(settings)
    qtbot.addWidget(window)
    window.setWindowState(Qt.WindowState.WindowNoState)
    window.resize(width, height)
    window.open_store(store)
    if docks_first:
        for dock in window._docks:
            dock.show()
    window.show()
    qtbot.waitExposed(window)
    qtbot.wait(50)
    return window


def open_every_dock(qtbot, window: QtMainWindow) -> None:
    for dock in (window.timeline_dock, window.problems_dock, window.breakpoints_dock, window.changes_dock):
        dock.show()
    qtbot.wait(50)


@pytest.mark.parametrize("docks_first", [False, True], ids=["docks opened later", "docks open at first show"])
def test_at_1280x720_with_every_dock_open_the_selected_trace_shows_whole_and_no_pane_collapses(
    qtbot, settings, many_traces_template, docks_first
):
    window = shown_window(qtbot, settings, many_traces_template, 1280, 720, docks_first)
    open_every_dock(qtbot, window)
    list_view = window.trace_list.view
    window.context.select_trace(AGENT_TRACE)
    window.context.select_span(FAILED_TOOL)  # its error message makes the step detail taller
    qtbot.wait(50)
    row = window.trace_list.model.row_of(AGENT_TRACE)
    assert row > MANY  # far below the first screenful

    viewport = list_view.viewport().rect()
    selected = list_view.visualRect(window.trace_list.model.index(row, 0))
    assert viewport.contains(QRect(0, selected.top(), 1, selected.height()))
    assert viewport.height() >= TRACE_ROWS * list_view.verticalHeader().defaultSectionSize()

    splitters = [s for s in window.findChildren(QSplitter) if s.isVisible()]
    assert window.traces in splitters and window.lower_splitter in splitters
    for splitter in splitters:
        assert min(splitter.sizes()) > 0, splitter.objectName()
    for panel in (window.span_tree, window.detail, window.trace_list):
        assert panel.width() >= panel.minimumWidth() > 0 or panel is window.trace_list
        assert panel.height() > 0
    for dock in (window.timeline_dock, window.breakpoints_dock, window.changes_dock, window.problems_dock):
        assert dock.isVisible()
    # the side docks share one place, as tabs: opening both does not halve the height of either
    assert window.tabifiedDockWidgets(window.breakpoints_dock) == [window.changes_dock]


@pytest.fixture(params=[9, 11], ids=["9 pt", "11 pt"])
def desktop_font(request, qapp):
    """The offscreen default font, and GNOME's (a desktop's font makes every row and title taller)."""
    font = QApplication.font()
    larger = QApplication.font()
    larger.setPointSize(request.param)
    QApplication.setFont(larger)
    yield request.param
    QApplication.setFont(font)


#: A maximized window on a 1280x720 screen, less the title bar and the desktop's panel.
MAXIMIZED_720P = (1280, 656)


def test_a_maximized_720p_window_shows_eight_trace_rows_and_folds_a_long_error(
    qtbot, settings, many_traces_template, desktop_font
):
    window = shown_window(qtbot, settings, many_traces_template, *MAXIMIZED_720P)
    window.context.select_trace(AGENT_TRACE)
    window.context.select_span(FAILED_TOOL)  # a message of several lines under the step's name
    qtbot.wait(50)
    view = window.trace_list.view
    assert view.viewport().height() >= TRACE_ROWS * view.verticalHeader().defaultSectionSize()
    assert window.lower_splitter.height() >= window.detail.minimumSizeHint().height()
    message = window.detail.header.message
    full = window.detail.span.status_message
    assert message.text().endswith("…</span>") and full.split()[-1] not in message.text()
    assert message.height() <= MESSAGE_LINES * message.fontMetrics().lineSpacing() + 4
    assert full.split("\n")[0] in message.toolTip()


@pytest.mark.parametrize("docks_first", [False, True], ids=["docks opened later", "docks open at first show"])
def test_at_1366x768_with_the_side_docks_open_the_span_tree_keeps_its_least_widths(
    qtbot, settings, many_traces_template, desktop_font, docks_first
):
    window = shown_window(qtbot, settings, many_traces_template, 1366, 768, docks_first)
    open_every_dock(qtbot, window)
    window.context.select_trace(AGENT_TRACE)
    qtbot.wait(50)
    tree = window.span_tree.view
    widths = [tree.columnWidth(c) for c in range(len(COLUMN_LEAST))]
    assert widths[NAME] >= COLUMN_LEAST[NAME] + 40  # room above its least for the nesting's indent
    assert all(widths[c] >= least for c, least in COLUMN_LEAST.items())
    assert sum(widths) <= tree.viewport().width()  # no sideways scrolling


def test_no_stray_dock_tab_bar_is_drawn_over_another_tab(qtbot, settings, demo_store):
    window = shown_window(qtbot, settings, demo_store, 1280, 720)
    window.context.show_view(View.REVIEW)  # the Timeline steps aside; nothing of it stays drawn
    qtbot.wait(50)
    bars = [b for b in window.findChildren(QTabBar) if b.parent() is window and b.isVisible()]
    assert not [b for b in bars if b.geometry().intersects(window.rect())]


def test_the_toolbar_folds_into_menus_on_a_narrow_window_and_hides_nothing(qtbot, settings, demo_store):
    window = shown_window(qtbot, settings, demo_store, 1920, 1080)
    toolbar = window.stepping_toolbar
    extension = toolbar.findChild(QToolButton, "qt_toolbar_ext_button")
    assert toolbar.folded_titles() == []
    assert not extension.isVisible()

    window.resize(1280, 720)
    qtbot.wait(50)
    assert toolbar.folded_titles() == ["Jump to"]
    assert not extension.isVisible()  # nothing behind Qt's overflow arrow
    assert toolbar.widgetForAction(window.review.menu.start_action).isVisible()
    [jumps] = [g for g in toolbar.groups if g.title == "Jump to"]
    assert toolbar.actions_by_name["next_error"] in jumps.menu_button.actions()

    window.resize(760, 720)
    qtbot.wait(50)
    assert len(toolbar.folded_titles()) > 1
    assert not extension.isVisible()

    # a folded action's shortcut still works: F8 goes to the next error
    window.context.select_trace(AGENT_TRACE)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    QTest.keyClick(window, Qt.Key.Key_F8)
    qtbot.waitUntil(lambda: window.context.span_id == FAILED_TOOL)


def test_the_diff_window_and_dialogs_fit_the_screen_they_open_on(qtbot, settings, demo_store):
    window = shown_window(qtbot, settings, demo_store, 760, 560)
    available = window.screen().availableGeometry()
    room = available.size() - FRAME_ALLOWANCE
    diff = window.compare_traces()
    qtbot.addWidget(diff)
    assert diff.width() <= room.width() and diff.height() <= room.height()
    assert available.contains(diff.geometry())

    from spanscope.ui.about import QtAboutDialog
    from spanscope.ui.price_settings import QtPriceSettingsDialog

    for dialog in (QtAboutDialog(window), QtPriceSettingsDialog(window)):
        qtbot.addWidget(dialog)
        assert dialog.width() <= room.width() and dialog.height() <= room.height()
        assert dialog.minimumHeight() <= room.height()


def within(qtbot, dialog, room) -> None:
    """`dialog`, shown, fits `room` and no layout of it asks for more."""
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    qtbot.wait(20)
    assert dialog.width() <= room.width() and dialog.height() <= room.height(), dialog
    assert dialog.minimumWidth() <= room.width() and dialog.minimumHeight() <= room.height(), dialog
    dialog.close()


def test_every_dialog_fits_the_screen_however_much_it_holds(qtbot, tmp_path, demo_store):
    """A long value, a large image, many label sets and many scores given by others: each dialog
    stays within the (small) test screen, its content scrolling."""
    from qt_images import png

    from spanscope.core.presentation.media import Blob
    from spanscope.core.review.annotations import WHOLE_TRACE, Given
    from spanscope.core.review.label_sets import LabelSet, save_label_set
    from spanscope.ui.detail.media_view import QtImageDialog
    from spanscope.ui.detail.value_dialog import QtValueDialog
    from spanscope.ui.review.annotate_dialog import QtAnnotateDialog
    from spanscope.ui.review.label_sets_dialog import QtLabelSetsDialog

    for n in range(6):
        save_label_set(demo_store, LabelSet(f"set {n}", tuple(f"label {n}.{k}" for k in range(6))))
    settings = QSettings(str(tmp_path / "review.ini"), QSettings.Format.IniFormat)
    settings.setValue("review/author", "tester")
    window = shown_window(qtbot, settings, demo_store, 760, 560)
    room = window.screen().availableGeometry().size() - FRAME_ALLOWANCE
    reviewer = window.review.reviewer
    for n in range(40):  # scores by others: what another reviewer's store holds
        reviewer.set_author(f"reviewer {n}")
        assert reviewer.give(AGENT_TRACE, WHOLE_TRACE, {"set 0": Given(label="label 0.1")}) is None
    reviewer.set_author("tester")

    annotate = QtAnnotateDialog(reviewer, window.context.db, AGENT_TRACE, WHOLE_TRACE, window)
    within(qtbot, annotate, room)
    assert annotate.findChild(QScrollArea).verticalScrollBar().maximum() > 0  # more than fits: it scrolls
    within(qtbot, QtLabelSetsDialog(reviewer, window), room)
    within(qtbot, QtValueDialog("value", {"text": "word " * 20_000, "lines": list(range(500))}, window), room)
    image = base64.b64encode(png(2000, 1500)).decode()
    dialog = QtImageDialog("image", window)
    dialog.show_blob(Blob("image/png", image, 0, len(image)))
    within(qtbot, dialog, room)


def test_the_window_opens_as_it_was_left(qtbot, settings, demo_store):
    window = shown_window(qtbot, settings, demo_store, 790, 740)  # within the offscreen test screen
    window.problems_dock.show()
    window.timeline_dock.hide()
    window.traces.setSizes([150, 300])
    window.lower_splitter.setSizes([400, 380])
    qtbot.wait(50)
    sizes = window.traces.sizes(), window.lower_splitter.sizes()
    size = window.size().toTuple()
    window.close()

    again = QtMainWindow(settings)
    qtbot.addWidget(again)
    again.show()
    qtbot.waitExposed(again)
    qtbot.wait(50)
    assert again.size().toTuple() == size
    assert again.problems_dock.isVisible() and not again.timeline_dock.isVisible()
    assert (again.traces.sizes(), again.lower_splitter.sizes()) == sizes


def test_a_first_start_on_a_small_screen_is_maximized_within_it(qtbot, settings):
    window = QtMainWindow(settings)
    qtbot.addWidget(window)
    available = window.screen().availableGeometry()
    assert available.width() < 1600  # the offscreen test screen
    assert window.windowState() & Qt.WindowState.WindowMaximized
    assert window.width() <= available.width() and window.height() <= available.height()


def contrast(a: QColor, b: QColor) -> float:
    def luminance(c: QColor) -> float:
        def linear(v: float) -> float:
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

        return 0.2126 * linear(c.redF()) + 0.7152 * linear(c.greenF()) + 0.0722 * linear(c.blueF())

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.fixture
def restored_palette(qapp):
    palette, scheme = QPalette(qapp.palette()), qapp.property("spanscope_color_scheme")
    yield qapp
    qapp.setProperty("spanscope_color_scheme", scheme)
    qapp.setPalette(palette)


@pytest.mark.parametrize("scheme", [ColorScheme.LIGHT, ColorScheme.DARK])
def test_text_links_and_muted_colours_read_in_both_schemes(restored_palette, scheme):
    apply_color_scheme(restored_palette, scheme)
    palette = QGuiApplication.palette()
    assert is_dark() is (scheme is ColorScheme.DARK)
    base, window = palette.color(QPalette.ColorRole.Base), palette.color(QPalette.ColorRole.Window)
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.Link, QPalette.ColorRole.PlaceholderText):
        assert contrast(palette.color(role), base) >= 4.0, role
    assert contrast(palette.color(QPalette.ColorRole.WindowText), window) >= 7
    assert contrast(QColor(ink(ERROR_COLOR)), base) >= 3.5
    assert contrast(QColor(ink("#1e8449")), base) >= 3.5  # a dark green kept for light backgrounds
    # a pale highlight behind text stays behind text: text on it reads as on the base
    assert contrast(palette.color(QPalette.ColorRole.Text), QColor(tint("#fff3cd"))) >= 7


def test_the_system_scheme_follows_the_desktop(restored_palette, monkeypatch):
    app: QApplication = restored_palette
    monkeypatch.setattr(type(app.styleHints()), "colorScheme", lambda _self: Qt.ColorScheme.Dark)
    apply_color_scheme(app, ColorScheme.SYSTEM)
    assert is_dark()
    monkeypatch.setattr(type(app.styleHints()), "colorScheme", lambda _self: Qt.ColorScheme.Light)
    app.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Light)
    assert not is_dark()


def test_screenshots_render_every_view_at_the_size_asked(restored_palette, demo_store, tmp_path):
    from PySide6.QtGui import QImage

    from spanscope.ui.screenshot import render_all

    written = render_all(demo_store, tmp_path, (1280, 720), "dark")
    names = sorted(p.name for p in written)
    views = ["compare-models", "compare-traces", "dashboard", "review", "search", "traces"]
    assert names == [f"{view}-1280x720-dark.png" for view in views]
    for path in written:
        image = QImage(str(path))
        if path.name.startswith("compare-traces"):  # its own window, fitted to the (test) screen
            room = QGuiApplication.primaryScreen().availableGeometry().size() - FRAME_ALLOWANCE
            assert image.width() <= room.width() and image.height() <= room.height()
        else:
            assert (image.width(), image.height()) == (1280, 720)
        assert QColor(image.pixel(image.width() // 2, image.height() - 5)).lightness() < 128  # dark
