"""One module per command, found here by name: adding a command is adding a module.

Each module has `add_parser(subparsers)`, which adds the command's parser (name, help, arguments)
and returns it, and `run(args) -> int`, which does the command and returns its exit code. A module
is named after its command (`import_` for `import`, a Python keyword).
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def command_modules() -> list[ModuleType]:
    """Every command module, in name order (the order `spanscope --help` lists them in)."""
    return [
        importlib.import_module(f"{__name__}.{info.name}")
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name)
    ]
