"""The WorkflowStore protocol: what machines and the orchestrator need from a store."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import NamedTuple, Protocol, runtime_checkable

from ._events import WorkflowEvent
from ._history import StateHistoryEntry
from ._jsonvalue import JSONValue
from ._serialization import SerializedWorkflow


class DurableTimer(NamedTuple):
    """A timeout or retry a change arms: ``event`` (with ``data``) is due at ``due_at``.

    The store keeps it with the version of the change that armed it (or carried it over);
    it is valid only while the workflow is still at that version.
    """

    event: str
    data: JSONValue
    due_at: datetime


class WorkflowChange(NamedTuple):
    """One durable change of a workflow: its new header, and the entry that caused it.

    The store writes all of it in one transaction. ``version`` is the version this change
    creates: the stored workflow must be at ``version - 1`` (0: not stored yet), otherwise
    the store raises ``ConcurrentModificationError`` and writes nothing.

    A ``NamedTuple`` (a frozen record) like ``StateHistoryEntry``: one is built for every
    durable change, faster than a frozen dataclass (bench/README.md).
    """

    workflow_id: str
    definition: str
    state: str
    context: Mapping[str, JSONValue]
    version: int
    created_at: datetime
    updated_at: datetime
    state_entered_at: datetime
    retry_attempts: int
    transition_count: int
    max_history: int
    entry: StateHistoryEntry | None  # None when only the context changed
    previous_context: Mapping[str, JSONValue] | None  # context of the entry before ``entry``
    # The timers pending once this change is applied (None: the definition has none).
    timers: tuple[DurableTimer, ...] | None = None
    # A statechart's active states and history memory after the change (a flat
    # definition's: empty, its state says it), as ``SerializedWorkflow`` holds them.
    configuration: frozenset[str] = frozenset()
    memory: tuple[tuple[str, tuple[str, ...]], ...] = ()


class Serializable(Protocol):
    """What a store saves whole: a ``WorkflowStateMachine``, or anything that serializes."""

    def serialize(self) -> SerializedWorkflow:
        """Return the whole workflow as a ``SerializedWorkflow``."""
        ...


@runtime_checkable
class Timed(Protocol):
    """A workflow that can say which timers it has pending (a ``WorkflowStateMachine``)."""

    def pending_timers(self) -> tuple[DurableTimer, ...] | None:
        """The timers pending now (None: its definition has none)."""
        ...


@runtime_checkable
class WorkflowStore(Protocol):
    """A durable home for workflows (SQLite, PostgreSQL)."""

    async def save_workflow(self, sm: Serializable, *, overwrite: bool = False) -> None:
        """Write the whole workflow (header and history).

        A workflow stored under the same id is replaced only with ``overwrite``; otherwise
        the write is refused with ``ConcurrentModificationError`` unless ``sm`` continues
        the stored workflow (the same one, at its version or later).
        """
        ...

    async def save_change(self, change: WorkflowChange) -> None:
        """Write one change atomically; return only once it is committed.

        If the caller is cancelled, a change not yet being written is withdrawn (nothing is
        written, CancelledError is raised); one already being written is finished, and then
        the call returns if it was committed (the machine applies it and raises the
        CancelledError itself) or raises CancelledError if it was not. So CancelledError
        means that nothing was written.
        """
        ...

    async def load_workflow(self, workflow_id: str) -> SerializedWorkflow:
        """Read a stored workflow."""
        ...

    async def delete_workflow(self, workflow_id: str) -> None:
        """Remove a workflow with its history."""
        ...


class PendingEvent(Protocol):
    """An event sent through a store (a ``SentEvent``): its outcome, once processed."""

    async def result(self) -> StateHistoryEntry | None:
        """The history entry it caused (None: no longer kept), or raise its refusal."""
        ...


@runtime_checkable
class EventInbox(Protocol):
    """A store that takes events for workflows served by workers (SQLite, PostgreSQL)."""

    async def send_event(
        self, workflow_id: str, event: WorkflowEvent | str, data: JSONValue = None
    ) -> PendingEvent:
        """Record ``event`` for a worker to process."""
        ...
