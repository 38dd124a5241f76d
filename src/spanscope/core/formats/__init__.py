"""Source formats: each reader module sniffs a file's head and reads it into normalized spans.

A reader module declares one `SPEC = FormatSpec(...)` (see `base`): its name, description,
extensions, sniffer and reader. The registry finds every such module in this package, so adding a
format means adding its module (and its tests); detection, the file dialog's filter and the
README's table of formats follow from the specs.
"""

from spanscope.core.formats.base import FormatError, FormatSpec, Problem, Progress, Source
from spanscope.core.formats.catalog import dialog_filter, readme_table
from spanscope.core.formats.registry import detect, registry

__all__ = [
    "FormatError",
    "FormatSpec",
    "Problem",
    "Progress",
    "Source",
    "detect",
    "dialog_filter",
    "readme_table",
    "registry",
]
