"""Reading a large uncompressed file keeps little of it in memory: the mapped pages already read are
released as the reading moves on (they would otherwise count in the import's resident memory, as
much as the file's size)."""

from __future__ import annotations

import sys
from pathlib import Path

import msgspec
import pytest

from spanscope.core.formats import Source
from spanscope.core.formats.json_objects import read_objects

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/smaps")

LINES = 200_000


def mapped_resident_kb(path: Path) -> int:
    """Resident memory of this process's mappings of `path`, from /proc/self/smaps."""
    total, inside = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        fields = line.split()
        if "-" in fields[0] and len(fields) >= 5:  # a mapping's header line
            inside = fields[-1] == str(path)
        elif inside and fields[0] == "Rss:":
            total += int(fields[1])
    return total


def test_pages_read_are_released(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    line = b'{"resourceSpans": [], "padding": "' + b"x" * 200 + b'"}\n'
    path.write_bytes(line * LINES)
    size_kb = path.stat().st_size // 1024
    source = Source(path)
    resident = []
    for number, _ in read_objects(source, lambda done: None, msgspec.json.decode):
        if number % 50_000 == 0:
            resident.append(mapped_resident_kb(path))
    assert number == LINES
    assert resident and max(resident) < size_kb / 8, (resident, size_kb)
