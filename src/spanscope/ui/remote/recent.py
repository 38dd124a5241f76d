"""The server URLs the user connected to, newest first, remembered in the settings. Only URLs that
parse as a server's (parse_server_url refuses credentials in a URL) are kept, so nothing secret is
ever written there."""

from __future__ import annotations

from PySide6.QtCore import QSettings

from spanscope.core.remote.base import ServerURL

RECENT_KEY = "remote/recent_urls"
MAX_RECENT = 10


def recent_urls(settings: QSettings) -> list[str]:
    value = settings.value(RECENT_KEY, [])
    if isinstance(value, str):  # QSettings gives a single-item list back as a string
        value = [value]
    return [str(v) for v in value or []][:MAX_RECENT]


def remember_url(settings: QSettings, url: ServerURL) -> list[str]:
    """Put `url` first (once) and return the list now remembered."""
    urls = [url.text, *(u for u in recent_urls(settings) if u != url.text)][:MAX_RECENT]
    settings.setValue(RECENT_KEY, urls)
    return urls
