"""What the fleet's parts share: claimed items, outcomes of sent events, ``SentEvent``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Final, Literal, NamedTuple

from ..core._events import WorkflowEvent
from ..core._history import StateHistoryEntry
from ..core._jsonvalue import JSONValue, to_json_value
from ..core._serialization import SerializedWorkflow
from ..errors import (
    DefinitionError,
    HandlerError,
    InvalidTransitionError,
    SerializationError,
    StateMachineError,
    UnknownEventError,
    WorkflowError,
    WorkflowNotFoundError,
)

_FIRST_POLL: Final = 0.002  # seconds; doubled up to the store's poll interval
_REFUSALS: Final[dict[str, type[StateMachineError]]] = {
    cls.__name__: cls
    for cls in (
        DefinitionError,
        HandlerError,
        InvalidTransitionError,
        SerializationError,
        UnknownEventError,
        WorkflowError,
        WorkflowNotFoundError,
    )
}


class Claimed(NamedTuple):
    """An item a worker holds: a due timer or a sent event, with its workflow as stored."""

    kind: Literal["timer", "event"]
    key: int  # the timer's row, or the event's key in the inbox
    workflow_id: str
    event: str
    data: JSONValue
    version: int | None  # a timer: the version it was armed at
    workflow: SerializedWorkflow | WorkflowNotFoundError | SerializationError


class Outcome(NamedTuple):
    """What became of a sent event: the seq of its history entry, or the refusal."""

    seq: int | None
    error: str | None  # the error's class name
    message: str | None


def refusal_outcome(exc: StateMachineError) -> Outcome:
    """The outcome recorded for an event refused with ``exc``."""
    name = type(exc).__name__ if type(exc).__name__ in _REFUSALS else "WorkflowError"
    return Outcome(None, name, str(exc))


def unpack_event(event: WorkflowEvent | str, data: JSONValue) -> tuple[str, JSONValue]:
    """The name and checked data of an event given as a ``WorkflowEvent`` or a name."""
    if isinstance(event, WorkflowEvent):
        if data is not None:
            raise TypeError("give event data either in the WorkflowEvent or as data=, not both")
        name, data = event.name, event.data
    elif isinstance(event, str) and event:
        name = str(event)
    else:
        raise SerializationError(
            f"an event must be a WorkflowEvent or a non-empty event name (str), got {event!r}"
        )
    return name, to_json_value(data, f"data of event {name!r}")


def poll_seconds(interval: timedelta | float) -> float:
    """A polling interval in seconds, checked (> 0)."""
    seconds = interval.total_seconds() if isinstance(interval, timedelta) else interval
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or not seconds > 0:
        raise ValueError(
            f"a polling interval must be a timedelta or seconds > 0, got {interval!r}"
        )
    return float(seconds)


class SentEvent:
    """An event recorded in a store's inbox; ``await sent.result()`` gives what it caused.

    Attributes:
        key: its place in the inbox (events to one workflow are processed in key order).
        workflow_id: the workflow it was sent to.
        event: its name.
    """

    __slots__ = ("_entry", "_outcome", "_poll", "event", "key", "workflow_id")

    def __init__(
        self,
        key: int,
        workflow_id: str,
        event: str,
        outcome: Callable[[int], Awaitable[Outcome | None]],
        entry: Callable[[str, int], Awaitable[StateHistoryEntry | None]],
        poll: float,
    ) -> None:
        self.key = key
        self.workflow_id = workflow_id
        self.event = event
        self._outcome = outcome
        self._entry = entry
        self._poll = poll

    def __repr__(self) -> str:
        return f"<SentEvent {self.key} {self.event!r} to {self.workflow_id!r}>"

    async def result(self) -> StateHistoryEntry | None:
        """Wait until a worker processed the event; return its history entry.

        Bound the wait with ``asyncio.timeout``; the event stays sent and may be processed
        later. Returns None only when the entry was processed but is no longer kept
        (``StateStoreConfig.history_limit``).

        Raises:
            WorkflowError: the workflow refused it (``InvalidTransitionError``,
                ``UnknownEventError``, ``HandlerError``), with the worker's message.
            WorkflowNotFoundError: no such workflow is stored.
        """
        wait = _FIRST_POLL
        while (outcome := await self._outcome(self.key)) is None:
            await asyncio.sleep(wait)
            wait = min(wait * 2, self._poll)
        if outcome.error is not None:
            raise self._error(outcome)
        assert outcome.seq is not None
        return await self._entry(self.workflow_id, outcome.seq)

    def _error(self, outcome: Outcome) -> StateMachineError:
        cls = _REFUSALS.get(outcome.error or "", WorkflowError)
        message = outcome.message or ""
        if issubclass(cls, WorkflowError):
            return cls(message, workflow_id=self.workflow_id, event=self.event)
        return cls(message)
