"""Commits on the event loop's thread: a second connection for changes that need no fsync.

A WAL commit with ``synchronous`` OFF or NORMAL appends to the log and returns (about
20 us here); handing it to aiosqlite's thread and back costs about 60 us more. So a
store also opens this connection and writes changes with it directly, as long as that
can never stall the loop:

- it never waits for a lock (busy timeout 0): a locked database sends the change to the
  connection's thread, which waits there;
- it never checkpoints the log itself below ``_SAFETY_PAGES``: every
  ``_CHECKPOINT_EVERY`` transactions, the connection's thread does.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Final

from ..errors import StoreError
from . import writes
from .config import StateStoreConfig

__all__ = ["LoopWriter", "checkpoint", "open_loop_connection"]

_CHECKPOINT_EVERY: Final = 256  # transactions: roughly SQLite's own 1000-page default
# SQLite still checkpoints on this connection when the log grows past this many pages,
# which only happens when the loop never gave the connection's thread a chance to.
_SAFETY_PAGES: Final = 16_000


def open_loop_connection(
    _opener: sqlite3.Connection, path: str, config: StateStoreConfig
) -> sqlite3.Connection | None:
    """Open the loop's connection, or None when not wanted.

    It runs on the store's connection thread, whose connection comes first, unused.

    A second connection to ``:memory:`` would be another database; commits that sync
    to disk (FULL, EXTRA) would stall the loop.
    """
    if not config.loop_commits or path == ":memory:" or config.synchronous in ("FULL", "EXTRA"):
        return None
    conn = sqlite3.connect(path, isolation_level=None, timeout=0, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA synchronous = {config.synchronous}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(f"PRAGMA wal_autocheckpoint = {_SAFETY_PAGES}")
    except BaseException:
        conn.close()
        raise
    return conn


def checkpoint(conn: sqlite3.Connection) -> None:
    """Copy the log into the database (on the connection's thread).

    Passive: it waits for no reader or writer, and just does less when it meets one.
    """
    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()


class LoopWriter:
    """Writes batches of changes on the loop's connection."""

    __slots__ = ("_conn", "_retention", "_since_checkpoint")

    def __init__(self, conn: sqlite3.Connection, retention: writes.Retention) -> None:
        self._conn = conn
        self._retention = retention
        self._since_checkpoint = 0

    def write(self, changes: Sequence[writes.EncodedChange]) -> list[StoreError | None] | None:
        """Write ``changes`` in one transaction now; None if the database is locked.

        None also when the batch must be split into a transaction per change: that rare
        case goes to the connection's thread whole, where a lock met halfway can wait.

        Raises:
            sqlite3.Error: the transaction failed; nothing of it was written.
        """
        try:
            results = writes.write_together(self._conn, changes, self._retention)
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorname.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
                return None  # rolled back: the connection's thread will wait for the lock
            raise
        self._since_checkpoint += results is not None
        return results

    def checkpoint_due(self) -> bool:
        """Whether enough was written since the last call that returned True."""
        if self._since_checkpoint < _CHECKPOINT_EVERY:
            return False
        self._since_checkpoint = 0
        return True

    def close(self) -> None:
        """Close the connection (harmless when closed)."""
        self._conn.close()
