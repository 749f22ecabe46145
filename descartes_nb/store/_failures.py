"""sqlite3 errors -> ``StoreError`` messages that say what went wrong, and what to do."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

from ..errors import StoreError


def is_locked(exc: sqlite3.Error) -> bool:
    """Whether ``exc`` means another connection holds a lock this one needed."""
    code: str = getattr(exc, "sqlite_errorname", "")
    return code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))


def translate(exc: sqlite3.Error, path: str, doing: str, busy_timeout: timedelta) -> StoreError:
    """A ``StoreError`` for ``exc``, raised while ``doing`` on database ``path``."""
    code = getattr(exc, "sqlite_errorname", "")
    where = f"database {path!r}"
    if is_locked(exc):
        return StoreError(
            f"{where} is locked by another connection: {doing} waited busy_timeout "
            f"({busy_timeout}) for it; retry, or raise StateStoreConfig.busy_timeout"
        )
    if code.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")):
        return StoreError(f"{where} is not a SQLite database or is damaged ({exc}) while {doing}")
    return StoreError(f"{where} failed while {doing}: {exc} ({code or type(exc).__name__})")
