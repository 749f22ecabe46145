"""sqlite3 errors -> ``StoreError`` messages that say what went wrong, and what to do."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

from ..errors import StoreError


def is_locked(exc: sqlite3.Error) -> bool:
    """Whether ``exc`` means another connection holds a lock this one needed."""
    code: str = getattr(exc, "sqlite_errorname", "")
    return code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))


def is_damage(exc: sqlite3.Error) -> bool:
    """Whether ``exc`` means SQLite found the file damaged (or not a database at all)."""
    code: str = getattr(exc, "sqlite_errorname", "")
    return code.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB"))


def translate(
    exc: sqlite3.Error, path: str, doing: str, busy_timeout: timedelta, *, read_only: bool = False
) -> StoreError:
    """A ``StoreError`` for ``exc``, raised while ``doing`` on database ``path``."""
    code = getattr(exc, "sqlite_errorname", "")
    where = f"database {path!r}"
    if is_locked(exc):
        return StoreError(
            f"{where} is locked by another connection: {doing} waited busy_timeout "
            f"({busy_timeout}) for it; retry, or raise StateStoreConfig.busy_timeout"
        )
    if read_only and code == "SQLITE_READONLY":
        return StoreError(
            f"{doing} would write to {where}, a store opened read-only; "
            "open it without read_only=True to change it"
        )
    if code.startswith("SQLITE_NOTADB"):
        return StoreError(
            f"{where} is not a descartes_nb database: not a SQLite database, or its header "
            f"is damaged ({exc}) while {doing}"
        )
    if is_damage(exc):
        return StoreError(f"{where} is damaged ({exc}) while {doing}")
    return StoreError(f"{where} failed while {doing}: {exc} ({code or type(exc).__name__})")
