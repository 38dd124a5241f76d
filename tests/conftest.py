"""Shared test fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """The real-library trace files in ../shared/fixtures (next to the repository), never copied in."""
    path = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
    if not path.is_dir():
        pytest.skip("../shared/fixtures not found: real-library trace fixtures are needed for this test")
    return path
