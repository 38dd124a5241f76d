"""Files of ../shared/bench/make_traces.py, the yardstick, written once per test session."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

MAKE_TRACES = Path(__file__).resolve().parents[2] / "shared" / "bench" / "make_traces.py"


def generated_file(tmp_path_factory: pytest.TempPathFactory, spans: int) -> Path:
    """An OTLP/JSON file of `spans` spans (prompts up to 400 bytes)."""
    if not MAKE_TRACES.exists():
        pytest.skip("../shared/bench/make_traces.py not found")
    path = tmp_path_factory.mktemp("generated") / f"{spans}.otlp.jsonl"
    command = [sys.executable, str(MAKE_TRACES), str(path), "--spans", str(spans), "--input-bytes", "400"]
    subprocess.run(command, check=True, capture_output=True)
    return path
