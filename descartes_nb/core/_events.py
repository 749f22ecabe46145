"""WorkflowEvent: the frozen value a workflow processes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Final

from ._jsonvalue import JSONValue

__all__ = ["ROLLBACK", "WorkflowEvent"]

ROLLBACK: Final = "Rollback"


@dataclass(frozen=True, slots=True)
class WorkflowEvent:
    """An event with its data; custom events (``is_custom``) never fail for lack of a transition.

    A custom event whose name the definition maps to an allowed transition moves the
    workflow like any other event; otherwise it is recorded as an internal event
    (``from_state == to_state``).

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

    @classmethod
    def fail(cls, message: str) -> WorkflowEvent:
        """Return the ``Fail`` event carrying ``message`` (data ``{"message": message}``)."""
        if not isinstance(message, str):
            raise TypeError(f"a failure message must be str, got {message!r}")
        return cls("Fail", {"message": message})

    @classmethod
    def custom(cls, name: str, data: JSONValue = None) -> WorkflowEvent:
        """Return a custom event; see the class docstring for how it is processed."""
        return cls(name, data, is_custom=True)


WorkflowEvent.START = WorkflowEvent("Start")
WorkflowEvent.PAUSE = WorkflowEvent("Pause")
WorkflowEvent.RESUME = WorkflowEvent("Resume")
WorkflowEvent.COMPLETE = WorkflowEvent("Complete")
WorkflowEvent.RETRY = WorkflowEvent("Retry")
WorkflowEvent.TIMEOUT = WorkflowEvent("Timeout")
WorkflowEvent.ROLLBACK = WorkflowEvent(ROLLBACK)
