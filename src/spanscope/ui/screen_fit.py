"""Windows and dialogs sized to the screen they open on: the size they would like, never larger
than what the screen has free (its available geometry, less room for the window frame)."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDialog, QWidget

#: Room left on the screen for the window manager's frame and title bar.
FRAME_ALLOWANCE = QSize(16, 48)


def available_geometry(widget: QWidget) -> QRect:
    """What the screen `widget` opens on has free: its parent window's screen, else its own."""
    anchor = widget.parentWidget().window() if widget.parentWidget() is not None else widget
    screen = anchor.screen() or QGuiApplication.primaryScreen()
    return screen.availableGeometry()


def fitted(preferred: QSize, available: QSize) -> QSize:
    """`preferred`, shrunk to fit `available` less the frame allowance."""
    room = available - FRAME_ALLOWANCE
    return QSize(max(1, min(preferred.width(), room.width())), max(1, min(preferred.height(), room.height())))


def room(widget: QWidget) -> QSize:
    """The largest window `widget` may be on the screen it opens on."""
    return fitted(QSize(1 << 24, 1 << 24), available_geometry(widget).size())


def fits(preferred: QSize, widget: QWidget) -> bool:
    """Whether a window of `preferred` size fits on the screen `widget` opens on."""
    return fitted(preferred, available_geometry(widget).size()) == preferred


def fit_to_screen(widget: QWidget, width: int, height: int) -> None:
    """Size `widget` to width x height, or less on a smaller screen; its minimum size shrinks with it,
    so no layout can push it past the screen's edge. A window other than a dialog (which Qt centres
    on its parent) is centred on that screen."""
    available = available_geometry(widget)
    size = fitted(QSize(width, height), available.size())
    widget.setMinimumSize(widget.minimumSize().boundedTo(size))
    widget.resize(size)
    if not isinstance(widget, QDialog):
        frame = QRect(available.topLeft(), size)
        frame.moveCenter(available.center())
        widget.move(frame.topLeft())
