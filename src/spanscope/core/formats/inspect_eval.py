"""Inspect AI eval logs: the `.eval` zip and the `.json` document, one trace per sample and epoch.

`.eval` is a zip of JSON members, Zstandard-compressed (ZIP method 93) by recent versions and
deflated by older ones. `header.json` describes the eval and is written last; `_journal/start.json`
is written first, so a log whose run never finished still names its task. Samples come in two
layouts, mixed freely within one file:

- flat: `samples/{id}_epoch_{n}.json`, the whole sample in one member;
- chunked: `samples/{id}_epoch_{n}/sample.json` (the sample without its long sequences) and the
  sequences `messages/`, `events/`, `calls/`, `attachments/` split into members named by the index
  of their first item; attachments are then a list, referenced as `attachment://<index>`.

`.json` is one EvalLog document with `samples[]`. How a sample becomes spans is in inspect_spans.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import msgspec
import orjson

from spanscope.core.formats.base import (
    RECORD_ERRORS,
    FormatError,
    FormatSpec,
    Progress,
    Source,
    nothing_read,
    record_error,
)
from spanscope.core.formats.inspect_spans import EvalInfo, sample_spans, sample_where
from spanscope.core.formats.json_objects import repairing
from spanscope.core.formats.zip_members import ZIP_MAGIC, Member, ZipMembers, decompress, first_local_header
from spanscope.core.model import Span

HEADER, START = "header.json", "_journal/start.json"
_REF_MARKERS = (b"attachment://", b"tc://")
_FLAT = re.compile(r"samples/(.+_epoch_\d+)\.json")
_CHUNKED = re.compile(
    r"samples/(.+_epoch_\d+)/(sample|metadata|skeleton|(messages|events|calls|attachments)/(\d+|stats|uuids))\.json"
)
_SEQUENCES = ("messages", "events", "calls", "attachments")
# Keys, not their values: one bad value (a version that is not a number) must not hide the format.
_JSON_SNIFF = (
    re.compile(rb'(?<!\\)"version"\s*:'),
    re.compile(rb'(?<!\\)"status"\s*:'),
    re.compile(rb'(?<!\\)"eval"\s*:\s*\{'),
    re.compile(rb'(?<!\\)"(?:task_id|eval_id|run_id)"\s*:'),
)


def sniff(head: bytes) -> bool:
    """A zip whose first member is one Inspect writes, or JSON with an EvalLog's first keys."""
    if head.startswith(ZIP_MAGIC):
        return _sniff_zip(head)
    text = head.lstrip(b" \t\r\n\xef\xbb\xbf")
    if not text.startswith(b"{"):
        return False
    start = text[:8192]
    return all(pattern.search(start) for pattern in _JSON_SNIFF)


def _sniff_zip(head: bytes) -> bool:
    local = first_local_header(head)
    if local is None:
        return False
    if local.name not in (START, HEADER):
        return _FLAT.fullmatch(local.name) is not None or _CHUNKED.fullmatch(local.name) is not None
    data = head[local.data_offset : local.data_offset + local.compressed_size]
    if len(data) < local.compressed_size:
        return True  # a member that large is not read here; its name is Inspect's
    try:
        log = repairing(orjson.loads)(decompress(local, data))
    except (ValueError, orjson.JSONDecodeError):
        return False
    return isinstance(log, dict) and isinstance(log.get("eval"), dict)


def read(source: Source, progress: Progress) -> Iterator[Span]:
    with source.path.open("rb") as f:
        is_zip = f.read(len(ZIP_MAGIC)) == ZIP_MAGIC
    yield from (_read_eval if is_zip else _read_json)(source, progress)


# --- .eval -------------------------------------------------------------------------------------


@dataclass
class _Entry:
    """The members holding one sample: one for a flat sample, several for a chunked one."""

    key: str
    flat: Member | None = None
    parts: dict[str, Member] = field(default_factory=dict)
    chunks: dict[str, list[tuple[int, Member]]] = field(default_factory=dict)

    @property
    def last(self) -> Member:
        members = [self.flat] if self.flat else [*self.parts.values()]
        members += [m for chunks in self.chunks.values() for _, m in chunks]
        return max(members, key=lambda m: m.header_offset)


