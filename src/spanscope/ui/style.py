"""Colours and small icons shared by every panel, so a kind looks the same everywhere."""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap

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
ERROR_COLOR = "#d63031"
MUTED_COLOR = "#7f8c8d"


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
