"""StateStoreConfig and database locations: what a SQLite store is opened with."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Final, Literal

__all__ = ["DEFAULT_DATABASE", "StateStoreConfig", "database_path"]

DEFAULT_DATABASE: Final = "workflows.db"
_URL_PREFIX: Final = "sqlite:///"
_SYNCHRONOUS: Final = ("OFF", "NORMAL", "FULL", "EXTRA")


@dataclass(frozen=True, slots=True)
class StateStoreConfig:
    """How a ``SqliteWorkflowStore`` keeps history and talks to SQLite.

    Attributes:
        history_limit: keep at most this many transitions per workflow (None: all).
        history_max_age: drop transitions older than this, measured back from each
            workflow's newest one, which always stays (None: keep them).
        synchronous: SQLite's ``PRAGMA synchronous``. ``NORMAL`` (the default) survives any
            crash of the process; ``FULL`` also survives a power cut, at a cost per commit.
        busy_timeout: how long a write waits for another connection's lock before failing.
        max_batch: the most changes one group commit puts in a transaction.
    """

    history_limit: int | None = None
    history_max_age: timedelta | None = None
    synchronous: Literal["OFF", "NORMAL", "FULL", "EXTRA"] = "NORMAL"
    busy_timeout: timedelta = timedelta(seconds=5)
    max_batch: int = 512

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
