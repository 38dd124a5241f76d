"""Files shipped inside the spanscope package: demo traces and the app icon.

They are found with importlib.resources, so they work from a source checkout, an installed wheel
(pip, pipx) and a PyInstaller bundle alike; nothing here looks at the source tree.
"""

from __future__ import annotations

import atexit
import contextlib
from importlib.resources import as_file, files
from importlib.resources.abc import Traversable
from pathlib import Path

#: The desktop id: names the .desktop entry, the AppStream component and the installed icon.
APP_ID = "io.github.spanscope.Spanscope"
#: Square PNG sizes of the app icon, as shipped next to its SVG.
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICON_NAME = "spanscope"

_extracted = contextlib.ExitStack()
atexit.register(_extracted.close)


def _on_disk(resource: Traversable) -> Path:
    """A real file for `resource`: itself when the package is on disk, else a copy kept until exit."""
    if not resource.is_file():
        raise FileNotFoundError(f"{resource}: missing from the installed Spanscope package; reinstall it")
    if isinstance(resource, Path):
        return resource
    return _extracted.enter_context(as_file(resource))


def resource_dir() -> Traversable:
    return files("spanscope") / "resources"


def demo_traces() -> Path:
    """The demo trace file a new user sees when the app starts with nothing to open."""
    return _on_disk(resource_dir() / "demo" / "demo.otlp.jsonl")


def icon_svg() -> Path:
    return _on_disk(resource_dir() / "icons" / f"{ICON_NAME}.svg")


def icon_png(size: int) -> Path:
    """The app icon rendered at `size` x `size` pixels (one of ICON_SIZES)."""
    if size not in ICON_SIZES:
        raise ValueError(f"no {size}px icon: sizes are {ICON_SIZES}")
    return _on_disk(resource_dir() / "icons" / f"{ICON_NAME}-{size}.png")
