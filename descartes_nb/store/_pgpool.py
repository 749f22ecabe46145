"""The PostgreSQL store's connection pool: open, close, run functions on a connection.

asyncpg is imported here when a pool opens (and by ``_pgfailures``, which this imports
then), never by ``import descartes_nb``: it is an optional dependency (the postgres extra).
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from types import ModuleType
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit

from ..errors import StoreError
from . import _pgwrites as pgwrites
from ._config import StateStoreConfig
from ._pgschema import check_schema, initialize_schema
from ._writes import EncodedChange, Retention

_T = TypeVar("_T")
_SCHEMES: Final = ("postgresql", "postgres")
CONNECT_TIMEOUT: Final = 10.0  # seconds for a new connection to be made


def check_url(url: object) -> str:
    """``url`` if it is a ``postgresql://`` URL.

    Raises:
        TypeError: not a str.
        ValueError: another scheme.
    """
    if not isinstance(url, str):
        raise TypeError(f"a PostgreSQL database is a 'postgresql://...' URL, got {url!r}")
    if urlsplit(url).scheme not in _SCHEMES:
        raise ValueError(
            f"unsupported PostgreSQL URL {shown(url)!r} (allowed: "
            "'postgresql://user:password@host:port/database' or 'postgres://...')"
        )
    return url


def shown(url: str) -> str:
    """``url`` with its password hidden, for messages and reprs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def _milliseconds(value: timedelta | None) -> str:
    return "0" if value is None else str(int(value.total_seconds() * 1000))


def server_settings(config: StateStoreConfig, *, read_only: bool) -> dict[str, str]:
    """The session settings of every connection a store makes."""
    return {
        "lock_timeout": _milliseconds(config.busy_timeout),
        "statement_timeout": _milliseconds(config.statement_timeout),
        "default_transaction_read_only": "on" if read_only else "off",
    }


class Pool:
    """An asyncpg pool that translates every failure, and reconnects after a lost connection.

    It is also the committer's ``ChangeWriter`` for PostgreSQL.

    It holds nothing that refers back to the store, so that an unclosed store can go as soon
    as it is dropped (see ``PostgresWorkflowStore.__del__``).
    """

    __slots__ = ("_asyncpg", "_config", "_failures", "_pool", "_read_only", "_url", "retention")

    def __init__(
        self, url: str, config: StateStoreConfig, retention: Retention, *, read_only: bool
    ) -> None:
        self._url = url
        self._config = config
        self._read_only = read_only
        self.retention = retention
        self._pool: Any = None
        self._asyncpg: ModuleType | None = None
        self._failures: ModuleType | None = None

    @property
    def where(self) -> str:
        """The database, as messages name it (no password)."""
        return repr(shown(self._url))

    @property
    def is_open(self) -> bool:
        """Whether the pool is open."""
        return self._pool is not None

    async def open(self) -> None:
        """Make the pool and bring the schema up to date (read-only: check it).

        Raises:
            StoreError: the server cannot be reached, refuses us, or (read-only) the
                database holds no descartes_nb schema.
            SchemaVersionError: the database was written by a newer schema.
        """
        try:
            self._asyncpg = importlib.import_module("asyncpg")
        except ImportError as exc:
            raise StoreError(
                "PostgresWorkflowStore needs asyncpg: pip install asyncpg (or the postgres "
                "extra: pip install 'descartes-nb[postgres]'; from a clone: "
                "pip install -e '.[postgres]')"
            ) from exc
        self._failures = importlib.import_module("descartes_nb.store._pgfailures")
        settings = server_settings(self._config, read_only=self._read_only)
        create = self._asyncpg.create_pool
        pool = await self._translated(
            "connecting",
            create(
                self._url,
                min_size=0,  # connections are made when needed: no reconnecting in the background
                max_size=self._config.pool_size,
                timeout=CONNECT_TIMEOUT,
                server_settings=settings,
            ),
        )
        self._pool = pool
        try:
            step = check_schema if self._read_only else initialize_schema
            await self.run("checking the schema", step, self.where)
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        """Close every connection (harmless when closed)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await self._translated("closing", pool.close())

    async def run(self, doing: str, fn: Callable[..., Awaitable[_T]], *args: Any) -> _T:
        """Run ``await fn(connection, *args)`` on a pooled connection; translate its errors.

        A connection found lost is dropped by the pool, which connects anew for the next
        call (every idle one is replaced too: after a server restart all are gone).

        Raises:
            StoreError: the store is not open, or PostgreSQL failed while ``doing``.
        """
        pool = self._pool
        if pool is None:
            raise StoreError(
                f"database {self.where} is not open: use 'async with' or 'await store.open()'"
            )
        return await self._translated(doing, self._call(pool, fn, args))

    @staticmethod
    async def _call(pool: Any, fn: Callable[..., Awaitable[_T]], args: Sequence[Any]) -> _T:
        async with pool.acquire() as conn:
            return await fn(conn, *args)

    async def _translated(self, doing: str, work: Awaitable[_T]) -> _T:
        failures = self._failures
        assert failures is not None
        try:
            return await work
        except (Exception, TimeoutError) as exc:
            if not failures.is_translatable(exc):
                raise
            if failures.is_connection_lost(exc) and self._pool is not None:
                await self._pool.expire_connections()
            raise failures.translate(
                exc, self.where, doing, self._config.busy_timeout, read_only=self._read_only
            ) from exc

    # -- the committer's ChangeWriter ----------------------------------------------------

    async def write_together(
        self, changes: Sequence[EncodedChange]
    ) -> list[StoreError | None] | None:
        """Write ``changes`` in one transaction (see ``_pgwrites.write_together``)."""
        return await self.run("writing changes", pgwrites.write_together, changes, self.retention)

    async def write_alone(self, change: EncodedChange) -> StoreError | None:
        """Write one change in its own transaction (see ``_pgwrites.write_alone``)."""
        return await self.run("writing a change", pgwrites.write_alone, change, self.retention)

    @staticmethod
    def write_now(_changes: Sequence[EncodedChange]) -> None:
        """Nothing is written on the loop's thread: every PostgreSQL write is a round trip."""
        return None
