"""The known formats, found rather than listed: every module of this package that declares a `SPEC`,
in the order detection tries them.

Sniffing stops at the first format that claims a file, so a sniffer that may also claim another
format's files is tried after it: its spec names that format in `after`. The order is otherwise by
name, so it never depends on which module happened to be found first.
"""

from __future__ import annotations

import heapq
import importlib
import pkgutil
from collections.abc import Iterable
from functools import cache

from spanscope.core.formats.base import FormatError, FormatSpec, Source


def discover(package: str = __package__) -> list[FormatSpec]:
    """The SPEC of every module in `package` that declares one."""
    found = []
    for info in pkgutil.iter_modules(importlib.import_module(package).__path__, f"{package}."):
        spec = getattr(importlib.import_module(info.name), "SPEC", None)
        if isinstance(spec, FormatSpec):
            found.append(spec)
    return found


def ordered(specs: Iterable[FormatSpec]) -> list[FormatSpec]:
    """`specs` with each after every format its `after` names, ties broken by name; ValueError for
    a name given twice, an `after` naming no format, or formats that must each come after the other."""
    by_name: dict[str, FormatSpec] = {}
    for spec in specs:
        if spec.name in by_name:
            raise ValueError(f"two formats are named {spec.name!r}")
        by_name[spec.name] = spec
    waiting = {name: set(spec.after) for name, spec in by_name.items()}
    for name, before in waiting.items():
        if unknown := before - by_name.keys():
            raise ValueError(f"format {name!r} is to be tried after unknown formats: {sorted(unknown)}")
    ready = [name for name, before in waiting.items() if not before]
    heapq.heapify(ready)
    order: list[FormatSpec] = []
    while ready:
        name = heapq.heappop(ready)
        order.append(by_name[name])
        for other, before in waiting.items():
            if name in before:
                before.discard(name)
                if not before:
                    heapq.heappush(ready, other)
    if len(order) < len(by_name):
        stuck = sorted(name for name, before in waiting.items() if before)
        raise ValueError(f"formats whose `after` make a cycle: {stuck}")
    return order


@cache
def registry() -> tuple[FormatSpec, ...]:
    """Every known format, in the order detection tries them."""
    return tuple(ordered(discover()))


def claiming(source: Source) -> FormatSpec | None:
    """The first format whose sniffer claims `source`, None when none does (an empty file included);
    FormatError when it cannot be read."""
    head = source.head()
    return _first_claiming(source, head) if head.strip() else None


def detect(source: Source) -> FormatSpec:
    """The format of `source`, judged by content; FormatError saying what the file begins with if no
    format claims it (a line, not the list of every format: `spanscope import --help` and the
    README have that)."""
    head = source.head()
    if not head.strip():
        if source.compressed and source.size:
            raise FormatError(
                f"{source.path}: the compressed file is corrupt or cut short before any content"
            )
        raise FormatError(f"{source.path}: the file is empty")
    spec = _first_claiming(source, head)
    if spec is None:
        raise FormatError(
            f"{source.path}: not a trace file in any known format ({len(registry())} tried, listed by "
            f"`spanscope import --help`); it begins {_beginning(head)}"
        )
    return spec


#: How much of a file an unclaimed file's message quotes.
QUOTED_CHARS = 60


def _beginning(head: bytes) -> str:
    """What a file starts with, for a message: its first characters (whitespace runs as one space,
    control characters escaped), or its first bytes in hex when it is not text."""
    text = head[:1024].decode("utf-8", errors="replace")
    if "\x00" in text or text.count("\ufffd") > 2:
        return "with the bytes " + head[:12].hex(" ") + " (binary, not text)"
    flat = " ".join(text.split())
    quoted = flat[:QUOTED_CHARS] + ("…" if len(flat) > QUOTED_CHARS else "")
    return "with " + repr(quoted)


def _first_claiming(source: Source, head: bytes) -> FormatSpec | None:
    return next((spec for spec in registry() if spec.claims(source, head)), None)
