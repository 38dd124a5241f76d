"""The shipped icon PNGs are renderings of the shipped SVG, at the sizes the package promises."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QImage

from spanscope.core.resources import ICON_SIZES, icon_png, icon_svg
from spanscope.ui.style import app_icon

SCRIPT = Path(__file__).resolve().parents[2] / "resources" / "icons" / "make_icons.py"


def pixels(image: QImage) -> np.ndarray:
    """A copy: constBits() does not keep the converted image alive, which is freed on return."""
    image = image.convertToFormat(QImage.Format.Format_RGBA8888)
    return np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine()).copy()


@pytest.fixture(scope="module")
def make_icons():
    spec = importlib.util.spec_from_file_location("make_icons", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("size", ICON_SIZES)
def test_png_is_the_svg_rendered_at_its_size(qapp, make_icons, size):
    shipped = QImage(str(icon_png(size)))
    assert (shipped.width(), shipped.height()) == (size, size)
    fresh = pixels(make_icons.render(size)).astype(int)
    difference = np.abs(pixels(shipped).astype(int) - fresh).mean()
    assert difference < 1.0, "re-run resources/icons/make_icons.py"


def test_corners_are_transparent_and_centre_opaque(qapp):
    image = QImage(str(icon_png(64)))
    assert image.pixelColor(0, 0).alpha() == 0
    assert image.pixelColor(32, 32).alpha() == 255


def test_svg_is_shipped_and_the_app_icon_has_every_size(qapp):
    assert icon_svg().read_text().lstrip().startswith("<?xml")
    sizes = {(s.width(), s.height()) for s in app_icon().availableSizes()}
    assert sizes == {(s, s) for s in ICON_SIZES}


def test_unknown_size_is_refused():
    with pytest.raises(ValueError, match="no 20px icon"):
        icon_png(20)
