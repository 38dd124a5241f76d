"""Label sets: the labels a reviewer picks from, e.g. "verdict: correct, partly correct, wrong".

A set's name is the name of the scores given from it. Sets live in the store beside the reviews
they are used for, so a store handed on keeps both. Renaming a set or dropping a label leaves the
reviews already given as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from spanscope.core.review.annotations import RESERVED_NAMES
from spanscope.core.store.db import Database
from spanscope.core.store.review import ReviewError, label_set_rows, remove_label_set, write_label_set


@dataclass(frozen=True, slots=True)
class LabelSet:
    name: str
    labels: tuple[str, ...]


def label_sets(db: Database) -> list[LabelSet]:
    """Every label set in the store, by name."""
    return [LabelSet(name, labels) for name, labels in label_set_rows(db)]


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
    write_label_set(store, label_set.name, label_set.labels, replacing)
    return label_set


def delete_label_set(store: Path, name: str) -> None:
    """Remove a set; reviews given from it stay."""
    remove_label_set(store, name)
