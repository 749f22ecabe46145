"""Why an event is refused: the error, with a message that says what is allowed instead."""

from __future__ import annotations

from ..errors import InvalidTransitionError, UnknownEventError, WorkflowError
from . import _engine as engine
from ._definition import WorkflowDefinition
from ._events import ROLLBACK


def refusal(
    definition: WorkflowDefinition,
    state: str,
    event: str,
    *,
    workflow_id: str,
    enabled: list[str],
    kept: int,
) -> WorkflowError:
    """The error for ``event`` refused in ``state``.

    Args:
        definition: the workflow's definition.
        state: its current (innermost) state.
        event: the refused event's name.
        workflow_id: the workflow, for the message.
        enabled: the events that would be accepted now.
        kept: how many history entries the workflow keeps (for a refused rollback).
    """
    where = f"in state {str(state)!r} of workflow {workflow_id!r}"
    ids = {"workflow_id": workflow_id, "state": state, "event": event}
    candidates = engine.candidates(definition, state, event)
    if definition.is_terminal(state) and not candidates:
        return InvalidTransitionError(
            f"event {event!r} refused: state {str(state)!r} of workflow {workflow_id!r} "
            "is terminal and has no way out",
            **ids,
        )
    if event == ROLLBACK:
        return InvalidTransitionError(
            f"nothing to roll back {where}: no earlier transition is left in the {kept} "
            f"history entries kept (enabled: {enabled})",
            **ids,
        )
    if event not in definition.events:
        return UnknownEventError(
            f"unknown event {event!r} {where} (enabled: {enabled}; events of "
            f"{definition.name!r}: {sorted(definition.events)})",
            **ids,
        )
    if candidates:
        guards = ", ".join(repr(t.guard_text) for t, _ in candidates)
        return InvalidTransitionError(
            f"event {event!r} refused {where}: guard {guards} is false (enabled: {enabled})",
            **ids,
        )
    return InvalidTransitionError(
        f"event {event!r} is not allowed {where} (enabled: {enabled})", **ids
    )
