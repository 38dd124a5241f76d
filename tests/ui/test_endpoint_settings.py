"""Settings > Model Endpoints against a real OpenAI-compatible server on loopback: presets, Test
connection, keys in a real keyring backend (a file in the test's folder), and no key anywhere else."""

from __future__ import annotations

import base64
import json

import keyring
import keyring.core
import pytest
from PySide6.QtCore import QSettings, QSize, Qt, QTimer
from PySide6.QtWidgets import QApplication, QLabel

import openai_server
from openai_server import OpenAICompatibleServer
from spanscope.core.endpoints.config import PRESETS, Endpoint, read_endpoints, save_endpoints
from spanscope.core.endpoints.secrets import NO_KEYRING, get_key, set_key
from spanscope.ui.endpoint_settings import ENV_KEY, KEYRING_KEY, QtEndpointSettingsDialog
from spanscope.ui.main_window import QtMainWindow

KEY = "sk-test-keyring-5f0e1d2c3b4a"
ENV_SECRET = "sk-test-environment-9a8b7c6d"


@pytest.fixture(autouse=True)
def file_keyring(tmp_path, monkeypatch):
    """A real keyring backend keeping its keys in a file under the test's own XDG_DATA_HOME."""
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)
    keyring.core.init_backend()
    return tmp_path / "data"


@pytest.fixture
def dialog(qtbot, user_config_dir):
    widget = QtEndpointSettingsDialog(folder=user_config_dir)
    qtbot.addWidget(widget)
    widget.show()
    return widget


def add_preset(dialog: QtEndpointSettingsDialog, name: str) -> None:
    (action,) = [a for a in dialog.preset_menu.actions() if a.text() == name]
    action.trigger()


def type_into(qtbot, edit, text: str) -> None:
    """Replace an edit's text as a person would (textEdited fires, as it does for typing)."""
    edit.selectAll()
    qtbot.keyClicks(edit, text)


def press_test_connection(qtbot, dialog) -> str:
    """Press Test connection and wait for its answer; the status line it shows."""
    dialog.test_button.click()
    qtbot.waitUntil(lambda: not dialog.worker.busy, timeout=20_000)
    return dialog.test_status.text()


def save(qtbot, dialog) -> None:
    with qtbot.waitSignal(dialog.saved):
        dialog.buttons.button(dialog.buttons.StandardButton.Save).click()


def test_a_preset_pointed_at_a_server_lists_its_models_and_is_saved(qtbot, dialog, user_config_dir):
    assert dialog.list.count() == 0 and not dialog.editor.isEnabled()
    add_preset(dialog, "Ollama")
    assert dialog.name_edit.text() == "Ollama"
    assert dialog.url_edit.text() == "http://localhost:11434/v1"
    with OpenAICompatibleServer() as server:
        type_into(qtbot, dialog.url_edit, server.base_url)
        assert press_test_connection(qtbot, dialog) == "Connected: 3 models"
        assert [dialog.models.item(i).text() for i in range(dialog.models.count())] == sorted(
            ["local-small", "local-large", "judge-model"]
        )
        save(qtbot, dialog)
    assert read_endpoints(user_config_dir) == [Endpoint("Ollama", server.base_url)]


def test_a_wrong_key_shows_the_401_and_the_right_one_is_kept_in_the_keyring_only(
    qtbot, dialog, user_config_dir
):
    add_preset(dialog, "vLLM")
    dialog.key_combo.setCurrentIndex(KEYRING_KEY)
    assert dialog.key_edit.isVisible() and not dialog.env_edit.isVisible()
    assert dialog.key_edit.echoMode() == dialog.key_edit.EchoMode.Password
    with OpenAICompatibleServer(api_key=KEY) as server:
        type_into(qtbot, dialog.url_edit, server.base_url)
        type_into(qtbot, dialog.key_edit, "sk-wrong-key")
        message = press_test_connection(qtbot, dialog)
        assert "401" in message and "Incorrect API key provided." in message
        assert "sk-wrong-key" not in message
        assert dialog.models.count() == 0
        type_into(qtbot, dialog.key_edit, KEY)
        assert press_test_connection(qtbot, dialog) == "Connected: 3 models"
        save(qtbot, dialog)
    assert get_key("vLLM") == KEY
    assert read_endpoints(user_config_dir)[0].key_in_keyring
    assert KEY not in (user_config_dir / "endpoints.json").read_text()


