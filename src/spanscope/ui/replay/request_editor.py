"""The left half of the replay window: the request as recorded, all of it editable — messages, tools,
parameters — and the request as edited, or the first reason it cannot be sent."""

from __future__ import annotations

from PySide6.QtWidgets import QTabWidget, QWidget

from spanscope.core.endpoints.chat import ChatRequest
from spanscope.ui.replay.messages import QtMessageList
from spanscope.ui.replay.parameters import QtParameters
from spanscope.ui.replay.tools_editor import QtToolsEditor

MESSAGES_TAB, TOOLS_TAB, PARAMETERS_TAB = range(3)


class QtRequestEditor(QTabWidget):
    """Messages, Tools and Parameters tabs over one request."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDocumentMode(True)
        self.messages = QtMessageList()
        self.tools = QtToolsEditor()
        self.parameters = QtParameters()
        self.addTab(self.messages, "Messages")
        self.addTab(self.tools, "Tools")
        self.addTab(self.parameters, "Parameters")
        self.setTabToolTip(TOOLS_TAB, "The tools offered to the model, as JSON")
        self.setTabToolTip(PARAMETERS_TAB, "Sampling parameters: as recorded unless set here")
        self.messages.changed.connect(self._count)
        self.tools.editor.textChanged.connect(self._count)

    def set_request(self, request: ChatRequest) -> None:
        self.messages.set_messages(request.messages)
        self.tools.set_tools(request.tools)
        self.parameters.set_recorded(request.params)
        self._count()

    def request(self, model: str) -> ChatRequest:
        """The request as edited, for `model`; InvalidMessage or InvalidTools say what to fix."""
        return ChatRequest(model, self.messages.messages(), self.tools.tools(), self.parameters.params())

    def _count(self) -> None:
        self.setTabText(MESSAGES_TAB, f"Messages ({len(self.messages.editors())})")
        try:
            tools = len(self.tools.tools())
        except ValueError:
            self.setTabText(TOOLS_TAB, "Tools (invalid)")
            return
        self.setTabText(TOOLS_TAB, f"Tools ({tools})" if tools else "Tools")
