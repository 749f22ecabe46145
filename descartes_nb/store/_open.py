"""open_store(url): the store a URL names, SQLite or PostgreSQL."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from ..core._clock import Clock
from ._config import StateStoreConfig, database_path
from ._postgres import PostgresWorkflowStore
from ._sqlite import SqliteWorkflowStore


def open_store(
    url: str | os.PathLike[str],
    config: StateStoreConfig | None = None,
    *,
    clock: Clock | None = None,
    read_only: bool = False,
) -> SqliteWorkflowStore | PostgresWorkflowStore:
    """The store ``url`` names, not yet open: use it with ``async with``.

    Args:
        url: a file path or ``sqlite:///path`` (SQLite), or ``postgresql://...``
            (PostgreSQL).
        config: history retention and database settings.
        clock: the time checkpoints and restores are stamped with.
        read_only: only read the database.

    Raises:
        ValueError: a URL of another scheme (the message names those allowed).

    Example:
        >>> open_store("sqlite:///workflows.db")
        <SqliteWorkflowStore 'workflows.db' closed>
        >>> open_store("postgresql://ana:secret@db.example.org/flows")
        <PostgresWorkflowStore 'postgresql://ana:***@db.example.org/flows' closed>
    """
    if isinstance(url, str) and urlsplit(url).scheme in ("postgresql", "postgres"):
        return PostgresWorkflowStore(url, config, clock=clock, read_only=read_only)
    try:
        database_path(url)
    except ValueError:
        raise ValueError(
            f"unsupported database URL {url!r} (allowed: a file path, 'sqlite:///path', "
            "or 'postgresql://user:password@host:port/database')"
        ) from None
    return SqliteWorkflowStore(url, config, clock=clock, read_only=read_only)
