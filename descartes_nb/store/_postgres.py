"""PostgresWorkflowStore: workflows, their history and checkpoints in a PostgreSQL database."""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from datetime import datetime, timedelta
from types import TracebackType
from typing import Final, Self

from ..core._clock import Clock, SystemClock
from ..core._events import WorkflowEvent
from ..core._history import StateHistoryEntry
from ..core._jsonvalue import JSONValue
from ..core._ports import Serializable, Timed, WorkflowChange
from ..core._serialization import SerializedWorkflow, time_text
from ..errors import SerializationError, StoreError
from . import _pgedits as pgedits
from . import _pgfleet as pgfleet
from . import _pgreads as pgreads
from . import _pgschema as pgschema
from . import _pgwrites as pgwrites
from ._changes import DEFAULT_POLL, ChangeFeed
from ._checkpoint import Checkpoint
from ._codec import check_names, header_row, json_text, transition_row
from ._committer import GroupCommit, StoreStats
from ._config import StateStoreConfig
from ._encode import ChangeEncoder
from ._fleet import Outcome, SentEvent, poll_seconds, unpack_event
from ._pgchanges import PgChangeFeed
from ._pgpool import Pool, check_url, shown
from ._reads import HistoryColumns, history_filter
from ._timerrows import timer_rows
from ._writes import Retention

_POLL: Final = 0.02  # seconds between looks at the outcome of a sent event, at most


