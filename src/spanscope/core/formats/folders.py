"""A folder given where trace files are expected stands for the trace files in it.

Some tools write one capture as several files in a folder (the OpenAI Agents SDK's ingest bodies,
one OTLP request a file), and users keep captures side by side with other files. So a folder gives
every file below it, in path order, except hidden ones (`.DS_Store`, `.git/`) and those no format
claims (a README beside the captures): those are listed as skipped, with why, not as failures.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from spanscope.core.formats.base import FormatError, Source
from spanscope.core.formats.registry import claiming

NOT_CLAIMED = "not a trace file in any known format"
NOTHING_IN_FOLDER = "the folder holds no files"


@dataclass(frozen=True, slots=True)
class Sources:
    """What to import for the paths given: `files`, in order, and the `skipped` (path, why)."""

    files: tuple[Path, ...]
    skipped: tuple[tuple[Path, str], ...]


def expand_folders(paths: Iterable[Path]) -> Sources:
    """`paths` with each folder replaced by the files below it that a format claims; a path that is
    not a folder is kept as given, so its import says what is wrong with it. A file that cannot be
    read is kept too: its import says why, as a failure."""
    files: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    for path in map(Path, paths):
        if not path.is_dir():
            files.append(path)
            continue
        below = _files_below(path, skipped)
        if not below:
            skipped.append((path, NOTHING_IN_FOLDER))
        for file in below:
            try:
                claimed = claiming(Source(file)) is not None
            except FormatError:
                claimed = True
            if claimed:
                files.append(file)
            else:
                skipped.append((file, NOT_CLAIMED))
    return Sources(tuple(files), tuple(skipped))


def _files_below(folder: Path, skipped: list[tuple[Path, str]]) -> list[Path]:
    """The regular files below `folder`, hidden ones and those in hidden folders left out, sorted by
    their path within it; a folder that cannot be listed is added to `skipped`."""

    def unlisted(exc: OSError) -> None:
        skipped.append((Path(exc.filename or folder), f"cannot list the folder: {exc.strerror or exc}"))

    found: list[Path] = []
    for root, folders, names in os.walk(folder, onerror=unlisted):
        folders[:] = [name for name in folders if not name.startswith(".")]
        found += (Path(root, name) for name in names if not name.startswith("."))
    return sorted((f for f in found if f.is_file()), key=lambda f: f.relative_to(folder).parts)
