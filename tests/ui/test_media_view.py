"""Images and audio in the detail panel: thumbnails that open full size, remote images loaded only on
request (from a server this test runs on 127.0.0.1), audio named and saved, base64 named in cells."""

from __future__ import annotations

import base64
import json
import struct
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, QObject, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog, QMessageBox
from qt_images import png

from multimodal import CAPTURE, raw_spans
from spanscope.core.model import Kind, Span, message
from spanscope.core.store import import_file
from spanscope.ui.context import QtTraceContext
from spanscope.ui.detail import QtDetailPanel, media_view
from spanscope.ui.detail.copying import FULL_TEXT_ROLE
from spanscope.ui.detail.json_tree import QtJsonTree
from spanscope.ui.detail.media_view import MAGNIFY_TO, QtImageDialog, fetch

PHOTO_TRACE, PHOTO_CALL = "0c10a0c6920352dd51345c13d029e69c", "7ee2cd985227cdb1"
FOLLOW_UP_TRACE, FOLLOW_UP_CALL = "16d9ad56f69f9871533decaaa18d131e", "eba13eeb0a1d6587"
AUDIO_TRACE, AUDIO_CALL = "d668c18fce2a2b638c3bfa80f616ed60", "27a436a6eb842d42"


def raw_attributes(fixtures_dir, span_id: str) -> dict[str, str]:
    return raw_spans(fixtures_dir)[span_id]


@pytest.fixture
def media_panel(qtbot, tmp_path, fixtures_dir):
    store = tmp_path / "media.db"
    import_file(store, fixtures_dir.joinpath(*CAPTURE))
    context = QtTraceContext()
    context.open_store(store)
    panel = QtDetailPanel(context)
    qtbot.addWidget(panel)
    panel.resize(800, 700)
    panel.show()
    yield panel
    context.close_store()


def select(qtbot, panel, trace_id: str, span_id: str) -> None:
    panel.context.select_trace(trace_id)
    panel.context.select_span(span_id)
    qtbot.waitUntil(lambda: panel.span is not None and panel.span.span_id == span_id)


def synthetic(content) -> Span:
    return Span(
        trace_id="t" * 32, span_id="s" * 16, parent_id=None, name="synthetic", start_ns=0, end_ns=1,
        kind=Kind.LLM, input=[message("user", content)],
    )  # fmt: skip


def test_the_captured_image_is_a_thumbnail_that_opens_at_full_size(qtbot, media_panel, fixtures_dir):
    url = raw_attributes(fixtures_dir, PHOTO_CALL)[
        "llm.input_messages.1.message.contents.1.message_content.image.image.url"
    ]
    raw = base64.b64decode(url.split(",", 1)[1])
    width, height = struct.unpack(">II", raw[16:24])  # the PNG's IHDR
    select(qtbot, media_panel, PHOTO_TRACE, PHOTO_CALL)
    browser = media_panel.input.view.rich.browser
    ((name, thumbnail),) = browser.images.items()
    assert (thumbnail.width(), thumbnail.height()) == (width, height)
    assert f"image/png, {len(raw) / 1000:.1f} KB · click to view" in browser.toPlainText()
    assert f'href="{name}"' in browser.toHtml()
    browser.anchorClicked.emit(QUrl(name))
    (dialog,) = browser.media.dialogs
    factor = max(1, MAGNIFY_TO // max(width, height))
    assert dialog.label.pixmap().size().toTuple() == (width * factor, height * factor)
    assert dialog.caption.text() == f"{width}×{height} px" + (f", shown {factor}×" if factor > 1 else "")
    dialog.close()


def test_the_remote_image_is_only_an_address_until_loaded(qtbot, media_panel):
    select(qtbot, media_panel, FOLLOW_UP_TRACE, FOLLOW_UP_CALL)
    browser = media_panel.input.view.rich.browser
    assert "image: https://example.com/images/mug-2.png · Load image" in browser.toPlainText()
    assert 'href="https://example.com' not in browser.toHtml()
    assert browser.media.dialogs == []


class _Images(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        status = 200 if self.path in ("/mug.png", "/big.png") else 404
        self.send_response(status)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args) -> None:
        return


@pytest.fixture
def server():
    _Images.body = png(640, 480, "#27ae60")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Images)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_load_image_fetches_on_a_worker_and_shows_it(qtbot, media_panel, server):
    media_panel.set_span(synthetic([{"type": "image", "url": f"{server}/mug.png"}]))
    browser = media_panel.input.view.rich.browser
    (name,) = browser.rendered.remote
    browser.anchorClicked.emit(QUrl(name))
    (dialog,) = browser.media.dialogs
    qtbot.waitUntil(lambda: not dialog.label.pixmap().isNull(), timeout=10_000)
    assert dialog.label.pixmap().size().toTuple() == (640, 480)
    assert dialog.caption.text() == "640×480 px"
    dialog.close()


