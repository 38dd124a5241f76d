"""What the window's import worker runs: one file's import with its progress and Cancel, and
listing a folder's trace files (sniffing each may take a while). Plain functions, no widgets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from spanscope.core.formats.folders import Sources, expand_folders
from spanscope.core.store import (
    FileResult,
    ImportProgress,
    ImportState,
    Outcome,
    import_file,
)
from spanscope.ui.workers import TaskState


def import_one(store: Path, path: Path, state: TaskState) -> FileResult:
    """Import one file on the import worker; a file whose turn comes after Cancel is not read."""
    if state.cancelled:
        return FileResult(path, Outcome.CANCELLED)

    def report(p: ImportProgress) -> None:
        state.report(p, final=p.bytes_done >= p.bytes_total)

    return import_file(store, path, ImportState(on_progress=report, cancel_event=state.cancel_event))


@dataclass(frozen=True)
class FolderListed:
    """A folder's trace files, listed on the import worker, to be imported into `store`."""

    folder: Path
    store: Path
    sources: Sources


def list_folder(store: Path, folder: Path, state: TaskState) -> FolderListed | FileResult:
    """List a folder's trace files on the import worker: sniffing each file may take a while."""
    sources = expand_folders([folder])
    return FileResult(folder, Outcome.CANCELLED) if state.cancelled else FolderListed(folder, store, sources)
