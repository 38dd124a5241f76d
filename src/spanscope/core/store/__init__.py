"""The SQLite store: the single source of truth between format readers and every view."""

from spanscope.core.store.db import StoreError, connect, default_store_path, is_store
from spanscope.core.store.ingest import (
    FileResult,
    ImportProgress,
    ImportState,
    Outcome,
    import_file,
    import_files,
)

__all__ = [
    "FileResult",
    "ImportProgress",
    "ImportState",
    "Outcome",
    "StoreError",
    "connect",
    "default_store_path",
    "import_file",
    "import_files",
    "is_store",
]