def _read_eval(source: Source, progress: Progress) -> Iterator[Span]:
    with ZipMembers(source.path, source.skip) as archive:
        by_name = {m.name: m for m in archive.members}
        log = _member_json(archive, by_name.get(HEADER), source) or _member_json(
            archive, by_name.get(START), source
        )
        if not isinstance(log, dict):
            source.skip(HEADER, f"missing, and so is {START}: the eval's task and model are unknown")
            log = {}
        entries = _entries(archive.members)
        if not entries:
            raise FormatError(_no_samples(source, log))
        info = EvalInfo.from_log(log)
        count = 0
        for entry in entries:
            loaded = _load(archive, entry, source)
            if loaded is not None:
                spans = _spans(loaded[0], info, source, has_refs=loaded[1])
                count += bool(spans)
                yield from spans
            progress(archive.end_of(entry.last))
    if not count:
        raise FormatError(nothing_read(source))


def _entries(members: list[Member]) -> list[_Entry]:
    """Each sample's members, samples in the order they were written."""
    entries: dict[str, _Entry] = {}
    for member in members:
        if match := _FLAT.fullmatch(member.name):
            entries.setdefault(match[1], _Entry(match[1])).flat = member
        elif match := _CHUNKED.fullmatch(member.name):
            entry = entries.setdefault(match[1], _Entry(match[1]))
            if match[3] is None:
                entry.parts[match[2]] = member
            elif match[4].isdigit():
                entry.chunks.setdefault(match[3], []).append((int(match[4]), member))
    return list(entries.values())


def _load(archive: ZipMembers, entry: _Entry, source: Source) -> tuple[dict[str, Any], bool] | None:
    """The sample as one dict (a chunked one put together) and whether it holds references."""
    if entry.flat is not None:
        raw = archive.read(entry.flat)
        sample = _parse(raw, entry.flat.where, source)
        return (sample, _has_refs(raw)) if sample is not None else None
    shell_member = entry.parts.get("sample")
    if shell_member is None:
        source.skip(
            f"member samples/{entry.key}/sample.json",
            "missing: the sample's other members mean nothing without it",
        )
        return None
    raw = archive.read(shell_member)
    sample = _parse(raw, shell_member.where, source)
    if sample is None:
        return None
    has_refs = _has_refs(raw)
    sequences: dict[str, list[Any]] = {}
    for name in _SEQUENCES:
        items, refs = _sequence(archive, entry, name, source)
        sequences[name] = items
        has_refs = has_refs or refs
    sample["events"] = sequences["events"]
    sample["events_data"] = {"messages": sequences["messages"], "calls": sequences["calls"]}
    sample["attachments"] = {
        str(i): text for i, text in enumerate(sequences["attachments"]) if text is not None
    }
    metadata_member = entry.parts.get("metadata")
    if metadata_member is not None:
        raw = archive.read(metadata_member)
        metadata = _parse(raw, metadata_member.where, source, expect=dict)
        if metadata is not None:
            sample["metadata"] = metadata
            has_refs = has_refs or _has_refs(raw)
    return sample, has_refs


def _sequence(archive: ZipMembers, entry: _Entry, name: str, source: Source) -> tuple[list[Any], bool]:
    """A chunked sequence's items; a chunk that cannot be read leaves None in its place, so later
    items keep the indexes other members refer to them by."""
    items: list[Any] = []
    has_refs = False
    read = True  # whether the previous chunk was read (one that was not is reported already)
    for start, member in sorted(entry.chunks.get(name, ())):
        if start > len(items):
            if read:
                source.skip(
                    f"member samples/{entry.key}/{name}/{len(items)}.json",
                    f"missing: {name} {len(items)} to {start - 1} of the sample are not in the file",
                )
            items.extend([None] * (start - len(items)))
        raw = archive.read(member)
        chunk = _parse(raw, member.where, source, expect=list)
        read = chunk is not None
        if chunk is not None:
            del items[start:]
            items.extend(chunk)
            has_refs = has_refs or (name != "attachments" and _has_refs(raw))
    return items, has_refs


