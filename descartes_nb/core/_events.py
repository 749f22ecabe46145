"""WorkflowEvent, the frozen value a workflow processes, and every event name with a meaning.

The names below are the one home of the event names the library itself gives a meaning to:

- the lifecycle's events (``START`` ... ``RETRY``; ``LIFECYCLE`` maps them);
- ``FAIL`` and ``TIMEOUT`` (``FAILURE_EVENTS``): a machine keeps counting retries through
  them, timers process ``TIMEOUT`` when a state's timeout falls due, and Swarm.toml gives
  every workflow both; ``RETRY`` counts one more retry and is processed by retry policies;
- ``ROLLBACK``, reserved: it undoes the last transition, and no definition may map it;
- ``RESTORE``, the event a store records when a workflow is restored to a checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Final

from ..errors import SerializationError
from ._jsonvalue import JSONValue, to_json_value

START: Final = "Start"
PAUSE: Final = "Pause"
RESUME: Final = "Resume"
COMPLETE: Final = "Complete"
FAIL: Final = "Fail"
TIMEOUT: Final = "Timeout"
RETRY: Final = "Retry"
ROLLBACK: Final = "Rollback"
RESTORE: Final = "Restore"
FAILURE_EVENTS: Final = (FAIL, TIMEOUT)
"""The events by which a state fails; a machine keeps its retry count through them."""


@dataclass(frozen=True, slots=True)
class WorkflowEvent:
    """An event with its data; custom events (``is_custom``) never fail for lack of a transition.

    A custom event whose name the definition maps to an allowed transition moves the
    workflow like any other event; otherwise it is recorded as an internal event
    (``from_state == to_state``).

    ``data`` is checked and kept as a read-only copy (see ``core/jsonvalue.py``): the event
    can be shared, processed by many workflows, and kept by handlers, and none of that can
    change what a workflow recorded.

    Raises:
        SerializationError: ``name`` is not a str, or ``data`` is not JSON.

    Example:
        >>> WorkflowEvent.fail("disk full")
        WorkflowEvent(name='Fail', data={'message': 'disk full'}, is_custom=False)
        >>> WorkflowEvent.START.name
        'Start'
    """

    name: str
    data: JSONValue = None
    is_custom: bool = False

    START: ClassVar[WorkflowEvent]
    PAUSE: ClassVar[WorkflowEvent]
    RESUME: ClassVar[WorkflowEvent]
    COMPLETE: ClassVar[WorkflowEvent]
    RETRY: ClassVar[WorkflowEvent]
    TIMEOUT: ClassVar[WorkflowEvent]
    ROLLBACK: ClassVar[WorkflowEvent]

    def __post_init__(self) -> None:
        if type(self.name) is not str:
            if not isinstance(self.name, str):
                raise SerializationError(
                    f"an event name must be a str, got {self.name!r} of type "
                    f"{type(self.name).__name__}"
                )
            object.__setattr__(self, "name", str.__str__(self.name))  # a str subclass, plainly
        if self.data is not None:
            data = to_json_value(self.data, f"data of event {self.name!r}")
            if data is not self.data:
                object.__setattr__(self, "data", data)
        if type(self.is_custom) is not bool:
            raise SerializationError(f"is_custom must be True or False, got {self.is_custom!r}")

    @classmethod
    def fail(cls, message: str) -> WorkflowEvent:
        """Return the ``Fail`` event carrying ``message`` (data ``{"message": message}``)."""
        if not isinstance(message, str):
            raise SerializationError(f"a failure message must be a str, got {message!r}")
        return cls(FAIL, {"message": message})

    @classmethod
    def custom(cls, name: str, data: JSONValue = None) -> WorkflowEvent:
        """Return a custom event; see the class docstring for how it is processed."""
        return cls(name, data, is_custom=True)


WorkflowEvent.START = WorkflowEvent(START)
WorkflowEvent.PAUSE = WorkflowEvent(PAUSE)
WorkflowEvent.RESUME = WorkflowEvent(RESUME)
WorkflowEvent.COMPLETE = WorkflowEvent(COMPLETE)
WorkflowEvent.RETRY = WorkflowEvent(RETRY)
WorkflowEvent.TIMEOUT = WorkflowEvent(TIMEOUT)
WorkflowEvent.ROLLBACK = WorkflowEvent(ROLLBACK)
