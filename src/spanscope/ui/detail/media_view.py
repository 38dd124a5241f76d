"""Images and audio of a conversation: bounded decoding into thumbnails, a full-size viewer, loading a
remote image only when the user asks (on a worker, with a timeout and a size limit), playing and
saving audio.

Audio plays in the system's own player: Qt's multimedia module ships only in PySide6-Addons, a
dependency several times the size of the rest of the app for one button. "Play" writes the clip to a
temporary folder the app removes on exit and hands it to the desktop's player for its type.
"""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject, QSize, Qt, QTemporaryDir, QUrl
from PySide6.QtGui import (
    QCloseEvent,
    QColor,
    QDesktopServices,
    QImage,
    QImageReader,
    QPainter,
    QPixmap,
)
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QMessageBox,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from spanscope.core.presentation.content import is_web_url
from spanscope.core.presentation.media import IMAGE_LIMIT, Audio, Blob, TooLarge, size_text
from spanscope.ui.screen_fit import fit_to_screen, room
from spanscope.ui.style import MUTED_COLOR, tint
from spanscope.ui.workers import Policy, QtWorker, TaskState

THUMBNAIL = QSize(240, 160)
#: A small image is magnified by a whole factor (pixels kept sharp) until its longer side reaches this.
MAGNIFY_TO = 240
#: The most memory one decoded image may take (Qt refuses larger allocations instead of crashing).
ALLOCATION_MB = 256
FETCH_TIMEOUT_S = 15.0
#: However the bytes trickle in, a load stops after this long.
FETCH_DEADLINE_S = 60.0
_CHUNK = 1 << 16
_ORIGINAL = "spanscope-original-size"
#: Behind what a placeholder says (style.tint: dark on a dark palette).
PLACEHOLDER_BACKGROUND = "#dfe6e9"


