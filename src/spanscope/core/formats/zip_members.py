"""The members of a zip file, Zstandard ones included, even when the file is cut short.

Python 3.11's zipfile lists a zip whose members use method 93 (Zstandard) but cannot open them, so
members are located from the central directory and decompressed here. A zip that lost its end (a
writer killed before it closed the file) has no central directory: its members are then found by
walking the local headers from the start, and the last, cut-short one is reported by name.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import zstandard

from spanscope.core.formats.limits import max_record_bytes, record_too_large

ZIP_MAGIC = b"PK\x03\x04"
STORED, DEFLATED, ZSTD = 0, 8, 93
_METHODS = {STORED: "stored", DEFLATED: "deflate", ZSTD: "zstd"}
_LOCAL = struct.Struct("<4sHHHHHIIIHH")
#: Set in a local header when its sizes are only given after the data.
_DATA_DESCRIPTOR = 0x08
_DESCRIPTOR_MAGIC = b"PK\x07\x08"

#: Reports a problem: (where, reason).
Skip = Callable[[str, str], None]


@dataclass(frozen=True, slots=True)
class Member:
    name: str
    method: int
    header_offset: int
    compressed_size: int
    size: int
    crc: int

    @property
    def where(self) -> str:
        return f"member {self.name}"


@dataclass(frozen=True, slots=True)
class LocalHeader:
    """A local file header: what it says, and where its data starts."""

    name: str
    method: int
    flags: int
    crc: int
    compressed_size: int
    size: int
    data_offset: int


def first_local_header(data: bytes) -> LocalHeader | None:
    """The local header at the start of `data`, if it holds a whole one."""
    if len(data) < _LOCAL.size or not data.startswith(ZIP_MAGIC):
        return None
    _, _, flags, method, _, _, crc, csize, size, name_len, extra_len = _LOCAL.unpack_from(data)
    end = _LOCAL.size + name_len
    if len(data) < end:
        return None
    name = data[_LOCAL.size : end].decode("utf-8" if flags & 0x800 else "cp437", "replace")
    return LocalHeader(name, method, flags, crc, csize, size, end + extra_len)


def decompress(member: LocalHeader | Member, data: bytes) -> bytes:
    """The member's content; ValueError says why it cannot be had, including content that inflates
    past limits.max_record_bytes() (whatever size the zip records: that may lie)."""
    limit = max_record_bytes()
    if member.method == STORED:
        content = data
    elif member.method == DEFLATED:
        inflate = zlib.decompressobj(-zlib.MAX_WBITS)
        try:
            content = inflate.decompress(data, limit + 1)
        except zlib.error as exc:
            raise ValueError(f"deflate data is corrupt: {exc}") from exc
    elif member.method == ZSTD:
        try:
            with zstandard.ZstdDecompressor().stream_reader(data) as reader:
                content = _read_up_to(reader, limit + 1)
        except zstandard.ZstdError as exc:
            raise ValueError(f"zstd data is corrupt: {exc}") from exc
    else:
        known = ", ".join(f"{name} ({code})" for code, name in _METHODS.items())
        raise ValueError(f"compression method {member.method} is not supported (only {known})")
    if len(content) > limit:
        raise ValueError(record_too_large("its content"))
    return content


def _read_up_to(reader: BinaryIO, size: int) -> bytes:
    parts, left = [], size
    while left > 0 and (part := reader.read(min(left, 1 << 24))):
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


class ZipMembers:
    """A zip file's members in the order they were written; `read` gives one member's bytes.

    Problems (no central directory, a member cut short, corrupt or in an unknown compression)
    go to `skip` with the member's name; `read` then returns None and the other members stay
    readable."""

    def __init__(self, path: Path, skip: Skip) -> None:
        self.path = path
        self._skip = skip
        self._file: BinaryIO = path.open("rb")
        self.members = self._from_central_directory()
        if self.members is None:
            self.members = self._from_local_headers()

    def __enter__(self) -> ZipMembers:
        return self

    def __exit__(self, *_: object) -> None:
        self._file.close()

    def read(self, member: Member) -> bytes | None:
        """The member's decompressed bytes, or None after reporting why not."""
        if max(member.size, member.compressed_size) > max_record_bytes():
            self._skip(member.where, record_too_large(f"its content ({member.size:,} bytes)"))
            return None
        f = self._file
        f.seek(member.header_offset)
        local = first_local_header(f.read(_LOCAL.size + 1024 + len(member.name.encode())))
        if local is None:
            self._skip(member.where, "its local header is missing or damaged")
            return None
        f.seek(member.header_offset + local.data_offset)
        data = f.read(member.compressed_size)
        if len(data) < member.compressed_size:
            self._skip(
                member.where,
                f"cut short: {len(data):,} of {member.compressed_size:,} compressed bytes are in the file",
            )
            return None
        try:
            content = decompress(member, data)
        except ValueError as exc:
            self._skip(member.where, str(exc))
            return None
        if len(content) != member.size or zlib.crc32(content) != member.crc:
            self._skip(member.where, "its content does not match the size and checksum the zip records")
            return None
        return content

    def end_of(self, member: Member) -> int:
        """Where the member's data ends in the file (for progress in on-disk bytes)."""
        return member.header_offset + _LOCAL.size + len(member.name.encode()) + member.compressed_size

    def _from_central_directory(self) -> list[Member] | None:
        try:
            with zipfile.ZipFile(self._file) as archive:
                infos = archive.infolist()
        except (zipfile.BadZipFile, OSError, ValueError):
            return None
        members = [
            Member(i.filename, i.compress_type, i.header_offset, i.compress_size, i.file_size, i.CRC)
            for i in infos
            if not i.is_dir()
        ]
        return sorted(members, key=lambda m: m.header_offset)

    def _from_local_headers(self) -> list[Member]:
        """Walk the local headers from the start of a zip that has no central directory."""
        self._skip(
            "central directory",
            "missing: the zip is cut short or damaged; the members before the cut are read",
        )
        f = self._file
        size = f.seek(0, 2)
        members: list[Member] = []
        offset = 0
        while offset < size:
            f.seek(offset)
            local = first_local_header(f.read(_LOCAL.size + 0xFFFF))
            if local is None:
                break
            member = Member(local.name, local.method, offset, local.compressed_size, local.size, local.crc)
            if local.flags & _DATA_DESCRIPTOR and not local.compressed_size:
                self._skip(
                    member.where,
                    "its size is only recorded after its data; members from here on are not read",
                )
                break
            end = offset + local.data_offset + local.compressed_size
            if end > size:
                self._skip(
                    member.where,
                    f"cut short: {size - offset - local.data_offset:,} of {local.compressed_size:,} "
                    "compressed bytes are in the file",
                )
                break
            members.append(member)
            offset = end
            if local.flags & _DATA_DESCRIPTOR:
                f.seek(end)
                offset += 16 if f.read(4) == _DESCRIPTOR_MAGIC else 12
        return members
