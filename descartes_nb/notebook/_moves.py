"""The statechart columns of a history frame: ``exited``, ``entered``, ``configuration``.

A statechart's entries record them; a flat definition's entries leave them empty (their
``from_state`` and ``to_state`` say it all), and ``MoveColumns`` derives them from the
definition, once per distinct move. ``configuration_before`` goes the other way: from what
an entry ended in, back to what it started in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from typing import Final

from ..core._definition import WorkflowDefinition
from ..core._interpreter import interpreter_of
from ..core._snapshot import flat_move

MOVE_COLUMNS: Final = ("exited", "entered", "configuration")
"""The columns a history frame has for statecharts (filled for flat definitions too)."""

Names = tuple[str, ...]
States = frozenset[str] | tuple[str, ...]
RecordedMove = tuple[Sequence[str], Sequence[str], States]
"""A recorded ``(exited, entered, configuration)``."""
_Move = tuple[Names, Names, Names]
_NO_MOVE: Final[_Move] = ((), (), ())


class MoveColumns:
    """Build the ``exited``, ``entered`` and ``configuration`` columns of a history frame.

    Call ``extend`` once per run of rows whose workflows run one definition (one machine,
    or consecutive rows of a store). Each cell is a tuple of state names: ``exited`` and
    ``entered`` in the order the step took them, ``configuration`` in document order
    (outermost first). Equal cells share one tuple.
    """

    __slots__ = ("_definitions", "_flat", "_ordered", "configuration", "entered", "exited")

    def __init__(self) -> None:
        self.exited: list[Names] = []
        self.entered: list[Names] = []
        self.configuration: list[Names] = []
        # Caches keyed by id(definition): definitions are kept alive here, so ids stay valid.
        self._definitions: dict[int, WorkflowDefinition | None] = {}
        self._flat: dict[int, dict[tuple[str, str, str], _Move]] = {}
        self._ordered: dict[tuple[int, States], Names] = {}

    def extend(
        self,
        definition: WorkflowDefinition | None,
        from_states: Sequence[str],
        events: Sequence[str],
        to_states: Sequence[str],
        moves: Sequence[RecordedMove] | None = None,
    ) -> None:
        """Append the move columns of some rows of workflows that run ``definition``.

        Args:
            definition: what the rows' workflows run (None: unknown, nothing is derived).
            from_states: the rows' ``from_state`` column.
            events: their ``event`` column.
            to_states: their ``to_state`` column.
            moves: each row's recorded ``(exited, entered, configuration)``; None, or an
                empty configuration, for a row that recorded none (a flat definition's).
                Such rows are derived from ``definition`` when it is flat and knows the
                states; otherwise they stay empty.

        Raises:
            ValueError: the columns are of different lengths.
        """
        lengths = [len(from_states), len(events), len(to_states)]
        lengths += [] if moves is None else [len(moves)]
        if len(set(lengths)) > 1:
            raise ValueError(
                "from_states, events, to_states (and moves) must be of equal length, "
                f"got lengths {lengths}"
            )
        self._definitions[id(definition)] = definition
        if moves is None:
            found = self._derived(definition, from_states, events, to_states)
        else:
            found = self._recorded(definition, from_states, events, to_states, moves)
        if found:
            exited, entered, configuration = zip(*found, strict=True)
            self.exited.extend(exited)
            self.entered.extend(entered)
            self.configuration.extend(configuration)

    def _derived(
        self,
        definition: WorkflowDefinition | None,
        from_states: Sequence[str],
        events: Sequence[str],
        to_states: Sequence[str],
    ) -> list[_Move]:
        """Rows that recorded no move: derived when the definition is flat, else empty."""
        if definition is None or definition.is_statechart:
            return [_NO_MOVE] * len(from_states)
        known = self._flat.setdefault(id(definition), {})
        keys = zip(from_states, events, to_states, strict=True)
        return [known.get(key) or self._flat_move(definition, key) for key in keys]

    def _recorded(
        self,
        definition: WorkflowDefinition | None,
        from_states: Sequence[str],
        events: Sequence[str],
        to_states: Sequence[str],
        moves: Sequence[RecordedMove],
    ) -> list[_Move]:
        """Rows with their recorded moves, the configuration in document order."""
        found: list[_Move] = []
        rows = zip(from_states, events, to_states, moves, strict=True)
        for source, event, target, (exited, entered, configuration) in rows:
            if configuration:
                ordered = self._in_order(definition, configuration)
                found.append((tuple(exited), tuple(entered), ordered))
            else:
                found.extend(self._derived(definition, [source], [event], [target]))
        return found

    def _flat_move(self, definition: WorkflowDefinition, key: tuple[str, str, str]) -> _Move:
        source, event, target = key
        found = _NO_MOVE  # a state the definition lacks: nothing to derive from
        if definition.has_state(source) and definition.has_state(target):
            step = flat_move(definition, source, event, target)
            found = (step.exited, step.entered, self._in_order(definition, step.configuration))
        self._flat[id(definition)][key] = found
        return found

    def _in_order(self, definition: WorkflowDefinition | None, states: States) -> Names:
        key = (id(definition), states)
        found = self._ordered.get(key)
        if found is None:
            if definition is not None and all(definition.has_state(s) for s in states):
                found = tuple(interpreter_of(definition).chart.in_order(states))
            else:
                found = tuple(sorted(states))
            self._ordered[key] = found
        return found


def configuration_before(
    configuration: Collection[str], exited: Iterable[str], entered: Iterable[str]
) -> frozenset[str]:
    """The states active before an entry, from those after it and those it exited and entered.

    Within one step each state is entered and exited in turn, so it was active before the
    step exactly when (active after) + (times exited) - (times entered) is 1: a state
    entered and exited again within the step (a transient one) was not, one exited and
    entered again (a self-transition) was.

    Example:
        >>> after, exited = ("Review", "CodeReview"), ("Tested", "Checks")
        >>> sorted(configuration_before(after, exited, ("Tested", "Review", "CodeReview")))
        ['Checks']
    """
    counts = Counter(configuration)
    counts.update(exited)
    counts.subtract(entered)
    return frozenset(state for state, n in counts.items() if n > 0)