def _member_json(archive: ZipMembers, member: Member | None, source: Source) -> Any:
    return None if member is None else _parse(archive.read(member), member.where, source)


def _parse(raw: bytes | None, where: str, source: Source, expect: type = dict) -> Any:
    if raw is None:
        return None
    try:
        value = repairing(orjson.loads)(raw)
    except orjson.JSONDecodeError as exc:
        source.skip(where, f"not valid JSON: {exc}")
        return None
    if not isinstance(value, expect):
        source.skip(where, f"expected a JSON {'object' if expect is dict else 'array'}")
        return None
    return value


def _has_refs(raw: bytes | memoryview | None) -> bool:
    return raw is not None and any(marker in raw for marker in _REF_MARKERS)


# --- .json -------------------------------------------------------------------------------------


class _JsonLog(msgspec.Struct):
    """An EvalLog document with its samples left undecoded, so each is read (or skipped) alone."""

    version: Any = None
    status: Any = None
    eval: Any = None
    results: Any = None
    samples: list[msgspec.Raw] | None = None


_JSON_LOG = msgspec.json.Decoder(_JsonLog)


def _read_json(source: Source, progress: Progress) -> Iterator[Span]:
    data = source.read_all(progress)
    try:
        log = repairing(_JSON_LOG.decode)(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise FormatError(f"{source.path}: not a readable Inspect eval log: {exc}") from exc
    header = {"status": log.status, "eval": log.eval, "results": log.results}
    if not log.samples:
        raise FormatError(_no_samples(source, header))
    info = EvalInfo.from_log(header)
    count = 0
    for number, raw in enumerate(log.samples, start=1):
        text = bytes(raw)
        sample = _parse(text, f"sample {number}", source)
        if sample is not None:
            spans = _spans(sample, info, source, has_refs=_has_refs(text))
            count += bool(spans)
            yield from spans
    if not count:
        raise FormatError(nothing_read(source))


# --- both --------------------------------------------------------------------------------------


def _spans(sample: dict[str, Any], info: EvalInfo, source: Source, *, has_refs: bool) -> list[Span]:
    try:
        return sample_spans(sample, info, source.skip, has_refs=has_refs)
    except RECORD_ERRORS as exc:
        source.skip(sample_where(sample), record_error(exc))
        return []


def _no_samples(source: Source, log: dict[str, Any]) -> str:
    status = log.get("status")
    state = f" (status {status})" if isinstance(status, str) else ""
    if source.problems:
        found = "; ".join(f"{p.where}: {p.reason}" for p in source.problems)
        return f"{source.path}: this Inspect eval log{state} holds no samples that can be read ({found})"
    return (
        f"{source.path}: this Inspect eval log{state} holds no samples - it was written with "
        "log_samples off, or before any sample finished - so there is nothing to import"
    )


SPEC = FormatSpec(
    name="inspect-eval",
    description="Inspect AI eval log (.eval zip with flat or chunked samples, or .json)",
    written_by="`inspect eval`'s `.eval` logs (zip, zstd or deflate members, flat or chunked samples, also "
    "cut short) and `--log-format json` logs: one trace per sample and epoch, scores kept, attachments "
    "resolved. `spanscope import logs/2026-…_my-task_….eval && spanscope tree <sample uuid>`",
    extensions=(".eval", ".json"),
    sniff=sniff,
    read=read,
    # An EvalLog's keys (version, status, eval, run_id...) are looked for anywhere in the head, and these
    # formats' records may hold them (a run has its own `status`, and inputs of any JSON). An EvalLog's
    # top-level keys are none of theirs, so their sniffers never claim it.
    after=("langsmith", "langfuse-export", "openai-agents"),
)
