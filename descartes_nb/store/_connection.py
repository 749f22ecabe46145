"""The store's aiosqlite connection and its thread: open, close, run functions on it.

Through aiosqlite's public API only. A whole function runs on the connection's thread in one
round trip: ``aiosqlite.connect`` hands its keyword arguments to ``sqlite3.connect``, whose
``factory`` makes the connection a ``_Connection``; its ``execute``, which aiosqlite's
``execute`` calls on the thread, runs the function when given ``_RUN`` (one statement per
round trip would cost three to four times as much per transaction: bench/README.md).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any, Final, TypeVar

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
        before = set(threading.enumerate())
        try:
            await db
        except sqlite3.Error as exc:
            await _wait_for_threads(set(threading.enumerate()) - before)
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
            # One thread round trip for the whole function (see the module docstring).
            job = _Job(fn, args)
            await db.execute(_RUN, job)  # a _Job where parameters go: see _Connection
            result: _T = job.take()
            return result
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
            made.append(
                aiosqlite.connect(
                    path, isolation_level=None, timeout=seconds, uri=uri, factory=_Connection
                )
            )
        except BaseException as exc:  # handed to the caller's thread, raised there
            made.append(exc)

    maker = threading.Thread(target=make, name="descartes_nb store connect", daemon=True)
    maker.start()
    maker.join()  # about 0.1 ms: the thread only builds an object (no I/O)
    if isinstance(made[0], BaseException):
        raise made[0]
    return made[0]


_THREAD_WAIT: Final = 2.0  # seconds


async def _wait_for_threads(started: set[threading.Thread]) -> None:
    """Wait (up to ``_THREAD_WAIT``) until the daemon threads ``started`` have ended.

    After a failed connect aiosqlite stops its thread without waiting for it, and the
    thread must not outlive the event loop it reports to. Only daemon threads can be ours
    (see ``_connect_as_daemon``); one of another store opened meanwhile is waited for in
    vain, but only that long.
    """
    waiting = [thread for thread in started if thread.daemon]
    if waiting:
        await asyncio.to_thread(_join, waiting, _THREAD_WAIT)


def _join(threads: list[threading.Thread], seconds: float) -> None:
    """Join ``threads``, all of them within ``seconds`` (a blocking call: on a worker thread)."""
    deadline = time.monotonic() + seconds
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))


# Runs a function on the connection's thread (see the module docstring). A comment, so that
# a connection that is not a ``_Connection`` runs nothing.
_RUN: Final = "-- descartes_nb: run a function on the connection's thread"


class _Job:
    """A function to run on the connection's thread, and its result once it ran."""

    __slots__ = ("args", "fn", "result")

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.fn = fn
        self.args = args
        self.result: list[Any] = []

    def take(self) -> Any:
        """The result, emptied here: a million rows read are not held until the next job."""
        return self.result.pop()


class _Connection(sqlite3.Connection):
    """A sqlite3 connection that runs a ``_Job`` when aiosqlite executes ``_RUN`` on it."""

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        """Run the job given with ``_RUN`` (on the connection's thread), else the statement."""
        if sql is _RUN:
            job: _Job = parameters
            job.result.append(job.fn(self, *job.args))
            return self.cursor()
        return super().execute(sql, parameters)
