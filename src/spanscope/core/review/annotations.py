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

from spanscope.core.store.db import Database
from spanscope.core.store.review import WHOLE_TRACE as WHOLE_TRACE  # the span id of a whole-trace review
from spanscope.core.store.review import ReviewError, annotation_rows, write_annotations

#: The score names review mode gives: a 1-5 rating, thumbs up or down, and a comment on its own.
RATING = "rating"
THUMBS = "thumbs"
COMMENT = "comment"
THUMBS_UP, THUMBS_DOWN = "up", "down"
RATINGS = range(1, 6)
#: Names with a fixed meaning, which a label set may not take.
RESERVED_NAMES = frozenset({RATING, THUMBS, COMMENT})


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
    rows = {
        name: None if given is None else (given.value, given.label, given.comment)
        for name, given in checked.items()
    }
    write_annotations(store, trace_id, span_id, author, rows, now)


def annotations_of(
    db: Database, trace_id: str, span_id: str | None = None, author: str | None = None
) -> list[Annotation]:
    """A trace's reviews (only those of one span, or one author, when given), by name."""
    return [Annotation(*row) for row in annotation_rows(db, trace_id, span_id, author)]


def given_by(db: Database, trace_id: str, span_id: str, author: str) -> dict[str, Given]:
    """What `author` gave a span or the whole trace, by score name."""
    return {a.name: a.given for a in annotations_of(db, trace_id, span_id, author)}
