"""A selection of spans written as a dataset, streamed: records go out as spans are read, page by
page, so memory stays bounded whatever the selection's size. A file is written beside its final
name and put in its place only when complete (never half a dataset under the name)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from spanscope.core.datasets.formats import WRITERS
from spanscope.core.datasets.records import Link, Record, make_record
from spanscope.core.datasets.selection import Selection, chosen_spans
from spanscope.core.evaluation.reference_metrics import ReferenceEntry, ReferenceMatcher
from spanscope.core.store.db import Database
from spanscope.core.store.lookups import root_name
from spanscope.core.user_files import replacing


@dataclass
class Summary:
    """What an export wrote: records, spans skipped by reason, whether it was cancelled."""

    records: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    #: Records whose expected answer is a reference rather than the recorded output.
    with_reference: int = 0
    cancelled: bool = False

    @property
    def spans(self) -> int:
        return self.records + sum(self.skipped.values())

    def text(self) -> str:
        """One line for people: "12 records (3 with a reference answer); 2 spans skipped: ..."."""
        line = f"{self.records:,} record{'' if self.records == 1 else 's'}"
        if self.with_reference:
            line += f" ({self.with_reference:,} with a reference answer)"
        if self.skipped:
            total = sum(self.skipped.values())
            reasons = ", ".join(f"{n:,} {why}" for why, n in self.skipped.most_common())
            line += f"; {total:,} span{'' if total == 1 else 's'} skipped: {reasons}"
        return line + (" (cancelled)" if self.cancelled else "")


@dataclass(frozen=True)
class Request:
    selection: Selection
    format: str
    link: Link
    references: tuple[ReferenceEntry, ...] = ()
    #: Records written at most (None: all).
    limit: int | None = None


def records(
    db: Database,
    request: Request,
    summary: Summary,
    cancelled: Callable[[], bool] = lambda: False,
) -> Iterator[Record]:
    """The selection's records, counting skipped spans in `summary` as they come."""
    matcher = ReferenceMatcher(request.references)
    names: dict[str, str | None] = {}
    for span, price in chosen_spans(db, request.selection, cancelled):
        if span.trace_id not in names:
            if len(names) > 1_000:
                names.clear()
            names[span.trace_id] = root_name(db, span.trace_id)
        made = make_record(span, price, names[span.trace_id], matcher, request.link)
        if isinstance(made, str):
            summary.skipped[made] += 1
        else:
            yield made


def write_dataset(
    db: Database,
    request: Request,
    out: BinaryIO,
    cancelled: Callable[[], bool] = lambda: False,
    progress: Callable[[Summary], None] = lambda _: None,
) -> Summary:
    """Write the request's records to `out`, one line each; `progress` is told after each record."""
    if request.format not in WRITERS:
        raise ValueError(f"{request.format!r} is not a dataset format; use one of {', '.join(WRITERS)}")
    line = WRITERS[request.format]
    summary = Summary()
    for record in records(db, request, summary, cancelled):
        if request.limit is not None and summary.records >= request.limit:
            break
        out.write(line(record))
        summary.records += 1
        summary.with_reference += not record.expected_from.startswith("recorded")
        progress(summary)
    summary.cancelled = cancelled()
    return summary


class _Stopped(Exception):
    """Leaves `replacing` without putting the partial file in place."""


def export_to_file(
    db: Database,
    request: Request,
    path: Path,
    cancelled: Callable[[], bool] = lambda: False,
    progress: Callable[[Summary], None] = lambda _: None,
) -> Summary:
    """`write_dataset` into the file at `path`, which is replaced only when the export completes with
    records: a cancelled, empty or failed one leaves whatever was there before (an exception goes on)."""
    summary = Summary(cancelled=True)
    try:
        with replacing(path) as f:
            summary = write_dataset(db, request, f, cancelled, progress)
            if summary.cancelled or not summary.records:
                raise _Stopped
    except _Stopped:
        pass
    return summary
