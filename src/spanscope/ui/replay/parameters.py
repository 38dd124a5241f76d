"""The sampling parameters of a replay: each left as recorded unless the user ticks it and sets it."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from spanscope.core.presentation.content import compact
from spanscope.ui.style import MUTED_COLOR

#: The parameters offered here, by their Chat Completions names; any other recorded one is sent as is.
EDITABLE = ("temperature", "top_p", "max_tokens", "stop", "seed")
_TIPS = {
    "temperature": "Sampling temperature (0 to 2)",
    "top_p": "Nucleus sampling: the probability mass the tokens are drawn from (0 to 1)",
    "max_tokens": "The most tokens the answer may have",
    "stop": 'Where the answer stops: a text, or a JSON list of texts (["\\n\\n", "END"])',
    "seed": "Ask for a repeatable answer (where the endpoint supports it)",
}


def stop_value(text: str) -> str | list[str]:
    """A JSON list of texts as that list; anything else as the one text typed."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, list) and all(isinstance(v, str) for v in value) else text


def _editor(name: str) -> QWidget:
    if name in ("temperature", "top_p"):
        spin = QDoubleSpinBox(decimals=2, singleStep=0.1)
        spin.setRange(0.0, 2.0 if name == "temperature" else 1.0)
        spin.setValue(1.0)
        return spin
    if name == "max_tokens":
        spin = QSpinBox()
        spin.setRange(1, 10_000_000)
        spin.setValue(1024)
        return spin
    if name == "seed":
        spin = QSpinBox()
        spin.setRange(0, 2_147_483_647)
        return spin
    return QLineEdit(placeholderText="text, or a JSON list of texts")


def _value(editor: QWidget) -> Any:
    if isinstance(editor, QDoubleSpinBox):
        return round(editor.value(), 4)
    if isinstance(editor, QSpinBox):
        return editor.value()
    return stop_value(editor.text())


def _show(editor: QWidget, value: Any) -> None:
    if isinstance(editor, QDoubleSpinBox) and isinstance(value, int | float):
        editor.setValue(float(value))
    elif isinstance(editor, QSpinBox) and isinstance(value, int):
        editor.setValue(value)
    elif isinstance(editor, QLineEdit) and value is not None:
        editor.setText(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))


class QtParameters(QWidget):
    """A row per editable parameter: a tick to set it, its editor, and what was recorded."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.recorded: dict[str, Any] = {}
        self.ticks: dict[str, QCheckBox] = {}
        self.editors: dict[str, QWidget] = {}
        self.notes: dict[str, QLabel] = {}
        grid = QGridLayout()
        grid.setColumnStretch(2, 1)
        for row, name in enumerate(EDITABLE):
            tick = QCheckBox(name, toolTip=f"{_TIPS[name]}. Unticked: as recorded")
            editor = _editor(name)
            editor.setToolTip(_TIPS[name])
            editor.setEnabled(False)
            tick.toggled.connect(editor.setEnabled)
            note = QLabel(textFormat=Qt.TextFormat.PlainText)
            note.setStyleSheet(f"color: {MUTED_COLOR}")
            grid.addWidget(tick, row, 0)
            grid.addWidget(editor, row, 1)
            grid.addWidget(note, row, 2)
            self.ticks[name], self.editors[name], self.notes[name] = tick, editor, note
        self.others = QLabel(textFormat=Qt.TextFormat.PlainText, wordWrap=True)
        self.others.setStyleSheet(f"color: {MUTED_COLOR}")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Unticked parameters are sent as recorded (or not at all)."))
        layout.addLayout(grid)
        layout.addWidget(self.others)
        layout.addStretch(1)

    def set_recorded(self, params: dict[str, Any]) -> None:
        self.recorded = dict(params)
        for name in EDITABLE:
            value = params.get(name)
            self.ticks[name].setChecked(False)
            if value is not None:
                _show(self.editors[name], value)
            self.notes[name].setText("not recorded" if value is None else f"recorded: {compact(value)}")
        rest = sorted(k for k in params if k not in EDITABLE)
        self.others.setText(f"Also sent as recorded: {', '.join(rest)}" if rest else "")
        self.others.setVisible(bool(rest))

    def params(self) -> dict[str, Any]:
        """The recorded parameters with the ticked ones as set here."""
        chosen = dict(self.recorded)
        for name in EDITABLE:
            if self.ticks[name].isChecked():
                chosen[name] = _value(self.editors[name])
        return chosen
