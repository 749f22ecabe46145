"""What the interpreter decides: the plan of a macrostep (``Step``) and its microsteps.

Plain values the machine carries out (handlers, store, memory); the interpreter
(``_interpreter``) makes them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from ._definition import TransitionDef
from ._history import NO_MOVE, Move

MAX_MICROSTEPS: Final = 1000
"""A macrostep that has not settled after this many microsteps is an eventless loop."""

Memory = tuple[tuple[str, tuple[str, ...]], ...]
"""History memory: (history state, the states it remembers) pairs, sorted by name."""
NO_MEMORY: Final[Memory] = ()
GuardCheck = Callable[[TransitionDef, object], bool]
"""``check(transition, event_data) -> bool`` for a guarded transition."""


@dataclass(frozen=True, slots=True)
class Microstep:
    """Transitions taken together, and the states they exited and entered."""

    transitions: tuple[TransitionDef, ...]
    exited: tuple[str, ...]  # innermost first
    entered: tuple[str, ...]  # outermost first
    source: str  # the innermost state holding every active atomic state, before
    target: str  # and after


@dataclass(frozen=True, slots=True, eq=False)
class Step:
    """The plan of one macrostep: what the machine does for one event."""

    source: str  # sm.state before
    target: str  # sm.state after
    microsteps: tuple[Microstep, ...]  # empty for an internal event (nothing taken)
    exited: tuple[str, ...]  # every state exited, in order
    entered: tuple[str, ...]  # every state entered, in order
    configuration: frozenset[str]  # after
    memory: Memory  # after
    recorded: bool = True  # whether history entries record it (a statechart's step)
    moves: bool = field(init=False)  # whether any state is left or entered
    transition: TransitionDef | None = field(init=False)  # the first one taken
    record: Move = field(init=False)  # what a history entry records: itself, or NO_MOVE

    def __post_init__(self) -> None:
        object.__setattr__(self, "moves", bool(self.exited or self.entered))
        object.__setattr__(self, "record", self if self.recorded else NO_MOVE)
        first = next((t for m in self.microsteps for t in m.transitions), None)
        object.__setattr__(self, "transition", first)

    @property
    def transitions(self) -> tuple[TransitionDef, ...]:
        """Every transition taken, in order."""
        return tuple(t for m in self.microsteps for t in m.transitions)


class NoPreviousState(Exception):
    """An event's transition returns to the previous state, and the history holds none."""


class Unsettled(Exception):
    """A macrostep went on past ``MAX_MICROSTEPS``: an eventless or raised-event loop.

    The machine turns it into a ``WorkflowError`` naming the workflow.
    """


def matches(descriptor: str, event: str) -> bool:
    """SCXML event matching: ``error`` matches ``error`` and ``error.store``; ``*`` all."""
    if descriptor == event or descriptor == "*":
        return True
    descriptor = descriptor.removesuffix(".*").removesuffix(".")
    return event.startswith(descriptor) and event[len(descriptor) : len(descriptor) + 1] == "."
