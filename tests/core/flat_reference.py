"""The engine of flat workflows before the statechart interpreter, kept as a test reference.

Property (c) of tests/core/test_statechart_props.py checks that the interpreter agrees with
it on every step of flat definitions. This is the module as it was (descartes_nb/core/
_engine.py at b01a882), with its imports made absolute; it is not used by the library.

Pure decisions: which transition an event takes, and which states it exits and enters.

Nothing here awaits or touches I/O. A workflow's position is its active *configuration*
(a state and all its ancestors); ``state`` is the innermost active state. Definitions are
compiled once into lookup tables of ready-made ``Step`` plans, so that processing an event
is a dictionary lookup plus the guards.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

from descartes_nb.core._definition import PREVIOUS_STATE, TransitionDef, WorkflowDefinition
from descartes_nb.core._jsonvalue import JSONValue

GuardCaller = Callable[[TransitionDef, Mapping[str, JSONValue], JSONValue], bool]


@dataclass(frozen=True, slots=True)
class Step:
    """The plan for one transition: what is left, what is entered, where it ends."""

    transition: TransitionDef | None  # None for an internal event
    source: str
    target: str
    exited: tuple[str, ...]  # innermost first
    entered: tuple[str, ...]  # outermost first
    configuration: frozenset[str]
    moves: bool = field(init=False)  # whether any state is left or entered

    def __post_init__(self) -> None:
        object.__setattr__(self, "moves", bool(self.exited or self.entered))


Candidates = tuple[tuple[TransitionDef, Step], ...]


class _Compiled:
    """Lookup tables derived from one definition; ``candidates[(state, event)]`` is the hot one."""

    __slots__ = (
        "candidates",
        "configurations",
        "direct",
        "has_timers",
        "initial",
        "internal",
        "returns",
    )

    def __init__(self, d: WorkflowDefinition) -> None:
        leaves = [n for n in d.state_names if not d.children(n)]
        self.configurations: dict[str, frozenset[str]] = {
            leaf: frozenset((leaf, *d.ancestors(leaf))) for leaf in leaves
        }
        self.initial: str = _descend(d, d.initial_state)
        self.internal: dict[str, Step] = {
            leaf: Step(None, leaf, leaf, (), (), self.configurations[leaf]) for leaf in leaves
        }
        self.candidates: dict[tuple[str, str], Candidates] = {}
        for leaf in leaves:
            for t in _bubbled(d, leaf):
                if t.target == PREVIOUS_STATE:  # planned when processed: see resolve_previous
                    step = Step(t, leaf, PREVIOUS_STATE, (), (), frozenset())
                else:
                    assert t.target is not None
                    step = _plan(d, self.configurations, leaf, t.source, t.target, t)
                key = (leaf, t.event)
                self.candidates[key] = (*self.candidates.get(key, ()), (t, step))
        # Where the first candidate has no guard it always wins: no decision is left to make
        # (unless its target depends on the history).
        self.direct: dict[tuple[str, str], Step] = {
            key: found[0][1]
            for key, found in self.candidates.items()
            if found[0][0].guard is None and found[0][0].target != PREVIOUS_STATE
        }
        self.returns: dict[tuple[str, int, str], Step] = {}
        self.has_timers = any(s.timeout is not None or s.retry is not None for s in d.states)


_EMPTY: Final[Candidates] = ()


_CACHE: dict[int, tuple[WorkflowDefinition, _Compiled]] = {}


def compiled(d: WorkflowDefinition) -> _Compiled:
    found = _CACHE.get(id(d))
    if found is None or found[0] is not d:
        found = _CACHE[id(d)] = (d, _Compiled(d))
    return found[1]


def _bubbled(d: WorkflowDefinition, leaf: str) -> list[TransitionDef]:
    """Transitions that may handle events in ``leaf``: its own first, then its ancestors'."""
    found: list[TransitionDef] = []
    for name in (leaf, *d.ancestors(leaf)):
        found.extend(d.transitions_from(name))
    return found


def _descend(d: WorkflowDefinition, name: str) -> str:
    """Follow initial children from ``name`` down to an atomic state."""
    children = d.children(name)
    while children:
        name = d.state(name).initial or children[0]
        children = d.children(name)
    return name


def _plan(
    d: WorkflowDefinition,
    configurations: Mapping[str, frozenset[str]],
    leaf: str,
    source: str,
    target: str,
    transition: TransitionDef | None,
) -> Step:
    source_chain = (source, *d.ancestors(source))
    target_chain = (target, *d.ancestors(target))
    # The transition's domain: the innermost state that strictly contains source and target.
    domain = next((s for s in source_chain[1:] if s in target_chain[1:]), None)
    exited = tuple(s for s in (leaf, *d.ancestors(leaf)) if _is_below(d, s, domain))
    new_leaf = _descend(d, target)
    entered = tuple(
        reversed([s for s in (new_leaf, *d.ancestors(new_leaf)) if _is_below(d, s, domain)])
    )
    return Step(transition, leaf, new_leaf, exited, entered, configurations[new_leaf])


def _is_below(d: WorkflowDefinition, state: str, domain: str | None) -> bool:
    return domain is None or domain in d.ancestors(state)


def initial_state(definition: WorkflowDefinition) -> str:
    """The atomic state a new workflow starts in."""
    return compiled(definition).initial


def configuration_of(definition: WorkflowDefinition, state: str) -> frozenset[str]:
    """The active configuration when ``state`` is the innermost active state."""
    return compiled(definition).configurations[state]


def candidates(definition: WorkflowDefinition, state: str, event: str) -> Candidates:
    """The transitions ``event`` may take from ``state``, in priority order, with their plans."""
    return compiled(definition).candidates.get((state, event), _EMPTY)


def internal_step(definition: WorkflowDefinition, state: str) -> Step:
    """The plan of an internal event: nothing exited or entered."""
    return compiled(definition).internal[state]


def enabled_events(
    definition: WorkflowDefinition,
    state: str,
    context: Mapping[str, JSONValue],
    call_guard: GuardCaller,
) -> list[str]:
    """The events a transition would accept now (guards see no event data), in order."""
    events: list[str] = []
    for t in _bubbled(definition, state):
        if t.event not in events and (t.guard is None or call_guard(t, context, None)):
            events.append(t.event)
    return events


def resolve_previous(definition: WorkflowDefinition, step: Step, previous: str) -> Step:
    """The plan of a ``PREVIOUS_STATE`` step once the previous (atomic) state is known."""
    assert step.transition is not None
    c = compiled(definition)
    key = (step.source, id(step.transition), previous)
    found = c.returns.get(key)
    if found is None:
        t = step.transition
        found = c.returns[key] = _plan(
            definition, c.configurations, step.source, t.source, previous, t
        )
    return found


def plan_jump(definition: WorkflowDefinition, state: str, target: str) -> Step:
    """The plan of moving from ``state`` straight to ``target`` (used by rollback)."""
    configurations = compiled(definition).configurations
    return _plan(definition, configurations, state, state, target, None)
