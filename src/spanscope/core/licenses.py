"""The libraries a Spanscope install carries and their licenses, for Help > About.

Read from the installed distributions' metadata (the PyInstaller bundle copies it along), walking
Spanscope's runtime requirements, so the list is what pip actually installed, not a hand-kept table.
"""

from __future__ import annotations

import platform
import re
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import Distribution, PackageNotFoundError, distribution

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
#: Longer `License:` fields are whole license texts, not names.
_MAX_LICENSE_NAME = 80
UNKNOWN = "not stated in its metadata"


@dataclass(frozen=True)
class Library:
    name: str
    version: str
    license: str
    homepage: str | None


def canonical(name: str) -> str:
    """PEP 503 form, so `PySide6_Essentials` and `pyside6-essentials` are one library."""
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_requirements(dist: Distribution) -> Iterator[str]:
    """Names of what `dist` needs at run time: its requirements less those behind an extra."""
    for requirement in dist.requires or []:
        spec, _, marker = requirement.partition(";")
        if "extra" in marker:
            continue
        match = _NAME.match(spec.strip())
        if match:
            yield match.group()


def license_of(dist: Distribution) -> str:
    """The SPDX expression if the metadata has one, else a short License field, else classifiers."""
    meta = dist.metadata
    expression = (meta.get("License-Expression") or "").strip()
    if expression:
        return expression
    field = (meta.get("License") or "").strip()
    if field and "\n" not in field and len(field) <= _MAX_LICENSE_NAME:
        return field
    classifiers = [
        c.split("::")[-1].strip() for c in meta.get_all("Classifier") or [] if c.startswith("License ::")
    ]
    return " / ".join(classifiers) or UNKNOWN


def homepage_of(dist: Distribution) -> str | None:
    meta = dist.metadata
    urls = dict(
        (label.strip().lower(), url.strip())
        for label, _, url in (entry.partition(",") for entry in meta.get_all("Project-URL") or [])
    )
    for label in ("homepage", "home", "source", "repository", "source code"):
        if label in urls:
            return urls[label]
    return meta.get("Home-page") or None


def bundled_libraries(root: str = "spanscope") -> list[Library]:
    """Python itself, then every installed library `root` depends on (directly or not), by name."""
    found: dict[str, Library] = {}
    pending = [root]
    while pending:
        name = pending.pop()
        try:
            dist = distribution(name)
        except PackageNotFoundError:  # a requirement for another platform, or a source tree
            continue
        key = canonical(dist.metadata["Name"])
        if key in found:
            continue
        found[key] = Library(dist.metadata["Name"], dist.version, license_of(dist), homepage_of(dist))
        pending.extend(runtime_requirements(dist))
    found.pop(canonical(root), None)
    python = Library("Python", platform.python_version(), "PSF-2.0", "https://www.python.org")
    return [python, *sorted(found.values(), key=lambda lib: canonical(lib.name))]
