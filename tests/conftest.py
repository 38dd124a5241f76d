"""Shared test fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from spanscope.core.receiver import OtlpReceiver
from spanscope.core.store.live import SpanSink


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """The real-library trace files in ../shared/fixtures (next to the repository), never copied in."""
    path = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
    if not path.is_dir():
        pytest.skip("../shared/fixtures not found: real-library trace fixtures are needed for this test")
    return path


@pytest.fixture(autouse=True)
def user_config_dir(tmp_path_factory, monkeypatch) -> Path:
    """A config dir of the test's own, so price overrides on this machine never change a figure."""
    path = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(path))
    return path / "spanscope"


@pytest.fixture
def served(tmp_path):
    """An OTLP/HTTP receiver on a free loopback port, storing into a fresh store: (receiver, sink, store)."""
    store = tmp_path / "live.db"
    sink = SpanSink(store, "otlp-http://test")
    receiver = OtlpReceiver(sink, port=0)
    receiver.start()
    yield receiver, sink, store
    receiver.stop()
    sink.close()
