"""The known formats as users see them listed: the file dialog's filter and the README's table, both
made from the specs so neither can fall behind the readers."""

from __future__ import annotations

from collections.abc import Sequence

from spanscope.core.formats import compression
from spanscope.core.formats.base import FormatSpec
from spanscope.core.formats.registry import registry

README_HEADER = ("| format | name | extensions | what writes it |", "| --- | --- | --- | --- |")


def dialog_filter(specs: Sequence[FormatSpec] | None = None) -> str:
    """A Qt file-dialog filter for every format's extensions and compressed files, then all files."""
    extensions = [ext for spec in (registry() if specs is None else specs) for ext in spec.extensions]
    patterns = " ".join(f"*{ext}" for ext in dict.fromkeys([*extensions, *compression.EXTENSIONS]))
    return f"Trace files and stores ({patterns});;All files (*)"


def readme_table(specs: Sequence[FormatSpec] | None = None) -> str:
    """The README's table of formats, in the order detection tries them (Markdown)."""
    rows = [
        (spec.description, f"`{spec.name}`", " ".join(f"`{ext}`" for ext in spec.extensions), spec.written_by)
        for spec in (registry() if specs is None else specs)
    ]
    lines = ["| " + " | ".join(_cell(text) for text in row) + " |" for row in rows]
    return "\n".join([*README_HEADER, *lines])


def _cell(text: str) -> str:
    """Text for a Markdown table cell: a bare `|` would end the cell."""
    return text.replace("|", "\\|")
