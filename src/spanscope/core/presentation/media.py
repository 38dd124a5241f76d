"""Qt-free handling of images and audio carried inside trace data as base64: finding them, naming
them ("image/png, 1.6 KB") instead of showing megabytes of text, and decoding them within a bound.

A payload is kept as the text it came in plus an offset (a `Blob`), so naming one never copies or
decodes it; only `Blob.decode` does, and it refuses beyond a size limit before decoding anything.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from dataclasses import dataclass
from typing import Any

from spanscope.core.presentation.content import human_bytes, preview, tooltip

#: Base64 runs at least this long are treated as binary data, not words.
MIN_BLOB = 200
#: The largest decoded image we decode for a preview; beyond it we only say how large it is.
IMAGE_LIMIT = 20_000_000
_DATA_URL_RE = re.compile(r"data:([\w.+-]+/[\w.+-]+)?((?:;[\w.+-]+=[^;,\s\"']*)*);base64,")
_BLOB_RE = re.compile(rf"[A-Za-z0-9+/]{{{MIN_BLOB},}}={{0,2}}")
_BASE64_CHARS = re.compile(r"[A-Za-z0-9+/]*={0,2}")
#: Leading bytes of common media files; checked in order.
_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF8", 0, "image/gif"),
    (b"WEBP", 8, "image/webp"),
    (b"WAVE", 8, "audio/wav"),
    (b"ID3", 0, "audio/mpeg"),
    (b"\xff\xfb", 0, "audio/mpeg"),
    (b"OggS", 0, "audio/ogg"),
    (b"fLaC", 0, "audio/flac"),
    (b"%PDF", 0, "application/pdf"),
)
_AUDIO_FORMATS = {"wav": "audio/wav", "mp3": "audio/mpeg", "flac": "audio/flac", "opus": "audio/ogg"}


class TooLarge(ValueError):
    """A payload larger than the caller allows; it was not decoded."""


@dataclass(frozen=True, slots=True)
class Blob:
    """Base64 data inside `text`, from `start` up to `end` (exclusive)."""

    mime: str
    text: str
    start: int
    end: int

    @property
    def size(self) -> int:
        """The decoded size, from the length and padding alone."""
        padding = 0
        if self.end > self.start and self.text[self.end - 1] == "=":
            padding = 2 if self.end - 1 > self.start and self.text[self.end - 2] == "=" else 1
        return (self.end - self.start) * 3 // 4 - padding

    def label(self) -> str:
        """`image/png, 1.6 KB`: what to show instead of the base64."""
        return f"{self.mime}, {size_text(self.size)}"

    def head(self, size: int = 48) -> bytes:
        """The first `size` bytes (rounded up to whole base64 groups), b'' when they are not base64."""
        chars = -(-size // 3) * 4
        return _decode(self.text[self.start : min(self.end, self.start + chars)])

    def decode(self, limit: int) -> bytes:
        """The bytes, or TooLarge (before any decoding) when there are more than `limit`."""
        if self.size > limit:
            raise TooLarge(f"{self.label()} is larger than {size_text(limit)}")
        return _decode(self.text[self.start : self.end])


def _decode(text: str) -> bytes:
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return b""


def size_text(size: int) -> str:
    """Like `human_bytes`, with a decimal below 10 KB, where "2 KB" would hide the difference."""
    return f"{size / 1000:.1f} KB" if 1000 <= size < 10_000 else human_bytes(size)


def sniff(data: bytes) -> str | None:
    """The media type the leading bytes show, or None."""
    for magic, at, mime in _MAGIC:
        if data[at : at + len(magic)] == magic:
            return mime
    return None


def _typed(mime: str | None, text: str, start: int, end: int, fallback: str) -> Blob:
    """A Blob of `mime`, else of the type its leading bytes show, else of `fallback`."""
    if mime:
        return Blob(mime, text, start, end)
    return Blob(sniff(Blob("", text, start, end).head()) or fallback, text, start, end)


def data_url(text: Any) -> Blob | None:
    """The payload of a text that is a base64 `data:` URL; its own mime type, else a sniffed one."""
    if type(text) is not str or not text.startswith("data:"):
        return None
    match = _DATA_URL_RE.match(text)
    if match is None:
        return None
    end = _BASE64_CHARS.match(text, match.end()).end()
    if end != len(text):
        return None
    return _typed(match.group(1), text, match.end(), end, "application/octet-stream")


def base64_blob(text: Any, mime: str | None = None) -> Blob | None:
    """A text that is nothing but a long base64 run (e.g. input_audio's `data`); the type is `mime`
    when the caller knows it, else what its bytes show, else "base64"."""
    if type(text) is not str or len(text) < MIN_BLOB or _BLOB_RE.fullmatch(text) is None:
        return None
    return _typed(mime, text, 0, len(text), "base64")


def payload(text: Any) -> Blob | None:
    """A data URL or a base64 blob, else None."""
    return data_url(text) or base64_blob(text)


_EMBEDDED_RE = re.compile(rf"{_DATA_URL_RE.pattern}[A-Za-z0-9+/]*={{0,2}}|{_BLOB_RE.pattern}")
#: Where a payload starts; searched only over the part of a text that will be shown.
_START_RE = re.compile(rf"{_DATA_URL_RE.pattern}|[A-Za-z0-9+/]{{{MIN_BLOB}}}")
_EMBEDDED_URL_RE = re.compile(rf"{_DATA_URL_RE.pattern}[A-Za-z0-9+/]*={{0,2}}")


def _embedded(text: str, start: int) -> Blob:
    """The payload starting at `start`, where _START_RE found one (read in place, not copied)."""
    match = _EMBEDDED_RE.match(text, start)
    if text.startswith("data:", start):
        body = _DATA_URL_RE.match(text, start).end()
        return _typed(match.group(1), text, body, match.end(), "application/octet-stream")
    return _typed(None, text, start, match.end(), "base64")


def shorten(text: str, limit: int | None = None) -> str:
    """`text` with each data URL and long base64 run in it replaced by `‹image/png, 1.6 KB›`.

    With a `limit`, only enough of the text for `limit` characters (and one more, to tell there is
    more) is worked through: searching prose is slow, and a table cell shows a few hundred."""
    if len(text) < MIN_BLOB:
        return text
    out: list[str] = []
    pos = size = 0
    while limit is None or size <= limit:
        end = len(text) if limit is None else min(len(text), pos + limit - size + MIN_BLOB + 1)
        found = _START_RE.search(text, pos, end)
        if found is None:
            out.append(text[pos:end])
            size += end - pos
            pos = end
            if pos == len(text):
                break
            continue
        blob = _embedded(text, found.start())
        label = f"‹{blob.label()}›"
        out += (text[pos : found.start()], label)
        size += found.start() - pos + len(label)
        pos = blob.end
    return "".join(out)


def cell_text(text: str, limit: int = 300) -> str:
    """`preview` for a table cell, payloads named."""
    return preview(shorten(text, limit), limit)


def cell_tooltip(text: str, limit: int = 1000) -> str:
    """`tooltip` for a cell, payloads named: the whole text when it is short once they are."""
    short = shorten(text, limit)
    return tooltip(short if len(short) <= limit else text, limit)


def searchable(text: str) -> str:
    """The text to index: "" for a payload, data URLs inside text removed (base64 is no words)."""
    if len(text) < MIN_BLOB:
        return text
    if payload(text) is not None:
        return ""
    return _EMBEDDED_URL_RE.sub(" ", text) if "base64," in text else text


# --- audio -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Audio:
    """An audio part of a chat message: its data, and the format it was sent as."""

    blob: Blob
    format: str

    @property
    def duration_s(self) -> float | None:
        """The length, read from a WAV header; None for other formats or a bad header."""
        return wav_duration(self.blob.head(512)) if self.blob.mime == "audio/wav" else None

    def summary(self) -> str:
        """`audio/wav · 0.20 s · 1.6 KB`."""
        duration = self.duration_s
        shown = [self.blob.mime] + ([f"{duration:.2f} s"] if duration is not None else [])
        return " · ".join([*shown, size_text(self.blob.size)])


def audio_part(part: dict[str, Any]) -> Audio | None:
    """OpenAI `input_audio {data, format}`, a GenAI `blob` of modality audio, or an audio data URL."""
    inner = part.get("input_audio")
    if part.get("type") == "input_audio" and isinstance(inner, dict):
        fmt = str(inner.get("format") or "")
        mime = _AUDIO_FORMATS.get(fmt.lower(), f"audio/{fmt}" if fmt else None)
        blob = base64_blob(inner.get("data"), mime)
    elif part.get("type") == "blob" and part.get("modality") == "audio":
        blob = base64_blob(part.get("content"), part.get("mime_type") or None)
        fmt = blob.mime.rpartition("/")[2] if blob else ""
    else:
        url = part.get("url") or part.get("audio_url")
        blob = data_url(url.get("url") if isinstance(url, dict) else url)
        if blob is None or not blob.mime.startswith("audio/"):
            return None
        fmt = blob.mime.rpartition("/")[2]
    return None if blob is None else Audio(blob, fmt)


def wav_duration(header: bytes) -> float | None:
    """Seconds of audio a RIFF/WAVE header announces: the data chunk's size over the byte rate."""
    if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
        return None
    byte_rate, at = 0, 12
    while at + 8 <= len(header):
        chunk, size = header[at : at + 4], struct.unpack_from("<I", header, at + 4)[0]
        if chunk == b"fmt " and at + 20 <= len(header):
            byte_rate = struct.unpack_from("<I", header, at + 16)[0]
        elif chunk == b"data":
            return size / byte_rate if byte_rate else None
        at += 8 + size + (size & 1)
    return None