def test_a_load_that_takes_too_long_stops(server, monkeypatch):
    monkeypatch.setattr(media_view, "FETCH_DEADLINE_S", -1.0)
    with pytest.raises(TimeoutError, match="still loading"):
        fetch(f"{server}/big.png")


def test_a_failed_or_oversized_load_says_why(qtbot, server):
    dialog = QtImageDialog("missing")
    qtbot.addWidget(dialog)
    dialog.load(f"{server}/missing.png")
    qtbot.waitUntil(lambda: "could not load the image" in dialog.label.text(), timeout=10_000)
    assert "404" in dialog.label.text()
    with pytest.raises(ValueError, match="over"):
        fetch(f"{server}/big.png", limit=len(_Images.body) - 1)
    assert fetch(f"{server}/big.png") == _Images.body
    with pytest.raises(ValueError, match="not a web address"):
        fetch("file:///etc/passwd")


def huge_png_header(side: int) -> bytes:
    """A PNG announcing side×side pixels, its IDAT chunk empty (libpng reads up to it for the size)."""
    chunks = [b"IHDR" + struct.pack(">IIBBBBB", side, side, 8, 6, 0, 0, 0), b"IDAT", b"IEND"]
    body = b"".join(struct.pack(">I", len(c) - 4) + c + struct.pack(">I", zlib.crc32(c)) for c in chunks)
    return b"\x89PNG\r\n\x1a\n" + body


def test_an_image_announcing_too_many_pixels_is_not_decoded(qtbot, media_panel):
    url = "data:image/png;base64," + base64.b64encode(huge_png_header(30_000)).decode()
    media_panel.set_span(synthetic([{"type": "image", "url": url}]))
    browser = media_panel.input.view.rich.browser
    ((name, thumbnail),) = browser.images.items()
    assert (thumbnail.width(), thumbnail.height()) == (240, 40)
    dialog = browser.media.show_image(browser.rendered.images[name])
    assert dialog.label.text() == "image too large to preview (30000×30000 px)"
    dialog.close()


def test_corrupt_and_oversized_data_images_are_placeholders(qtbot, media_panel):
    corrupt = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n not really").decode()
    huge = "data:image/png;base64," + "A" * 30_000_000
    media_panel.set_span(synthetic([{"type": "image", "url": corrupt}, {"type": "image", "url": huge}]))
    browser = media_panel.input.view.rich.browser
    assert [(i.width(), i.height()) for i in browser.images.values()] == [(240, 40), (240, 40)]
    assert "image/png, 22.5 MB · click to view" in browser.toPlainText()
    (_, huge_name) = browser.rendered.images
    dialog = browser.media.show_image(browser.rendered.images[huge_name])
    assert dialog.label.text() == "image too large to preview (image/png, 22.5 MB)"
    dialog.close()


def test_captured_audio_is_named_played_and_saved(qtbot, media_panel, fixtures_dir, tmp_path, monkeypatch):
    request = json.loads(raw_attributes(fixtures_dir, AUDIO_CALL)["input.value"])
    (part,) = [p for p in request["messages"][0]["content"] if p["type"] == "input_audio"]
    wav = base64.b64decode(part["input_audio"]["data"])
    select(qtbot, media_panel, AUDIO_TRACE, AUDIO_CALL)
    browser = media_panel.input.view.rich.browser
    shown = browser.toPlainText()
    assert "Transcribe this voice note." in shown
    assert "audio: audio/wav · " in shown and f"{len(wav) / 1000:.1f} KB · Play · Save audio…" in shown
    assert part["input_audio"]["data"][:40] not in shown
    target = tmp_path / "note.wav"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args: (str(target), ""))
    (name,) = browser.rendered.audio
    browser.anchorClicked.emit(QUrl(name))
    assert target.read_bytes() == wav

    class Player(QObject):
        """The desktop's player for local files, as Qt's URL handler hook sees it."""

        def __init__(self) -> None:
            super().__init__()
            self.opened: list[bytes] = []

        @Slot(QUrl)
        def open(self, url: QUrl) -> None:
            self.opened.append(Path(url.toLocalFile()).read_bytes())

    player = Player()
    QDesktopServices.setUrlHandler("file", player, "open")
    try:
        (play,) = browser.rendered.playable
        browser.anchorClicked.emit(QUrl(play))
    finally:
        QDesktopServices.unsetUrlHandler("file")
    assert player.opened == [wav]


