"""Settings > Model Endpoints: the OpenAI-compatible servers replays and judges may call.

The endpoints, their checks and the atomic write of endpoints.json are core's (endpoints.config);
keys go to the system keyring through endpoints.secrets, never to that file. This dialog is a list
of endpoints and an editor for the selected one. A key typed here is held until Save writes it to the
keyring; a stored key is never read back into the form. "Test connection" asks the endpoint for its
models on a worker thread: the only network traffic this dialog makes, and only on that button.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMenu,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from spanscope.core.endpoints.chat import EndpointError
from spanscope.core.endpoints.config import (
    API_NAMES,
    PRESETS,
    Endpoint,
    EndpointConfigError,
    endpoint_problems,
    endpoints_path,
    problems,
    read_endpoints,
    save_endpoints,
)
from spanscope.core.endpoints.secrets import KeyringUnavailable, delete_key, get_key, keyring_problem, set_key
from spanscope.ui.screen_fit import fit_to_screen
from spanscope.ui.style import ERROR_COLOR, MUTED_COLOR
from spanscope.ui.workers import Policy, QtWorker

#: The longest Test connection waits for an answer (seconds).
TEST_TIMEOUT_S = 15.0
#: The key sources the editor offers, in its combo box's order.
NO_KEY, ENV_KEY, KEYRING_KEY = range(3)
INTRO = (
    "OpenAI-compatible servers that replays and judges can call. Nothing is sent to one until you "
    "press Test connection or Run. Keys stay in an environment variable or the system keyring, "
    "never in the settings file."
)


@dataclass
class _Draft:
    """An endpoint as edited: `stored_as` is the name its key is in the keyring under (None: no key
    there); `new_key` a key typed but not saved yet."""

    endpoint: Endpoint
    stored_as: str | None = None
    new_key: str = ""


def _key_source(endpoint: Endpoint) -> int:
    return KEYRING_KEY if endpoint.key_in_keyring else ENV_KEY if endpoint.key_env is not None else NO_KEY


def _test_models(endpoint: Endpoint, key: str | None, stored_as: str | None) -> tuple[list[str], str]:
    """On a worker thread: the endpoint's models, or the message saying why they cannot be listed."""
    from spanscope.core.endpoints.client import ModelClient  # on use: openai takes 0.5 s to import

    try:
        if key is None and endpoint.key_in_keyring and stored_as is not None:
            key = get_key(stored_as)
        return ModelClient(endpoint, key).models(), ""
    except EndpointError as exc:  # a keyring that cannot be read is one too
        return [], str(exc)


