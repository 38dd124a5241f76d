"""File > Open on another tool's store imports it into the open store, leaving the file as it was."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog

from spanscope.core.formats import dialog_filter
from spanscope.core.store import Outcome, connect
from spanscope.ui.main_window import QtMainWindow
from sqlite_stores import fingerprint


@pytest.mark.parametrize(
    ("folder", "name", "traces"), [("phoenix-sqlite", "phoenix.db", 6), ("mlflow-sqlite", "mlflow.db", 6)]
)
def test_file_open_imports_a_peer_store(qtbot, tmp_path, monkeypatch, fixtures_dir, folder, name, traces):
    peer = tmp_path / "peer"
    peer.mkdir()
    copy = Path(shutil.copy(fixtures_dir / folder / name, peer / name))
    before = fingerprint(copy)
    window = QtMainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    store = tmp_path / "store.db"
    connect(store).conn.close()
    window.open_store(store)
    asked = []

    def choose(parent, caption, folder, filters):
        asked.append(filters)
        return [str(copy)], filters

    monkeypatch.setattr(QFileDialog, "getOpenFileNames", choose)
    done = []
    window.imports.finished.connect(done.append)
    window.open_files_dialog()
    qtbot.waitUntil(lambda: bool(done) and not window.imports.busy, timeout=20_000)
    assert asked == [dialog_filter()] and "*.db" in dialog_filter()
    assert [(r.outcome, r.format) for r in done] == [(Outcome.IMPORTED, name.replace(".db", "-sqlite"))]
    qtbot.waitUntil(lambda: window.trace_list.model.rowCount() == traces)
    assert window.context.store_path == store
    assert fingerprint(copy) == before
    window.close()
