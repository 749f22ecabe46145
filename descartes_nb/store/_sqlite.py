"""SqliteWorkflowStore: workflows, their history and checkpoints in one SQLite file."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, ClassVar, Self, TypeVar

from ..core._clock import Clock
from . import _checkpoint as checkpoint
from . import _fleetsqlite as fleetsqlite
from . import _loopwrite as loopwrite
from . import _reads as reads
from . import _salvage as salvage
from . import _wholewrite as wholewrite
from . import _writes as writes
from ._changes import DEFAULT_POLL, ChangeFeed, SqliteChangeFeed
from ._committer import GroupCommit
from ._config import DEFAULT_DATABASE, StateStoreConfig, database_path
from ._connection import ConnectionThread
from ._fleet import poll_seconds
from ._reads import HistoryColumns
from ._schema import initialize_schema
from ._storebase import Operations, StoreBase

_T = TypeVar("_T")


class SqliteWorkflowStore(StoreBase):
    """Workflows, their history and checkpoints in one SQLite file (WAL mode).

    Use it as an async context manager. A machine built with ``store=`` commits each
    change (the transition, the new state and the new context) in one transaction before
    ``process_event`` returns; changes of concurrent workflows share transactions (group
    commit). Several processes may use one file: each workflow carries a version, and a
    change based on a stale one raises ``ConcurrentModificationError`` and writes nothing,
    and so does a new machine written over a stored workflow with the same id (unless
    asked by name: ``save_workflow(sm, overwrite=True)``).

    A change whose caller is cancelled while it waits for group commit is withdrawn; once
    it is being written it is finished, and the machine applies it if it was committed
    before raising the CancelledError (see ``save_change``): memory and store stay equal.

    Everything runs on one aiosqlite connection, in its own thread, except the commits of
    changes that can neither sync to disk nor wait for a lock: those run on the event
    loop's thread, through a second connection (see ``StateStoreConfig.loop_commits``).

    Args:
        path_or_url: a file path or a ``sqlite:///path`` URL (``workflows.db`` by default).
        config: history retention and SQLite settings.
        clock: the time checkpoints and restores are stamped with.
        read_only: only read the file: no migration, no WAL switch, not a byte written
            (also on a read-only file system); every write raises ``StoreError``. A file
            that is not a descartes_nb database is refused on ``open``.

    Example:
        >>> import asyncio, tempfile, os
        >>> from descartes_nb import WorkflowStateMachine
        >>> async def main(path):
        ...     async with SqliteWorkflowStore(path) as store:
        ...         sm = WorkflowStateMachine("build-42", store=store)
        ...         await sm.process_event("Start")
        ...         return (await store.load_workflow("build-42")).state
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     asyncio.run(main(os.path.join(tmp, "workflows.db")))
        'Running'
    """

    _ops: ClassVar[Operations] = Operations(
        write_workflow=wholewrite.write_workflow,
        append_transition=writes.append_transition,
        delete_workflow=writes.delete_workflow,
        send_event=fleetsqlite.send_event,
        read_outcome=fleetsqlite.read_outcome,
        read_workflow=reads.read_workflow,
        read_all_workflows=salvage.read_all_workflows,
        read_history=reads.read_history,
        list_workflow_ids=reads.list_workflow_ids,
        create_checkpoint=checkpoint.create_checkpoint,
        list_checkpoints=checkpoint.list_checkpoints,
        restore_checkpoint=checkpoint.restore_checkpoint,
    )
    _poll: ClassVar[float] = 0.05

    def __init__(
        self,
        path_or_url: str | os.PathLike[str] = DEFAULT_DATABASE,
        config: StateStoreConfig | None = None,
        *,
        clock: Clock | None = None,
        read_only: bool = False,
    ) -> None:
        self._path = database_path(path_or_url)
        if read_only is True and self._path == ":memory:":
            raise ValueError("a read-only store needs a database file, got ':memory:'")
        super().__init__(config, clock, read_only)
        self._connection = ConnectionThread(self._path, self._config, read_only=read_only)
        # Group commit writes through ChangeWrites, never through methods of the store:
        # those would make a reference cycle (see StoreBase.__del__).
        self._writes = loopwrite.ChangeWrites(self._connection, self._retention)
        self._writer = GroupCommit(self._writes, self._config.max_batch)

    @property
    def path(self) -> str:
        """The database file."""
        return self._path

    @property
    def read_only(self) -> bool:
        """Whether the store only reads its file (``read_only=True``)."""
        return self._connection.read_only

    @property
    def is_open(self) -> bool:
        """Whether the store is open."""
        return self._connection.is_open

    def __repr__(self) -> str:
        mode = " read-only" if self.read_only else ""
        return f"<SqliteWorkflowStore {self._path!r} {'open' if self.is_open else 'closed'}{mode}>"

    # -- lifecycle -----------------------------------------------------------------------

    async def open(self) -> Self:
        """Connect, switch to WAL, and bring the schema up to date (read-only: check it).

        A failed open leaves the file as it was, journal mode included.

        Raises:
            StoreError: the file cannot be opened or is not a SQLite database; read-only,
                it is not a descartes_nb database.
            SchemaVersionError: the database was written by a newer schema.
        """
        if self.is_open:
            return self
        await self._connection.open()
        if self.read_only:
            return self
        try:
            conn = await self._run(
                "opening", loopwrite.open_loop_connection, self._path, self._config
            )
        except BaseException:
            await self._connection.close()
            raise
        if conn is not None:
            self._writes.loop_commits = loopwrite.LoopCommits(
                conn, self._retention, self._connection
            )
        return self

    async def close(self) -> None:
        """Finish pending writes and close the connection; harmless when already closed."""
        if not self.is_open:
            return
        await self._writer.wait_idle()
        loop_commits, self._writes.loop_commits = self._writes.loop_commits, None
        if loop_commits is not None:
            await loop_commits.close()  # first: the last connection to close checkpoints
        self._encoder.forget()
        await self._connection.close()

    async def initialize_schema(self) -> int:
        """Apply the schema migrations the database lacks (``open`` already does).

        Returns:
            How many migrations were applied (0 when it was up to date).

        Raises:
            SchemaVersionError: the database was written by a newer schema.
        """
        return await self._run("migrating the schema", initialize_schema, self._path)

    # -- the connection thread -----------------------------------------------------------

    async def _run(self, doing: str, fn: Callable[..., _T], *args: Any) -> _T:
        """Run ``fn(connection, *args)`` on the connection's thread (``ConnectionThread.run``)."""
        return await self._connection.run(doing, fn, *args)

    # -- the fleet -----------------------------------------------------------------------

    def changes(self, *, poll_interval: timedelta | float = DEFAULT_POLL) -> ChangeFeed:
        """The history entries committed from now on, by any process, in commit order.

        The feed has its own connection, looks at ``PRAGMA data_version`` every
        ``poll_interval`` (default 200 ms) and reads the entries added since. Entries written
        after a workflow was deleted may reuse places of its newest entries and be missed.

        Example:
            >>> # async with store.changes() as feed:
            >>> #     async for change in feed: print(change.workflow_id, change.state)
        """
        return SqliteChangeFeed(self._path, self._config, poll_seconds(poll_interval))

    def worker_claims(self) -> fleetsqlite.SqliteClaims:
        """A worker's own connection to this store's file (see ``Worker``)."""
        return fleetsqlite.SqliteClaims(self._path, self._config, self._retention)

    # -- reads ---------------------------------------------------------------------------

    async def load_history_columns(
        self, workflow_ids: Iterable[str] | None = None, *, since: datetime | None = None
    ) -> HistoryColumns:
        """Every stored transition as raw columns, in one query (see ``load_history_frame``).

        Args:
            workflow_ids: only these workflows (None: all).
            since: only transitions at or after this aware time (None: all).

        Raises:
            WorkflowNotFoundError: one of ``workflow_ids`` is not stored.
        """
        ids, since_text = reads.history_filter(workflow_ids, since)
        return await self._run(
            "reading history columns", reads.read_history_columns, ids, since_text
        )

    async def check_integrity(self) -> list[str]:
        """What ``PRAGMA integrity_check`` finds wrong with the file (empty when sound)."""
        return await self._run("checking integrity", salvage.integrity_problems)
