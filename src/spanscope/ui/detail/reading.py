"""The reader's choice between markdown rendered and text as written, shared by the views that show
conversations and remembered across runs."""

from __future__ import annotations

from PySide6.QtCore import QObject, QSettings, Signal

MARKDOWN_KEY = "detail/markdown"


class QtMarkdownChoice(QObject):
    """Whether trace text written in markdown is shown rendered (the default) or as written."""

    changed = Signal(bool)

    def __init__(self, settings: QSettings | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        stored = settings.value(MARKDOWN_KEY, True) if settings is not None else True
        self.rendered = stored not in (False, "false", "0", 0)

    def set_rendered(self, rendered: bool) -> None:
        if rendered == self.rendered:
            return
        self.rendered = rendered
        if self.settings is not None:
            self.settings.setValue(MARKDOWN_KEY, rendered)
        self.changed.emit(rendered)


def markdown_choice(settings: QSettings | None, owner: QObject) -> QtMarkdownChoice:
    """The one choice every view sharing `settings` follows (the detail panel, the Review tab): made
    on first use, a child of the settings; without settings, a choice of `owner`'s own."""
    if settings is None:
        return QtMarkdownChoice(None, owner)
    found = settings.findChild(QtMarkdownChoice)
    return found if found is not None else QtMarkdownChoice(settings, settings)
