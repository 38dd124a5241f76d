"""Annotate one span or a whole trace: the review form, the scores others gave it, Save/Cancel."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QLabel,
    QMessageBox,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from spanscope.core.model import Score
from spanscope.core.presentation.content import preview
from spanscope.core.review.annotations import WHOLE_TRACE, given_by
from spanscope.core.store.db import Database
from spanscope.core.store.lookups import root_name
from spanscope.core.store.queries import NotFound, get_span, trace_scores
from spanscope.ui.detail.html import esc, muted
from spanscope.ui.review.form import QtReviewForm
from spanscope.ui.review.reviewer import QtReviewer
from spanscope.ui.screen_fit import fit_to_screen

#: The dialog's least preferred width: room for a label set's choices and a comment.
PREFERRED_WIDTH = 560
#: How much of a comment is shown beside the scores (the Scores tab shows all of it).
COMMENT_PREVIEW = 200


def score_line(score: Score) -> str:
    """One score as HTML: name, value, who gave it, and the start of its comment."""
    who = muted(f"by {score.given_by or 'unknown'}")
    line = f"<b>{esc(score.name)}</b> {esc(score.display_value())} {who}"
    if score.comment:
        line += f"<br>&nbsp;&nbsp;“{esc(preview(score.comment, COMMENT_PREVIEW))}”"
    return line


def others_html(scores: list[Score], author: str) -> str:
    """The scores of a target that are not this reviewer's own, one a line."""
    others = [s for s in scores if not (s.local and s.source == author)]
    if not others:
        return muted("No other scores.")
    return "<br>".join(score_line(s) for s in others)


class QtAnnotateDialog(QDialog):
    """Review `span_id` of `trace_id` (WHOLE_TRACE: the trace itself) as the current reviewer."""

    def __init__(
        self,
        reviewer: QtReviewer,
        db: Database,
        trace_id: str,
        span_id: str,
        parent: QWidget | None = None,
    ) -> None:
        """`db`: the app's read-only connection to the store the review goes to."""
        super().__init__(parent)
        self.reviewer = reviewer
        self.trace_id, self.span_id = trace_id, span_id
        if span_id == WHOLE_TRACE:
            what = f"trace “{root_name(db, trace_id) or trace_id}”"
            scores = [s for sid, s in trace_scores(db, trace_id) if sid == WHOLE_TRACE]
        else:
            span = get_span(db, trace_id, span_id)
            what = f"span “{span.name}”"
            scores = [s for s in span.scores if not s.trace_level]
        self.setWindowTitle(f"Annotate {what}")
        heading = QLabel(
            f"Annotate {esc(what)} as <b>{esc(reviewer.author)}</b>", textFormat=Qt.TextFormat.RichText
        )
        self.form = QtReviewForm()
        self.form.set_label_sets(reviewer.label_sets())
        self.form.load(given_by(db, trace_id, span_id, reviewer.author))
        others = QLabel(
            others_html(scores, reviewer.author), textFormat=Qt.TextFormat.RichText, wordWrap=True
        )
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        body = QWidget()
        content = QVBoxLayout(body)
        content.setContentsMargins(0, 0, 0, 0)
        content.addWidget(heading)
        content.addWidget(self.form)
        content.addWidget(QLabel("<b>Other scores</b>", textFormat=Qt.TextFormat.RichText))
        content.addWidget(others)
        content.addStretch(1)
        # Many label sets or scores scroll: the dialog never grows past the screen to show them.
        scroll = QScrollArea(widgetResizable=True, frameShape=QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(body)
        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addWidget(buttons)
        wanted = body.sizeHint() + QSize(scroll.verticalScrollBar().sizeHint().width(), 0)
        chrome = self.sizeHint() - scroll.sizeHint()
        fit_to_screen(
            self, max(wanted.width(), PREFERRED_WIDTH) + chrome.width(), wanted.height() + chrome.height()
        )

    def save(self) -> None:
        """Store what changed; on failure say why and stay open, so nothing typed is lost."""
        changes = self.form.changes()
        if not changes:
            self.accept()
            return
        error = self.reviewer.give(self.trace_id, self.span_id, changes)
        if error is None:
            self.accept()
        else:
            QMessageBox.warning(self, "Annotation not saved", error)


def open_annotate_dialog(
    reviewer: QtReviewer, trace_id: str | None, span_id: str | None, parent: QWidget
) -> None:
    """Open the dialog for a span, or the whole trace when span_id is WHOLE_TRACE; nothing to
    annotate (no trace selected) is said in a message."""
    db = reviewer.context.db
    if db is None or trace_id is None or span_id is None:
        QMessageBox.information(parent, "Annotate", "Select a trace (and a span) first.")
        return
    try:
        dialog = QtAnnotateDialog(reviewer, db, trace_id, span_id, parent)
    except NotFound as exc:
        QMessageBox.warning(parent, "Annotate", str(exc))
        return
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
