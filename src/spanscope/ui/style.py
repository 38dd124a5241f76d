"""Colours and small icons shared by every panel, so a kind looks the same everywhere, and the light or
dark palette the whole app follows (the system's, unless the user chose one)."""

from __future__ import annotations

from enum import StrEnum
from functools import cache

from PySide6.QtCore import QRectF, QSettings, QSize, Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import QApplication

from spanscope.core.model import Kind
from spanscope.core.resources import ICON_SIZES, icon_png

KIND_COLORS: dict[str, str] = {
    Kind.AGENT: "#8e44ad",
    Kind.CHAIN: "#2e86de",
    Kind.LLM: "#e67e22",
    Kind.TOOL: "#16a085",
    Kind.RETRIEVER: "#27ae60",
    Kind.EMBEDDING: "#d4ac0d",
    Kind.RERANKER: "#7f8c8d",
    Kind.GUARDRAIL: "#c0392b",
    Kind.EVALUATOR: "#6c5ce7",
    Kind.PROMPT: "#00a8a8",
    Kind.SPAN: "#95a5a6",
}
KIND_LETTERS: dict[str, str] = {
    Kind.AGENT: "A",
    Kind.CHAIN: "C",
    Kind.LLM: "L",
    Kind.TOOL: "T",
    Kind.RETRIEVER: "R",
    Kind.EMBEDDING: "E",
    Kind.RERANKER: "K",
    Kind.GUARDRAIL: "G",
    Kind.EVALUATOR: "V",
    Kind.PROMPT: "P",
    Kind.SPAN: "S",
}
#: Text colours read on light and dark backgrounds alike (contrast about 4:1 on white and on the
#: dark palette's base), since panels put them in rich text where no palette role reaches.
ERROR_COLOR = "#e0443e"
MUTED_COLOR = "#7f8c8d"

#: The dark palette, for a desktop that says dark but whose Qt theme gives no dark palette (and for
#: `--dark` screenshots): role, colour; disabled text is muted.
DARK_PALETTE: dict[QPalette.ColorRole, str] = {
    QPalette.ColorRole.Window: "#2b2d30",
    QPalette.ColorRole.WindowText: "#dfe1e5",
    QPalette.ColorRole.Base: "#1e1f22",
    QPalette.ColorRole.AlternateBase: "#26282b",
    QPalette.ColorRole.ToolTipBase: "#3c3f41",
    QPalette.ColorRole.ToolTipText: "#dfe1e5",
    QPalette.ColorRole.PlaceholderText: "#8c9096",
    QPalette.ColorRole.Text: "#dfe1e5",
    QPalette.ColorRole.Button: "#35373b",
    QPalette.ColorRole.ButtonText: "#dfe1e5",
    QPalette.ColorRole.BrightText: "#ff6b6b",
    QPalette.ColorRole.Light: "#4a4d52",
    QPalette.ColorRole.Midlight: "#3e4145",
    QPalette.ColorRole.Mid: "#303236",
    QPalette.ColorRole.Dark: "#1a1b1d",
    QPalette.ColorRole.Shadow: "#000000",
    QPalette.ColorRole.Highlight: "#2f65ca",
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.Link: "#6ea8fe",
    QPalette.ColorRole.LinkVisited: "#b48efa",
}
DARK_DISABLED_TEXT = "#7a7e85"


SCHEME_PROPERTY, FOLLOWING_PROPERTY = "spanscope_color_scheme", "spanscope_following_system"
#: The settings key of the chosen colour scheme.
APPEARANCE_KEY = "appearance"


class ColorScheme(StrEnum):
    """Which palette the app shows: the desktop's, or light or dark whatever the desktop says."""

    SYSTEM = "system"
    LIGHT = "light"
    DARK = "dark"


def chosen_color_scheme(settings: QSettings) -> ColorScheme:
    """The scheme the user chose (Settings > Appearance); the system's when none, or an unknown one."""
    value = settings.value(APPEARANCE_KEY, ColorScheme.SYSTEM.value)
    return ColorScheme(value) if value in {s.value for s in ColorScheme} else ColorScheme.SYSTEM


def dark_palette() -> QPalette:
    palette = QPalette()
    for role, color in DARK_PALETTE.items():
        palette.setColor(role, QColor(color))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(DARK_DISABLED_TEXT))
    return palette


def is_dark(palette: QPalette | None = None) -> bool:
    """Whether `palette` (the app's by default) draws light text on a dark background."""
    palette = palette or QGuiApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def light_palette() -> QPalette:
    return QApplication.style().standardPalette()


def apply_color_scheme(app: QApplication, scheme: ColorScheme) -> None:
    """Show `scheme`. SYSTEM follows the desktop, now and whenever it changes: the platform's palette
    when it matches what the desktop says, else DARK_PALETTE (or the style's light one)."""
    app.setProperty(SCHEME_PROPERTY, scheme.value)
    if scheme is ColorScheme.SYSTEM:
        if not app.property(FOLLOWING_PROPERTY):
            app.setProperty(FOLLOWING_PROPERTY, True)
            app.styleHints().colorSchemeChanged.connect(lambda _: _follow_system(app))
        _follow_system(app)
    else:
        app.setPalette(dark_palette() if scheme is ColorScheme.DARK else light_palette())


def _follow_system(app: QApplication) -> None:
    if app.property(SCHEME_PROPERTY) != ColorScheme.SYSTEM.value:
        return
    app.setPalette(QPalette())  # back to the platform's palette
    desktop_dark = app.styleHints().colorScheme() == Qt.ColorScheme.Dark
    if desktop_dark != is_dark(app.palette()):
        app.setPalette(dark_palette() if desktop_dark else light_palette())


def ink(color: str) -> str:
    """`color` as text on the current palette's base: on a dark one, lightened until it reads."""
    if not is_dark():
        return color
    hue, saturation, lightness, _ = QColor(color).getHslF()
    return QColor.fromHslF(max(hue, 0.0), saturation, max(lightness, 0.68)).name()


def tint(color: str) -> str:
    """`color`, a pale highlight behind text, for the current palette: on a dark one the same hue,
    dark enough for light text."""
    if not is_dark():
        return color
    hue, saturation, _, _ = QColor(color).getHslF()
    return QColor.fromHslF(max(hue, 0.0), min(saturation, 0.45), 0.2).name()


def kind_color(kind: str) -> QColor:
    return QColor(KIND_COLORS.get(kind, KIND_COLORS[Kind.SPAN]))


@cache
def kind_icon(kind: str, size: int = 16) -> QIcon:
    """A rounded square in the kind's colour with its letter; cached, one per kind and size."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(kind_color(kind))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawRoundedRect(QRectF(0.5, 0.5, size - 1, size - 1), 3, 3)
    font = QFont()
    font.setPixelSize(int(size * 0.7))
    font.setBold(True)
    painter.setFont(font)
    painter.setPen(QColor("white"))
    painter.drawText(QRectF(0, 0, size, size), Qt.AlignmentFlag.AlignCenter, KIND_LETTERS.get(kind, "?"))
    painter.end()
    return QIcon(pixmap)


def app_icon() -> QIcon:
    """The app icon at every shipped size, so each place it is shown gets a crisp one."""
    icon = QIcon()
    for size in ICON_SIZES:
        icon.addFile(str(icon_png(size)), QSize(size, size))
    return icon
