"""Edit the store's label sets: a list of sets, and the name and labels (one a line) of the chosen one."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from spanscope.core.review.label_sets import LabelSet, delete_label_set, save_label_set
from spanscope.core.store.review import ReviewError
from spanscope.ui.review.reviewer import QtReviewer
from spanscope.ui.screen_fit import fit_to_screen
from spanscope.ui.style import MUTED_COLOR

EXAMPLE = LabelSet("verdict", ("correct", "partly correct", "wrong", "refused"))


class QtLabelSetsDialog(QDialog):
    """Each Save stores the set shown at once; sets already used keep their reviews when edited."""

    def __init__(self, reviewer: QtReviewer, parent: QWidget | None = None) -> None:
        super().__init__(parent, windowTitle="Label Sets")
        self.reviewer = reviewer
        #: The name of the set shown, or None for a new one.
        self.editing: str | None = None
        self.sets = QListWidget()
        self.sets.currentTextChanged.connect(self._show)
        self.name = QLineEdit(placeholderText=EXAMPLE.name)
        self.labels = QPlainTextEdit(placeholderText="\n".join(EXAMPLE.labels))
        self.labels.setTabChangesFocus(True)
        add = QPushButton("New Set")
        add.clicked.connect(self._new)
        self.delete = QPushButton("Delete Set")
        self.delete.clicked.connect(self._delete)
        self.save_button = QPushButton("Save Set")
        self.save_button.clicked.connect(self.save)
        note = QLabel(
            f'<span style="color: {MUTED_COLOR}">One label a line. The set\'s name names the scores given '
            "from it; renaming a set or removing a label leaves reviews already given as they are.</span>",
            wordWrap=True,
            textFormat=Qt.TextFormat.RichText,
        )
        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("Labels", self.labels)
        form.addRow(note)
        side = QVBoxLayout()
        side.addWidget(self.sets, 1)
        row = QHBoxLayout()
        row.addWidget(add)
        row.addWidget(self.delete)
        side.addLayout(row)
        edit = QVBoxLayout()
        edit.addLayout(form, 1)
        edit.addWidget(self.save_button, 0, Qt.AlignmentFlag.AlignRight)
        body = QHBoxLayout()
        body.addLayout(side, 1)
        body.addLayout(edit, 2)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(body)
        layout.addWidget(close)
        fit_to_screen(self, 640, 360)
        self._reload()

    def _reload(self, select: str | None = None) -> None:
        names = [s.name for s in self.reviewer.label_sets()]
        self.sets.blockSignals(True)
        self.sets.clear()
        self.sets.addItems(names)
        self.sets.blockSignals(False)
        if names:
            self.sets.setCurrentRow(names.index(select) if select in names else 0)
            self._show(self.sets.currentItem().text())
        else:
            self._new()
        self.delete.setEnabled(bool(names))

    def _show(self, name: str) -> None:
        found = next((s for s in self.reviewer.label_sets() if s.name == name), None)
        if found is None:
            return
        self.editing = found.name
        self.name.setText(found.name)
        self.labels.setPlainText("\n".join(found.labels))

    def _new(self) -> None:
        self.sets.clearSelection()
        self.editing = None
        self.name.clear()
        self.labels.clear()
        self.name.setFocus()

    def save(self) -> bool:
        """Store the set shown (as a new one, or in place of the one chosen); say why if it cannot be."""
        store = self.reviewer.context.store_path
        shown = LabelSet(self.name.text(), tuple(self.labels.toPlainText().splitlines()))
        try:
            if store is None:
                raise ReviewError("No store is open.")
            saved = save_label_set(store, shown, replacing=self.editing)
        except ReviewError as exc:
            QMessageBox.warning(self, "Label set not saved", str(exc))
            return False
        self.reviewer.changed.emit()
        self._reload(saved.name)
        return True

    def _delete(self) -> None:
        store = self.reviewer.context.store_path
        if store is None or self.editing is None:
            return
        try:
            delete_label_set(store, self.editing)
        except ReviewError as exc:
            QMessageBox.warning(self, "Label set not deleted", str(exc))
            return
        self.reviewer.changed.emit()
        self._reload()
