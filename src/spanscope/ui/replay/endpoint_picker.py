"""Where a replay goes: an endpoint (a saved one, or a base URL typed in) and a model (typed, or
picked from what the endpoint lists). The endpoint is asked for its models only when the user picks
it or presses List models: opening the window sends nothing anywhere."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QWidget

from spanscope.core.endpoints.chat import EndpointError
from spanscope.core.endpoints.client import endpoint_for
from spanscope.core.endpoints.config import PRESETS, Endpoint, EndpointConfigError, read_endpoints
from spanscope.ui.plain_tooltip import plain_tooltip
from spanscope.ui.replay.tasks import Failed, Models, list_models
from spanscope.ui.style import ERROR_COLOR, MUTED_COLOR, ink
from spanscope.ui.workers import Policy, QtWorker


class NoEndpoint(ValueError):
    """The endpoint field names none we can call; says why."""


def offered_endpoints() -> tuple[list[Endpoint], str]:
    """The user's saved endpoints, then the presets not saved under their name; and why the saved
    ones could not be read, if they could not."""
    try:
        saved, problem = read_endpoints(), ""
    except EndpointConfigError as exc:
        saved, problem = [], str(exc)
    names = {e.name for e in saved}
    return saved + [p for p in PRESETS if p.name not in names], problem


class QtEndpointPicker(QWidget):
    """The endpoint and model combos, a List models button and a line saying how listing went."""

    #: The user changed the endpoint or model (the window enables Run).
    changed = Signal()

    def __init__(self, endpoints: list[Endpoint], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.endpoint_box = QComboBox(editable=True)
        self.endpoint_box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.endpoint_box.setToolTip("A saved endpoint, or the base URL of any OpenAI-compatible server")
        self.endpoint_box.lineEdit().setPlaceholderText("endpoint name or base URL (http://host:port/v1)")
        self.endpoint_box.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.endpoint_box.setMinimumContentsLength(18)
        for endpoint in endpoints:
            self.endpoint_box.addItem(f"{endpoint.name} — {endpoint.base_url}", endpoint)
        self.endpoint_box.setCurrentIndex(-1)
        self.model_box = QComboBox(editable=True)
        self.model_box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.model_box.setToolTip("The model to ask: as recorded, typed, or one the endpoint lists")
        self.model_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model_box.setMinimumContentsLength(14)
        self.list_button = QPushButton("List models")
        self.list_button.setToolTip("Ask the endpoint which models it serves")
        self.status = QLabel(textFormat=Qt.TextFormat.PlainText)
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.job = QtWorker("List models", self, Policy.LATEST)
        self.job.finished.connect(self._on_models)
        self.endpoint_box.activated.connect(lambda _index: self.list_models())
        self.endpoint_box.lineEdit().returnPressed.connect(self.list_models)
        self.list_button.clicked.connect(self.list_models)
        self.endpoint_box.currentTextChanged.connect(lambda _text: self.changed.emit())
        self.model_box.currentTextChanged.connect(lambda _text: self.changed.emit())
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Endpoint"))
        layout.addWidget(self.endpoint_box, 3)
        layout.addWidget(QLabel("Model"))
        layout.addWidget(self.model_box, 2)
        layout.addWidget(self.list_button)

    def set_model(self, model: str) -> None:
        self.model_box.setCurrentText(model)

    def model(self) -> str:
        return self.model_box.currentText().strip()

    def endpoint(self) -> Endpoint:
        """The chosen endpoint: the listed one shown, else one made from the typed name or URL."""
        text = self.endpoint_box.currentText().strip()
        index = self.endpoint_box.findText(text)
        if index >= 0:
            return self.endpoint_box.itemData(index)
        if not text:
            raise NoEndpoint("Choose an endpoint, or type the base URL of an OpenAI-compatible server")
        try:
            return endpoint_for(
                text, [self.endpoint_box.itemData(i) for i in range(self.endpoint_box.count())]
            )
        except EndpointError as exc:
            raise NoEndpoint(str(exc)) from exc

    def list_models(self) -> None:
        try:
            endpoint = self.endpoint()
        except NoEndpoint as exc:
            self._say(str(exc), error=True)
            return
        self._say(f"Asking {endpoint.base_url} for its models…")
        self.job.start(list_models(endpoint))

    def _on_models(self, result: Models | Failed) -> None:
        if isinstance(result, Failed):
            self._say(result.message, error=True)
            return
        typed = self.model()
        self.model_box.blockSignals(True)
        self.model_box.clear()
        self.model_box.addItems(result.names)
        self.model_box.setCurrentText(typed or (result.names[0] if result.names else ""))
        self.model_box.blockSignals(False)
        self._say(f"{len(result.names)} model(s) at {result.endpoint.name}")

    def _say(self, text: str, *, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setToolTip(plain_tooltip(text))
        self.status.setStyleSheet(f"color: {ink(ERROR_COLOR) if error else MUTED_COLOR}")

    def stop(self) -> None:
        self.job.cancel()
        self.job.wait(2000)
