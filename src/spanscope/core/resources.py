"""Files shipped with Spanscope: the bundled demo traces."""

from __future__ import annotations

from pathlib import Path

RESOURCES = Path(__file__).resolve().parents[3] / "resources"


def demo_traces() -> Path:
    """The demo trace file a new user sees when the app starts with nothing to open."""
    return RESOURCES / "demo" / "demo.otlp.jsonl"
