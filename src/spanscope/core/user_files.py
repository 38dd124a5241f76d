"""Files Spanscope writes for the user — settings in the user config dir, exports, datasets — written
so a reader sees the old file or the new one, never half of either: into a temporary file beside it,
flushed to disk, then put in its place."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import platformdirs


def config_dir() -> Path:
    """The user's config folder (XDG_CONFIG_HOME on Linux): price overrides, endpoints, settings."""
    return Path(platformdirs.user_config_dir("spanscope"))


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[BinaryIO]:
    """A file to write that takes `path`'s place only when the block ends without an error; the
    partial file is removed otherwise. A path that is no regular file (/dev/null, a pipe, a
    terminal) is written to as it is: it is never replaced."""
    path = Path(path)
    if path.exists() and not path.is_file():
        with open(path, "wb") as f:
            yield f
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def write_json(path: Path, data: Any) -> Path:
    """`data` as indented JSON at `path`, atomically."""
    with replacing(path) as f:
        f.write(json.dumps(data, indent=2, ensure_ascii=False).encode() + b"\n")
    return path
