"""Who is reviewing, and the one way the app's widgets give a review.

A review is written by a core function on a connection of its own (the views only ever read);
then the views are told. Review mode gives many reviews in a row on a tab of its own, so it may
defer telling the views until it is left: the trace list and the detail panel are not in sight.
"""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import QObject, QSettings, Signal

from spanscope.core.review.annotations import Given, annotate, default_author
from spanscope.core.review.label_sets import LabelSet, label_sets
from spanscope.core.store.review import ReviewError
from spanscope.ui.context import QtTraceContext

AUTHOR_KEY = "review/author"


class QtReviewer(QObject):
    """Gives reviews as the current reviewer."""

    #: The reviewer's name, or the label sets, changed.
    changed = Signal()

    def __init__(self, context: QtTraceContext, settings: QSettings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.settings = settings
        self._views_behind = False

    @property
    def author(self) -> str:
        return str(self.settings.value(AUTHOR_KEY, "") or "").strip() or default_author()

    def set_author(self, name: str) -> None:
        if name.strip() and name.strip() != self.author:
            self.settings.setValue(AUTHOR_KEY, name.strip())
            self.changed.emit()

    def label_sets(self) -> list[LabelSet]:
        db = self.context.db
        return [] if db is None else label_sets(db)

    def give(
        self, trace_id: str, span_id: str, changes: Mapping[str, Given | None], *, tell_views: bool = True
    ) -> str | None:
        """Store `changes` as the reviewer's; None when stored, else why they could not be."""
        store = self.context.store_path
        if store is None:
            return "No store is open."
        try:
            annotate(store, trace_id, span_id, self.author, changes)
        except ReviewError as exc:
            return str(exc)
        if tell_views:
            self.context.refresh()
        else:
            self._views_behind = True
        return None

    def catch_up(self) -> None:
        """Tell the views about reviews given with `tell_views=False`."""
        if self._views_behind:
            self._views_behind = False
            self.context.refresh()