class QtEndpointSettingsDialog(QDialog):
    """Endpoints on the left, the selected one's editor on the right; Save checks them, stores new
    keys in the keyring and writes endpoints.json."""

    #: The file was written (its path).
    saved = Signal(object)

    def __init__(self, parent: QWidget | None = None, folder: Path | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Model endpoints")
        self.path = endpoints_path(folder)
        self.folder = self.path.parent
        self.keyring_problem = keyring_problem()
        self.drafts: list[_Draft] = []
        self._filling = False
        self.worker = QtWorker("Cannot test the endpoint", self, Policy.LATEST)
        self.worker.finished.connect(self._tested)

        self.list = QListWidget()
        self.list.currentRowChanged.connect(self._select)
        self.preset_menu = QMenu(self)
        for preset in PRESETS:
            self.preset_menu.addAction(preset.name, lambda p=preset: self.add(p))
        self.preset_menu.addSeparator()
        self.preset_menu.addAction("Blank endpoint", lambda: self.add(Endpoint("", "http://")))
        self.add_button = QPushButton("Add from preset")
        self.add_button.setMenu(self.preset_menu)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove_current)
        left = QWidget()
        left_buttons = QHBoxLayout()
        left_buttons.addWidget(self.add_button)
        left_buttons.addWidget(self.remove_button)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.list, 1)
        left_layout.addLayout(left_buttons)

        self.editor = self._editor()
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.editor)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([240, 640])
        splitter.setChildrenCollapsible(False)

        intro = QLabel(INTRO, wordWrap=True)
        self.error_label = _label(ERROR_COLOR)
        self.error_label.hide()
        self.file_label = _label(MUTED_COLOR)
        self.file_label.setText(f"Saves to {self.path}")
        self.file_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.error_label)
        layout.addWidget(self.file_label)
        layout.addWidget(self.buttons)
        fit_to_screen(self, 900, 580)
        self._load()

    # --- building ---------------------------------------------------------------------------------

    def _editor(self) -> QWidget:
        self.name_edit = QLineEdit(placeholderText="A name you choose, e.g. Local Llama")
        self.url_edit = QLineEdit(placeholderText="http://localhost:11434/v1")
        self.api_combo = QComboBox()
        for key, label in API_NAMES.items():
            self.api_combo.addItem(label, key)
        self.api_combo.setToolTip(
            "Chat Completions: what every OpenAI-compatible server speaks. Responses: OpenAI's newer "
            "API, for endpoints that offer it."
        )
        self.key_combo = QComboBox()
        self.key_combo.addItems(["No key", "Environment variable", "System keyring"])
        if self.keyring_problem is not None:
            model = self.key_combo.model()
            assert isinstance(model, QStandardItemModel)
            model.item(KEYRING_KEY).setEnabled(False)
        self.env_edit = QLineEdit(placeholderText="OPENAI_API_KEY")
        self.key_edit = QLineEdit(echoMode=QLineEdit.EchoMode.Password)
        self.key_edit.setToolTip("Stored in the system keyring when you press Save; never shown again.")
        self.key_note = _label(MUTED_COLOR)
        self.timeout_spin = QDoubleSpinBox(decimals=1, minimum=0.1, maximum=3600, suffix=" s")
        self.retries_spin = QSpinBox(minimum=0, maximum=10)
        self.retries_spin.setToolTip("Tries again after a failure that may pass (429, 5xx, timeout)")

        form = QFormLayout()
        form.addRow("Name", self.name_edit)
        form.addRow("Base URL", self.url_edit)
        form.addRow("API", self.api_combo)
        form.addRow("API key", self.key_combo)
        form.addRow("Variable", self.env_edit)
        form.addRow("Key", self.key_edit)
        form.addRow(self.key_note)
        form.addRow("Timeout", self.timeout_spin)
        form.addRow("Retries", self.retries_spin)
        self.form = form
        for edit in (self.name_edit, self.url_edit, self.env_edit):
            edit.textEdited.connect(self._edited)
        self.key_edit.textEdited.connect(self._key_typed)
        for combo in (self.api_combo, self.key_combo):
            combo.currentIndexChanged.connect(self._edited)
        self.timeout_spin.valueChanged.connect(self._edited)
        self.retries_spin.valueChanged.connect(self._edited)

        self.test_button = QPushButton("Test connection")
        self.test_button.setToolTip("Ask the endpoint for its models (sends one request to its base URL)")
        self.test_button.clicked.connect(self.test_connection)
        self.test_status = _label(None)
        self.models = QListWidget()
        self.models.setToolTip("The models the endpoint lists")
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addWidget(self.test_status, 1)

        editor = QWidget()
        layout = QVBoxLayout(editor)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        layout.addLayout(test_row)
        layout.addWidget(self.models, 1)
        return editor

    def _load(self) -> None:
        try:
            endpoints = read_endpoints(self.folder)
        except EndpointConfigError as exc:
            endpoints = []
            self._show_problems([str(exc), "Saving replaces that file."])
        #: The names keys were stored under when the dialog opened.
        self._stored_names = {e.name for e in endpoints if e.key_in_keyring}
        for endpoint in endpoints:
            self._append(_Draft(endpoint, endpoint.name if endpoint.key_in_keyring else None))
        self.list.setCurrentRow(0)
        self._select(self.list.currentRow())

    # --- the list ---------------------------------------------------------------------------------

    def add(self, preset: Endpoint) -> None:
        """A new endpoint from `preset`, named apart from those already listed, selected for editing."""
        names = {d.endpoint.name for d in self.drafts}
        name, number = preset.name, 2
        while name and name in names:
            name, number = f"{preset.name} {number}", number + 1
        self._append(_Draft(replace(preset, name=name)))
        self.list.setCurrentRow(len(self.drafts) - 1)
        (self.url_edit if name else self.name_edit).setFocus()

    def remove_current(self) -> None:
        """Drop the selected endpoint; its key leaves the keyring when the dialog is saved."""
        row = self.list.currentRow()
        if row < 0:
            return
        del self.drafts[row]
        self.list.takeItem(row)

    def _append(self, draft: _Draft) -> None:
        self.drafts.append(draft)
        self.list.addItem(draft.endpoint.name or "(unnamed)")

    def _current(self) -> _Draft | None:
        row = self.list.currentRow()
        return self.drafts[row] if 0 <= row < len(self.drafts) else None

    def _select(self, _row: int) -> None:
        """Show the selected endpoint in the editor (an empty, disabled editor when there is none)."""
        self.worker.cancel()
        self.models.clear()
        self.test_status.clear()
        draft = self._current()
        self.editor.setEnabled(draft is not None)
        self.remove_button.setEnabled(draft is not None)
        endpoint = draft.endpoint if draft is not None else Endpoint("", "")
        self._filling = True
        try:
            self.name_edit.setText(endpoint.name)
            self.url_edit.setText(endpoint.base_url)
            self.api_combo.setCurrentIndex(max(0, self.api_combo.findData(endpoint.api)))
            self.key_combo.setCurrentIndex(_key_source(endpoint))
            self.env_edit.setText(endpoint.key_env or "")
            self.key_edit.setText(draft.new_key if draft is not None else "")
            self.timeout_spin.setValue(endpoint.timeout_s)
            self.retries_spin.setValue(endpoint.max_retries)
        finally:
            self._filling = False
        self._show_key_source()

    # --- editing ----------------------------------------------------------------------------------

    def _edited(self) -> None:
        """The editor changed: the selected endpoint takes its values."""
        draft = self._current()
        if self._filling or draft is None:
            return
        source = self.key_combo.currentIndex()
        draft.endpoint = replace(
            draft.endpoint,
            name=self.name_edit.text().strip(),
            base_url=self.url_edit.text().strip(),
            api=self.api_combo.currentData(),
            key_env=self.env_edit.text().strip() if source == ENV_KEY else None,
            key_in_keyring=source == KEYRING_KEY,
            timeout_s=self.timeout_spin.value(),
            max_retries=self.retries_spin.value(),
        )
        self.list.currentItem().setText(draft.endpoint.name or "(unnamed)")
        self._show_key_source()

    def _key_typed(self, text: str) -> None:
        draft = self._current()
        if draft is not None:
            draft.new_key = text.strip()
            self._show_key_source()

    def _show_key_source(self) -> None:
        """Show the field of the chosen key source, and a note on where the key stands (never the key)."""
        draft = self._current()
        source = self.key_combo.currentIndex()
        self.form.setRowVisible(self.env_edit, source == ENV_KEY)
        self.form.setRowVisible(self.key_edit, source == KEYRING_KEY)
        note, color = "", MUTED_COLOR
        if source == KEYRING_KEY and self.keyring_problem is not None:
            note, color = self.keyring_problem, ERROR_COLOR
        elif draft is None:
            note = ""
        elif source == ENV_KEY:
            variable = draft.endpoint.key_env
            if variable:
                found = "is set" if os.environ.get(variable) else "is not set"
                note = f"{variable} {found} in Spanscope's environment (set it before starting Spanscope)"
        elif source == KEYRING_KEY:
            stored = draft.stored_as is not None
            if draft.new_key:
                note = "Save stores this key in the keyring" + (", replacing the one there" if stored else "")
            else:
                note = (
                    "A key is stored in the keyring; type a new one to replace it"
                    if stored
                    else ("Paste the key; Save stores it in the keyring")
                )
        elif self.keyring_problem is not None:
            note = self.keyring_problem
        self.key_edit.setPlaceholderText("Stored in the keyring" if draft and draft.stored_as else "API key")
        self.key_note.setText(note)
        self.key_note.setStyleSheet(f"color: {color};")
        self.key_note.setVisible(bool(note))

    # --- testing ----------------------------------------------------------------------------------

    def test_connection(self) -> None:
        """List the selected endpoint's models, as edited (its new key too), on a worker thread."""
        draft = self._current()
        if draft is None:
            return
        self.models.clear()
        if found := endpoint_problems(draft.endpoint):
            self._show_test(f"Cannot test: {'; '.join(found)}", ERROR_COLOR)
            return
        self._show_test(f"Asking {draft.endpoint.base_url} for its models…", MUTED_COLOR)
        # A quick question: no retries, and no waiting past TEST_TIMEOUT_S for a server that stalls.
        timeout = min(draft.endpoint.timeout_s, TEST_TIMEOUT_S)
        endpoint = replace(draft.endpoint, timeout_s=timeout, max_retries=0)
        key, stored_as = draft.new_key or None, draft.stored_as
        self.worker.start(lambda _state: _test_models(endpoint, key, stored_as))

    def _tested(self, result: tuple[list[str], str]) -> None:
        models, message = result
        if message:
            self._show_test(message, ERROR_COLOR)
            return
        self.models.addItems(models)
        count = f"{len(models)} model" + ("" if len(models) == 1 else "s")
        self._show_test(f"Connected: {count}" if models else "Connected, but it lists no models", None)

    def _show_test(self, text: str, color: str | None) -> None:
        self.test_status.setText(text)
        self.test_status.setStyleSheet(f"color: {color};" if color else "")

    # --- saving -----------------------------------------------------------------------------------

    def save(self) -> None:
        """Check every endpoint, put new keys in the keyring (moving a renamed endpoint's key, removing
        those no longer used), then write the file; on any problem say it and keep the dialog open."""
        endpoints = [d.endpoint for d in self.drafts]
        found = problems(endpoints)
        for number, draft in enumerate(self.drafts, 1):
            if draft.endpoint.key_in_keyring and not draft.new_key and draft.stored_as is None:
                found.append(
                    f"Endpoint {number} ({draft.endpoint.name}): type the key to keep in the keyring"
                )
        if found:
            self._show_problems(found)
            return
        try:
            self._store_keys()
            path = save_endpoints(endpoints, self.folder)
        except KeyringUnavailable as exc:
            self._show_problems([str(exc)])
            return
        except OSError as exc:
            self._show_problems([f"Cannot write {self.path}: {exc.strerror or exc}"])
            return
        self._forget_unused_keys()
        self.saved.emit(path)
        self.accept()

    def _store_keys(self) -> None:
        keyed = [d for d in self.drafts if d.endpoint.key_in_keyring]
        moved = {
            d.endpoint.name: get_key(d.stored_as)
            for d in keyed
            if not d.new_key and d.stored_as is not None and d.stored_as != d.endpoint.name
        }
        for draft in keyed:
            key = draft.new_key or moved.get(draft.endpoint.name)
            if key:
                set_key(draft.endpoint.name, key)

    def _forget_unused_keys(self) -> None:
        """Remove the keys of endpoints removed, renamed or no longer keyed from the keyring (after the
        file is written: a failure here leaves a key behind, never an endpoint without its key)."""
        kept = {d.endpoint.name for d in self.drafts if d.endpoint.key_in_keyring}
        unused = self._stored_names - kept
        for name in sorted(unused):
            try:
                delete_key(name)
            except KeyringUnavailable:
                continue

    def _show_problems(self, found: list[str]) -> None:
        self.error_label.setText("\n".join(found))
        self.error_label.show()


def _label(color: str | None) -> QLabel:
    """A plain-text label (whatever it shows is never read as markup), wrapping, in `color`."""
    label = QLabel(wordWrap=True, textFormat=Qt.TextFormat.PlainText)
    if color:
        label.setStyleSheet(f"color: {color};")
    return label


def edit_endpoints(parent: QWidget) -> None:
    """Settings > Model Endpoints (the dialog goes once closed; a test still running is dropped)."""
    dialog = QtEndpointSettingsDialog(parent)
    dialog.exec()
    dialog.worker.cancel()
    dialog.deleteLater()
