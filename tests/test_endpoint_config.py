"""The user's endpoints file (endpoints.json) and the keys in the system keyring: a round trip, the
checks, a damaged file said for a person, and keys kept out of the file."""

from __future__ import annotations

import json

import keyring
import keyring.core
import pytest

from spanscope.core.endpoints import secrets
from spanscope.core.endpoints.chat import EndpointError
from spanscope.core.endpoints.config import (
    PRESETS,
    Endpoint,
    EndpointConfigError,
    endpoints_path,
    find_endpoint,
    problems,
    read_endpoints,
    save_endpoints,
)
from spanscope.core.endpoints.secrets import (
    KeyringUnavailable,
    api_key,
    delete_key,
    get_key,
    keyring_problem,
    set_key,
)

KEY = "sk-test-0123456789abcdef"


@pytest.fixture
def file_keyring(tmp_path, monkeypatch):
    """A real keyring backend keeping its keys in a file under the test's own XDG_DATA_HOME."""
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)
    keyring.core.init_backend()
    return tmp_path / "data"


@pytest.fixture
def no_keyring(monkeypatch):
    """A system with no usable keyring: what keyring chooses when it finds no backend."""
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)
    keyring.core.init_backend()


def test_endpoints_round_trip_through_the_user_config_dir(user_config_dir):
    endpoints = [
        *PRESETS[:2],
        Endpoint("Büro GPU", "http://10.0.0.5:8000/v1", api="responses", key_in_keyring=True, timeout_s=12.5),
        Endpoint("hosted", "https://example.com/v1", key_env="HOSTED_KEY", max_retries=0),
    ]
    path = save_endpoints(endpoints)
    assert path == user_config_dir / "endpoints.json" == endpoints_path()
    assert read_endpoints() == endpoints
    assert find_endpoint("hosted") == endpoints[3]
    assert find_endpoint("absent") is None
    assert [p.name for p in user_config_dir.iterdir()] == ["endpoints.json"]  # no temporary left


def test_no_file_is_no_endpoints(user_config_dir):
    assert read_endpoints() == []


def test_a_save_with_problems_leaves_the_file_as_it_was(user_config_dir):
    save_endpoints([PRESETS[0]])
    before = endpoints_path().read_bytes()
    with pytest.raises(ValueError, match="name is already endpoint 1's"):
        save_endpoints([PRESETS[0], PRESETS[0]])
    assert endpoints_path().read_bytes() == before


def test_presets_are_valid_and_local_ones_take_no_key():
    assert problems(PRESETS) == []
    urls = {p.name: p.base_url for p in PRESETS}
    assert urls["Ollama"] == "http://localhost:11434/v1"
    assert urls["llama.cpp server"] == "http://localhost:8080/v1"
    assert urls["vLLM"] == "http://localhost:8000/v1"
    assert urls["LM Studio"] == "http://localhost:1234/v1"
    assert urls["OpenAI"] == "https://api.openai.com/v1"
    for preset in PRESETS:
        local = preset.base_url.startswith("http://localhost")
        assert (preset.key_env is None) == local, preset.name
        assert not preset.key_in_keyring


@pytest.mark.parametrize(
    ("endpoint", "problem"),
    [
        (Endpoint(" ", "http://h/v1"), "the name is empty"),
        (Endpoint("a\nb", "http://h/v1"), "control character"),
        (Endpoint("e", "ftp://h/v1"), "must start with http:// or https://"),
        (Endpoint("e", "localhost:8080/v1"), "must start with http:// or https://"),
        (Endpoint("e", "http://h:99999/v1"), "is not a URL"),
        (Endpoint("e", "http://user:pw@h/v1"), "holds a user name or password"),
        (Endpoint("e", "http://h/v1?key=abc"), "takes no query"),
        (Endpoint("e", "http://h/v1", api="completions"), "the API must be one of chat, responses"),
        (Endpoint("e", "http://h/v1", timeout_s=0), "the timeout must be a number of seconds above 0"),
        (Endpoint("e", "http://h/v1", timeout_s=float("nan")), "the timeout must be"),
        (Endpoint("e", "http://h/v1", max_retries=-1), "the retries must be"),
        (Endpoint("e", "http://h/v1", key_env="A", key_in_keyring=True), "not both"),
        (Endpoint("e", "http://h/v1", key_env=""), "name the environment variable"),
    ],
)
def test_problems_name_the_endpoint_and_say_why(endpoint, problem):
    found = problems([endpoint])
    assert len(found) == 1
    assert found[0].startswith("Endpoint 1") and problem in found[0]


