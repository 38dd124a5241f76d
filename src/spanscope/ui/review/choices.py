"""A row of buttons of which at most one is on: a rating, thumbs, or a label from a set.

Clicking the button that is on turns it off again, so a choice can be taken back as easily as
given. Changes made with `set_value` are not signalled: only the user's clicks are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QToolButton, QWidget

#: A checked choice stands out in the palette's highlight colour.
STYLE = (
    "QToolButton { padding: 3px 9px; }"
    "QToolButton:checked { background: palette(highlight); color: palette(highlighted-text);"
    " border: 1px solid palette(highlight); border-radius: 3px; }"
)


class QtChoiceButtons(QWidget):
    #: The value the user chose, or None when they turned their choice off.
    chosen = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(4)
        self._layout.addStretch(1)
        self.buttons: list[QToolButton] = []
        self._values: list[Any] = []
        self.setStyleSheet(STYLE)

    def set_choices(self, choices: Sequence[tuple[str, Any, str]]) -> None:
        """(text, value, tooltip) per button; the current value is kept when it is still offered."""
        kept = self.value()
        for button in self.buttons:
            button.deleteLater()
        self.buttons, self._values = [], []
        for text, value, tooltip in choices:
            button = QToolButton(text=text, toolTip=tooltip, checkable=True)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.clicked.connect(lambda on, v=value: self._clicked(v, on))
            self._layout.insertWidget(len(self.buttons), button)
            self.buttons.append(button)
            self._values.append(value)
        self.set_value(kept)

    def value(self) -> Any:
        return next((v for v, b in zip(self._values, self.buttons, strict=True) if b.isChecked()), None)

    def set_value(self, value: Any) -> None:
        for v, button in zip(self._values, self.buttons, strict=True):
            button.setChecked(value is not None and v == value)

    def _clicked(self, value: Any, on: bool) -> None:
        self.set_value(value if on else None)
        self.chosen.emit(value if on else None)
