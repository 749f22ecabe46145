"""Checking a SerializedWorkflow (its values, then its fit to a definition) before it is used."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from ..errors import SerializationError
from . import _engine as engine
from ._definition import WorkflowDefinition
from ._history import StateHistoryEntry
from ._interpreter import interpreter_of
from ._jsonvalue import FrozenDict, JSONValue, to_context, to_json_value
from ._lifecycle import LIFECYCLE
from ._serialization import (
    EARLIEST_TIME,
    LATEST_TIME,
    MAX_COUNT,
    SerializedWorkflow,
    check_time,
)
from ._step import NO_MEMORY, Step

_COUNTS = (("retry_attempts", 0), ("version", 0), ("transition_count", 0), ("max_history", 1))


def check_values(serialized: SerializedWorkflow) -> SerializedWorkflow:
    """Check every value of a snapshot; return a copy the caller can no longer change.

    A snapshot built by hand holds whatever it was given, so each field is checked for its
    type and range, times are turned to UTC and contexts and event data into read-only
    copies (``to_context``); what a machine already froze is shared, not copied.

    Raises:
        SerializationError: naming the first field that is wrong, and its value.
    """
    wid = serialized.workflow_id
    if not isinstance(wid, str) or not wid:
        raise SerializationError(f"a snapshot's workflow_id must be a non-empty str, got {wid!r}")
    where = f"workflow {wid!r}"
    for name in ("definition", "state"):
        _check_str(getattr(serialized, name), f"{where} {name}")
    for name, minimum in _COUNTS:
        _check_count(getattr(serialized, name), f"{where} {name}", minimum)
    history = serialized.history
    if not isinstance(history, tuple | list):
        raise SerializationError(
            f"{where} history must be a tuple of entries, got {history!r:.80}"
        )
    contexts: dict[int, Mapping[str, JSONValue]] = {}
    return SerializedWorkflow(
        workflow_id=str.__str__(wid),
        definition=serialized.definition,
        state=serialized.state,
        context=_context(serialized.context, f"{where} context", contexts),
        created_at=check_time(serialized.created_at, f"{where} created_at"),
        updated_at=check_time(serialized.updated_at, f"{where} updated_at"),
        state_entered_at=check_time(serialized.state_entered_at, f"{where} state_entered_at"),
        retry_attempts=serialized.retry_attempts,
        version=serialized.version,
        max_history=serialized.max_history,
        transition_count=serialized.transition_count,
        history=tuple(_entry(e, i, where, contexts) for i, e in enumerate(history)),
        configuration=_states(serialized.configuration, f"{where} configuration"),
        memory=_memory(serialized.memory, f"{where} memory"),
    )


def _entry(
    e: object, index: int, where: str, contexts: dict[int, Mapping[str, JSONValue]]
) -> StateHistoryEntry:
    if type(e) is StateHistoryEntry and _is_checked(e, contexts):
        return e  # nothing to copy or convert: shared, as a machine shares its own
    if not isinstance(e, StateHistoryEntry):
        raise SerializationError(
            f"{where} history[{index}] must be a StateHistoryEntry, got {e!r:.80}"
        )
    at = f"{where} history seq {e.seq!r}"
    _check_count(e.seq, at, 1)
    for name in ("from_state", "to_state", "event"):
        _check_str(getattr(e, name), f"{at} {name}")
    timestamp = check_time(e.timestamp, f"{at} timestamp")
    if not isinstance(e.duration, timedelta):
        raise SerializationError(f"{at} duration must be a timedelta, got {e.duration!r:.80}")
    try:
        check_time(timestamp - e.duration, f"{at} timestamp minus duration")
    except OverflowError:
        raise SerializationError(
            f"{at} duration {e.duration!r} is out of range for its timestamp {timestamp}"
        ) from None
    return StateHistoryEntry(
        e.seq,
        e.from_state,
        e.to_state,
        e.event,
        to_json_value(e.event_data, f"{at} event_data"),
        timestamp,
        e.duration,
        _context(e.context, f"{at} context", contexts),
        _context(e.context_before, f"{at} context_before", contexts),
        _names(e.exited, f"{at} exited"),
        _names(e.entered, f"{at} entered"),
        _states(e.configuration, f"{at} configuration"),
        _memory(e.memory, f"{at} memory"),
    )


def _is_checked(e: StateHistoryEntry, contexts: dict[int, Mapping[str, JSONValue]]) -> bool:
    """Whether every value of ``e`` is already of the checked kind (a flat entry).

    The entries a store decodes or a machine makes are: the full check (``_entry``) of the
    many thousands that recovery reads would only rebuild them as they are. Anything else
    (a statechart's move, event data, a value out of range) goes the full way.
    """
    (seq, from_state, to_state, event, data, timestamp, duration, context, before) = e[:9]
    return (
        type(seq) is int
        and 1 <= seq <= MAX_COUNT
        and type(from_state) is str
        and type(to_state) is str
        and type(event) is str
        and data is None
        and type(timestamp) is datetime
        and timestamp.tzinfo is UTC
        and type(duration) is timedelta
        and timestamp <= LATEST_TIME
        and _began_in_range(timestamp, duration)
        and e[9:] == _NO_MOVE
        and type(e.configuration) is frozenset
        and (contexts.get(id(context)) is context or _is_frozen(context, contexts))
        and (contexts.get(id(before)) is before or _is_frozen(before, contexts))
    )


_NO_MOVE: tuple[object, ...] = ((), (), frozenset(), ())  # exited, entered, configuration, memory


def _began_in_range(timestamp: datetime, duration: timedelta) -> bool:
    try:
        return EARLIEST_TIME <= timestamp - duration <= LATEST_TIME
    except OverflowError:
        return False


def _is_frozen(value: object, contexts: dict[int, Mapping[str, JSONValue]]) -> bool:
    """Whether ``value`` is a context checked already (a ``FrozenDict`` was, when made)."""
    found = contexts.get(id(value))
    if found is None and type(value) is FrozenDict:
        found = contexts[id(value)] = value  # checked when it was made
    return found is value


def _names(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, tuple | list | frozenset | set):
        raise SerializationError(f"{where} must be a tuple of state names, got {value!r:.80}")
    for name in value:
        _check_str(name, where)
    return tuple(str.__str__(n) for n in value)


def _states(value: object, where: str) -> frozenset[str]:
    return frozenset(_names(value, where))


def _memory(value: object, where: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    pairs = _names_pairs(value, where)
    return tuple(sorted((str.__str__(h), _names(states, where)) for h, states in pairs))


def _names_pairs(value: object, where: str) -> list[tuple[str, object]]:
    if not isinstance(value, tuple | list) or not all(
        isinstance(p, tuple | list) and len(p) == 2 and isinstance(p[0], str) for p in value
    ):
        raise SerializationError(
            f"{where} must be (history state, remembered states) pairs, got {value!r:.80}"
        )
    return [(p[0], p[1]) for p in value]


def _context(
    value: object, where: str, seen: dict[int, Mapping[str, JSONValue]]
) -> Mapping[str, JSONValue]:
    """Check a context once per object (entries share them; ids stay valid: all are alive)."""
    found = seen.get(id(value))
    if found is None:
        if not isinstance(value, Mapping):
            raise SerializationError(f"{where} must be a mapping, got {value!r:.80}")
        found = seen[id(value)] = to_context(value, where)
    return found


def _check_str(value: object, where: str) -> None:
    if not isinstance(value, str):
        raise SerializationError(f"{where} must be a str, got {value!r:.80}")


def _check_count(value: Any, where: str, minimum: int) -> None:
    if type(value) is not int or not minimum <= value <= MAX_COUNT:
        raise SerializationError(
            f"{where} must be an int >= {minimum} and <= {MAX_COUNT}, got {value!r:.80}"
        )


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
    chart = interpreter_of(definition).chart

    def known(state: str, where: str) -> None:
        if not definition.has_state(state) or chart.node(state).kind == "history":
            raise SerializationError(
                f"workflow {wid!r}: {where} {state!r} is not a state of "
                f"{definition.name!r} (states: {list(definition.state_names)})"
            )

    known(serialized.state, "state")
    _check_configuration(wid, definition, serialized.state, serialized.configuration, "")
    _check_memory(wid, definition, serialized.memory, "memory")
    history = serialized.history
    leaves = chart.atomic  # states a flat entry may name, with no configuration to say more
    for i, e in enumerate(history):
        if (
            e.from_state not in leaves
            or e.to_state not in leaves
            or e.configuration
            or e.exited
            or e.entered
            or e.memory
        ):  # not a plain flat entry: check it all, naming what is wrong
            at = f"history seq {e.seq}"
            known(e.from_state, f"{at} from_state")
            known(e.to_state, f"{at} to_state")
            if e.configuration or e.exited or e.entered:  # a statechart's entry
                for state in (*e.exited, *e.entered):
                    known(state, f"{at} {'exited' if state in e.exited else 'entered'} state")
            _check_configuration(wid, definition, e.to_state, e.configuration, f"{at} ")
            if e.memory:
                _check_memory(wid, definition, e.memory, f"{at} memory")
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


def _check_configuration(
    wid: str, definition: WorkflowDefinition, state: str, configuration: frozenset[str], at: str
) -> None:
    """An empty configuration means "the state and its ancestors" (a flat definition)."""
    chart = interpreter_of(definition).chart
    if not configuration:
        if chart.node(state).kind not in ("atomic", "final"):
            raise SerializationError(
                f"workflow {wid!r}: {at}state {state!r} is not an atomic state, and no "
                "configuration says which of its descendants are active"
            )
        return
    problem = chart.configuration_problem(configuration)
    if problem is None and chart.innermost(configuration) != state:
        problem = f"its innermost state is {chart.innermost(configuration)!r}, not {state!r}"
    if problem is not None:
        raise SerializationError(
            f"workflow {wid!r}: {at}configuration {sorted(configuration)!r} cannot be active "
            f"in {definition.name!r}: {problem}"
        )


def _check_memory(
    wid: str,
    definition: WorkflowDefinition,
    memory: tuple[tuple[str, tuple[str, ...]], ...],
    where: str,
) -> None:
    """History memory names history pseudo-states, each remembering states of the chart."""
    chart = interpreter_of(definition).chart
    for history, states in memory:
        node = chart.by_name.get(history)
        if node is None or node.kind != "history":
            histories = [n for n, s in chart.by_name.items() if s.kind == "history"]
            raise SerializationError(
                f"workflow {wid!r}: {where} names {history!r}, which is not a history state "
                f"of {definition.name!r} (history states: {histories})"
            )
        wrong = [
            s for s in states if not definition.has_state(s) or chart.node(s).kind == "history"
        ]
        if wrong or not states:
            raise SerializationError(
                f"workflow {wid!r}: {where} of {history!r} must be states of "
                f"{definition.name!r}, got {list(states)!r}"
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
    """The snapshot's entries, their states being the definition's own state names.

    One shared string per state, as a live machine has.
    """
    names = {name: name for name in definition.state_names}
    # tuple.__new__ rather than _replace: a third of the cost, once per entry recovered.
    return [
        tuple.__new__(StateHistoryEntry, (e[0], names[e[1]], names[e[2]], *e[3:]))
        for e in serialized.history
    ]


def flat_move(definition: WorkflowDefinition, source: str, event: str, target: str) -> Step:
    """The move of a flat definition's entry, from its states.

    The transition that leads there, if one does, else straight from ``source`` to
    ``target`` (a rollback, an internal event).
    """
    for _, step in engine.candidates(definition, source, event):
        if step.target == target:
            return step
    interpreter = interpreter_of(definition)
    before = engine.configuration_of(definition, source)
    return interpreter.jump(before, engine.configuration_of(definition, target), NO_MEMORY)
