"""The request's conversation, editable message by message: role, text, images, an assistant's tool
calls, a tool result's call id; messages added, removed and moved, and a tool result added by hand to
carry a conversation on past a tool call (we never run tools ourselves).

Every text is a plain-text editor, so whatever markup a message holds is edited and shown as text.
"""

from __future__ import annotations

import json
from contextlib import suppress
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFontDatabase, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from spanscope.core.model import message
from spanscope.core.presentation.content import pretty
from spanscope.core.presentation.media import data_url, shorten
from spanscope.ui.detail.media_view import placeholder, read_blob
from spanscope.ui.plain_tooltip import plain_tooltip

ROLES = ("system", "developer", "user", "assistant", "tool")
#: The height of an image's thumbnail in a message.
THUMB = QSize(96, 72)
#: A text editor's height grows with its text between these many lines.
MIN_LINES, MAX_LINES = 2, 14
#: Of a long line, only this much is measured: past it the editor is at its most lines anyway.
WRAP_CHARS = 4000


class InvalidMessage(ValueError):
    """A message that cannot be sent as edited; says which and why."""


def _lines_high(editor: QPlainTextEdit, lines: int) -> int:
    """The editor's height showing `lines` lines: theirs, the document's margins and the frame."""
    return (
        editor.fontMetrics().lineSpacing() * lines
        + int(2 * editor.document().documentMargin())
        + 2 * editor.frameWidth()
        + 2
    )


