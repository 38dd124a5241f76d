"""A store of 40 models (and a dated snapshot of the busiest) for charts that must stay legible."""

from __future__ import annotations

from pathlib import Path

from otlp import llm, request, write_jsonl
from spanscope.core.store import import_files

MS = 1_000_000
#: The busiest model's dated snapshot, charted under it unless snapshots are split.
SNAPSHOT = "model-01-2025-01-31"


def forty_models() -> dict[str, int]:
    """Model i has 41 - i calls: distinct counts, so the busiest are known."""
    return {f"model-{i:02d}": 41 - i for i in range(1, 41)}


def many_models_store(folder: Path) -> tuple[Path, dict[str, list[int]]]:
    """The store of forty_models() plus 3 calls of SNAPSHOT, an error on every 7th call, one call a
    minute, each with a reported cost; and each model's call durations in ms."""
    calls, n, durations = [], 0, {}
    for model, count in {**forty_models(), SNAPSHOT: 3}.items():
        for _ in range(count):
            n += 1
            ms = 50 + n * 37 % 4000
            durations.setdefault(model, []).append(ms)
            calls.append(
                llm(
                    f"{n:016x}",
                    None,
                    model,
                    100 + n,
                    10 + n % 50,
                    trace=f"{n:032x}",
                    start=n * 60_000 * MS,
                    end=(n * 60_000 + ms) * MS,
                    error="boom" if n % 7 == 0 else None,
                    attrs={"llm.cost.total": n / 100_000},
                )
            )
    path = write_jsonl(folder / "many.jsonl", request(*calls))
    import_files(folder / "store.db", [path])
    return folder / "store.db", durations
