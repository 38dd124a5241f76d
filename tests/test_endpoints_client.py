"""The model client against a real OpenAI-compatible server on loopback: answers streamed and not,
tool calls, the Responses API, and every failure as one clear message with no key in it."""

from __future__ import annotations

import threading
import time

import pytest

from openai_server import Answer, Fault, OpenAICompatibleServer
from spanscope.core.endpoints.chat import Cancelled, ChatRequest, EndpointError
from spanscope.core.endpoints.client import ModelClient, endpoint_for
from spanscope.core.endpoints.config import Endpoint
from spanscope.core.model import message

KEY = "sk-test-7f3a9c"


@pytest.fixture
def server():
    with OpenAICompatibleServer(api_key=KEY, stall_s=2.0) as server:
        yield server


def _client(server: OpenAICompatibleServer, key: str = KEY, **options) -> ModelClient:
    options = {"max_retries": 0, "timeout_s": 1.0, **options}
    return ModelClient(Endpoint("test", server.base_url, **options), key)


REQUEST = ChatRequest(
    "local-small",
    [message("system", "be brief"), message("user", "what is the capital of France?")],
    params={"temperature": 0.2, "max_tokens": 50, "not_a_chat_param": 1},
)


def test_models_are_listed(server):
    assert _client(server).models() == ["judge-model", "local-large", "local-small"]


@pytest.mark.parametrize("stream", [True, False])
def test_an_answer_with_its_usage_and_times(server, stream):
    pieces: list[str] = []
    completion = _client(server).complete(REQUEST, stream=stream, on_text=pieces.append)
    assert completion.text == "echo: what is the capital of France?"
    assert "".join(pieces) == completion.text
    assert (completion.input_tokens, completion.output_tokens, completion.cache_read_tokens) == (11, 7, 0)
    assert completion.finish_reason == "stop"
    assert completion.start_ns < completion.end_ns
    if stream:
        assert len(pieces) > 1 and 0 < completion.ttft_ns <= completion.end_ns - completion.start_ns
    sent = server.requests[-1]
    assert sent["temperature"] == 0.2 and sent["max_tokens"] == 50 and "not_a_chat_param" not in sent
    assert [m["role"] for m in sent["messages"]] == ["system", "user"]


@pytest.mark.parametrize("stream", [True, False])
def test_tool_calls_come_back_normalized(server, stream):
    server.answers.append(
        Answer(tool_calls=[{"id": "call_9", "name": "get_weather", "arguments": '{"city": "Paris"}'}])
    )
    completion = _client(server).complete(REQUEST, stream=stream)
    assert completion.text == ""
    assert completion.tool_calls == [{"id": "call_9", "name": "get_weather", "arguments": {"city": "Paris"}}]
    assert completion.finish_reason == "tool_calls"


