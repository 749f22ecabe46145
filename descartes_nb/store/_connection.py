"""The store's aiosqlite connection and its thread: open, close, run functions on it."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import aiosqlite

from ..errors import SerializationError, StoreError
from . import _failures as failures
from . import _readonly as readonly
from ._config import StateStoreConfig, configure_connection

_T = TypeVar("_T")


class ConnectionThread:
    """One aiosqlite connection, on its own thread; ``run`` takes one round trip per call.

    ``read_only``: the file is opened read-only (``readonly``), never written or migrated.
    """

    __slots__ = ("_config", "_db", "_in_flight", "_path", "_read_only")

    def __init__(self, path: str, config: StateStoreConfig, *, read_only: bool = False) -> None:
        self._path = path
        self._config = config
        self._read_only = read_only
        self._db: aiosqlite.Connection | None = None
        self._in_flight = 0

    @property
    def read_only(self) -> bool:
        """Whether the connection reads only (see ``readonly``)."""
        return self._read_only

    @property
    def is_open(self) -> bool:
        """Whether the connection is open."""
        return self._db is not None

    @property
    def in_flight(self) -> int:
        """How many ``run`` calls are queued or running on the thread."""
        return self._in_flight

    async def open(self) -> None:
        """Connect, switch to WAL, and bring the schema up to date; read-only: check it.

        Raises:
            StoreError: the file cannot be opened, is not a SQLite database, or (read-only)
                not a descartes_nb database.
            SchemaVersionError: the database was written by a newer schema.
        """
        if not self._read_only:
            await self._connect(self._path, configure_connection)
            return
        try:
            await self._connect(readonly.reader_uri(self._path), readonly.configure_reader)
        except StoreError as exc:
            if not readonly.is_missing_index(exc):
                raise
            if not readonly.has_empty_wal(self._path):
                raise readonly.unreadable_wal(self._path) from exc
            uri = readonly.reader_uri(self._path, immutable=True)
            await self._connect(uri, readonly.configure_reader)

    async def _connect(self, target: str, configure: Callable[..., None]) -> None:
        """Open ``target`` (a path, or a URI when read-only) and run ``configure`` on it."""
        seconds = self._config.busy_timeout.total_seconds()
        db = _connect_as_daemon(target, seconds, uri=self._read_only)
        try:
            await db
        except sqlite3.Error as exc:
            # aiosqlite stops its thread without waiting for it; wait here, or the thread
            # may report to an event loop that has closed by then.
            await asyncio.to_thread(db._thread.join)
            raise self.translate(exc, "opening") from exc
        self._db = db
        try:
            await self.run("opening", configure, self._path, self._config)
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        """Close the connection (harmless when closed)."""
        db, self._db = self._db, None
        if db is None:
            return
        try:
            await db.close()
        except sqlite3.Error as exc:
            raise self.translate(exc, "closing") from exc

    async def run(self, doing: str, fn: Callable[..., _T], *args: Any) -> _T:
        """Run ``fn(connection, *args)`` on the connection's thread; translate its errors.

        ``fn`` and ``args`` must not hold the store or the aiosqlite connection: its thread
        keeps its last job alive, which would keep an unclosed store (and the thread, which
        then never stops) from being collected. It keeps the last result too, so that
        comes back in a box emptied here: a million rows read are not held until the next
        job.

        Raises:
            StoreError: the connection is not open, or SQLite failed while ``doing``.
            SerializationError: text that is not valid UTF-8 was given to SQLite.
        """
        db = self._db
        if db is None:
            raise StoreError(
                f"database {self._path!r} is not open: use 'async with' or 'await store.open()'"
            )
        self._in_flight += 1
        try:
            # One thread round trip for the whole function. aiosqlite's public methods
            # take one per statement, which would cost three to four times as much per
            # transaction; _execute is what they all use underneath.
            box: list[_T] = await db._execute(_boxed, fn, db._conn, *args)  # type: ignore[no-untyped-call]
            return box.pop()
        except sqlite3.Error as exc:
            raise self.translate(exc, doing) from exc
        except UnicodeEncodeError as exc:  # a name with a lone surrogate, given to SQLite
            raise SerializationError(f"{doing}: text that is not valid UTF-8 ({exc})") from exc
        finally:
            self._in_flight -= 1

    def translate(self, exc: sqlite3.Error, doing: str) -> StoreError:
        """A ``StoreError`` that says what went wrong in words (chain the original)."""
        return failures.translate(
            exc, self._path, doing, self._config.busy_timeout, read_only=self._read_only
        )


def _connect_as_daemon(path: str, seconds: float, *, uri: bool) -> aiosqlite.Connection:
    """``aiosqlite.connect(path)``, called on a short-lived daemon thread.

    aiosqlite's connection thread is not a daemon: one left open (a store never closed,
    held by a global or a reference cycle) would keep the interpreter from ever exiting.
    A thread is a daemon when the thread that creates it is, and aiosqlite creates its
    thread with the connection object (``tests/store/test_unclosed.py`` checks that this
    still holds). Interrupted at exit, a write is rolled back as after a crash.
    """
    made: list[aiosqlite.Connection | BaseException] = []

    def make() -> None:
        try:
            made.append(aiosqlite.connect(path, isolation_level=None, timeout=seconds, uri=uri))
        except BaseException as exc:  # handed to the caller's thread, raised there
            made.append(exc)

    maker = threading.Thread(target=make, name="descartes_nb store connect", daemon=True)
    maker.start()
    maker.join()  # about 0.1 ms: the thread only builds an object (no I/O)
    if isinstance(made[0], BaseException):
        raise made[0]
    return made[0]


def _boxed(fn: Callable[..., _T], conn: sqlite3.Connection, *args: Any) -> list[_T]:
    """``[fn(conn, *args)]``, on the connection's thread (see ``ConnectionThread.run``)."""
    return [fn(conn, *args)]