def test_a_stored_key_is_used_but_never_shown_again(qtbot, user_config_dir):
    set_key("gpu", KEY)
    save_endpoints([Endpoint("gpu", "http://127.0.0.1:9/v1", key_in_keyring=True)], user_config_dir)
    reopened = QtEndpointSettingsDialog(folder=user_config_dir)
    qtbot.addWidget(reopened)
    reopened.show()
    assert reopened.key_edit.text() == ""
    assert "A key is stored in the keyring" in reopened.key_note.text()
    with OpenAICompatibleServer(api_key=KEY) as server:
        type_into(qtbot, reopened.url_edit, server.base_url)
        assert press_test_connection(qtbot, reopened) == "Connected: 3 models"
    assert all(KEY not in label.text() for label in reopened.findChildren(QLabel))


def test_renaming_moves_the_key_and_removing_forgets_it(qtbot, user_config_dir):
    set_key("old", KEY)
    set_key("gone", "sk-gone")
    save_endpoints(
        [
            Endpoint("old", "http://localhost:8000/v1", key_in_keyring=True),
            Endpoint("gone", "http://localhost:8080/v1", key_in_keyring=True),
        ],
        user_config_dir,
    )
    dialog = QtEndpointSettingsDialog(folder=user_config_dir)
    qtbot.addWidget(dialog)
    dialog.show()
    type_into(qtbot, dialog.name_edit, "new")
    assert dialog.list.item(0).text() == "new"
    dialog.list.setCurrentRow(1)
    dialog.remove_button.click()
    save(qtbot, dialog)
    assert [e.name for e in read_endpoints(user_config_dir)] == ["new"]
    assert (get_key("new"), get_key("old"), get_key("gone")) == (KEY, None, None)


def test_problems_are_listed_and_nothing_is_written(qtbot, dialog, user_config_dir):
    add_preset(dialog, "OpenAI")
    add_preset(dialog, "OpenAI")
    assert dialog.list.item(1).text() == "OpenAI 2"
    type_into(qtbot, dialog.url_edit, "localhost:8000")
    dialog.key_combo.setCurrentIndex(ENV_KEY)
    type_into(qtbot, dialog.env_edit, KEY)  # a key pasted where the variable's name goes
    dialog.buttons.button(dialog.buttons.StandardButton.Save).click()
    shown = dialog.error_label.text()
    assert "Endpoint 2 (OpenAI 2): the base URL must start with http:// or https://" in shown
    assert "environment variable's name" in shown and KEY not in shown
    assert dialog.isVisible() and not (user_config_dir / "endpoints.json").exists()
    assert press_test_connection(qtbot, dialog).startswith("Cannot test: the base URL")


def test_an_unreachable_server_says_so(qtbot, dialog):
    add_preset(dialog, "LM Studio")
    type_into(qtbot, dialog.url_edit, "http://127.0.0.1:9/v1")
    assert "cannot reach http://127.0.0.1:9/v1" in press_test_connection(qtbot, dialog)


def test_a_damaged_file_is_named_and_save_replaces_it(qtbot, user_config_dir):
    user_config_dir.mkdir(parents=True)
    (user_config_dir / "endpoints.json").write_text("{not json")
    dialog = QtEndpointSettingsDialog(folder=user_config_dir)
    qtbot.addWidget(dialog)
    assert str(user_config_dir / "endpoints.json") in dialog.error_label.text()
    assert "not valid JSON" in dialog.error_label.text()
    add_preset(dialog, "Ollama")
    save(qtbot, dialog)
    assert read_endpoints(user_config_dir) == [PRESETS[0]]


