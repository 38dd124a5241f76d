"""Decompression bombs and gigantic records, each imported by the CLI in a process whose address
space is limited: a clear message naming the limit and how to raise it, never a MemoryError
traceback, and the valid records around the bad one kept.

The bombs are built small on disk without ever being inflated here: compressed frames, gzip
members and deflate blocks of a chunk of zeros (or of one letter) are repeated.
"""

from __future__ import annotations

import gzip
import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
import zstandard

from otlp import request, span
from spanscope.core.formats.limits import DECOMPRESSED_ENV, RECORD_ENV
from spanscope.core.formats.zip_members import ZipMembers

#: The address space the importing process may use: well under what each bomb inflates to.
ADDRESS_SPACE = 1536 << 20
CHUNK = 64 << 20
EVAL = "inspect-eval/2026-11-27T04-29-52-00-00_fixture-qa_SnEVxhayFbrkpvjoomYVL3.eval"

_RUN = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
from spanscope.cli import main
sys.exit(main(["import", sys.argv[1], "--db", sys.argv[2]]))
"""


def import_limited(path: Path, tmp_path: Path, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Import `path` in a child process with limited memory: (exit code, stdout + stderr)."""
    done = subprocess.run(
        [sys.executable, "-c", _RUN.format(limit=ADDRESS_SPACE), str(path), str(tmp_path / "store.db")],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )
    return done.returncode, done.stdout + done.stderr


def line(span_id: str) -> bytes:
    return json.dumps(request(span(span_id))).encode() + b"\n"


def huge_string_line() -> tuple[bytes, bytes, int]:
    """(head, tail, copies of CHUNK bytes of "a" between them): an OTLP line whose one attribute
    value is a string of 1 GiB."""
    body = json.dumps(request(span("00000000000000b0", attrs={"big": "@"}))).encode()
    head, tail = body.split(b"@")
    return head, tail + b"\n", (1 << 30) // CHUNK


def test_a_zstd_file_of_4_gb_of_zeros_is_refused_by_the_sniff_in_bounded_memory(tmp_path: Path) -> None:
    frame = zstandard.ZstdCompressor(level=19).compress(bytes(CHUNK))
    path = tmp_path / "zeros.json.zst"
    path.write_bytes(frame * ((4 << 30) // CHUNK))
    assert path.stat().st_size < 200_000
    code, output = import_limited(path, tmp_path)
    assert code == 2 and "Traceback" not in output and "MemoryError" not in output
    assert "not a trace file in any known format" in output


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_a_line_holding_a_1_gb_string_is_skipped_alone_naming_the_limit(
    tmp_path: Path, compression: str
) -> None:
    head, tail, copies = huge_string_line()
    letters = b"a" * CHUNK
    if compression == "gzip":
        pack, path = gzip.compress, tmp_path / "bomb.jsonl.gz"
        letters_packed = gzip.compress(letters, 9)
    else:
        pack, path = zstandard.ZstdCompressor(level=19).compress, tmp_path / "bomb.jsonl.zst"
        letters_packed = pack(letters)
    path.write_bytes(
        pack(line("00000000000000a1") + head)
        + letters_packed * copies
        + pack(tail + line("00000000000000a2"))
    )
    assert path.stat().st_size < 5_000_000
    code, output = import_limited(path, tmp_path)
    assert code == 1 and "Traceback" not in output and "MemoryError" not in output
    assert "line 2" in output and RECORD_ENV in output and "256 MB" in output
    assert "2 spans (2 new)" in output, output


def deflate_bomb(size: int) -> tuple[bytes, int]:
    """A raw deflate stream of `size` zero bytes, and their CRC, built from one compressed chunk."""
    squeeze = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = squeeze.compress(bytes(CHUNK)) + squeeze.flush(zlib.Z_FULL_FLUSH)
    end = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS).flush(zlib.Z_FINISH)
    crc = 0
    zeros = bytes(CHUNK)
    for _ in range(size // CHUNK):
        crc = zlib.crc32(zeros, crc)
    return block * (size // CHUNK) + end, crc


def zip_file(members: list[tuple[str, int, bytes, int, int]]) -> bytes:
    """A zip of (name, method, data as stored, recorded size, crc) members."""
    out, central = bytearray(), bytearray()
    for name, method, data, size, crc in members:
        raw = name.encode()
        offset = len(out)
        out += struct.pack(
            "<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, method, 0, 0, crc, len(data), size, len(raw), 0
        )
        out += raw + data
        central += struct.pack(
            "<4sHHHHHHIIIHHHHHII",
            b"PK\x01\x02",
            20,
            20,
            0,
            method,
            0,
            0,
            crc,
            len(data),
            size,
            len(raw),
            0,
            0,
            0,
            0,
            0,
            offset,
        )
        central += raw
    end = struct.pack(
        "<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(members), len(members), len(central), len(out), 0
    )
    return bytes(out + central + end)


def test_an_eval_member_that_inflates_to_2_gb_is_skipped_alone(tmp_path: Path, fixtures_dir: Path) -> None:
    with ZipMembers(fixtures_dir / EVAL, lambda where, reason: None) as archive:
        contents = [(m.name, archive.read(m) or b"") for m in archive.members]
    bomb, crc = deflate_bomb(2 << 30)
    bombed = "samples/q1_epoch_1.json"
    members = [
        (name, 8, bomb, len(content), crc)
        if name == bombed
        else (name, 0, content, len(content), zlib.crc32(content))
        for name, content in contents
    ]
    path = tmp_path / "bomb.eval"
    path.write_bytes(zip_file(members))
    assert path.stat().st_size < 3_000_000
    code, output = import_limited(path, tmp_path)
    assert code == 1 and "Traceback" not in output and "MemoryError" not in output
    assert f"member {bombed}" in output and RECORD_ENV in output
    samples = sum(1 for name, _ in contents if name.startswith("samples/"))
    assert f"in {samples - 1} traces" in output, output  # one trace per sample


def test_the_decompressed_budget_ends_a_file_with_a_message_naming_it(tmp_path: Path) -> None:
    frame = zstandard.ZstdCompressor(level=19).compress(bytes(CHUNK))
    path = tmp_path / "spans.jsonl.zst"
    first = zstandard.ZstdCompressor().compress(line("00000000000000c1"))
    path.write_bytes(first + frame * 40)
    code, output = import_limited(path, tmp_path, {DECOMPRESSED_ENV: "1"})
    assert "Traceback" not in output and DECOMPRESSED_ENV in output and "1 GB" in output
    assert code == 1


def test_a_pretty_printed_object_holding_a_1_gb_string_is_skipped_alone(tmp_path: Path) -> None:
    """Documents not one a line go through the object splitter, which caps an open object too."""
    head = b'{\n  "resourceSpans": [],\n  "big": "'
    good = json.dumps(request(span("00000000000000d1")), indent=2).encode() + b"\n"
    letters = gzip.compress(b"a" * CHUNK, 9)
    path = tmp_path / "pretty.json.gz"
    path.write_bytes(gzip.compress(head) + letters * ((1 << 30) // CHUNK) + gzip.compress(b'"\n}\n' + good))
    code, output = import_limited(path, tmp_path)
    assert code == 1 and "Traceback" not in output and "MemoryError" not in output
    assert "line 1: this JSON object is larger than 256 MB" in output and RECORD_ENV in output
    assert "1 spans (1 new)" in output, output
