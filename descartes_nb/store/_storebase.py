"""What both stores do above their databases: the public methods they share.

Each method checks its arguments, then runs one operation of the store's database on one
of its connections (``_run``): a function from the store's ``Operations``, given the
connection first. SQLite runs plain functions on its connection's thread, PostgreSQL
coroutines on a pooled connection; the methods here do not care which.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable
from types import TracebackType
from typing import Any, ClassVar, NamedTuple, Self

from ..core._clock import Clock, SystemClock
from ..core._events import WorkflowEvent
from ..core._history import StateHistoryEntry
from ..core._jsonvalue import JSONValue
from ..core._ports import Serializable, Timed, WorkflowChange
from ..core._serialization import SerializedWorkflow, time_text
from ..errors import SerializationError, StoreError
from ._checkpoint import Checkpoint
from ._codec import check_names, header_row, json_text, transition_row
from ._committer import GroupCommit, StoreStats
from ._config import StateStoreConfig
from ._encode import ChangeEncoder
from ._fleet import Outcome, SentEvent, unpack_event
from ._timerrows import timer_rows
from ._writes import Retention


class Operations(NamedTuple):
    """The operations of one database, each ``fn(connection, *args)``."""

    write_workflow: Callable[..., Any]
    append_transition: Callable[..., Any]
    delete_workflow: Callable[..., Any]
    send_event: Callable[..., Any]
    read_outcome: Callable[..., Any]
    read_workflow: Callable[..., Any]
    read_all_workflows: Callable[..., Any]
    read_history: Callable[..., Any]
    list_workflow_ids: Callable[..., Any]
    create_checkpoint: Callable[..., Any]
    list_checkpoints: Callable[..., Any]
    restore_checkpoint: Callable[..., Any]


class StoreBase(ABC):
    """The methods both stores share; a store adds its database (see the module docstring)."""

    _ops: ClassVar[Operations]
    _poll: ClassVar[float]  # seconds between looks at the outcome of a sent event, at most
    _writer: GroupCommit  # set by the store, once it has its connections

    def __init__(
        self, config: StateStoreConfig | None, clock: Clock | None, read_only: bool
    ) -> None:
        if not isinstance(read_only, bool):
            raise TypeError(f"read_only must be True or False, got {read_only!r}")
        self._config = config or StateStoreConfig()
        if not isinstance(self._config, StateStoreConfig):
            raise TypeError(f"config must be a StateStoreConfig, got {config!r}")
        self._clock: Clock = clock or SystemClock()
        self._retention = Retention(self._config.history_limit, self._config.history_max_age)
        self._encoder = ChangeEncoder()

    @property
    def config(self) -> StateStoreConfig:
        """The settings this store was opened with."""
        return self._config

    @property
    @abstractmethod
    def is_open(self) -> bool:
        """Whether the store is open."""

    @property
    def stats(self) -> StoreStats:
        """What ``save_change`` committed since this store was made (changes, transactions)."""
        return self._writer.stats

    @abstractmethod
    async def open(self) -> Self:
        """Connect and bring the schema up to date (read-only: check it)."""

    @abstractmethod
    async def close(self) -> None:
        """Finish pending writes and close the connections; harmless when already closed."""

    @abstractmethod
    async def _run(self, doing: str, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(connection, *args)`` on one of the store's connections.

        Raises:
            StoreError: the store is not open, or the database failed while ``doing``.
        """

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
        # reference goes (and its connections, dropped next, stop).
        try:
            never_closed = self.is_open
        except AttributeError:  # __init__ failed before the connections were made
            return
        if never_closed:
            warnings.warn(
                f"{self!r} was never closed; use 'async with' or 'await store.close()'",
                ResourceWarning,
                stacklevel=2,
                source=self,
            )

    # -- writes --------------------------------------------------------------------------

    async def save_change(self, change: WorkflowChange) -> None:
        """Commit one change of a machine: its header and its history entry, atomically.

        Machines built with ``store=`` call this before applying each change. It returns
        once the change is committed; changes of concurrent workflows share a transaction.

        If the caller is cancelled while the change waits in the queue, the change is
        withdrawn and CancelledError raised: nothing is written. Once it is being written
        (say, waiting up to ``busy_timeout`` for another connection's lock) it is finished
        first: then this returns if it was committed, leaving the cancellation to the
        caller (the machine applies the change, then raises CancelledError), or raises
        CancelledError if it was not. CancelledError therefore always means that nothing
        was written.

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
            self._ops.write_workflow,
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
            self._ops.append_transition,
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
        await self._run(
            f"deleting workflow {workflow_id!r}", self._ops.delete_workflow, workflow_id
        )
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
        key = await self._run(
            f"sending {name!r} to workflow {workflow_id!r}",
            self._ops.send_event,
            workflow_id,
            name,
            None if checked is None else json_text(checked),
            time_text(self._clock.now()),
        )
        return SentEvent(key, workflow_id, name, self._outcome, self._entry, self._poll)

    async def _outcome(self, key: int) -> Outcome | None:
        outcome: Outcome | None = await self._run(
            "reading an outcome", self._ops.read_outcome, key
        )
        return outcome

    async def _entry(self, workflow_id: str, seq: int) -> StateHistoryEntry | None:
        found = await self.get_workflow_history(workflow_id, since_seq=seq - 1, limit=1)
        return found[0] if found and found[0].seq == seq else None

    # -- reads ---------------------------------------------------------------------------

    async def load_workflow(self, workflow_id: str) -> SerializedWorkflow:
        """Read a workflow with its newest ``max_history`` history entries.

        Raises:
            WorkflowNotFoundError: it is not stored.
            SerializationError: a stored value is unreadable (see ``WorkflowRecovery``).
        """
        found: SerializedWorkflow = await self._run(
            f"loading workflow {workflow_id!r}", self._ops.read_workflow, workflow_id
        )
        return found

    async def load_all_workflows(
        self,
    ) -> list[tuple[str, SerializedWorkflow | SerializationError | StoreError]]:
        """Read every stored workflow, by id; for an unreadable one, the reason instead.

        On a damaged SQLite file, every workflow that can still be read is, one by one; a
        damaged page fails only the workflows whose rows it holds (``StoreError`` as the
        reason).

        Raises:
            StoreError: no workflow at all can be read.
        """
        found: list[tuple[str, SerializedWorkflow | SerializationError | StoreError]]
        found = await self._run("loading all workflows", self._ops.read_all_workflows)
        return found

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
        entries: list[StateHistoryEntry] = await self._run(
            f"reading the history of workflow {workflow_id!r}",
            self._ops.read_history,
            workflow_id,
            since_seq,
            limit,
        )
        return entries

    async def list_workflows(
        self, *, state: str | None = None, definition: str | None = None
    ) -> list[str]:
        """The stored workflow ids, sorted; only those in ``state`` / of ``definition``."""
        ids: list[str] = await self._run(
            "listing workflows",
            self._ops.list_workflow_ids,
            None if state is None else str(state),
            definition,
        )
        return ids

    # -- checkpoints ---------------------------------------------------------------------

    async def create_checkpoint(self, workflow_id: str, label: str | None = None) -> Checkpoint:
        """Snapshot a stored workflow's state and context; ``restore_checkpoint`` goes back.

        Raises:
            WorkflowNotFoundError: the workflow is not stored.
        """
        if label is not None and not isinstance(label, str):
            raise TypeError(f"a checkpoint label must be str or None, got {label!r}")
        await self._writer.wait_idle()
        made: Checkpoint = await self._run(
            f"checkpointing workflow {workflow_id!r}",
            self._ops.create_checkpoint,
            workflow_id,
            label,
            time_text(self._clock.now()),
        )
        return made

    async def list_checkpoints(self, workflow_id: str) -> list[Checkpoint]:
        """The checkpoints of a workflow, oldest first.

        Raises:
            WorkflowNotFoundError: the workflow is not stored.
        """
        found: list[Checkpoint] = await self._run(
            f"listing checkpoints of {workflow_id!r}", self._ops.list_checkpoints, workflow_id
        )
        return found

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
            self._ops.restore_checkpoint,
            workflow_id,
            checkpoint_id_or_label,
            self._clock.now(),
            self._retention,
        )
        self._encoder.forget(workflow_id)
        return await self.load_workflow(workflow_id)
