"""The known formats as users see them listed: the file dialog's filter, made from the specs so it
cannot fall behind the readers."""

from __future__ import annotations

from collections.abc import Sequence

from spanscope.core.formats import compression
from spanscope.core.formats.base import FormatSpec
from spanscope.core.formats.registry import registry


def dialog_filter(specs: Sequence[FormatSpec] | None = None) -> str:
    """A Qt file-dialog filter for every format's extensions and compressed files, then all files."""
    extensions = [ext for spec in (registry() if specs is None else specs) for ext in spec.extensions]
    patterns = " ".join(f"*{ext}" for ext in dict.fromkeys([*extensions, *compression.EXTENSIONS]))
    return f"Trace files and stores ({patterns});;All files (*)"
