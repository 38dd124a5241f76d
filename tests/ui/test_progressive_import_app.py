"""The app shows a big file's first traces while its import goes on, and Cancel takes them away."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from generated_traces import generated_file
from spanscope.core.store import Outcome, connect
from spanscope.ui.main_window import QtMainWindow

BIG_SPANS = 200_000


@pytest.fixture(scope="session")
def big_file(tmp_path_factory) -> Path:
    return generated_file(tmp_path_factory, BIG_SPANS)


@pytest.fixture
def window(qtbot, tmp_path):
    w = QtMainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    yield w
    w.close()


def test_the_first_traces_of_a_big_file_show_within_2_s_and_cancel_takes_them_away(
    qtbot, window, tmp_path, big_file
):
    store = tmp_path / "store.db"
    connect(store).conn.close()
    window.open_store(store)
    done = []
    window.imports.finished.connect(done.append)
    model = window.trace_list.model
    started = time.monotonic()
    window.import_files([big_file])
    qtbot.waitUntil(lambda: model.rowCount() > 0, timeout=2_000)
    shown_after = time.monotonic() - started
    assert shown_after < 2.0
    assert window.imports.busy and not done  # the import goes on
    first = model.rowCount()
    qtbot.waitUntil(lambda: model.rowCount() > first, timeout=10_000)  # and more traces follow
    assert window.imports.busy and not done
    with qtbot.waitSignal(window.imports.idle, timeout=30_000):
        window.cancel_button.click()
    assert [r.outcome for r in done] == [Outcome.CANCELLED]
    qtbot.waitUntil(lambda: model.rowCount() == 0, timeout=5_000)
