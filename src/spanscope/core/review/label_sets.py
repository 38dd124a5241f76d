"""Label sets: the labels a reviewer picks from, e.g. "verdict: correct, partly correct, wrong".

A set's name is the name of the scores given from it. Sets live in the store beside the reviews
they are used for, so a store handed on keeps both. Renaming a set or dropping a label leaves the
reviews already given as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import orjson
import sqlite_utils

from spanscope.core.review.annotations import RESERVED_NAMES
from spanscope.core.review.writing import ReviewError, writing


@dataclass(frozen=True, slots=True)
class LabelSet:
    name: str
    labels: tuple[str, ...]


def label_sets(db: sqlite_utils.Database) -> list[LabelSet]:
    """Every label set in the store, by name."""
    rows = db.execute("SELECT name, labels FROM label_sets ORDER BY name")
    return [LabelSet(name, tuple(orjson.loads(labels))) for name, labels in rows]


def checked(label_set: LabelSet) -> LabelSet:
    """The set with names trimmed and empty or repeated labels dropped; refused when unusable."""
    name = label_set.name.strip()
    if not name:
        raise ReviewError("a label set needs a name")
    if name in RESERVED_NAMES:
        raise ReviewError(f"{name!r} is a score review mode gives itself; choose another name for the set")
    labels = tuple(dict.fromkeys(label.strip() for label in label_set.labels if label.strip()))
    if not labels:
        raise ReviewError(f"label set {name!r} needs at least one label")
    return LabelSet(name, labels)


def save_label_set(store: Path, label_set: LabelSet, replacing: str | None = None) -> LabelSet:
    """Store the set, in place of the set named `replacing` when given (a rename); returns it as
    stored. A new name may not be one another set already has."""
    label_set = checked(label_set)
    with writing(store) as conn:
        if label_set.name != replacing:
            taken = conn.execute("SELECT 1 FROM label_sets WHERE name = ?", (label_set.name,)).fetchone()
            if taken:
                raise ReviewError(f"there is already a label set named {label_set.name!r}")
        if replacing is not None:
            conn.execute("DELETE FROM label_sets WHERE name = ?", (replacing,))
        conn.execute(
            "INSERT INTO label_sets (name, labels) VALUES (?, ?)",
            (label_set.name, orjson.dumps(list(label_set.labels)).decode()),
        )
    return label_set


def delete_label_set(store: Path, name: str) -> None:
    """Remove a set; reviews given from it stay."""
    with writing(store) as conn:
        conn.execute("DELETE FROM label_sets WHERE name = ?", (name,))