def test_hostile_model_ids_and_names_are_plain_text(qtbot, dialog, monkeypatch):
    hostile = '<img src="x"><b>bold</b>'
    monkeypatch.setattr(openai_server, "MODELS", (hostile,))
    add_preset(dialog, "Ollama")
    type_into(qtbot, dialog.name_edit, hostile)
    with OpenAICompatibleServer() as server:
        type_into(qtbot, dialog.url_edit, server.base_url)
        press_test_connection(qtbot, dialog)
    assert dialog.models.item(0).text() == hostile
    assert dialog.list.item(0).text() == hostile
    for label in dialog.findChildren(QLabel):
        assert label.textFormat() == Qt.TextFormat.PlainText or hostile not in label.text()


def test_without_a_keyring_only_the_environment_variable_is_offered(qtbot, user_config_dir, monkeypatch):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    keyring.core.init_backend()
    dialog = QtEndpointSettingsDialog(folder=user_config_dir)
    qtbot.addWidget(dialog)
    dialog.show()
    add_preset(dialog, "vLLM")
    assert not dialog.key_combo.model().item(KEYRING_KEY).isEnabled()
    assert dialog.key_combo.model().item(ENV_KEY).isEnabled()
    assert dialog.key_note.text() == NO_KEYRING and dialog.key_note.isVisible()


def test_the_dialog_fits_a_1280x720_screen(dialog):
    assert dialog.minimumSizeHint().boundedTo(QSize(1264, 672)) == dialog.minimumSizeHint()
    assert dialog.width() <= 1264 and dialog.height() <= 672


def test_keys_reach_neither_the_settings_files_nor_the_store(
    qtbot, tmp_path, demo_store, user_config_dir, file_keyring, monkeypatch
):
    """Through the app: Settings > Model Endpoints with a keyring key and a variable's key, both used
    by Test connection; then every file the app wrote is searched for them."""
    monkeypatch.setenv("SPANSCOPE_TEST_ENDPOINT_KEY", ENV_SECRET)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = QtMainWindow(settings)
    qtbot.addWidget(window)
    window.show()
    window.open_store(demo_store)
    (action,) = [a for a in window.menuBar().actions() if a.text() == "Se&ttings"]
    (endpoints_action,) = [a for a in action.menu().actions() if a.text() == "Model &Endpoints…"]
    seen: list[str] = []

    def fill_in() -> None:
        dialog = QApplication.activeModalWidget()
        try:
            with (
                OpenAICompatibleServer(api_key=KEY) as keyed,
                OpenAICompatibleServer(api_key=ENV_SECRET) as env,
            ):
                add_preset(dialog, "vLLM")
                type_into(qtbot, dialog.url_edit, keyed.base_url)
                dialog.key_combo.setCurrentIndex(KEYRING_KEY)
                type_into(qtbot, dialog.key_edit, KEY)
                seen.append(press_test_connection(qtbot, dialog))
                add_preset(dialog, "OpenAI")
                type_into(qtbot, dialog.url_edit, env.base_url)
                type_into(qtbot, dialog.env_edit, "SPANSCOPE_TEST_ENDPOINT_KEY")
                seen.append(press_test_connection(qtbot, dialog))
            dialog.save()
        finally:
            if dialog is not None and dialog.isVisible():
                dialog.reject()  # never leave the test waiting on a modal dialog

    QTimer.singleShot(0, fill_in)
    endpoints_action.trigger()
    assert seen == ["Connected: 3 models"] * 2
    window.close()
    settings.sync()

    assert get_key("vLLM") == KEY  # the key really went somewhere: the keyring's own file
    assert [p.name for p in file_keyring.rglob("*") if p.is_file()] == ["keyring_pass.cfg"]
    saved = json.loads((user_config_dir / "endpoints.json").read_text())
    assert [e["name"] for e in saved["endpoints"]] == ["vLLM", "OpenAI"]
    written = [user_config_dir / "endpoints.json", tmp_path / "settings.ini"]
    written += [p for p in demo_store.parent.rglob("*") if p.is_file() and file_keyring not in p.parents]
    assert tmp_path / "settings.ini" in written and demo_store in written
    secrets = [k.encode() for k in (KEY, ENV_SECRET)]
    secrets += [base64.b64encode(k) for k in secrets]  # as the keyring file holds it
    for path in written:
        content = path.read_bytes()
        assert not [k for k in secrets if k in content], path
