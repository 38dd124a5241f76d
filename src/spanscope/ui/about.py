"""Help > About: Spanscope's version, and every bundled library with its version and license."""

from __future__ import annotations

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt, qVersion
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from spanscope import __version__
from spanscope.core.licenses import Library, bundled_libraries
from spanscope.ui.screen_fit import fit_to_screen
from spanscope.ui.style import app_icon

ICON_SIZE = 64
COLUMNS = ("Library", "Version", "License")
QT_NOTE = (
    "Qt and Qt for Python (PySide6, shiboken6) are used under the GNU LGPL v3; their source code is at "
    '<a href="https://code.qt.io">code.qt.io</a>, and the Qt libraries in this installation can be '
    "replaced by your own build."
)


class QtAboutDialog(QDialog):
    def __init__(self, parent: QWidget | None = None, libraries: list[Library] | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About Spanscope")
        fit_to_screen(self, 640, 560)
        self.libraries = bundled_libraries() if libraries is None else libraries

        icon = QLabel()
        icon.setPixmap(app_icon().pixmap(ICON_SIZE, ICON_SIZE))
        self.title = QLabel(
            f"<h2>Spanscope {__version__}</h2>"
            "<p>Inspect LLM application traces offline.</p>"
            f"<p>Qt {qVersion()} · PySide6 {pyside_version} · Spanscope is MIT-licensed.</p>"
        )
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        header = QHBoxLayout()
        header.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        header.addWidget(self.title, 1)

        self.table = self._table()
        note = QLabel(QT_NOTE)
        note.setWordWrap(True)
        note.setOpenExternalLinks(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(QLabel("Bundled libraries (as installed; hover a row for its home page):"))
        layout.addWidget(self.table, 1)
        layout.addWidget(note)
        layout.addWidget(buttons)

    def _table(self) -> QTableWidget:
        table = QTableWidget(len(self.libraries), len(COLUMNS))
        table.setHorizontalHeaderLabels(COLUMNS)
        table.verticalHeader().hide()
        table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 6)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        for row, lib in enumerate(self.libraries):
            for column, text in enumerate((lib.name, lib.version, lib.license)):
                item = QTableWidgetItem(text)
                item.setToolTip(lib.homepage or "no home page in its metadata")
                table.setItem(row, column, item)
        header = table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        return table
