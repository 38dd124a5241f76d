"""The one way reviews reach a store: a short transaction on a connection of its own, to a
Spanscope store only.

The app's views read through read-only connections, so a review opens a writable one just for
itself. Another tool's store (Phoenix, MLflow, ...) is refused before anything is opened for
writing: those are only ever read. An import holding the store is waited for briefly, never
long enough to freeze the app.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from spanscope.core.store.db import StoreError, connect, is_store

#: How long a review waits for an import that holds the store before it gives up.
BUSY_TIMEOUT_MS = 2000


class ReviewError(Exception):
    """A review could not be stored; the message says why, and nothing was changed."""


@contextlib.contextmanager
def writing(store: Path) -> Iterator[sqlite3.Connection]:
    """A connection inside an immediate transaction, committed when the block ends cleanly."""
    store = Path(store)
    if not is_store(store):
        raise ReviewError(f"{store}: not a Spanscope store; reviews are written only to Spanscope's own")
    try:
        conn = connect(store).conn
    except StoreError as exc:
        raise ReviewError(str(exc)) from exc
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise ReviewError(
                f"{store}: busy ({exc}): an import is writing to it; nothing was saved, try again after it"
            ) from exc
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise ReviewError(f"{store}: could not store the review: {exc}") from exc
            raise
    finally:
        conn.close()