def test_a_conversation_with_tool_results_and_images_is_sent_in_the_protocol(server):
    messages = [
        message(
            "user", [{"type": "text", "text": "look"}, {"type": "image", "url": "data:image/png;base64,AAAA"}]
        ),
        message("assistant", None, [{"id": "c1", "name": "lookup", "arguments": {"q": 1}}]),
        message("tool", {"found": True}, tool_call_id="c1"),
        message("human", "and then?"),
    ]
    _client(server).complete(
        ChatRequest(
            "local-small",
            messages,
            tools=[{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}],
        )
    )
    sent = server.requests[-1]["messages"]
    assert sent[0]["content"][1] == {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    assert sent[1]["tool_calls"][0]["function"] == {"name": "lookup", "arguments": '{"q": 1}'}
    assert sent[2] == {"role": "tool", "tool_call_id": "c1", "content": '{"found": true}'}
    assert sent[3] == {"role": "user", "content": "and then?"}
    assert server.requests[-1]["tools"][0]["function"]["name"] == "lookup"


def test_the_responses_api(server):
    server.answers.append(Answer(text="Paris.", tool_calls=[{"id": "c2", "name": "f", "arguments": "{}"}]))
    choice = {"type": "function", "function": {"name": "f"}}
    request = ChatRequest(REQUEST.model, REQUEST.messages, params={**REQUEST.params, "tool_choice": choice})
    completion = _client(server, api="responses").complete(request)
    assert completion.text == "Paris." and completion.tool_calls[0]["name"] == "f"
    assert completion.input_tokens == 11 and completion.output_tokens == 7
    sent = server.requests[-1]
    assert sent["max_output_tokens"] == 50 and sent["input"][1]["content"][0]["type"] == "input_text"
    assert sent["tool_choice"] == {"type": "function", "name": "f"}


@pytest.mark.parametrize(
    ("fault", "said", "status"),
    [
        (Fault.UNAUTHORIZED, "401 from http://127.0.0.1:", 401),
        (Fault.RATE_LIMITED, "429 rate limited by", 429),
        (Fault.SERVER_ERROR, "500 server error from", 500),
        (Fault.STALL, "no answer from", None),
        (Fault.CUT_STREAM, "ended before the answer was complete", None),
        (Fault.MALFORMED_STREAM, "sent an answer that is not valid", None),
    ],
)
def test_each_failure_is_one_clear_message_without_the_key(server, fault, said, status):
    server.faults.append(fault)
    with pytest.raises(EndpointError) as caught:
        _client(server).complete(REQUEST)
    assert said in str(caught.value) and caught.value.status == status
    assert KEY not in str(caught.value) and "\n" not in str(caught.value)
    if fault is Fault.RATE_LIMITED:
        assert caught.value.retry_after_s == 1 and caught.value.retryable


def test_a_wrong_key_is_refused_and_not_repeated(server):
    with pytest.raises(EndpointError, match="the API key was refused") as caught:
        _client(server, key="sk-wrong-key").complete(REQUEST)
    assert "sk-wrong-key" not in str(caught.value)


def test_a_rate_limit_is_waited_out_as_the_server_asks(server):
    server.faults.append(Fault.RATE_LIMITED)
    client = ModelClient(Endpoint("test", server.base_url, max_retries=2, timeout_s=5), KEY)
    start = time.monotonic()
    assert client.complete(REQUEST).text.startswith("echo:")
    assert time.monotonic() - start >= 0.9  # Retry-After: 1
    assert len(server.requests) == 2


def test_an_unreachable_endpoint():
    client = ModelClient(Endpoint("gone", "http://127.0.0.1:9/v1", max_retries=0, timeout_s=1))
    with pytest.raises(EndpointError, match=r"cannot reach http://127\.0\.0\.1:9/v1 .*is the server running"):
        client.complete(REQUEST)


def test_cancel_returns_at_once_even_while_the_server_is_silent(server):
    server.delay_s = 2.0
    asked = threading.Event()
    threading.Timer(0.2, asked.set).start()
    start = time.monotonic()
    with pytest.raises(Cancelled):
        _client(server, timeout_s=5).complete(REQUEST, cancelled=asked.is_set)
    assert time.monotonic() - start < 0.6


def test_endpoint_for_a_name_or_a_url(monkeypatch):
    saved = [Endpoint("mine", "http://localhost:11434/v1")]
    assert endpoint_for("mine", saved) is saved[0]
    assert endpoint_for("http://host:8000/v1/", saved).base_url == "http://host:8000/v1"
    with pytest.raises(EndpointError, match="no endpoint named 'other' \\(mine\\)"):
        endpoint_for("other", saved)


def test_a_damaged_endpoints_file_is_an_endpoint_error(user_config_dir):
    user_config_dir.mkdir(parents=True, exist_ok=True)
    (user_config_dir / "endpoints.json").write_text("{not json")
    with pytest.raises(EndpointError, match=r"endpoints\.json"):
        endpoint_for("mine")
