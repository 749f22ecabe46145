"""SqliteWorkflowStore: workflows, their history and checkpoints in one SQLite file."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Final, Self, TypeVar

from ..core._clock import Clock, SystemClock
from ..core._events import WorkflowEvent
from ..core._history import StateHistoryEntry
from ..core._jsonvalue import JSONValue
from ..core._ports import Serializable, Timed, WorkflowChange
from ..core._serialization import SerializedWorkflow, time_text
from ..errors import SerializationError, StoreError
from . import _checkpoint as checkpoint
from . import _fleetsqlite as fleetsqlite
from . import _loopwrite as loopwrite
from . import _reads as reads
from . import _salvage as salvage
from . import _wholewrite as wholewrite
from . import _writes as writes
from ._changes import DEFAULT_POLL, ChangeFeed, SqliteChangeFeed
from ._checkpoint import Checkpoint
from ._codec import check_names, header_row, json_text, transition_row
from ._committer import GroupCommit, StoreStats
from ._config import DEFAULT_DATABASE, StateStoreConfig, database_path
from ._connection import ConnectionThread
from ._encode import ChangeEncoder
from ._fleet import Outcome, SentEvent, poll_seconds, unpack_event
from ._reads import HistoryColumns
from ._schema import initialize_schema
from ._timerrows import timer_rows

_T = TypeVar("_T")
_POLL: Final = 0.05  # seconds between looks at the outcome of a sent event, at most


class SqliteWorkflowStore:
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

    def __init__(
        self,
        path_or_url: str | os.PathLike[str] = DEFAULT_DATABASE,
        config: StateStoreConfig | None = None,
        *,
        clock: Clock | None = None,
        read_only: bool = False,
    ) -> None:
        self._path = database_path(path_or_url)
        if not isinstance(read_only, bool):
            raise TypeError(f"read_only must be True or False, got {read_only!r}")
        if read_only and self._path == ":memory:":
            raise ValueError("a read-only store needs a database file, got ':memory:'")
        self._config = config or StateStoreConfig()
        if not isinstance(self._config, StateStoreConfig):
            raise TypeError(f"config must be a StateStoreConfig, got {config!r}")
        self._clock: Clock = clock or SystemClock()
        self._retention = writes.Retention(
            self._config.history_limit, self._config.history_max_age
        )
        self._connection = ConnectionThread(self._path, self._config, read_only=read_only)
        # Group commit writes through ChangeWrites, never through methods of the store:
        # those would make a reference cycle (see __del__).
        self._writes = loopwrite.ChangeWrites(self._connection, self._retention)
        self._writer = GroupCommit(self._writes, self._config.max_batch)
        self._encoder = ChangeEncoder()

    @property
    def path(self) -> str:
        """The database file."""
        return self._path

    @property
    def config(self) -> StateStoreConfig:
        """The settings this store was opened with."""
        return self._config

    @property
    def read_only(self) -> bool:
        """Whether the store only reads its file (``read_only=True``)."""
        return self._connection.read_only

    @property
    def is_open(self) -> bool:
        """Whether the store is open."""
        return self._connection.is_open

    @property
    def stats(self) -> StoreStats:
        """What ``save_change`` committed since this store was made (changes, transactions)."""
        return self._writer.stats

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
        # Nothing the store holds refers back to it, so this runs as soon as the last
        # reference goes; aiosqlite's connection, dropped next, then stops its thread.
        connection = getattr(self, "_connection", None)
        if connection is not None and connection.is_open:
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
        return await self._run("migrating the schema", initialize_schema, self._path)

    # -- the connection thread -----------------------------------------------------------

    async def _run(self, doing: str, fn: Callable[..., _T], *args: Any) -> _T:
        """Run ``fn(connection, *args)`` on the connection's thread (``ConnectionThread.run``)."""
        return await self._connection.run(doing, fn, *args)

    # -- writes --------------------------------------------------------------------------

    async def save_change(self, change: WorkflowChange) -> None:
        """Commit one change of a machine: its header and its history entry, atomically.

        Machines built with ``store=`` call this before applying each change. It returns
        once the change is committed; changes of concurrent workflows share a transaction.

        If the caller is cancelled while the change waits in the queue, the change is
        withdrawn and CancelledError raised: nothing is written. Once it is being written
        (say, on the connection's thread, waiting up to ``busy_timeout`` for another
        connection's lock) it is finished first: then this returns if it was committed,
        leaving the cancellation to the caller (the machine applies the change, then raises
        CancelledError), or raises CancelledError if it was not. CancelledError therefore
        always means that nothing was written.

        Raises:
            ConcurrentModificationError: the stored version is not ``change.version - 1``
                (another writer got there first); nothing was written.
            StoreError: the database failed; nothing was written.
            SerializationError: an id, state or event holds a lone surrogate (not UTF-8).
        """
        await self._writer.submit(self._encoder.encode(change))

    async def save_workflow(self, sm: Serializable, *, overwrite: bool = False) -> None:
        """Write a whole workflow (header and history).

        A workflow not yet stored is added. One already stored is written only when ``sm``
        continues it: the same workflow (created at the same time), at the stored version
        or later, its history going on from the stored newest entry; then only its new
        entries are added, and nothing stored is lost. A new machine with a stored id, or
        one that fell behind, is refused, as a change on a stale version is.

        Args:
            sm: the machine to write.
            overwrite: replace the stored workflow and its whole history with ``sm``.

        Raises:
            ConcurrentModificationError: the workflow is stored and ``sm`` does not continue
                it (say, a new machine with the same id); nothing was written.
            StoreError: the database failed; nothing was written.
        """
        if not isinstance(overwrite, bool):
            raise TypeError(f"overwrite must be True or False, got {overwrite!r}")
        sw = sm.serialize()
        await self._run(
            f"saving workflow {sw.workflow_id!r}",
            wholewrite.write_workflow,
            header_row(sw, json_text(sw.context)),
            sw.history,
            self._retention,
            overwrite,
            timer_rows(sm.pending_timers()) if isinstance(sm, Timed) else None,
        )
        self._encoder.forget(sw.workflow_id)

    async def save_transition(self, workflow_id: str, entry: StateHistoryEntry) -> None:
        """Append one history entry to a stored workflow, moving its state and context along.

        The entry must continue the stored history (the next seq, from the stored state).
        The retry count is left as stored; machines built with ``store=`` keep it exact.

        Raises:
            WorkflowNotFoundError: the workflow is not stored.
            ConcurrentModificationError: the entry does not continue the stored history.
        """
        if not isinstance(entry, StateHistoryEntry):
            raise TypeError(f"entry must be a StateHistoryEntry, got {entry!r}")
        row = transition_row(entry, json_text(entry.context), json_text(entry.context_before))
        await self._run(
            f"saving a transition of workflow {workflow_id!r}",
            writes.append_transition,
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
        await self._run(f"deleting workflow {workflow_id!r}", writes.delete_workflow, workflow_id)
        self._encoder.forget(workflow_id)

    # -- the fleet -----------------------------------------------------------------------

    async def send_event(
        self, workflow_id: str, event: WorkflowEvent | str, data: JSONValue = None
    ) -> SentEvent:
        """Record ``event`` for workflow ``workflow_id``, for a ``Worker`` to process.

        Events to one workflow are processed in the order sent, each exactly once, under
        the version check; ``await (await store.send_event(...)).result(timeout)`` gives the
        history entry, or raises the refusal.

        Raises:
            SerializationError: the event is not a name or ``WorkflowEvent``, or its data is
                not JSON.
        """
        name, checked = unpack_event(event, data)
        check_names(str(workflow_id), str(workflow_id), name)
        text = None if checked is None else json_text(checked)
        key = await self._run(
            f"sending {name!r} to workflow {workflow_id!r}",
            fleetsqlite.send_event,
            workflow_id,
            name,
            text,
            time_text(self._clock.now()),
        )
        return SentEvent(key, workflow_id, name, self._outcome, self._entry, _POLL)

    async def _outcome(self, key: int) -> Outcome | None:
        return await self._run("reading an outcome", fleetsqlite.read_outcome, key)

    async def _entry(self, workflow_id: str, seq: int) -> StateHistoryEntry | None:
        found = await self.get_workflow_history(workflow_id, since_seq=seq - 1, limit=1)
        return found[0] if found and found[0].seq == seq else None

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

    async def load_workflow(self, workflow_id: str) -> SerializedWorkflow:
        """Read a workflow with its newest ``max_history`` history entries.

        Raises:
            WorkflowNotFoundError: it is not stored.
            SerializationError: a stored value is unreadable (see ``WorkflowRecovery``).
        """
        return await self._run(
            f"loading workflow {workflow_id!r}", reads.read_workflow, workflow_id
        )

    async def load_all_workflows(
        self,
    ) -> list[tuple[str, SerializedWorkflow | SerializationError | StoreError]]:
        """Read every stored workflow, by id; for an unreadable one, the reason instead.

        On a damaged file, every workflow that can still be read is, one by one; a damaged
        page fails only the workflows whose rows it holds (``StoreError`` as the reason).

        Raises:
            StoreError: no workflow at all can be read.
        """
        return await self._run("loading all workflows", salvage.read_all_workflows)

    async def get_workflow_history(
        self, workflow_id: str, *, since_seq: int = 0, limit: int | None = None
    ) -> list[StateHistoryEntry]:
        """The stored history entries with a seq above ``since_seq``, oldest first.

        Args:
            workflow_id: the workflow.
            since_seq: only entries after this seq (0: from the oldest kept).
            limit: at most this many entries (None: all).

        Raises:
            WorkflowNotFoundError: the workflow is not stored.
        """
        if type(since_seq) is not int or since_seq < 0:
            raise ValueError(f"since_seq must be an int >= 0, got {since_seq!r}")
        if limit is not None and (type(limit) is not int or limit < 0):
            raise ValueError(f"limit must be an int >= 0 or None, got {limit!r}")
        return await self._run(
            f"reading the history of workflow {workflow_id!r}",
            reads.read_history,
            workflow_id,
            since_seq,
            limit,
        )

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

    async def list_workflows(
        self, *, state: str | None = None, definition: str | None = None
    ) -> list[str]:
        """The stored workflow ids, sorted; only those in ``state`` / of ``definition``."""
        return await self._run(
            "listing workflows",
            reads.list_workflow_ids,
            None if state is None else str(state),
            definition,
        )

    async def check_integrity(self) -> list[str]:
        """What ``PRAGMA integrity_check`` finds wrong with the file (empty when sound)."""
        return await self._run("checking integrity", salvage.integrity_problems)

    # -- checkpoints ---------------------------------------------------------------------

    async def create_checkpoint(self, workflow_id: str, label: str | None = None) -> Checkpoint:
        """Snapshot a stored workflow's state and context; ``restore_checkpoint`` goes back.

        Raises:
            WorkflowNotFoundError: the workflow is not stored.
        """
        if label is not None and not isinstance(label, str):
            raise TypeError(f"a checkpoint label must be str or None, got {label!r}")
        await self._writer.wait_idle()
        now = time_text(self._clock.now())
        return await self._run(
            f"checkpointing workflow {workflow_id!r}",
            checkpoint.create_checkpoint,
            workflow_id,
            label,
            now,
        )

    async def list_checkpoints(self, workflow_id: str) -> list[Checkpoint]:
        """The checkpoints of a workflow, oldest first.

        Raises:
            WorkflowNotFoundError: the workflow is not stored.
        """
        return await self._run(
            f"listing checkpoints of {workflow_id!r}", checkpoint.list_checkpoints, workflow_id
        )

    async def restore_checkpoint(
        self, workflow_id: str, checkpoint_id_or_label: int | str
    ) -> SerializedWorkflow:
        """Put a stored workflow back to a checkpoint's state and context.

        The restore is recorded as a ``Restore`` history entry (seq keeps counting) and
        raises the workflow's version, so machines still holding the old one get
        ``ConcurrentModificationError``; rebuild them from the returned snapshot
        (``WorkflowStateMachine.deserialize``) or with ``WorkflowRecovery``.

        Args:
            workflow_id: the workflow.
            checkpoint_id_or_label: a checkpoint id, or a label (its newest checkpoint).

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
        await self._run(
            f"restoring workflow {workflow_id!r}",
            checkpoint.restore_checkpoint,
            workflow_id,
            checkpoint_id_or_label,
            self._clock.now(),
            self._retention,
        )
        self._encoder.forget(workflow_id)
        return await self.load_workflow(workflow_id)
