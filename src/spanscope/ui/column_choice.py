"""Which columns of a table the user sees: the header's context menu lists them with checkboxes.

A table hides some columns on its own (the trace list: those no trace fills); that stays the
default, and a column the user checks or unchecks stays as they chose, remembered in the settings,
until "Show Columns Automatically" gives every column back to the table's own rule."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, QPoint, QSettings, Qt
from PySide6.QtWidgets import QHeaderView, QMenu

#: A user's choice for one column, by its key.
SHOWN, HIDDEN = "shown", "hidden"
AUTOMATIC_TEXT = "Show Columns Automatically"


class QtColumnChoice(QObject):
    """The columns `keys` (by logical index) of `header`, titled `titles`; `apply(hidden)` hides
    exactly the logical indexes `hidden`. Columns in `fixed` are always shown (not in the menu);
    `automatic_note` is the tooltip of a column hidden by the table's own rule."""

    def __init__(
        self,
        header: QHeaderView,
        keys: Sequence[str],
        titles: Sequence[str],
        apply: Callable[[set[int]], None],
        settings: QSettings | None,
        settings_key: str,
        fixed: frozenset[int] = frozenset(),
        automatic_note: str = "",
    ) -> None:
        super().__init__(header)
        self._header = header
        self._keys, self._titles, self._fixed = list(keys), list(titles), fixed
        self._apply = apply
        self._automatic_note = automatic_note
        self._settings, self._settings_key = settings, settings_key
        self._automatic: set[int] = set()
        self.choices: dict[str, str] = self._read()
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._show_menu)

    def _read(self) -> dict[str, str]:
        """The choices remembered; anything unreadable there counts as no choice."""
        if self._settings is None:
            return {}
        try:
            saved = json.loads(str(self._settings.value(self._settings_key, "{}")))
        except ValueError:
            return {}
        if not isinstance(saved, dict):
            return {}
        return {k: v for k, v in saved.items() if k in self._keys and v in (SHOWN, HIDDEN)}

    def set_automatic(self, hidden: set[int]) -> None:
        """What the table would hide on its own; hides that, overridden by the user's choices."""
        self._automatic = set(hidden)
        self._apply(self.hidden())

    def hidden(self) -> set[int]:
        """The columns hidden: the automatic ones the user did not show, and those they hid."""
        hidden = set()
        for i, key in enumerate(self._keys):
            choice = self.choices.get(key)
            if i not in self._fixed and (choice == HIDDEN or (choice is None and i in self._automatic)):
                hidden.add(i)
        return hidden

    def choose(self, column: int, shown: bool) -> None:
        """Show or hide `column` (a logical index) from now on, whatever the table's own rule says."""
        self.choices[self._keys[column]] = SHOWN if shown else HIDDEN
        self._save()
        self._apply(self.hidden())

    def automatic(self) -> None:
        """Forget every choice: the table's own rule decides again."""
        self.choices.clear()
        self._save()
        self._apply(self.hidden())

    def _save(self) -> None:
        if self._settings is not None:
            self._settings.setValue(self._settings_key, json.dumps(self.choices, sort_keys=True))

    def menu(self) -> QMenu:
        """A checkbox per column (hidden ones unchecked), then the way back to automatic."""
        menu = QMenu(self._header)
        hidden = self.hidden()
        for i, title in enumerate(self._titles):
            if i in self._fixed:
                continue
            action = menu.addAction(title)
            action.setCheckable(True)
            action.setChecked(i not in hidden)
            if i in self._automatic and self._keys[i] not in self.choices:
                action.setToolTip(self._automatic_note)
            action.toggled.connect(lambda shown, column=i: self.choose(column, shown))
        menu.addSeparator()
        back = menu.addAction(AUTOMATIC_TEXT)
        back.setEnabled(bool(self.choices))
        back.triggered.connect(self.automatic)
        return menu

    def _show_menu(self, at: QPoint) -> None:
        menu = self.menu()
        menu.setToolTipsVisible(True)
        menu.exec(self._header.mapToGlobal(at))
        menu.deleteLater()
