"""Help > About opens a dialog with the version and the bundled libraries' licenses."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings

from spanscope import __version__
from spanscope.core.licenses import Library
from spanscope.ui.about import QtAboutDialog
from spanscope.ui.main_window import QtMainWindow


@pytest.fixture
def window(qtbot, tmp_path):
    w = QtMainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    return w


def rows(dialog: QtAboutDialog) -> dict[str, tuple[str, str]]:
    t = dialog.table
    return {t.item(r, 0).text(): (t.item(r, 1).text(), t.item(r, 2).text()) for r in range(t.rowCount())}


def test_help_about_opens_the_dialog(qtbot, window):
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    about = next(a for a in help_menu.actions() if a.text() == "&About Spanscope")
    about.trigger()
    dialog = window.findChild(QtAboutDialog)
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible)
    assert f"Spanscope {__version__}" in dialog.title.text()
    shown = rows(dialog)
    assert "LGPL-3.0" in shown["PySide6_Essentials"][1]
    assert shown["pyqtgraph"][1] == "MIT"
    assert shown["Python"][1] == "PSF-2.0"
    dialog.close()
    qtbot.waitUntil(lambda: window.findChild(QtAboutDialog) is None)  # deleted on close


def test_table_shows_given_libraries_with_home_page_tooltips(qtbot):
    libraries = [Library("alpha", "1.0", "MIT", "https://alpha.example"), Library("beta", "2", "BSD", None)]
    dialog = QtAboutDialog(libraries=libraries)
    qtbot.addWidget(dialog)
    assert rows(dialog) == {"alpha": ("1.0", "MIT"), "beta": ("2", "BSD")}
    assert dialog.table.item(0, 2).toolTip() == "https://alpha.example"
    assert dialog.table.item(1, 0).toolTip() == "no home page in its metadata"
