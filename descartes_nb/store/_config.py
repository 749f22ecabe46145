"""What a SQLite store is opened with: StateStoreConfig, database locations, pragmas."""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Final, Literal

from ..errors import StoreError
from ._schema import initialize_schema

DEFAULT_DATABASE: Final = "workflows.db"
_URL_PREFIX: Final = "sqlite:///"
_SYNCHRONOUS: Final = ("OFF", "NORMAL", "FULL", "EXTRA")


@dataclass(frozen=True, slots=True)
class StateStoreConfig:
    """How a store keeps history and talks to its database (SQLite or PostgreSQL).

    Attributes:
        history_limit: keep at most this many transitions per workflow (None: all).
        history_max_age: drop transitions older than this, measured back from each
            workflow's newest one, which always stays (None: keep them).
        synchronous: SQLite only: its ``PRAGMA synchronous``. ``NORMAL`` (the default) survives any
            crash of the process; ``FULL`` also survives a power cut, at a cost per commit.
        busy_timeout: how long a write waits for another connection's lock before failing
            (PostgreSQL: ``lock_timeout``).
        max_batch: the most changes one group commit puts in a transaction.
        loop_commits: SQLite only: commit changes on the event loop's thread, through a second
            connection that never waits for a lock, when commits need no fsync
            (``synchronous`` OFF or NORMAL): such a commit is several times cheaper than
            a round trip to the connection's thread (bench/README.md). A change that finds
            the database locked goes to the connection's thread and waits there. False:
            every write runs on the connection's thread.
        statement_timeout: PostgreSQL only: the server cancels a statement that runs
            longer (None: the server's setting).
        pool_size: PostgreSQL only: the most connections the store opens at once, and so
            the most group-commit transactions under way at once.
    """

    history_limit: int | None = None
    history_max_age: timedelta | None = None
    synchronous: Literal["OFF", "NORMAL", "FULL", "EXTRA"] = "NORMAL"
    busy_timeout: timedelta = timedelta(seconds=5)
    max_batch: int = 512
    loop_commits: bool = True
    statement_timeout: timedelta | None = None
    pool_size: int = 4

    def __post_init__(self) -> None:
        if self.history_limit is not None and (
            type(self.history_limit) is not int or self.history_limit < 1
        ):
            raise ValueError(
                f"history_limit must be an int >= 1 or None, got {self.history_limit!r}"
            )
        if self.history_max_age is not None and (
            not isinstance(self.history_max_age, timedelta) or self.history_max_age <= timedelta(0)
        ):
            raise ValueError(
                "history_max_age must be a positive timedelta or None, "
                f"got {self.history_max_age!r}"
            )
        if self.synchronous not in _SYNCHRONOUS:
            raise ValueError(
                f"synchronous must be one of {list(_SYNCHRONOUS)}, got {self.synchronous!r}"
            )
        if not isinstance(self.busy_timeout, timedelta) or self.busy_timeout < timedelta(0):
            raise ValueError(f"busy_timeout must be a timedelta >= 0, got {self.busy_timeout!r}")
        if type(self.max_batch) is not int or self.max_batch < 1:
            raise ValueError(f"max_batch must be an int >= 1, got {self.max_batch!r}")
        if self.statement_timeout is not None and (
            not isinstance(self.statement_timeout, timedelta)
            or self.statement_timeout <= timedelta(0)
        ):
            raise ValueError(
                "statement_timeout must be a positive timedelta or None, "
                f"got {self.statement_timeout!r}"
            )
        if type(self.pool_size) is not int or self.pool_size < 1:
            raise ValueError(f"pool_size must be an int >= 1, got {self.pool_size!r}")
        if not isinstance(self.loop_commits, bool):
            raise ValueError(f"loop_commits must be True or False, got {self.loop_commits!r}")


def database_path(path_or_url: str | os.PathLike[str]) -> str:
    """The file path of a database given as a path or a ``sqlite:///path`` URL.

    Raises:
        ValueError: another URL scheme, or an empty path.
    """
    if isinstance(path_or_url, os.PathLike):
        path_or_url = os.fspath(path_or_url)
    if not isinstance(path_or_url, str):
        raise TypeError(f"a database is a path or a 'sqlite:///path' URL, got {path_or_url!r}")
    path = path_or_url
    if path.startswith(_URL_PREFIX):
        path = path[len(_URL_PREFIX) :]
    elif "://" in path or path.startswith("sqlite:"):
        raise ValueError(
            f"unsupported database URL {path_or_url!r} (allowed: a file path, or "
            f"'sqlite:///relative/path' and 'sqlite:////absolute/path')"
        )
    if not path:
        raise ValueError(f"no database path in {path_or_url!r}")
    return path


def configure_connection(conn: sqlite3.Connection, path: str, config: StateStoreConfig) -> None:
    """Set a new connection's pragmas and migrate the schema (on the connection's thread).

    The schema comes first: until it is known to be ours (migrated, or made in an empty
    file), the file keeps its journal mode, so a database this open refuses (another
    program's, a newer schema's) is left exactly as it was.

    Raises:
        StoreError: the file cannot use WAL, or is another program's database that our
            tables cannot be added to.
        SchemaVersionError: the database was written by a newer schema.
    """
    set_busy_timeout(conn, config)
    initialize_schema(conn, path)
    mode = _switch_to_wal(conn, config.busy_timeout.total_seconds())
    if mode != "wal" and path != ":memory:":
        raise StoreError(
            f"database {path!r} cannot use write-ahead logging (journal mode stays "
            f"{mode!r}); put it on a local file system"
        )
    conn.execute(f"PRAGMA synchronous = {config.synchronous}")
    conn.execute("PRAGMA foreign_keys = ON")


def set_busy_timeout(conn: sqlite3.Connection, config: StateStoreConfig) -> None:
    """Make ``conn`` wait up to ``config.busy_timeout`` for another connection's lock."""
    milliseconds = int(config.busy_timeout.total_seconds() * 1000)
    conn.execute(f"PRAGMA busy_timeout = {milliseconds}")


def _switch_to_wal(conn: sqlite3.Connection, timeout: float) -> str:
    """Set WAL journal mode and return the mode in effect (on the connection's thread).

    Several connections switching a new file at once get SQLITE_BUSY without SQLite's
    busy handler being called, so this one waits itself, up to the busy timeout.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            mode: str = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            return mode
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorname != "SQLITE_BUSY" or time.monotonic() > deadline:
                raise
        time.sleep(0.001)
