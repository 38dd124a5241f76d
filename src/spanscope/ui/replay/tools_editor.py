"""The tools offered to the model, as the JSON list the Chat Completions API takes, checked as typed
so a mistake is named before Run rather than by the endpoint."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from spanscope.core.presentation.content import pretty
from spanscope.ui.style import ERROR_COLOR, MUTED_COLOR, ink


class InvalidTools(ValueError):
    """The tools as typed cannot be sent; says why."""


def parse_tools(text: str) -> list[dict[str, Any]]:
    """The tools in `text` (empty: none), or InvalidTools naming the first problem."""
    if not text.strip():
        return []
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InvalidTools(f"Tools: not JSON ({exc})") from exc
    if not isinstance(value, list):
        raise InvalidTools('Tools: expected a JSON list of tools, [{"type": "function", ...}]')
    for number, tool in enumerate(value, 1):
        function = tool.get("function") if isinstance(tool, dict) else None
        if (
            not isinstance(function, dict)
            or not isinstance(function.get("name"), str)
            or not function["name"]
        ):
            raise InvalidTools(f'Tools: tool {number} has no "function" with a "name"')
        if "parameters" in function and not isinstance(function["parameters"], dict):
            raise InvalidTools(f"Tools: the parameters of {function['name']} are not a JSON object")
    return value


class QtToolsEditor(QWidget):
    """A JSON editor of the tools, with a line saying whether they can be sent."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editor = QPlainTextEdit()
        self.editor.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.editor.setPlaceholderText(
            '[{"type": "function", "function": {"name": "...", "parameters": {...}}}]'
        )
        self.status = QLabel(textFormat=Qt.TextFormat.PlainText, wordWrap=True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.editor, 1)
        layout.addWidget(self.status)
        self.editor.textChanged.connect(self._check)

    def set_tools(self, tools: list[dict[str, Any]]) -> None:
        self.editor.setPlainText(pretty(tools) if tools else "")
        self._check()

    def tools(self) -> list[dict[str, Any]]:
        return parse_tools(self.editor.toPlainText())

    def _check(self) -> None:
        try:
            tools = self.tools()
        except InvalidTools as exc:
            self.status.setText(str(exc))
            self.status.setStyleSheet(f"color: {ink(ERROR_COLOR)}")
            return
        self.status.setText(f"{len(tools)} tool(s)" if tools else "No tools offered")
        self.status.setStyleSheet(f"color: {MUTED_COLOR}")
