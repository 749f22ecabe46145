"""Checking a SerializedWorkflow against the definition it runs, before a machine is built."""

from __future__ import annotations

from ..errors import SerializationError
from ._definition import WorkflowDefinition
from ._history import StateHistoryEntry
from ._lifecycle import LIFECYCLE
from ._serialization import SerializedWorkflow


def resolve_definition(
    serialized: SerializedWorkflow, definition: WorkflowDefinition | None
) -> WorkflowDefinition:
    """The definition a snapshot runs: ``definition``, or the lifecycle when it names it.

    Raises:
        SerializationError: none given for a definition other than the lifecycle, or one
            with another name.
    """
    if definition is None:
        if serialized.definition != LIFECYCLE.name:
            raise SerializationError(
                f"workflow {serialized.workflow_id!r} runs definition "
                f"{serialized.definition!r}; pass definition= to deserialize it"
            )
        return LIFECYCLE
    if definition.name != serialized.definition:
        raise SerializationError(
            f"workflow {serialized.workflow_id!r} runs definition {serialized.definition!r}, "
            f"not {definition.name!r}"
        )
    return definition


def check_snapshot(serialized: SerializedWorkflow, definition: WorkflowDefinition) -> None:
    """Check a snapshot fits its definition and its history is one unbroken chain.

    Raises:
        SerializationError: naming the first problem found.
    """
    wid = serialized.workflow_id

    def known(state: str, where: str) -> None:
        if not definition.has_state(state) or definition.children(state):
            raise SerializationError(
                f"workflow {wid!r}: {where} {state!r} is not an atomic state of "
                f"{definition.name!r} (states: {list(definition.state_names)})"
            )

    known(serialized.state, "state")
    history = serialized.history
    for i, e in enumerate(history):
        known(e.from_state, f"history seq {e.seq} from_state")
        known(e.to_state, f"history seq {e.seq} to_state")
        if i:
            _check_link(wid, history[i - 1], e)
    if history and (
        history[-1].to_state != serialized.state or history[-1].seq != serialized.transition_count
    ):
        raise SerializationError(
            f"workflow {wid!r}: state {serialized.state!r} and transition_count "
            f"{serialized.transition_count} do not match the last history entry "
            f"(seq {history[-1].seq}, to {history[-1].to_state!r})"
        )


def _check_link(wid: str, previous: StateHistoryEntry, e: StateHistoryEntry) -> None:
    if e.seq != previous.seq + 1 or e.from_state != previous.to_state:
        raise SerializationError(
            f"workflow {wid!r}: history is broken between seq {previous.seq} "
            f"(to {previous.to_state!r}) and seq {e.seq} (from {e.from_state!r})"
        )
    if e.duration != e.timestamp - previous.timestamp:
        raise SerializationError(
            f"workflow {wid!r}: history seq {e.seq} has duration {e.duration} but its "
            f"timestamp is {e.timestamp - previous.timestamp} after seq {previous.seq}"
        )


def canonical_history(
    serialized: SerializedWorkflow, definition: WorkflowDefinition
) -> list[StateHistoryEntry]:
    """The snapshot's entries, their states being the definition's own state objects.

    For the lifecycle those are ``WorkflowState`` members; otherwise one shared string per
    state, as a live machine has.
    """
    name = definition.state
    return [
        e._replace(from_state=name(e.from_state).name, to_state=name(e.to_state).name)
        for e in serialized.history
    ]
