#!/usr/bin/env python3
"""Render the app icon's SVG to the PNG sizes shipped beside it (src/spanscope/resources/icons/).

Desktops and the PyInstaller bundle want PNGs at fixed sizes; the SVG is the one source, so change it
and re-run this script (tests/test_icons.py checks the PNGs against a fresh rendering).
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

from spanscope.core.resources import ICON_SIZES, icon_png, icon_svg


def render(size: int) -> QImage:
    """The icon at `size` x `size`, antialiased on a transparent background."""
    renderer = QSvgRenderer(str(icon_svg()))
    if not renderer.isValid():
        raise ValueError(f"{icon_svg()}: not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    return image


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    for size in ICON_SIZES:
        out = icon_png(size)
        if not render(size).save(str(out)):
            raise OSError(f"{out}: could not write the PNG")
        print(f"wrote {out}")
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