class PostgresWorkflowStore:
    """Workflows, their history and checkpoints in PostgreSQL, for many processes and hosts.

    The same methods and guarantees as ``SqliteWorkflowStore``: a machine built with
    ``store=`` commits each change in one transaction before ``process_event`` returns;
    changes of concurrent workflows share a statement and a transaction (group commit),
    and a conflicting one fails alone. Each workflow carries a version: a change based on a
    stale one raises ``ConcurrentModificationError`` and writes nothing, whichever process
    or host wrote the other. A lost connection, a server restart, a statement timeout or a
    full disk raise ``StoreError`` saying so, change nothing in the machine, and the next
    call connects anew. Cancellation works as in ``SqliteWorkflowStore.save_change``.

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

    def __init__(
        self,
        url: str,
        config: StateStoreConfig | None = None,
        *,
        clock: Clock | None = None,
        read_only: bool = False,
    ) -> None:
        self._url = check_url(url)
        if not isinstance(read_only, bool):
            raise TypeError(f"read_only must be True or False, got {read_only!r}")
        self._config = config or StateStoreConfig()
        if not isinstance(self._config, StateStoreConfig):
            raise TypeError(f"config must be a StateStoreConfig, got {config!r}")
        self._clock: Clock = clock or SystemClock()
        self._read_only = read_only
        retention = Retention(self._config.history_limit, self._config.history_max_age)
        self._retention = retention
        self._pool = Pool(self._url, self._config, retention, read_only=read_only)
        self._writer = GroupCommit(
            self._pool, self._config.max_batch, in_flight=self._config.pool_size
        )
        self._encoder = ChangeEncoder()

    @property
    def url(self) -> str:
        """The database URL, its password hidden."""
        return shown(self._url)

    @property
    def config(self) -> StateStoreConfig:
        """The settings this store was opened with."""
        return self._config

    @property
    def read_only(self) -> bool:
        """Whether the store only reads (``read_only=True``)."""
        return self._read_only

    @property
    def is_open(self) -> bool:
        """Whether the store is open."""
        return self._pool.is_open

    @property
    def stats(self) -> StoreStats:
        """What ``save_change`` committed since this store was made (changes, transactions)."""
        return self._writer.stats

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

    async def __aenter__(self) -> Self:
        return await self.open()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __del__(self) -> None:
        pool = getattr(self, "_pool", None)
        if pool is not None and pool.is_open:
            warnings.warn(
                f"{self!r} was never closed; use 'async with' or 'await store.close()'",
                ResourceWarning,
                stacklevel=2,
                source=self,
            )

    async def initialize_schema(self) -> int:
        """Apply the schema migrations the database lacks (``open`` already does).

        Returns:
            How many migrations were applied (0 when it was up to date).

        Raises:
            SchemaVersionError: the database was written by a newer schema.
        """
        return await self._pool.run(
            "migrating the schema", pgschema.initialize_schema, self._pool.where
        )

    # -- writes --------------------------------------------------------------------------

    async def save_change(self, change: WorkflowChange) -> None:
        """Commit one change of a machine: its header and its history entry, atomically.

        See ``SqliteWorkflowStore.save_change``: the same guarantees, cancellation included.

        Raises:
            ConcurrentModificationError: the stored version is not ``change.version - 1``.
            StoreError: the database failed or could not be reached; nothing was written.
            SerializationError: an id, state or event cannot be stored as text.
        """
        await self._writer.submit(self._encoder.encode(change))

    async def save_workflow(self, sm: Serializable, *, overwrite: bool = False) -> None:
        """Write a whole workflow (see ``SqliteWorkflowStore.save_workflow``).

        Raises:
            ConcurrentModificationError: the workflow is stored and ``sm`` does not continue
                it; nothing was written.
            StoreError: the database failed; nothing was written.
        """
        if not isinstance(overwrite, bool):
            raise TypeError(f"overwrite must be True or False, got {overwrite!r}")
        sw = sm.serialize()
        await self._pool.run(
            f"saving workflow {sw.workflow_id!r}",
            pgwrites.write_workflow,
            header_row(sw, json_text(sw.context)),
            sw.history,
            self._retention,
            overwrite,
            timer_rows(sm.pending_timers()) if isinstance(sm, Timed) else None,
        )
        self._encoder.forget(sw.workflow_id)

    async def save_transition(self, workflow_id: str, entry: StateHistoryEntry) -> None:
        """Append one history entry to a stored workflow (see ``SqliteWorkflowStore``).

        Raises:
            WorkflowNotFoundError: the workflow is not stored.
            ConcurrentModificationError: the entry does not continue the stored history.
        """
        if not isinstance(entry, StateHistoryEntry):
            raise TypeError(f"entry must be a StateHistoryEntry, got {entry!r}")
        row = transition_row(entry, json_text(entry.context), json_text(entry.context_before))
        await self._pool.run(
            f"saving a transition of workflow {workflow_id!r}",
            pgedits.append_transition,
            workflow_id,
            row,
            self._retention,
        )
        self._encoder.forget(workflow_id)

    async def delete_workflow(self, workflow_id: str) -> None:
        """Delete a workflow, its history and its checkpoints.

        Raises:
            WorkflowNotFoundError: it is not stored.
        """
        await self._writer.wait_idle()
        await self._pool.run(
            f"deleting workflow {workflow_id!r}", pgedits.delete_workflow, workflow_id
        )
        self._encoder.forget(workflow_id)

    # -- the fleet -----------------------------------------------------------------------

    async def send_event(
        self, workflow_id: str, event: WorkflowEvent | str, data: JSONValue = None
    ) -> SentEvent:
        """Record ``event`` for workflow ``workflow_id``, for a ``Worker`` to process.

        See ``SqliteWorkflowStore.send_event``; idle workers are woken by ``NOTIFY``.

        Raises:
            SerializationError: the event is not a name or ``WorkflowEvent``, or its data is
                not JSON.
        """
        name, checked = unpack_event(event, data)
        check_names(str(workflow_id), str(workflow_id), name)
        key = await self._pool.run(
            f"sending {name!r} to workflow {workflow_id!r}",
            pgfleet.send_event,
            workflow_id,
            name,
            None if checked is None else json_text(checked),
            time_text(self._clock.now()),
        )
        return SentEvent(key, workflow_id, name, self._outcome, self._entry, _POLL)

    async def _outcome(self, key: int) -> Outcome | None:
        return await self._pool.run("reading an outcome", pgfleet.read_outcome, key)

    async def _entry(self, workflow_id: str, seq: int) -> StateHistoryEntry | None:
        found = await self.get_workflow_history(workflow_id, since_seq=seq - 1, limit=1)
        return found[0] if found and found[0].seq == seq else None

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

    async def load_workflow(self, workflow_id: str) -> SerializedWorkflow:
        """Read a workflow with its newest ``max_history`` history entries.

        Raises:
            WorkflowNotFoundError: it is not stored.
            SerializationError: a stored value is unreadable.
        """
        return await self._pool.run(
            f"loading workflow {workflow_id!r}", pgreads.read_workflow, workflow_id
        )

    async def load_all_workflows(
        self,
    ) -> list[tuple[str, SerializedWorkflow | SerializationError | StoreError]]:
        """Read every stored workflow, by id; for an unreadable one, the reason instead."""
        return await self._pool.run("loading all workflows", pgreads.read_all_workflows)

    async def get_workflow_history(
        self, workflow_id: str, *, since_seq: int = 0, limit: int | None = None
    ) -> list[StateHistoryEntry]:
        """The stored history entries with a seq above ``since_seq``, oldest first.

        Raises:
            WorkflowNotFoundError: the workflow is not stored.
        """
        if type(since_seq) is not int or since_seq < 0:
            raise ValueError(f"since_seq must be an int >= 0, got {since_seq!r}")
        if limit is not None and (type(limit) is not int or limit < 0):
            raise ValueError(f"limit must be an int >= 0 or None, got {limit!r}")
        return await self._pool.run(
            f"reading the history of workflow {workflow_id!r}",
            pgreads.read_history,
            workflow_id,
            since_seq,
            limit,
        )

    async def load_history_columns(
        self, workflow_ids: Iterable[str] | None = None, *, since: datetime | None = None
    ) -> HistoryColumns:
        """Every stored transition as raw columns, in one query (see ``load_history_frame``).

        Raises:
            WorkflowNotFoundError: one of ``workflow_ids`` is not stored.
        """
        ids, _text = history_filter(workflow_ids, since)
        return await self._pool.run(
            "reading history columns", pgreads.read_history_columns, ids, since
        )

    async def list_workflows(
        self, *, state: str | None = None, definition: str | None = None
    ) -> list[str]:
        """The stored workflow ids, sorted; only those in ``state`` / of ``definition``."""
        return await self._pool.run(
            "listing workflows",
            pgreads.list_workflow_ids,
            None if state is None else str(state),
            definition,
        )

    async def check_integrity(self) -> list[str]:
        """Always empty: the server keeps its own files sound (see its logs for damage)."""
        await self._pool.run("checking the connection", _ping)
        return []

    # -- checkpoints ---------------------------------------------------------------------

    async def create_checkpoint(self, workflow_id: str, label: str | None = None) -> Checkpoint:
        """Snapshot a stored workflow's state and context; ``restore_checkpoint`` goes back.

        Raises:
            WorkflowNotFoundError: the workflow is not stored.
        """
        if label is not None and not isinstance(label, str):
            raise TypeError(f"a checkpoint label must be str or None, got {label!r}")
        await self._writer.wait_idle()
        return await self._pool.run(
            f"checkpointing workflow {workflow_id!r}",
            pgedits.create_checkpoint,
            workflow_id,
            label,
            time_text(self._clock.now()),
        )

    async def list_checkpoints(self, workflow_id: str) -> list[Checkpoint]:
        """The checkpoints of a workflow, oldest first.

        Raises:
            WorkflowNotFoundError: the workflow is not stored.
        """
        return await self._pool.run(
            f"listing checkpoints of {workflow_id!r}", pgedits.list_checkpoints, workflow_id
        )

    async def restore_checkpoint(
        self, workflow_id: str, checkpoint_id_or_label: int | str
    ) -> SerializedWorkflow:
        """Put a stored workflow back to a checkpoint (see ``SqliteWorkflowStore``).

        Raises:
            WorkflowNotFoundError: the workflow is not stored.
            StoreError: it has no such checkpoint.
        """
        if not isinstance(checkpoint_id_or_label, int | str) or isinstance(
            checkpoint_id_or_label, bool
        ):
            raise TypeError(
                f"a checkpoint is an id (int) or a label (str), got {checkpoint_id_or_label!r}"
            )
        await self._writer.wait_idle()
        await self._pool.run(
            f"restoring workflow {workflow_id!r}",
            pgedits.restore_checkpoint,
            workflow_id,
            checkpoint_id_or_label,
            self._clock.now(),
            self._retention,
        )
        self._encoder.forget(workflow_id)
        return await self.load_workflow(workflow_id)


async def _ping(conn: pgschema.Connection) -> None:
    await conn.fetchval("SELECT 1")
