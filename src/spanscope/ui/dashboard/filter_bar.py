"""The filter bar of the usage tabs: time range, service, session, user and trace name.

Relative ranges ("last 24 hours") end at the newest trace in the store rather than now: stores
are often opened long after their traces were recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from PySide6.QtCore import QDateTime, QTimer, QTimeZone, Signal
from PySide6.QtWidgets import QComboBox, QDateTimeEdit, QHBoxLayout, QLabel, QLineEdit, QWidget

from spanscope.core.store.usage import HOUR_NS, UsageFilter

#: Range choice -> its length in ns (None: all time; 0: the custom range of the date edits).
RANGES: dict[str, int | None] = {
    "All time": None,
    "Last hour": HOUR_NS,
    "Last 24 hours": 24 * HOUR_NS,
    "Last 7 days": 7 * 24 * HOUR_NS,
    "Last 30 days": 30 * 24 * HOUR_NS,
    "Custom range": 0,
}
ANY_SERVICE = "Any service"
TYPING_DELAY_MS = 300
UTC_ZONE = QTimeZone.utc()


class QtUsageFilterBar(QWidget):
    """Emits `changed` with the new UsageFilter when the user edits any part (typing is debounced)."""

    changed = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._newest_ns: int | None = None
        self.range = QComboBox()
        self.range.addItems(list(RANGES))
        self.range.setToolTip(
            "Calls started in this range; 'last' ranges end at the newest trace in the store"
        )
        self.start_edit, self.end_edit = QDateTimeEdit(), QDateTimeEdit()
        for edit in (self.start_edit, self.end_edit):
            edit.setTimeZone(UTC_ZONE)
            edit.setDisplayFormat("yyyy-MM-dd HH:mm 'UTC'")
            edit.setCalendarPopup(True)
            edit.setVisible(False)
            edit.dateTimeChanged.connect(self._emit)
        self.range_to = QLabel("to")
        self.range_to.setVisible(False)
        self.service = QComboBox()
        self.service.addItem(ANY_SERVICE)
        self.service.setMinimumContentsLength(12)
        self.session, self.user, self.trace_name = QLineEdit(), QLineEdit(), QLineEdit()
        for edit, hint in (
            (self.session, "Session id"),
            (self.user, "User id"),
            (self.trace_name, "Trace name contains…"),
        ):
            edit.setPlaceholderText(hint)
            edit.setClearButtonEnabled(True)
            edit.textChanged.connect(self._typed)
        self.session.setToolTip("Only traces of this session (exact id)")
        self.user.setToolTip("Only traces of this user (exact id)")
        self._typing = QTimer(self, singleShot=True, interval=TYPING_DELAY_MS)
        self._typing.timeout.connect(self._emit)
        self.range.currentTextChanged.connect(self._range_changed)
        self.service.currentTextChanged.connect(self._emit)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        for widget in (
            QLabel("Range:"),
            self.range,
            self.start_edit,
            self.range_to,
            self.end_edit,
            QLabel("Service:"),
            self.service,
        ):
            layout.addWidget(widget)
        layout.addWidget(self.session, 2)
        layout.addWidget(self.user, 2)
        layout.addWidget(self.trace_name, 3)

    def set_store_facts(self, services: list[str], first_ns: int | None, newest_ns: int | None) -> None:
        """What the open store holds: the service choices and its time span (for ranges)."""
        self._newest_ns = newest_ns
        current = self.service.currentText()
        self.service.blockSignals(True)
        self.service.clear()
        self.service.addItems([ANY_SERVICE, *services])
        self.service.setCurrentText(current if current in services else ANY_SERVICE)
        self.service.blockSignals(False)
        for edit, ns in ((self.start_edit, first_ns), (self.end_edit, newest_ns)):
            if ns is not None and not edit.isVisible():
                edit.blockSignals(True)
                edit.setDateTime(to_qdatetime(ns))
                edit.blockSignals(False)

    def edit(self, apply: Callable[[QtUsageFilterBar], object]) -> None:
        """Make several edits as one change: `changed` is emitted once, now (scripts, tests)."""
        self.blockSignals(True)
        try:
            apply(self)
        finally:
            self.blockSignals(False)
        self._emit()

    def current(self) -> UsageFilter:
        length = RANGES[self.range.currentText()]
        start = end = None
        if length == 0:
            start, end = _ns(self.start_edit.dateTime()), _ns(self.end_edit.dateTime())
        elif length is not None and self._newest_ns is not None:
            end = self._newest_ns + 1
            start = end - length
        service = self.service.currentText()
        return UsageFilter(
            start_ns=start,
            end_ns=end,
            service=None if service == ANY_SERVICE else service,
            session=self.session.text().strip() or None,
            user=self.user.text().strip() or None,
            trace_name=self.trace_name.text().strip() or None,
        )

    def _range_changed(self, text: str) -> None:
        custom = RANGES[text] == 0
        for widget in (self.start_edit, self.range_to, self.end_edit):
            widget.setVisible(custom)
        self._emit()

    def _typed(self) -> None:
        self._typing.start()

    def _emit(self) -> None:
        self._typing.stop()
        self.changed.emit(self.current())


def to_qdatetime(ns: int) -> QDateTime:
    """A UTC QDateTime of ns since the epoch (ms precision, as the edits show)."""
    return QDateTime.fromMSecsSinceEpoch(ns // 1_000_000, UTC_ZONE)


def _ns(value: QDateTime) -> int:
    return value.toMSecsSinceEpoch() * 1_000_000


def describe(where: UsageFilter) -> str:
    """The filter in words, for the tab's summary line."""
    parts = []
    if where.start_ns is not None and where.end_ns is not None:
        parts.append(f"{_when(where.start_ns)} – {_when(where.end_ns)} UTC")
    for label, value in (
        ("service", where.service),
        ("session", where.session),
        ("user", where.user),
        ("trace name contains", where.trace_name),
    ):
        if value:
            parts.append(f"{label} {value!r}")
    return ", ".join(parts) or "all calls in the store"


def _when(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%d %H:%M")
