"""The OTLP/HTTP receiver: answers as the spec says, stores every accepted span once, survives bad
clients."""

from __future__ import annotations

import gzip
import http.client
import socket
import threading
import time

import orjson
import pytest

from otlp import TRACE, llm, request, span
from spanscope.core import receiver as receiver_module
from spanscope.core.model import Span
from spanscope.core.receiver import OtlpReceiver
from spanscope.core.store import connect
from spanscope.core.store import live as live_module
from spanscope.core.store.live import Receipt, SpanSink, StoreUnavailable
from spanscope.core.store.queries import list_traces

ROOT, CALL = "00000000000000a1", "00000000000000a2"


@pytest.fixture
def store(tmp_path):
    return tmp_path / "live.db"


@pytest.fixture
def served(store):
    sink = SpanSink(store, "otlp-http://test")
    receiver = OtlpReceiver(sink, port=0)
    receiver.start()
    yield receiver, sink
    receiver.stop()
    sink.close()


def post(receiver, body: bytes, content_type="application/json", **headers) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", receiver.port, timeout=10)
    conn.request("POST", "/v1/traces", body, {"Content-Type": content_type, **headers})
    answer = conn.getresponse()
    data = answer.read()
    conn.close()
    return answer.status, dict(answer.getheaders()), data


def two_spans() -> bytes:
    return orjson.dumps(request(span(ROOT, name="chain"), llm(CALL, ROOT, "gpt-4o", 10, 5)))


def stored(store) -> dict[str, str | None]:
    db = connect(store, readonly=True)
    return dict(db.execute("SELECT span_id, parent_id FROM spans").fetchall())


def test_json_spans_are_stored_once_with_their_parents(served, store):
    receiver, sink = served
    assert post(receiver, two_spans())[::2] == (200, b"{}")
    assert post(receiver, two_spans())[0] == 200  # an exporter's retry of the same spans
    assert stored(store) == {ROOT: None, CALL: ROOT}
    (trace,) = list_traces(connect(store, readonly=True))
    assert (trace.trace_id, trace.input_tokens, trace.models) == (TRACE, 10, ("gpt-4o",))
    assert receiver.stats().spans_accepted == 4 and sink.stats().spans_stored == 4


def test_gzip_bodies_are_accepted(served, store):
    receiver, _ = served
    assert post(receiver, gzip.compress(two_spans()), **{"Content-Encoding": "gzip"})[0] == 200
    assert len(stored(store)) == 2


def test_a_span_that_cannot_be_used_is_rejected_and_counted_the_rest_stored(served, store):
    receiver, _ = served
    bad = span("00000000000000b1", name="no start")
    del bad["startTimeUnixNano"]
    status, _, body = post(receiver, orjson.dumps(request(span(ROOT), bad)))
    assert status == 200
    partial = orjson.loads(body)["partialSuccess"]
    assert partial["rejectedSpans"] == "1" and "startTimeUnixNano missing" in partial["errorMessage"]
    assert set(stored(store)) == {ROOT}


def test_an_empty_request_is_valid(served):
    assert post(served[0], b"{}")[::2] == (200, b"{}")


@pytest.mark.parametrize(
    ("body", "headers", "status", "says"),
    [
        (b"not json at all", {}, 400, "not an OTLP trace request"),
        (gzip.compress(b"{}")[:10] + b"\xff" * 20, {"Content-Encoding": "gzip"}, 400, "gzip body is corrupt"),
        (gzip.compress(b"{}")[:-6], {"Content-Encoding": "gzip"}, 400, "cut short"),
        (b"{}", {"Content-Encoding": "br"}, 415, "not gzip"),
    ],
)
def test_bad_bodies_get_400_or_415_with_a_status_message(served, body, headers, status, says):
    receiver, _ = served
    got, answer_headers, data = post(receiver, body, **headers)
    assert got == status and answer_headers["Content-Type"] == "application/json"
    message = orjson.loads(data)
    assert says in message["message"] and message["code"] == 3
    assert post(receiver, two_spans())[0] == 200  # still serving


