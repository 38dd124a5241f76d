"""The user's price override file as editable entries: read, check, and write it back atomically.

The file is what `PriceBook.load` reads: {"models": {pattern: {"provider": ..., "input": ...}}}, rates
in $ per million tokens. A pattern is an exact model name or a glob (`my-llama-*`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from spanscope.core.pricing.prices import PRICE_FILES, PriceBook, read_price_file
from spanscope.core.user_files import config_dir, write_json

#: Rate fields of an entry, as the file names them, with the label a form shows.
RATE_FIELDS = {
    "input": "Input",
    "output": "Output",
    "cached_input": "Cache read",
    "cache_write": "Cache write",
}
#: The file the Settings dialog writes; `PriceBook.load` reads it before prices.toml.
WRITTEN_FILE = PRICE_FILES[0]


@dataclass(frozen=True)
class OverrideEntry:
    pattern: str
    provider: str | None = None
    input: float | None = None
    output: float | None = None
    cached_input: float | None = None
    cache_write: float | None = None

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {"provider": self.provider} if self.provider else {}
        data.update({k: getattr(self, k) for k in RATE_FIELDS if getattr(self, k) is not None})
        return data


def read_entries(folder: Path | None = None) -> tuple[list[OverrideEntry], Path | None]:
    """The entries of the override file in `folder` (the user config dir) and that file (None: none);
    pricing.PriceFileError when the file cannot be used, naming it and the problem."""
    folder = folder or config_dir()
    for name in PRICE_FILES:
        path = folder / name
        if path.is_file():
            data = read_price_file(path)
            PriceBook(data, origin=str(path))  # the same checks an import makes
            models = data["models"]
            return [_entry(pattern, values) for pattern, values in models.items()], path
    return [], None


def problems(entries: Sequence[OverrideEntry]) -> list[str]:
    """What keeps `entries` from being saved, one message per problem, naming the row (1-based)."""
    found = []
    seen: dict[str, int] = {}
    for row, entry in enumerate(entries, 1):
        where = f"Row {row}" + (f" ({entry.pattern})" if entry.pattern.strip() else "")
        if not entry.pattern.strip():
            found.append(f"{where}: the model pattern is empty")
        elif entry.pattern in seen:
            found.append(f"{where}: the model pattern is already on row {seen[entry.pattern]}")
        else:
            seen[entry.pattern] = row
        rates = {k: getattr(entry, k) for k in RATE_FIELDS}
        if all(v is None for v in rates.values()):
            found.append(f"{where}: give at least one price")
        for key, value in rates.items():
            if value is not None and not 0 <= value < math.inf:
                found.append(f"{where}: {RATE_FIELDS[key]} must be a non-negative $ per million tokens")
    return found


def save_entries(entries: Sequence[OverrideEntry], folder: Path | None = None) -> Path:
    """Write `entries` to prices.json in `folder` atomically (a reader sees the old file or the new
    one, never half of it); ValueError listing the problems if they cannot be saved."""
    if found := problems(entries):
        raise ValueError("\n".join(found))
    folder = folder or config_dir()
    data = {"models": {e.pattern: e.to_json() for e in entries}}
    PriceBook(data, origin=WRITTEN_FILE)  # what the next load will accept
    return write_json(folder / WRITTEN_FILE, data)


def _entry(pattern: str, values: dict) -> OverrideEntry:
    rates = {k: float(values[k]) for k in RATE_FIELDS if k in values}
    return OverrideEntry(pattern, values.get("provider"), **rates)