class QtGrowingText(QPlainTextEdit):
    """A plain-text editor as high as its text (MIN_LINES to MAX_LINES lines, then it scrolls)."""

    def __init__(self, text: str = "", parent: QWidget | None = None, *, monospace: bool = False) -> None:
        super().__init__(parent)
        if monospace:
            self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setPlainText(text)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.textChanged.connect(self._fit)
        self._fit()

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        """Lines as wrapped at the editor's width, counted only as far as MAX_LINES."""
        metrics, width = self.fontMetrics(), max(1, self.viewport().width() - 8)
        shown, block = 0, self.document().firstBlock()
        while block.isValid() and shown <= MAX_LINES:
            advance = metrics.horizontalAdvance(block.text()[:WRAP_CHARS])
            shown += max(1, -(-advance // width))
            block = block.next()
        self.setFixedHeight(_lines_high(self, max(MIN_LINES, min(MAX_LINES, shown))))


def _tool_button(text: str, tip: str) -> QToolButton:
    button = QToolButton(text=text, toolTip=tip, autoRaise=True)
    return button


class QtToolCallEditor(QFrame):
    """One tool call of an assistant message: its name, id and JSON arguments."""

    removed = Signal(object)

    def __init__(self, call: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.name = QLineEdit(str(call.get("name") or ""), placeholderText="tool name")
        self.call_id = QLineEdit(str(call.get("id") or ""), placeholderText="call id")
        self.call_id.setMaximumWidth(180)
        self.call_id.setCursorPosition(0)
        arguments = call.get("arguments")
        if isinstance(arguments, str):
            with suppress(ValueError):  # not JSON: shown as recorded, and Run says why it cannot go
                arguments = pretty(json.loads(arguments))
        else:
            arguments = pretty(arguments if arguments is not None else {})
        self.arguments = QtGrowingText(arguments, monospace=True)
        self.arguments.setPlaceholderText("arguments (JSON)")
        remove = _tool_button("✕", "Remove this tool call")
        remove.clicked.connect(lambda: self.removed.emit(self))
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(QLabel("Tool call"))
        top.addWidget(self.name, 2)
        top.addWidget(self.call_id, 1)
        top.addWidget(remove)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(self.arguments)

    def call(self, where: str) -> dict[str, Any]:
        name = self.name.text().strip()
        if not name:
            raise InvalidMessage(f"{where}: a tool call has no name")
        text = self.arguments.toPlainText().strip() or "{}"
        try:
            json.loads(text)
        except ValueError as exc:
            raise InvalidMessage(f"{where}: the arguments of tool call {name} are not JSON ({exc})") from exc
        return {"id": self.call_id.text().strip() or None, "name": name, "arguments": text}


class QtImageChip(QFrame):
    """An image of a message: its thumbnail (a data URL decoded here; a remote one is only named,
    never fetched) and a button to remove it from the request."""

    removed = Signal(object)

    def __init__(self, part: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.part = part
        url = part.get("url") if isinstance(part.get("url"), str) else ""
        blob = data_url(url)
        self.picture = picture = QLabel()
        if blob is not None:
            read = read_blob(blob, THUMB)
            image = placeholder(read, THUMB.width()) if isinstance(read, str) else read
            picture.setToolTip(plain_tooltip(blob.label()))
        else:
            image = placeholder(f"remote image\n{shorten(url, 60)}", THUMB.width())
            picture.setToolTip(plain_tooltip(url))
        picture.setPixmap(QPixmap.fromImage(image))
        remove = _tool_button("✕", "Remove this image from the request")
        remove.clicked.connect(lambda: self.removed.emit(self))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(picture)
        layout.addWidget(remove, 0, Qt.AlignmentFlag.AlignTop)


def _split_content(content: Any) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]]]:
    """A message's content as (its text, its image parts, its other parts kept as they are)."""
    if content is None:
        return "", [], []
    if isinstance(content, str):
        return content, [], []
    if not isinstance(content, list):
        return pretty(content), [], []
    texts, images, others = [], [], []
    for part in content:
        if isinstance(part, dict) and part.get("type") == "text":
            texts.append(str(part.get("text") or ""))
        elif isinstance(part, dict) and part.get("type") == "image":
            images.append(part)
        elif isinstance(part, str):
            texts.append(part)
        else:
            others.append(part)
    return "\n".join(texts), images, others


class QtMessageEditor(QFrame):
    """One message of the request."""

    removed = Signal(object)
    moved = Signal(object, int)

    def __init__(self, value: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        text, images, self._others = _split_content(value.get("content"))
        self.role = QComboBox()
        self.role.setEditable(True)
        self.role.addItems(ROLES)
        self.role.setCurrentText(str(value.get("role") or "user"))
        self.role.setToolTip("Who says this message")
        self.call_id = QLineEdit(str(value.get("tool_call_id") or ""), placeholderText="tool_call_id")
        self.call_id.setToolTip("The id of the tool call this message answers")
        self.text = QtGrowingText(text)
        self.text.setPlaceholderText("message text")
        self.images = QHBoxLayout()
        self.images.setContentsMargins(0, 0, 0, 0)
        self.images.addStretch(1)
        for part in images:
            self._add_image(part)
        self.others = QLabel()
        self.calls = QVBoxLayout()
        self.calls.setContentsMargins(0, 0, 0, 0)
        self.calls.setSpacing(2)
        self.add_call = QPushButton("Add tool call")
        self.add_call.setToolTip("Have this assistant message call a tool")
        self.add_call.clicked.connect(lambda: self._add_call({}))
        for call in value.get("tool_calls") or []:
            if isinstance(call, dict):
                self._add_call(call)
        self._build(value)
        self.role.currentTextChanged.connect(self._show_role)
        self._show_role(self.role.currentText())
        self._show_others()

    def _build(self, value: dict[str, Any]) -> None:
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.role)
        top.addWidget(self.call_id, 1)
        top.addStretch(0)
        for text, tip, step in (("↑", "Move this message up", -1), ("↓", "Move this message down", 1)):
            button = _tool_button(text, tip)
            button.clicked.connect(lambda _=False, s=step: self.moved.emit(self, s))
            top.addWidget(button)
        remove = _tool_button("✕", "Remove this message")
        remove.clicked.connect(lambda: self.removed.emit(self))
        top.addWidget(remove)
        calls_bar = QHBoxLayout()
        calls_bar.setContentsMargins(0, 0, 0, 0)
        calls_bar.addStretch(1)
        calls_bar.addWidget(self.add_call)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(3)
        layout.addLayout(top)
        layout.addWidget(self.text)
        layout.addLayout(self.images)
        layout.addWidget(self.others)
        layout.addLayout(self.calls)
        layout.addLayout(calls_bar)

    def _show_role(self, role: str) -> None:
        self.call_id.setVisible(role == "tool")
        self.add_call.setVisible(role == "assistant")

    def _show_others(self) -> None:
        kinds = sorted(
            {str(p.get("type")) if isinstance(p, dict) else type(p).__name__ for p in self._others}
        )
        self.others.setText(f"Also sent as recorded: {len(self._others)} part(s) ({', '.join(kinds)})")
        self.others.setVisible(bool(self._others))

    def _add_image(self, part: dict[str, Any]) -> None:
        chip = QtImageChip(part)
        chip.removed.connect(self._remove_image)
        self.images.insertWidget(self.images.count() - 1, chip)

    def _remove_image(self, chip: QtImageChip) -> None:
        self.images.removeWidget(chip)
        chip.deleteLater()

    def image_parts(self) -> list[dict[str, Any]]:
        return [
            w.part
            for i in range(self.images.count())
            if isinstance(w := self.images.itemAt(i).widget(), QtImageChip)
        ]

    def call_editors(self) -> list[QtToolCallEditor]:
        return [self.calls.itemAt(i).widget() for i in range(self.calls.count())]

    def _add_call(self, call: dict[str, Any]) -> None:
        editor = QtToolCallEditor(call)
        editor.removed.connect(self._remove_call)
        self.calls.addWidget(editor)

    def _remove_call(self, editor: QtToolCallEditor) -> None:
        self.calls.removeWidget(editor)
        editor.deleteLater()

    def message(self, position: int) -> dict[str, Any]:
        """The message as edited (InvalidMessage when it cannot be sent); `position` names it."""
        role = self.role.currentText().strip()
        where = f"Message {position + 1} ({role or 'no role'})"
        if not role:
            raise InvalidMessage(f"{where}: it has no role")
        text = self.text.toPlainText()
        parts = self.image_parts() + self._others
        content: Any = [{"type": "text", "text": text}, *parts] if parts else text
        if parts and not text:
            content = parts
        calls = [e.call(where) for e in self.call_editors()] if role == "assistant" else []
        call_id = self.call_id.text().strip() or None if role == "tool" else None
        if role == "tool" and call_id is None:
            raise InvalidMessage(f"{where}: a tool result needs the id of the tool call it answers")
        return message(role, content if (text or parts or not calls) else None, calls, call_id)


class QtMessageList(QWidget):
    """The request's messages, one editor each, in a scrolling column."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._column = QVBoxLayout()
        self._column.setContentsMargins(0, 0, 0, 0)
        self._column.setSpacing(6)
        inner = QWidget()
        inner_layout = QVBoxLayout(inner)
        inner_layout.setContentsMargins(2, 2, 2, 2)
        inner_layout.addLayout(self._column)
        inner_layout.addStretch(1)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(inner)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        add = QPushButton("Add message")
        add.setToolTip("Add a user message at the end")
        add.clicked.connect(lambda: self.append(message("user", "")))
        self.add_result = QPushButton("Add tool result")
        self.add_result.setToolTip(
            "Answer the last tool call by hand: a tool message with its call id, to continue the "
            "conversation (tools are never run for you)"
        )
        self.add_result.clicked.connect(self.add_tool_result)
        buttons = QHBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(self.add_result)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.scroll, 1)
        layout.addLayout(buttons)

    def editors(self) -> list[QtMessageEditor]:
        return [self._column.itemAt(i).widget() for i in range(self._column.count())]

    def set_messages(self, messages: list[dict[str, Any]]) -> None:
        for editor in self.editors():
            self._column.removeWidget(editor)
            editor.deleteLater()
        for value in messages:
            self.append(value, scroll=False)

    def append(self, value: dict[str, Any], *, scroll: bool = True) -> QtMessageEditor:
        editor = QtMessageEditor(value)
        editor.removed.connect(self._remove)
        editor.moved.connect(self._move)
        self._column.addWidget(editor)
        if scroll:
            editor.text.setFocus()
            self.scroll.ensureWidgetVisible(editor)
        self.changed.emit()
        return editor

    def add_tool_result(self) -> QtMessageEditor:
        """A tool message answering the last tool call no message answers yet (else a blank one)."""
        answered = {e.call_id.text().strip() for e in self.editors() if e.role.currentText() == "tool"}
        calls = [
            c.call_id.text().strip()
            for e in self.editors()
            if e.role.currentText() == "assistant"
            for c in e.call_editors()
        ]
        open_calls = [c for c in calls if c and c not in answered]
        return self.append(message("tool", "", tool_call_id=open_calls[0] if open_calls else None))

    def messages(self) -> list[dict[str, Any]]:
        """The messages as edited; InvalidMessage names the first that cannot be sent."""
        found = [editor.message(i) for i, editor in enumerate(self.editors())]
        if not found:
            raise InvalidMessage("The request has no message: add one")
        return found

    def _remove(self, editor: QtMessageEditor) -> None:
        self._column.removeWidget(editor)
        editor.deleteLater()
        self.changed.emit()

    def _move(self, editor: QtMessageEditor, step: int) -> None:
        at = self._column.indexOf(editor)
        to = at + step
        if 0 <= to < self._column.count():
            self._column.removeWidget(editor)
            self._column.insertWidget(to, editor)
            self.scroll.ensureWidgetVisible(editor)
            self.changed.emit()
