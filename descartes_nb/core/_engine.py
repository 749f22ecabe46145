"""Questions about one state of a definition, answered by the interpreter's rules.

The machine decides through ``_interpreter.macrostep``; this module serves those who ask
about a state rather than a running configuration: refusal messages, timers, diagrams
(which transitions an event may take from a state, and where each would lead).
"""

from __future__ import annotations

from ._chart import ROOT
from ._definition import PREVIOUS_STATE, TransitionDef, WorkflowDefinition
from ._interpreter import interpreter_of
from ._step import NO_MEMORY, Step, matches

__all__ = ["Candidates", "Step", "candidates", "configuration_of", "initial_state"]

Candidates = tuple[tuple[TransitionDef, Step], ...]


def initial_state(definition: WorkflowDefinition) -> str:
    """``sm.state`` of a new workflow (the innermost state holding the initial leaves)."""
    return interpreter_of(definition).initial.target


def configuration_of(definition: WorkflowDefinition, state: str) -> frozenset[str]:
    """``state`` and its ancestors: the states that are surely active while it is."""
    chart = interpreter_of(definition).chart
    return frozenset((state, *chart.node(state).ancestors)) - {ROOT}


def candidates(definition: WorkflowDefinition, state: str, event: str) -> Candidates:
    """The transitions ``event`` may take in ``state``, with the plan of taking each.

    Its own first, then its ancestors', in priority order; guards aside. A transition to
    ``PREVIOUS_STATE`` is planned with that target left as it is.
    """
    interpreter = interpreter_of(definition)
    chart = interpreter.chart
    found: list[tuple[TransitionDef, Step]] = []
    for name in (state, *chart.node(state).ancestors):
        for t in chart.node(name).transitions:
            if t.event and matches(t.event, event):
                found.append((t, _plan(definition, state, t)))
    return tuple(found)


def _plan(definition: WorkflowDefinition, state: str, t: TransitionDef) -> Step:
    interpreter = interpreter_of(definition)
    configuration = configuration_of(definition, state)
    if PREVIOUS_STATE in t.targets:
        return Step(state, PREVIOUS_STATE, (), (), (), frozenset(), NO_MEMORY)
    return interpreter.plan([t], configuration)
