"""The reviewer's own review of one span or trace: a 1-5 rating, thumbs up or down, a label from
each label set, and a comment. Review mode stores each change as it is made; the annotate dialog
stores them all on Save."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QFormLayout, QLabel, QLineEdit, QWidget

from spanscope.core.review.annotations import COMMENT, RATING, RATINGS, THUMBS, THUMBS_DOWN, THUMBS_UP, Given
from spanscope.core.review.label_sets import LabelSet
from spanscope.ui.plain_tooltip import plain_tooltip
from spanscope.ui.review.choices import QtChoiceButtons
from spanscope.ui.style import MUTED_COLOR

RATING_WORDS = {1: "very poor", 2: "poor", 3: "acceptable", 4: "good", 5: "very good"}


class QtCommentEdit(QLineEdit):
    """A one-line comment: Enter gives it, Escape puts back what was given."""

    given = Signal(str)
    left = Signal()

    def __init__(self, hint: str, parent: QWidget | None = None) -> None:
        super().__init__(parent, placeholderText=hint)
        self.setClearButtonEnabled(True)
        self._saved = ""
        self.returnPressed.connect(lambda: self.given.emit(self.text().strip()))

    def load(self, text: str) -> None:
        self._saved = text
        self.setText(text)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.setText(self._saved)
            self.left.emit()
            return
        super().keyPressEvent(event)


class QtReviewForm(QWidget):
    """Shows and edits what the reviewer gave one target; `edited` tells each change by the user."""

    #: A score name and what the user now gives under it (None: taken back).
    edited = Signal(str, object)

    def __init__(self, comment_hint: str = "A comment", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rating = QtChoiceButtons()
        self.rating.set_choices([(str(n), float(n), f"{n}: {RATING_WORDS[n]} (key {n})") for n in RATINGS])
        self.thumbs = QtChoiceButtons()
        self.thumbs.set_choices(
            [("▲ Up", THUMBS_UP, "Thumbs up (key U)"), ("▼ Down", THUMBS_DOWN, "Thumbs down (key D)")]
        )
        self.comment = QtCommentEdit(comment_hint)
        self.labels: dict[str, QtChoiceButtons] = {}
        self.no_labels = QLabel(
            f'<span style="color: {MUTED_COLOR}">No label sets yet: Review ▸ Label Sets… defines them.</span>'
        )
        self._layout = QFormLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self._layout.addRow("Rating", self.rating)
        self._layout.addRow("Thumbs", self.thumbs)
        self._layout.addRow("Labels", self.no_labels)
        self._layout.addRow("Comment", self.comment)
        self._loaded: dict[str, Given] = {}
        self._sets: list[LabelSet] = []
        self.rating.chosen.connect(lambda v: self.edited.emit(RATING, None if v is None else Given(v)))
        self.thumbs.chosen.connect(lambda v: self.edited.emit(THUMBS, None if v is None else Given(label=v)))
        self.comment.given.connect(
            lambda text: self.edited.emit(COMMENT, Given(comment=text) if text else None)
        )

    def set_label_sets(self, sets: list[LabelSet]) -> None:
        """One row of label buttons per set (the current labels are kept)."""
        if sets == self._sets:
            return
        self._sets = list(sets)
        for name in list(self.labels):
            self._layout.removeRow(self.labels.pop(name))
        row = self._layout.getWidgetPosition(self.no_labels)[0]
        for offset, label_set in enumerate(sets):
            buttons = QtChoiceButtons()
            buttons.set_choices(
                [(label, label, plain_tooltip(f"{label_set.name}: {label}")) for label in label_set.labels]
            )
            buttons.chosen.connect(
                lambda v, name=label_set.name: self.edited.emit(name, None if v is None else Given(label=v))
            )
            name = QLabel(label_set.name, textFormat=Qt.TextFormat.PlainText)
            self._layout.insertRow(row + offset, name, buttons)
            self.labels[label_set.name] = buttons
        self._layout.setRowVisible(self.no_labels, not sets)
        self.load(self._loaded)

    def load(self, given: dict[str, Given]) -> None:
        """Show what the reviewer gave, by score name."""
        self._loaded = dict(given)
        self.rating.set_value(given[RATING].value if RATING in given else None)
        self.thumbs.set_value(given[THUMBS].label if THUMBS in given else None)
        for name, buttons in self.labels.items():
            label = given[name].label if name in given else None
            if label is not None and label not in {b.text() for b in buttons.buttons}:
                # A label since dropped from its set is still shown, as it is still given.
                buttons.set_choices(
                    [
                        *((b.text(), b.text(), b.toolTip()) for b in buttons.buttons),
                        (label, label, plain_tooltip(f"{name}: {label} (no longer in the set)")),
                    ]
                )
            buttons.set_value(label)
        self.comment.load((given[COMMENT].comment or "") if COMMENT in given else "")

    def changes(self) -> dict[str, Given | None]:
        """What differs from what was loaded, as `annotate` takes it."""
        shown: dict[str, Given | None] = {
            RATING: None if self.rating.value() is None else Given(self.rating.value()),
            THUMBS: None if self.thumbs.value() is None else Given(label=self.thumbs.value()),
            COMMENT: Given(comment=self.comment.text().strip()) if self.comment.text().strip() else None,
        }
        for name, buttons in self.labels.items():
            shown[name] = None if buttons.value() is None else Given(label=buttons.value())
        return {name: given for name, given in shown.items() if given != self._loaded.get(name)}

    def choose(self, name: str, given: Given | None) -> None:
        """Show `given` under `name` and tell it as the user's edit (review mode's keys)."""
        if name == RATING:
            self.rating.set_value(None if given is None else given.value)
        elif name == THUMBS:
            self.thumbs.set_value(None if given is None else given.label)
        elif name == COMMENT:
            self.comment.load("" if given is None else given.comment or "")
        elif name in self.labels:
            self.labels[name].set_value(None if given is None else given.label)
        self.edited.emit(name, given)
