"""Base64 images and audio in trace data: named by type and size instead of shown as text, decoded
only within a bound, WAV durations from the header. Checked against the raw multimodal capture."""

from __future__ import annotations

import base64
import json
import struct

import pytest

from multimodal import raw_spans
from spanscope.core.conventions import openai_chat
from spanscope.core.presentation import media

IMAGE_SPAN, AUDIO_SPAN = "7ee2cd985227cdb1", "27a436a6eb842d42"


def raw_attributes(fixtures_dir, span_id: str) -> dict[str, str]:
    return raw_spans(fixtures_dir)[span_id]


@pytest.fixture
def image_url(fixtures_dir) -> str:
    attributes = raw_attributes(fixtures_dir, IMAGE_SPAN)
    return attributes["llm.input_messages.1.message.contents.1.message_content.image.image.url"]


@pytest.fixture
def audio_request(fixtures_dir) -> dict:
    return json.loads(raw_attributes(fixtures_dir, AUDIO_SPAN)["input.value"])


def audio_of(request: dict) -> dict:
    (part,) = [p for p in request["messages"][0]["content"] if p["type"] == "input_audio"]
    return part


def expected_label(mime: str, data: bytes) -> str:
    return f"{mime}, {len(data) / 1000:.1f} KB"


def test_the_captured_data_url_is_named_by_its_type_and_decoded_size(image_url):
    header, body = image_url.split(",", 1)
    mime, png = header.removeprefix("data:").split(";")[0], base64.b64decode(body)
    blob = media.data_url(image_url)
    assert blob.label() == expected_label(mime, png) == "image/png, 1.6 KB"
    assert blob.decode(media.IMAGE_LIMIT) == png
    assert media.payload(image_url) == blob


def test_the_captured_audio_is_named_and_timed_from_its_wav_header(audio_request):
    part = audio_of(audio_request)
    wav = base64.b64decode(part["input_audio"]["data"])
    channels, rate = struct.unpack_from("<HI", wav, 22)
    bits = struct.unpack_from("<H", wav, 34)[0]
    seconds = (len(wav) - 44) / (rate * channels * bits // 8)
    audio = media.audio_part(part)
    assert audio.format == part["input_audio"]["format"] == "wav"
    assert audio.duration_s == pytest.approx(seconds)
    assert audio.summary() == f"audio/wav · {seconds:.2f} s · {len(wav) / 1000:.1f} KB"
    assert audio.blob.decode(10**6) == wav
    assert media.base64_blob(part["input_audio"]["data"]).label() == expected_label("audio/wav", wav)


def test_audio_survives_our_reading_of_the_captured_request(audio_request):
    """A store keeping the raw request (MLflow, Langfuse) hands the input_audio part to the view."""
    (user,) = openai_chat(audio_request, "user")
    (part,) = [p for p in user["content"] if isinstance(p, dict) and p.get("type") == "input_audio"]
    assert media.audio_part(part) is not None


def test_request_json_is_shortened_to_labels_and_loses_nothing_else(fixtures_dir, audio_request):
    text = raw_attributes(fixtures_dir, AUDIO_SPAN)["input.value"]
    data = audio_of(audio_request)["input_audio"]["data"]
    shown = media.shorten(text)
    assert data not in shown and data[:40] not in shown
    assert f"‹{expected_label('audio/wav', base64.b64decode(data))}›" in shown
    assert "Transcribe this voice note." in shown
    image_text = raw_attributes(fixtures_dir, IMAGE_SPAN)["input.value"]
    assert "‹image/png, 1.6 KB›" in media.shorten(image_text)
    assert "iVBORw0KGgo" not in media.searchable(image_text)
    assert "What is in this photo" in media.searchable(image_text)


def test_a_limited_shortening_names_the_payloads_it_reaches(fixtures_dir):
    text = raw_attributes(fixtures_dir, IMAGE_SPAN)["input.value"]
    shown = media.shorten(text, 300)
    assert shown == media.shorten(text)[: len(shown)] and len(shown) > 300
    assert "‹image/png, 1.6 KB›" in shown


def test_a_payload_over_the_limit_is_refused_without_decoding():
    url = "data:image/png;base64," + "A" * 40_000_000
    blob = media.data_url(url)
    assert blob.size == 30_000_000 and blob.label() == "image/png, 30.0 MB"
    with pytest.raises(media.TooLarge):
        blob.decode(media.IMAGE_LIMIT)


def test_other_text_is_not_a_payload():
    assert media.data_url("https://example.com/a.png") is None
    assert media.data_url("data:image/png;base64,@@@") is None
    assert media.data_url("data:text/plain,hello") is None
    assert media.base64_blob("short") is None
    assert media.base64_blob("word " * 100) is None
    prose = "The quick brown fox " * 50
    assert media.shorten(prose) == prose and media.searchable(prose) == prose
    assert media.shorten(prose, 300) == prose[: 301 + media.MIN_BLOB]
    assert media.audio_part({"type": "text", "text": "hi"}) is None
    assert media.audio_part({"type": "image", "url": "data:image/png;base64,iVBORw0KGgo="}) is None


def test_wav_duration_needs_a_wav_header():
    assert media.wav_duration(b"") is None
    assert media.wav_duration(b"RIFF\0\0\0\0AVI LIST") is None
    fmt = struct.pack("<4sIHHIIHH", b"fmt ", 16, 1, 2, 48_000, 192_000, 4, 16)
    header = b"RIFF\0\0\0\0WAVE" + fmt + struct.pack("<4sI", b"data", 384_000)
    assert media.wav_duration(header) == pytest.approx(2.0)