def read_image(data: bytes, bound: QSize) -> QImage | str:
    """The image scaled down to fit `bound`, or why it cannot be shown."""
    buffer = QBuffer()
    buffer.setData(QByteArray(data))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    reader = QImageReader(buffer)
    reader.setAllocationLimit(ALLOCATION_MB)
    size = reader.size()
    if size.isValid() and size.width() * size.height() * 4 > ALLOCATION_MB * 1_000_000:
        return f"image too large to preview ({size.width()}×{size.height()} px)"
    if size.isValid() and (size.width() > bound.width() or size.height() > bound.height()):
        reader.setScaledSize(size.scaled(bound, Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    if image.isNull():
        return f"unreadable image ({reader.errorString()})"
    if size.isValid() and size != image.size():
        image.setText(_ORIGINAL, f"{size.width()}×{size.height()}")
    return image


def read_blob(blob: Blob, bound: QSize) -> QImage | str:
    """`read_image` of a base64 image, refused before decoding when it is over IMAGE_LIMIT."""
    try:
        data = blob.decode(IMAGE_LIMIT)
    except TooLarge:
        return f"image too large to preview ({blob.label()})"
    return read_image(data, bound) if data else f"unreadable {blob.mime}: not base64"


def placeholder(text: str, width: int = THUMBNAIL.width()) -> QImage:
    """A grey box saying what could not be shown."""
    image = QImage(width, 40, QImage.Format.Format_ARGB32)
    image.fill(QColor(tint(PLACEHOLDER_BACKGROUND)))
    painter = QPainter(image)
    painter.setPen(QColor(MUTED_COLOR))
    painter.drawText(image.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, text)
    painter.end()
    return image


def thumbnail(blob: Blob) -> QImage:
    read = read_blob(blob, THUMBNAIL)
    return placeholder(read) if isinstance(read, str) else read


def fetch(url: str, state: TaskState | None = None, limit: int = IMAGE_LIMIT) -> bytes:
    """The body at an http(s) URL: at most `limit` bytes, given up after FETCH_TIMEOUT_S of silence
    or FETCH_DEADLINE_S in all."""
    if not is_web_url(url):
        raise ValueError(f"not a web address: {url}")
    request = urllib.request.Request(url, headers={"User-Agent": "Spanscope"})
    deadline = time.monotonic() + FETCH_DEADLINE_S
    with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_S) as response:
        declared = response.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise TooLarge(f"the image is {size_text(int(declared))}, over {size_text(limit)}")
        body = bytearray()
        while chunk := response.read(_CHUNK):
            body += chunk
            if len(body) > limit:
                raise TooLarge(f"the image is over {size_text(limit)}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"still loading after {FETCH_DEADLINE_S:.0f} s")
            if state is not None and state.cancelled:
                return b""
        return bytes(body)


def _fetched(url: str, state: TaskState) -> bytes | str:
    """The worker task: the bytes, or what went wrong, said for the user (not a program error)."""
    try:
        return fetch(url, state)
    except (OSError, ValueError) as exc:
        return f"could not load the image: {exc}"


#: What the image dialog holds besides the image: its margins, the caption and the Close button.
IMAGE_DIALOG_CHROME = QSize(40, 110)


class QtImageDialog(QDialog):
    """One image at full size, scaled down to fit the screen; a remote one loads on a worker."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumSize(360, 280)
        self.label = QLabel(alignment=Qt.AlignmentFlag.AlignCenter, wordWrap=True)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.caption = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.caption.setTextFormat(Qt.TextFormat.PlainText)
        self.caption.setStyleSheet(f"color: {MUTED_COLOR}")
        self.worker: QtWorker | None = None
        scroll = QScrollArea(widgetResizable=True)
        scroll.setWidget(self.label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.caption)
        layout.addWidget(buttons)

    def show_blob(self, blob: Blob) -> None:
        self._show(read_blob(blob, self._bound()))

    def load(self, url: str) -> None:
        """Fetch `url` (only now, because the user asked) and show it."""
        self.label.setText(f"Loading {url} …")
        self.worker = QtWorker("Loading an image", self, Policy.LATEST)
        self.worker.finished.connect(self._loaded)
        self.worker.failed.connect(self.label.setText)
        self.worker.start(lambda state: _fetched(url, state))

    def _loaded(self, result: bytes | str) -> None:
        self._show(result if isinstance(result, str) else read_image(result, self._bound()))

    def _bound(self) -> QSize:
        """The largest image shown whole: what the screen has room for, less the dialog's chrome."""
        return (room(self) - IMAGE_DIALOG_CHROME).expandedTo(THUMBNAIL)

    def _show(self, image: QImage | str) -> None:
        if isinstance(image, str):
            self.label.setText(image)
            return
        factor = max(1, MAGNIFY_TO // max(image.width(), image.height(), 1))
        original = image.text(_ORIGINAL)
        shown = f"shown at {image.width()}×{image.height()}" if original else f"shown {factor}×"
        size = original or f"{image.width()}×{image.height()}"
        self.caption.setText(f"{size} px" + (f", {shown}" if original or factor > 1 else ""))
        if factor > 1:
            image = image.scaled(image.size() * factor, mode=Qt.TransformationMode.FastTransformation)
        self.label.setPixmap(QPixmap.fromImage(image))
        chrome = IMAGE_DIALOG_CHROME
        fit_to_screen(self, image.width() + chrome.width(), image.height() + chrome.height())

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.worker is not None:
            self.worker.cancel()
        super().closeEvent(event)


def save_audio(audio: Audio, path: Path) -> None:
    path.write_bytes(audio.blob.decode(audio.blob.size))


class QtMediaActions(QObject):
    """What clicking an image, a "Load image", a "Play" or a "Save audio…" link in a conversation does."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.view = parent
        self.dialogs: list[QtImageDialog] = []
        self._played: QTemporaryDir | None = None

    def _dialog(self, title: str) -> QtImageDialog:
        dialog = QtImageDialog(title, self.view)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.destroyed.connect(lambda: self.dialogs.remove(dialog))
        self.dialogs.append(dialog)
        return dialog

    def show_image(self, blob: Blob) -> QtImageDialog:
        dialog = self._dialog(blob.label())
        dialog.show_blob(blob)
        dialog.show()
        return dialog

    def load_image(self, url: str) -> QtImageDialog:
        dialog = self._dialog(url)
        dialog.load(url)
        dialog.show()
        return dialog

    def save_audio(self, audio: Audio) -> None:
        name, _ = QFileDialog.getSaveFileName(self.view, "Save audio", f"audio.{audio.format or 'bin'}")
        if not name:
            return
        try:
            save_audio(audio, Path(name))
        except OSError as exc:
            QMessageBox.warning(self.view, "Save audio", f"Could not save the audio: {exc}")

    def play_audio(self, audio: Audio) -> Path | None:
        """Hand the clip to the system's player; returns the file it was written to."""
        if self._played is None:
            self._played = QTemporaryDir()
        folder = Path(self._played.path())
        path = folder / f"audio-{sum(1 for _ in folder.iterdir()) + 1}.{audio.format or 'bin'}"
        try:
            save_audio(audio, path)
        except OSError as exc:
            QMessageBox.warning(self.view, "Play audio", f"Could not write the audio for the player: {exc}")
            return None
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))):
            QMessageBox.warning(
                self.view,
                "Play audio",
                f"No application plays {audio.blob.mime} here; use Save audio… instead.",
            )
        return path
