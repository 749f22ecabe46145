"""PostgresWorkflowStore: workflows, their history and checkpoints in a PostgreSQL database."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, ClassVar, Self, TypeVar

from ..core._clock import Clock
from ..errors import StoreError
from . import _pgedits as pgedits
from . import _pgfleet as pgfleet
from . import _pgreads as pgreads
from . import _pgschema as pgschema
from . import _pgwrites as pgwrites
from ._changes import DEFAULT_POLL, ChangeFeed
from ._committer import GroupCommit
from ._config import StateStoreConfig
from ._fleet import poll_seconds
from ._pgchanges import PgChangeFeed
from ._pgpool import Pool, check_url, shown
from ._reads import HistoryColumns, history_filter
from ._storebase import Operations, StoreBase

_T = TypeVar("_T")


class PostgresWorkflowStore(StoreBase):
    """Workflows, their history and checkpoints in PostgreSQL, for many processes and hosts.

    The same methods and guarantees as ``SqliteWorkflowStore``: a machine built with
    ``store=`` commits each change in one transaction before ``process_event`` returns;
    changes of concurrent workflows share a statement and a transaction (group commit),
    and a conflicting one fails alone. Each workflow carries a version: a change based on a
    stale one raises ``ConcurrentModificationError`` and writes nothing, whichever process
    or host wrote the other. A lost connection, a server restart, a statement timeout or a
    full disk raise ``StoreError`` saying so, change nothing in the machine, and the next
    call connects anew. Cancellation works as in ``SqliteWorkflowStore.save_change``.
    Events sent with ``send_event`` wake idle workers with a ``NOTIFY``.

    The schema is plain tables (``workflows``, ``transitions``, ``checkpoints``, a
    ``history`` view) with ``timestamptz``, ``json`` and ``bigint`` columns, made by
    numbered migrations recorded in ``schema_migrations``. Needs asyncpg (the ``postgres``
    extra), imported when the store opens.

    Args:
        url: ``postgresql://user:password@host:port/database``.
        config: history retention, ``busy_timeout`` (the server's ``lock_timeout``),
            ``statement_timeout``, ``pool_size`` and ``max_batch``.
        clock: the time checkpoints and restores are stamped with.
        read_only: only read: no migration, every transaction read-only on the server.
    """

    _ops: ClassVar[Operations] = Operations(
        write_workflow=pgwrites.write_workflow,
        append_transition=pgedits.append_transition,
        delete_workflow=pgedits.delete_workflow,
        send_event=pgfleet.send_event,
        read_outcome=pgfleet.read_outcome,
        read_workflow=pgreads.read_workflow,
        read_all_workflows=pgreads.read_all_workflows,
        read_history=pgreads.read_history,
        list_workflow_ids=pgreads.list_workflow_ids,
        create_checkpoint=pgedits.create_checkpoint,
        list_checkpoints=pgedits.list_checkpoints,
        restore_checkpoint=pgedits.restore_checkpoint,
    )
    _poll: ClassVar[float] = 0.02  # a sent event's outcome comes sooner than on SQLite

    def __init__(
        self,
        url: str,
        config: StateStoreConfig | None = None,
        *,
        clock: Clock | None = None,
        read_only: bool = False,
    ) -> None:
        self._url = check_url(url)
        super().__init__(config, clock, read_only)
        self._read_only = read_only
        self._pool = Pool(self._url, self._config, self._retention, read_only=read_only)
        self._writer = GroupCommit(
            self._pool, self._config.max_batch, in_flight=self._config.pool_size
        )

    @property
    def url(self) -> str:
        """The database URL, its password hidden."""
        return shown(self._url)

    @property
    def read_only(self) -> bool:
        """Whether the store only reads (``read_only=True``)."""
        return self._read_only

    @property
    def is_open(self) -> bool:
        """Whether the store is open."""
        return self._pool.is_open

    def __repr__(self) -> str:
        mode = " read-only" if self._read_only else ""
        state = "open" if self.is_open else "closed"
        return f"<PostgresWorkflowStore {self.url!r} {state}{mode}>"

    # -- lifecycle -----------------------------------------------------------------------

    async def open(self) -> Self:
        """Connect and bring the schema up to date (read-only: check it).

        Raises:
            StoreError: the server cannot be reached or refuses the login; read-only, the
                database holds no descartes_nb schema.
            SchemaVersionError: the database was written by a newer schema.
        """
        if not self.is_open:
            await self._pool.open()
        return self

    async def close(self) -> None:
        """Finish pending writes and close the connections; harmless when already closed."""
        if not self.is_open:
            return
        await self._writer.wait_idle()
        self._encoder.forget()
        await self._pool.close()

    async def initialize_schema(self) -> int:
        """Apply the schema migrations the database lacks (``open`` already does).

        Returns:
            How many migrations were applied (0 when it was up to date).

        Raises:
            SchemaVersionError: the database was written by a newer schema.
        """
        return await self._run(
            "migrating the schema", pgschema.initialize_schema, self._pool.where
        )

    async def _run(self, doing: str, fn: Callable[..., Awaitable[_T]], *args: Any) -> _T:
        """Run ``await fn(connection, *args)`` on a pooled connection (``Pool.run``)."""
        return await self._pool.run(doing, fn, *args)

    # -- the fleet -----------------------------------------------------------------------

    def changes(self, *, poll_interval: timedelta | float = DEFAULT_POLL) -> ChangeFeed:
        """The history entries committed from now on, by any process, in commit order.

        Each writing transaction sends a ``NOTIFY``; the feed listens on its own
        connection (``poll_interval`` is for SQLite, unused here).

        Example:
            >>> # async with store.changes() as feed:
            >>> #     async for change in feed: print(change.workflow_id, change.state)
        """
        poll_seconds(poll_interval)
        return PgChangeFeed(self._url, self._config)

    def worker_claims(self) -> pgfleet.PgClaims:
        """A worker's own connection to this store's database (see ``Worker``)."""
        if not self.is_open:
            raise StoreError(
                f"database {self._pool.where} is not open: use 'async with' or "
                "'await store.open()'"
            )
        return pgfleet.PgClaims(self._url, self._config, self._retention)

    # -- reads ---------------------------------------------------------------------------

    async def load_history_columns(
        self, workflow_ids: Iterable[str] | None = None, *, since: datetime | None = None
    ) -> HistoryColumns:
        """Every stored transition as raw columns, in one query (see ``load_history_frame``).

        Raises:
            WorkflowNotFoundError: one of ``workflow_ids`` is not stored.
        """
        ids, _text = history_filter(workflow_ids, since)
        return await self._run("reading history columns", pgreads.read_history_columns, ids, since)

    async def check_integrity(self) -> list[str]:
        """Always empty: the server keeps its own files sound (see its logs for damage)."""
        await self._run("checking the connection", _ping)
        return []


async def _ping(conn: pgschema.Connection) -> None:
    await conn.fetchval("SELECT 1")
