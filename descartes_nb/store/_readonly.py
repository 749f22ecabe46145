"""Read-only stores: open a database without writing a byte of it, on read-only media too.

A read-only connection opens the file with SQLite's ``mode=ro``: it runs no migration,
never switches the journal mode, and SQLite itself refuses any write. A database in
WAL mode needs its ``-shm`` index, which SQLite makes next to the file (and leaves
there, as any SQLite reader does); where it cannot (a read-only file system), a database
whose ``-wal`` file is missing or empty holds everything in the main file and is read
as ``immutable``, without the index. One whose ``-wal`` holds changes cannot be read
there, and the error says what to do.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Final

from ..errors import StoreError
from ._config import StateStoreConfig, set_busy_timeout
from ._schema import check_schema

_CANNOT_OPEN: Final = "SQLITE_CANTOPEN"


def reader_uri(path: str, *, immutable: bool = False) -> str:
    """The URI that opens ``path`` read-only (``immutable``: without locks or a WAL index)."""
    # as_uri() percent-escapes the characters a URI gives meaning to ('?', '#', '%').
    uri = Path(path).absolute().as_uri() + "?mode=ro"
    return uri + "&immutable=1" if immutable else uri


def configure_reader(conn: sqlite3.Connection, path: str, config: StateStoreConfig) -> None:
    """Set up a read-only connection and check the database is ours (reading only).

    Raises:
        StoreError: it is not a descartes_nb database, or SQLite cannot open it.
        SchemaVersionError: its schema is not the one this descartes_nb reads.
    """
    set_busy_timeout(conn, config)
    conn.execute("PRAGMA query_only = ON")  # refused by SQLite too: mode=ro
    check_schema(conn, path)


def is_missing_index(error: StoreError) -> bool:
    """Whether opening read-only failed for want of a WAL index SQLite cannot make.

    SQLite reports it as SQLITE_CANTOPEN at the first read, after the file itself opened.
    """
    return getattr(error.__cause__, "sqlite_errorname", None) == _CANNOT_OPEN


def has_empty_wal(path: str) -> bool:
    """Whether the ``-wal`` file of ``path`` is missing or empty: the main file is all.

    Then a reader without locks (``immutable``) sees every committed change.
    """
    try:
        return os.path.getsize(path + "-wal") == 0
    except FileNotFoundError:
        return True


def unreadable_wal(path: str) -> StoreError:
    """The error for a WAL database whose log holds changes but whose index cannot be made."""
    return StoreError(
        f"database {path!r} cannot be read here: its changes in {path + '-wal'!r} need a "
        f"{path + '-shm'!r} index, which SQLite cannot create (a read-only file system?); "
        "copy the database with its -wal file to a writable place, or open it for writing "
        "once to checkpoint it"
    )
