"""Reviews out of the store, as JSON Lines or CSV, one review per line or row, with the trace's
and span's names so a reader of the file knows what was rated."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from spanscope.core.store.db import Database
from spanscope.core.store.review import WHOLE_TRACE, review_records

FORMATS = ("jsonl", "csv")
#: Keys of a record, in order; `target` is "trace" or "span", `span_id` null for a whole trace.
FIELDS = (
    "trace_id",
    "span_id",
    "target",
    "trace_name",
    "span_name",
    "name",
    "value",
    "label",
    "comment",
    "author",
    "updated_at",
)


def records(db: Database) -> Iterator[dict[str, Any]]:
    """Every review as a record with FIELDS, trace by trace in trace start order."""
    for trace_id, span_id, trace_name, span_name, *given in review_records(db):
        whole = span_id == WHOLE_TRACE
        target = {"trace_id": trace_id, "span_id": None if whole else span_id}
        yield {
            **target,
            "target": "trace" if whole else "span",
            "trace_name": trace_name,
            "span_name": span_name,
            **dict(zip(FIELDS[5:], given, strict=True)),
        }


def write_jsonl(db: Database, out: IO[bytes]) -> int:
    """One JSON object per review; returns how many."""
    count = 0
    for record in records(db):
        out.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
        count += 1
    return count


def write_csv(db: Database, out: IO[str]) -> int:
    """A header row, then one row per review (empty cells for what was not given); returns how many."""
    writer = csv.DictWriter(out, FIELDS, lineterminator="\n")
    writer.writeheader()
    count = 0
    for record in records(db):
        writer.writerow(record)
        count += 1
    return count


def export_file(db: Database, path: Path, fmt: str) -> int:
    """Write every review to `path` in `fmt` (one of FORMATS); returns how many."""
    if fmt not in FORMATS:
        raise ValueError(f"cannot export reviews as {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "csv":
        with Path(path).open("w", encoding="utf-8", newline="") as f:
            return write_csv(db, f)
    with Path(path).open("wb") as f:
        return write_jsonl(db, f)
