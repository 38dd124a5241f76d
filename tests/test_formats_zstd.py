"""Whole-file zstd in Source: any format reads through it, frames one after another, and a cut or
corrupt file keeps what came before with one problem reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import zstandard

from otlp import request, span
from spanscope.core.formats import FormatError, Source, otlp_json
from spanscope.core.formats.registry import detect


def lines(first: int, last: int) -> bytes:
    return b"".join(
        json.dumps(request(span(f"{n:016x}", attrs={"text": "word " * 200}))).encode() + b"\n"
        for n in range(first, last)
    )


def read(path: Path) -> tuple[list[str], list[str], list[int]]:
    source, seen = Source(path), []
    assert detect(source) is otlp_json.SPEC
    spans = list(otlp_json.read(source, seen.append))
    return [s.span_id for s in spans], [f"{p.where}: {p.reason}" for p in source.problems], seen


def test_frames_one_after_another_and_progress_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl.zst"
    compressor = zstandard.ZstdCompressor()
    path.write_bytes(compressor.compress(lines(1, 40)) + compressor.compress(lines(40, 80)))
    ids, problems, seen = read(path)
    assert ids == [f"{n:016x}" for n in range(1, 80)] and problems == []
    assert seen == sorted(seen) and seen[-1] == path.stat().st_size


def test_cut_short_file_keeps_what_came_before(tmp_path: Path) -> None:
    data = zstandard.ZstdCompressor(level=1).compress(lines(1, 2000))
    path = tmp_path / "cut.jsonl.zst"
    path.write_bytes(data[: len(data) // 2])
    ids, problems, _ = read(path)
    assert 0 < len(ids) < 1999 and ids == [f"{n:016x}" for n in range(1, len(ids) + 1)]
    assert problems[0] == "end of file: the compressed file is cut short; what came before was read"


def test_corrupt_frame_keeps_what_came_before(tmp_path: Path) -> None:
    compressor = zstandard.ZstdCompressor()
    good = compressor.compress(lines(1, 10))
    bad = bytearray(compressor.compress(lines(10, 20)))
    bad[len(bad) // 2 :] = bytes(len(bad) - len(bad) // 2)
    path = tmp_path / "corrupt.jsonl.zst"
    path.write_bytes(good + bytes(bad))
    ids, problems, _ = read(path)
    assert ids[:9] == [f"{n:016x}" for n in range(1, 10)]
    assert "end of file: the compressed file is corrupt; what came before was read" in problems


def test_a_compressed_file_corrupt_from_its_start_is_named_so_not_empty(tmp_path: Path) -> None:
    data = bytearray(zstandard.ZstdCompressor().compress(lines(1, 20)))
    data[6:40] = bytes(34)
    path = tmp_path / "traces.jsonl.zst"
    path.write_bytes(bytes(data))
    with pytest.raises(FormatError, match="corrupt or cut short before any content"):
        detect(Source(path))
