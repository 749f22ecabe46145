"""Commits on the event loop's thread: a second connection for changes that need no fsync.

A WAL commit with ``synchronous`` OFF or NORMAL appends to the log and returns; handing it
to aiosqlite's thread and back costs about three times as much again (bench/README.md). So a
store also opens this connection and writes changes with it directly, as long as that
can never stall the loop:

- it never waits for a lock (busy timeout 0): a locked database sends the change to the
  connection's thread, which waits there;
- it never checkpoints the log itself below ``_SAFETY_PAGES``: every
  ``_CHECKPOINT_EVERY`` transactions, the connection's thread does.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from typing import Final

from ..errors import StoreError
from . import _writes as writes
from ._config import StateStoreConfig
from ._connection import ConnectionThread
from ._failures import is_locked

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
        # The same constraints as the connection's thread: whichever path writes a change,
        # its transition must point at a stored workflow.
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(f"PRAGMA wal_autocheckpoint = {_SAFETY_PAGES}")
    except BaseException:
        conn.close()
        raise
    return conn


def _checkpoint(conn: sqlite3.Connection) -> None:
    """Copy the log into the database (on the connection's thread).

    Passive: it waits for no reader or writer, and just does less when it meets one.
    """
    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()


class LoopCommits:
    """Write changes on the loop's connection; have the connection's thread checkpoint them."""

    __slots__ = (
        "_checkpointing",
        "_conn",
        "_paused",
        "_retention",
        "_since_checkpoint",
        "_thread",
    )

    def __init__(
        self, conn: sqlite3.Connection, retention: writes.Retention, thread: ConnectionThread
    ) -> None:
        self._conn = conn
        self._retention = retention
        self._thread = thread
        self._since_checkpoint = 0
        self._checkpointing: asyncio.Task[None] | None = None
        self._paused = False

    def write(self, changes: Sequence[writes.EncodedChange]) -> list[StoreError | None] | None:
        """Write ``changes`` in one transaction now; None if it cannot, with nothing written.

        It cannot while the database is locked, during the last part of a checkpoint, or
        when the batch must be split into a transaction per change (rare): those changes
        go to the connection's thread, which can wait for a lock met halfway.

        Raises:
            sqlite3.Error: the transaction failed; nothing of it was written.
        """
        if self._paused:
            return None
        try:
            results = writes.write_together(self._conn, changes, self._retention)
        except sqlite3.OperationalError as exc:
            if is_locked(exc):
                return None  # rolled back: the connection's thread will wait for the lock
            raise
        if results is not None:
            self._since_checkpoint += 1
            if self._since_checkpoint >= _CHECKPOINT_EVERY and self._checkpointing is None:
                self._since_checkpoint = 0
                self._checkpointing = asyncio.create_task(self._checkpoint())
        return results

    async def close(self) -> None:
        """Wait for a checkpoint in progress, then close the connection."""
        if self._checkpointing is not None:
            await self._checkpointing
        self._conn.close()

    async def _checkpoint(self) -> None:
        """Checkpoint the log of the loop's writes on the connection's thread.

        The first pass races the loop's writes and copies most of the log. The log can
        only start over once a checkpoint has copied all of it with no write racing, so
        a second pass runs with changes queued behind it: a short pause, as it copies
        only what was written during the first. Unless other work is queued on the
        thread (a large read, say), which the changes would wait for too: then the log
        starts over at a later checkpoint.
        """
        try:
            await self._thread.run("checkpointing the log", _checkpoint)
            if self._thread.in_flight:
                return
            self._paused = True
            await self._thread.run("checkpointing the log", _checkpoint)
        except StoreError:
            pass  # the next one, or SQLite's own at _SAFETY_PAGES, does the work
        finally:
            self._paused = False
            self._checkpointing = None


class ChangeWrites:
    """SQLite's ``ChangeWriter``: on the loop's connection if it can, else on the thread.

    A separate object so that group commit holds no reference back to the store (an unclosed
    store must go as soon as it is dropped; see ``SqliteWorkflowStore.__del__``).
    """

    __slots__ = ("connection", "loop_commits", "retention")

    def __init__(self, connection: ConnectionThread, retention: writes.Retention) -> None:
        self.connection = connection
        self.retention = retention
        self.loop_commits: LoopCommits | None = None  # set while open

    async def write_together(
        self, changes: Sequence[writes.EncodedChange]
    ) -> list[StoreError | None] | None:
        """Write ``changes`` on the connection's thread (see ``writes.write_together``)."""
        return await self.connection.run(
            "writing changes", writes.write_together, changes, self.retention
        )

    async def write_alone(self, change: writes.EncodedChange) -> StoreError | None:
        """Write one change on the connection's thread (see ``writes.write_alone``)."""
        return await self.connection.run(
            "writing a change", writes.write_alone, change, self.retention
        )

    def write_now(self, changes: Sequence[writes.EncodedChange]) -> list[StoreError | None] | None:
        """Write on the loop's thread if the loop's connection can (see ``LoopCommits``)."""
        if self.loop_commits is None:
            return None
        try:
            return self.loop_commits.write(changes)
        except sqlite3.Error as exc:
            raise self.connection.translate(exc, "writing changes") from exc