def test_attribute_and_json_cells_name_base64_and_copy_it_whole(qtbot, media_panel, fixtures_dir):
    raw = raw_attributes(fixtures_dir, AUDIO_CALL)["input.value"]
    data = json.loads(raw)["messages"][0]["content"][1]["input_audio"]["data"]
    label = f"audio/wav, {len(base64.b64decode(data)) / 1000:.1f} KB"
    select(qtbot, media_panel, AUDIO_TRACE, AUDIO_CALL)
    view = media_panel.attributes
    row = next(r for r in range(view.proxy.rowCount()) if view.proxy.index(r, 0).data() == "input.value")
    cell = view.proxy.index(row, 1)
    assert f"‹{label}›" in cell.data() and data[:40] not in cell.data()
    assert cell.data(FULL_TEXT_ROLE) == raw
    tree = QtJsonTree()
    qtbot.addWidget(tree)
    tree.set_value(json.loads(raw))
    model, index = tree.json_model, QModelIndex()
    for key in ("messages", "[0]", "content", "[1]", "input_audio", "data"):
        if model.canFetchMore(index):
            model.fetchMore(index)
        index = next(
            model.index(r, 0, index)
            for r in range(model.rowCount(index))
            if model.index(r, 0, index).data() == key
        )
    value = index.siblingAtColumn(1)
    assert value.data() == f"‹{label}›"
    assert value.data(FULL_TEXT_ROLE) == data


def test_markup_in_an_attribute_is_not_rendered_in_its_tooltip(qtbot, media_panel):
    media_panel.set_span(Span(
        trace_id="t" * 32, span_id="s" * 16, parent_id=None, name="x", start_ns=0, end_ns=1,
        attributes={"note": "<img src='http://example.com/x.png'><b>bold</b>"},
    ))  # fmt: skip
    view = media_panel.attributes
    tip = view.proxy.index(0, 1).data(Qt.ItemDataRole.ToolTipRole)
    assert "<b>" not in tip and "&lt;b&gt;bold&lt;/b&gt;" in tip


def test_saving_audio_where_it_cannot_be_written_says_why(qtbot, media_panel, tmp_path, monkeypatch):
    select(qtbot, media_panel, AUDIO_TRACE, AUDIO_CALL)
    browser = media_panel.input.view.rich.browser
    warnings = []
    missing = tmp_path / "no such folder" / "note.wav"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args: (str(missing), ""))
    monkeypatch.setattr(QMessageBox, "warning", lambda *args: warnings.append(args[2]))
    (name,) = browser.rendered.audio
    browser.anchorClicked.emit(QUrl(name))
    assert not missing.exists()
    (warning,) = warnings
    assert warning.startswith("Could not save the audio:") and "no such folder" in warning


def test_show_value_names_base64_until_the_data_is_asked_for(qtbot, media_panel, fixtures_dir):
    raw = raw_attributes(fixtures_dir, PHOTO_CALL)["input.value"]
    url = json.loads(raw)["messages"][1]["content"][1]["image_url"]["url"]
    select(qtbot, media_panel, PHOTO_TRACE, PHOTO_CALL)
    view = media_panel.attributes
    row = next(r for r in range(view.proxy.rowCount()) if view.proxy.index(r, 0).data() == "input.value")
    dialog = view.copying.show_value(view.proxy.index(row, 1))
    label = f"‹image/png, {len(base64.b64decode(url.split(',', 1)[1])) / 1000:.1f} KB›"
    assert label in dialog.view.text() and url not in dialog.view.text()
    assert "What is in this photo" in dialog.view.text()
    dialog.show_data.setChecked(True)
    assert url in dialog.view.text() and label not in dialog.view.text()
    dialog.close()