def test_an_unknown_content_type_gets_415(served):
    status, _, data = post(served[0], b"<spans/>", content_type="application/xml")
    assert status == 415 and "application/json" in orjson.loads(data)["message"]


def test_a_body_over_the_limit_gets_413_without_being_read(served, monkeypatch):
    monkeypatch.setattr(receiver_module, "MAX_BODY_BYTES", 100)
    status, _, data = post(served[0], b"{" + b" " * 200 + b"}")
    assert status == 413 and "limit is 100" in orjson.loads(data)["message"]


def test_a_gzip_body_inflating_over_the_limit_gets_413(served, monkeypatch):
    monkeypatch.setattr(receiver_module, "MAX_BODY_BYTES", 1000)
    bomb = gzip.compress(b" " * 100_000)
    assert post(served[0], bomb, **{"Content-Encoding": "gzip"})[0] == 413


def test_a_client_hanging_up_mid_body_leaves_the_receiver_serving(served, store):
    receiver, _ = served
    with socket.create_connection(("127.0.0.1", receiver.port)) as raw:
        raw.sendall(
            b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 1000\r\n\r\n{"resourceSpans"'
        )
        raw.shutdown(socket.SHUT_WR)
        assert raw.recv(100) == b""  # closed without an answer: there was no whole request
    assert post(receiver, two_spans())[0] == 200
    assert len(stored(store)) == 2


def test_other_paths_and_methods_are_refused(served):
    receiver, _ = served
    conn = http.client.HTTPConnection("127.0.0.1", receiver.port, timeout=10)
    conn.request("POST", "/v1/metrics", b"{}", {"Content-Type": "application/json"})
    assert conn.getresponse().status == 404
    conn.close()
    conn = http.client.HTTPConnection("127.0.0.1", receiver.port, timeout=10)
    conn.request("GET", "/v1/traces")
    assert conn.getresponse().status == 405
    conn.close()


def test_spans_wait_while_another_import_holds_the_store_briefly(served, store):
    receiver, sink = served
    blocker = connect(store).conn
    blocker.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.5, blocker.execute, ("ROLLBACK",))
    release.start()
    began = time.monotonic()
    assert post(receiver, two_spans())[0] == 200  # answered once stored, after the lock was let go
    assert time.monotonic() - began >= 0.4
    assert len(stored(store)) == 2 and sink.stats().last_error is None


def test_a_store_locked_past_the_deadline_gets_503_and_stores_nothing(served, store, monkeypatch):
    receiver, _ = served
    monkeypatch.setattr(live_module, "STORE_DEADLINE_S", 0.5)
    blocker = connect(store).conn
    blocker.execute("BEGIN IMMEDIATE")
    try:
        status, headers, data = post(receiver, two_spans())
    finally:
        blocker.execute("ROLLBACK")
    assert status == 503 and headers["Retry-After"] == "1"
    message = orjson.loads(data)
    assert message["code"] == 14 and "locked by another writer for 0.5 s" in message["message"]
    assert stored(store) == {}  # withdrawn: a sender told to retry finds none of its spans half-stored
    assert post(receiver, two_spans())[0] == 200 and len(stored(store)) == 2
    assert receiver.stats().refused == 1


def test_closing_answers_callers_the_locked_store_never_took(store):
    sink = SpanSink(store, "otlp-http://test")
    blocker = connect(store).conn
    blocker.execute("BEGIN IMMEDIATE")
    outcome: list[BaseException | Receipt] = []

    def store_one() -> None:
        try:
            outcome.append(sink.store([Span(TRACE, ROOT, None, "root", 1, 2)], deadline_s=60))
        except StoreUnavailable as exc:
            outcome.append(exc)

    caller = threading.Thread(target=store_one)
    caller.start()
    try:
        time.sleep(0.2)
        sink.close(timeout=0.5)
        caller.join(5)
    finally:
        blocker.execute("ROLLBACK")
    (answer,) = outcome
    assert isinstance(answer, StoreUnavailable) and "stopped" in str(answer)
    assert stored(store) == {}
