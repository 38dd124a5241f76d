"""A folder of real captures as a user keeps them: the OpenAI Agents SDK (JS) ingest bodies side by
side and in a subfolder, a README, and hidden files and folders."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

BODIES = ("travel-desk-responses.ingest.json", "travel-desk-chat-completions.ingest.json")


def capture_folder(fixtures_dir: Path, tmp_path: Path) -> Path:
    """captures/{responses body, README.txt, .DS_Store, sub/{chat-completions body}, .git/{a body}}"""
    top = tmp_path / "captures"
    (top / "sub").mkdir(parents=True)
    (top / ".git").mkdir()
    shutil.copy(fixtures_dir / "openai-agents-js" / BODIES[0], top / BODIES[0])
    shutil.copy(fixtures_dir / "openai-agents-js" / BODIES[1], top / "sub" / BODIES[1])
    shutil.copy(fixtures_dir / "openai-agents-js" / BODIES[0], top / ".git" / BODIES[0])
    (top / "README.txt").write_text("Captures of the travel desk, one request body a file.\n")
    (top / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    return top


def bodies(folder: Path) -> tuple[Path, Path]:
    """The two trace files of `folder`, in the order a folder lists them (path order)."""
    return folder / "sub" / BODIES[1], folder / BODIES[0]


def raw_trace_ids(folder: Path) -> set[str]:
    """The trace ids of the span items of the bodies in `folder`, read from the raw JSON."""
    items = [item for body in bodies(folder) for item in json.loads(body.read_text())["data"]]
    return {item["trace_id"] for item in items if item["object"] == "trace.span"}
