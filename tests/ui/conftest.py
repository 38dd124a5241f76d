"""Shared fixtures for the desktop app's tests: a store holding the bundled demo traces."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from spanscope.core.resources import demo_traces

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

DEMO = demo_traces()


@pytest.fixture(scope="session", autouse=True)
def garbage_collected_on_gui_thread(qapp):
    """As in the app: a worker thread must never free Qt objects (see collect_garbage_on_gui_thread)."""
    from spanscope.ui.app import collect_garbage_on_gui_thread

    collect_garbage_on_gui_thread()


@pytest.fixture(scope="session")
def demo_store_template(tmp_path_factory) -> Path:
    from spanscope.core.store import Outcome, import_file

    path = tmp_path_factory.mktemp("demo") / "demo.db"
    assert import_file(path, DEMO).outcome is Outcome.IMPORTED
    return path


@pytest.fixture
def demo_store(demo_store_template, tmp_path) -> Path:
    """A fresh copy of the demo store for each test."""
    path = tmp_path / "demo.db"
    shutil.copy(demo_store_template, path)
    return path


@pytest.fixture
def context(qtbot, demo_store):
    """A QtTraceContext with the demo store open."""
    from spanscope.ui.context import QtTraceContext

    ctx = QtTraceContext()
    ctx.open_store(demo_store)
    yield ctx
    ctx.close_store()


@pytest.fixture
def panel(qtbot, context):
    """The span detail panel over the demo store, shown."""
    from spanscope.ui.detail import QtDetailPanel

    widget = QtDetailPanel(context)
    qtbot.addWidget(widget)
    widget.resize(700, 700)
    widget.show()
    return widget
