"""Reviews given in Spanscope: a score, a label or a comment on a span or on a whole trace.

They live in the store's own `annotations` table, apart from imported scores, so that importing a
source again, or another file holding the same trace, never replaces or drops them. Each reviewer
has at most one score of a name per span or trace; giving it again replaces it.
"""

from __future__ import annotations

import getpass
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

from spanscope.core.review.writing import ReviewError, writing
from spanscope.core.store.finalize import summarize_scores

#: The score names review mode gives: a 1-5 rating, thumbs up or down, and a comment on its own.
RATING = "rating"
THUMBS = "thumbs"
COMMENT = "comment"
THUMBS_UP, THUMBS_DOWN = "up", "down"
RATINGS = range(1, 6)
#: Names with a fixed meaning, which a label set may not take.
RESERVED_NAMES = frozenset({RATING, THUMBS, COMMENT})
#: The span id of a review of the whole trace.
WHOLE_TRACE = ""


@dataclass(frozen=True, slots=True)
class Given:
    """What a reviewer gives under one name: a number, a label, a comment, or some of them."""

    value: float | None = None
    label: str | None = None
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class Annotation:
    trace_id: str
    #: '' (WHOLE_TRACE) when the review is of the whole trace.
    span_id: str
    name: str
    value: float | None
    label: str | None
    comment: str | None
    author: str
    #: When it was last given, ISO 8601 UTC.
    updated_at: str

    @property
    def given(self) -> Given:
        return Given(self.value, self.label, self.comment)


def default_author() -> str:
    """The reviewer's name until they give another: their login name."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return os.environ.get("USERNAME") or "me"


def _checked(name: str, given: Given | None) -> Given | None:
    if not name.strip():
        raise ReviewError("a score needs a name")
    if given is None:
        return None
    if given.value is not None and not math.isfinite(given.value):
        raise ReviewError(f"{name}: {given.value} is not a number a score can have")
    label = given.label.strip() if given.label else None
    comment = given.comment.strip() if given.comment else None
    if given.value is None and label is None and comment is None:
        return None
    return Given(given.value, label, comment)


def _check_target(conn, trace_id: str, span_id: str) -> None:
    if conn.execute("SELECT 1 FROM traces WHERE trace_id = ?", (trace_id,)).fetchone() is None:
        raise ReviewError(f"no trace {trace_id!r} in the store")
    if span_id != WHOLE_TRACE:
        found = conn.execute("SELECT 1 FROM spans WHERE trace_id = ? AND span_id = ?", (trace_id, span_id))
        if found.fetchone() is None:
            raise ReviewError(f"no span {span_id!r} in trace {trace_id!r}")


_UPSERT = """
INSERT INTO annotations (trace_id, span_id, name, value, label, comment, author, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (trace_id, span_id, name, author) DO UPDATE SET
    value = excluded.value, label = excluded.label, comment = excluded.comment,
    updated_at = excluded.updated_at
"""
_DELETE = "DELETE FROM annotations WHERE trace_id = ? AND span_id = ? AND name = ? AND author = ?"


def annotate(
    store: Path, trace_id: str, span_id: str, author: str, changes: Mapping[str, Given | None]
) -> None:
    """Give, replace or (with None, or nothing in it) take back `author`'s scores of a span or of
    the whole trace (span_id WHOLE_TRACE), all in one transaction; the trace's summary follows."""
    author = author.strip()
    if not author:
        raise ReviewError("a review needs the name of who gives it")
    checked = {name.strip(): _checked(name, given) for name, given in changes.items()}
    now = datetime.now(UTC).isoformat(timespec="seconds")
    with writing(store) as conn:
        _check_target(conn, trace_id, span_id)
        for name, given in checked.items():
            if given is None:
                conn.execute(_DELETE, (trace_id, span_id, name, author))
            else:
                row = (trace_id, span_id, name, given.value, given.label, given.comment, author, now)
                conn.execute(_UPSERT, row)
        summarize_scores(conn, trace_id)


_COLUMNS = "trace_id, span_id, name, value, label, comment, author, updated_at"


def annotations_of(
    db: sqlite_utils.Database, trace_id: str, span_id: str | None = None, author: str | None = None
) -> list[Annotation]:
    """A trace's reviews (only those of one span, or one author, when given), by name."""
    where, args = "trace_id = ?", [trace_id]
    if span_id is not None:
        where, args = f"{where} AND span_id = ?", [*args, span_id]
    if author is not None:
        where, args = f"{where} AND author = ?", [*args, author]
    sql = f"SELECT {_COLUMNS} FROM annotations WHERE {where} ORDER BY span_id, name, author"
    return [Annotation(*row) for row in db.execute(sql, args)]


def given_by(db: sqlite_utils.Database, trace_id: str, span_id: str, author: str) -> dict[str, Given]:
    """What `author` gave a span or the whole trace, by score name."""
    return {a.name: a.given for a in annotations_of(db, trace_id, span_id, author)}