def test_a_key_pasted_as_the_variable_name_is_refused_without_being_repeated():
    (found,) = problems([Endpoint("e", "http://h/v1", key_env=KEY)])
    assert "environment variable's name" in found
    assert KEY not in found


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not UTF-8 text"),
        (b"[]", 'expected an object with an "endpoints" list'),
        (b'{"endpoints": {}}', 'expected an object with an "endpoints" list'),
        (b'{"endpoints": [3]}', "endpoint 1: expected an object"),
        (b'{"endpoints": [{"name": "a"}]}', "endpoint 1 (a): 'base_url' is missing"),
        (b'{"endpoints": [{"name": "a", "base_url": 5}]}', "'base_url' must be text"),
        (b'{"endpoints": [{"name": "a", "base_url": "http://h", "timeout_s": "9"}]}', "must be a number"),
        (b'{"endpoints": [{"name": "a", "base_url": "http://h", "max_retries": true}]}', "must be a number"),
        (b'{"endpoints": [{"name": "a", "base_url": "http://h", "api_key": "x"}]}', "field 'api_key'"),
        (b'{"endpoints": [{"name": "a", "base_url": "h"}]}', "must start with http://"),
        (
            b'{"endpoints": [{"name": "a", "base_url": "http://h"}, {"name": "a", "base_url": "http://g"}]}',
            "name is already endpoint 1's",
        ),
    ],
)
def test_a_damaged_file_is_named_with_what_is_wrong(user_config_dir, content, reason):
    user_config_dir.mkdir(parents=True)
    (user_config_dir / "endpoints.json").write_bytes(content)
    with pytest.raises(EndpointConfigError) as raised:
        read_endpoints()
    message = str(raised.value)
    assert message.startswith(str(user_config_dir / "endpoints.json"))
    assert reason in message


def test_an_unreadable_file_is_named(user_config_dir):
    (user_config_dir / "endpoints.json").mkdir(parents=True)
    with pytest.raises(EndpointConfigError, match=r"Cannot read .*endpoints\.json: \S"):
        read_endpoints()


def test_keys_live_in_the_keyring_under_the_endpoint_name_and_never_in_the_file(
    user_config_dir, file_keyring
):
    assert keyring_problem() is None
    set_key("Büro GPU", KEY)
    save_endpoints([Endpoint("Büro GPU", "http://10.0.0.5:8000/v1", key_in_keyring=True)])
    assert get_key("Büro GPU") == KEY
    assert keyring.get_password("spanscope", "Büro GPU") == KEY
    assert KEY not in endpoints_path().read_text()
    stored = list(file_keyring.rglob("*"))
    assert any(p.is_file() for p in stored)  # the backend really wrote its own file
    delete_key("Büro GPU")
    assert get_key("Büro GPU") is None
    delete_key("Büro GPU")  # nothing stored: nothing to do


def test_a_call_takes_its_key_from_the_variable_or_the_keyring(file_keyring, monkeypatch):
    monkeypatch.setenv("HOSTED_KEY", KEY)
    set_key("gpu", KEY + "-keyring")
    assert api_key(Endpoint("hosted", "https://example.com/v1", key_env="HOSTED_KEY")) == KEY
    assert api_key(Endpoint("gpu", "http://h/v1", key_in_keyring=True)) == KEY + "-keyring"
    assert api_key(Endpoint("unset", "http://h/v1", key_env="SPANSCOPE_TEST_UNSET")) is None
    assert api_key(Endpoint("nothing stored", "http://h/v1", key_in_keyring=True)) is None
    assert api_key(Endpoint("local", "http://h/v1")) is None


def test_no_usable_keyring_is_said_plainly(no_keyring):
    with pytest.raises(EndpointError, match="No system keyring is available"):
        api_key(Endpoint("gpu", "http://h/v1", key_in_keyring=True))
    assert keyring_problem() == secrets.NO_KEYRING
    assert "environment variable" in secrets.NO_KEYRING
    for call in (lambda: get_key("e"), lambda: set_key("e", KEY), lambda: delete_key("e")):
        with pytest.raises(KeyringUnavailable) as raised:
            call()
        assert str(raised.value).startswith("Cannot ")
        assert "endpoint 'e'" in str(raised.value) and secrets.NO_KEYRING in str(raised.value)
        assert KEY not in str(raised.value)


def test_the_file_is_plain_json_a_person_can_read(user_config_dir):
    save_endpoints([Endpoint("local", "http://localhost:11434/v1")])
    assert json.loads(endpoints_path().read_text()) == {
        "endpoints": [
            {
                "name": "local",
                "base_url": "http://localhost:11434/v1",
                "api": "chat",
                "key_env": None,
                "key_in_keyring": False,
                "timeout_s": 120.0,
                "max_retries": 2,
            }
        ]
    }
