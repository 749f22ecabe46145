"""A workflow's diagram as plain data (states, clusters, edges), before drawing.

Pure: no graphviz here. ``_layout.build_model()`` lays a definition out, painted with an
``Observation`` (a machine's configuration and history, or what a history frame recorded);
recorded moves are matched to the definition's transitions the way the engine would have
taken them. Statecharts draw as UML does: a parallel state is a cluster split into its
regions, history states are small circles (H, H*), final states are double-ringed, and a
return to the previous state (``PREVIOUS_STATE``) points at an H of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from ..core import _engine as engine
from ..core._definition import PREVIOUS_STATE, TransitionDef, WorkflowDefinition
from ..core._events import ROLLBACK
from ..core._step import matches

Move = tuple[str, str, str]
"""One recorded move: ``(from_state, event, to_state)``."""

EdgeKind = Literal["defined", "undo", "internal", "undefined", "default"]
"""A defined transition; a rollback; an internal event (state unchanged); a move the
definition does not allow; the default target of a history state."""

NodeKind = Literal["state", "history", "deep_history", "previous"]
"""A state; a shallow or deep history pseudo-state; the previous state a transition
targeting ``PREVIOUS_STATE`` returns to."""


@dataclass(frozen=True, slots=True)
class Observation:
    """What is known about runs of a definition, to paint its diagram with.

    Attributes:
        title: a caption for the diagram.
        active: the current configuration, ancestors included (empty when there is no
            current state); every active atomic state is filled.
        enabled: indexes (into ``definition.transitions``) of the transitions that would be
            taken now; None when there is no current state (nothing is shown muted).
        counts: how often each move was recorded.
        last: the most recent move, highlighted.
        mean_time: mean time per visit, by state, shown under the state's name.
    """

    title: str = ""
    active: frozenset[str] = frozenset()
    enabled: frozenset[int] | None = None
    counts: Mapping[Move, int] = field(default_factory=dict)
    last: Move | None = None
    mean_time: Mapping[str, timedelta] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StateNode:
    """A state drawn as a node (a collapsed compound state is one too).

    ``terminal`` draws it double-ringed: a terminal state, or a final state of a compound
    one. ``kind`` tells a state from the pseudo-states drawn as small circles.
    """

    id: str
    state: str
    lines: tuple[str, ...]
    tooltip: str
    terminal: bool = False
    active: bool = False
    collapsed: bool = False
    known: bool = True
    cluster: str | None = None
    kind: NodeKind = "state"


@dataclass(frozen=True, slots=True)
class StateCluster:
    """A compound state drawn as a cluster around its children.

    ``parallel``: its children are regions, active at once; ``region``: it is one of them
    (drawn with a dashed border, the separator of UML's regions).
    """

    id: str
    state: str
    tooltip: str
    active: bool = False
    parent: str | None = None
    parallel: bool = False
    region: bool = False


@dataclass(frozen=True, slots=True)
class TransitionEdge:
    """An arrow: every transition (or observed move) of one kind between two drawn states.

    ``label`` has a line per event (with its count when taken); ``count`` is their sum;
    ``implicit`` when every transition it stands for was added by a loader (the uniform
    ``Fail`` and ``Timeout`` of Swarm.toml workflows).
    """

    source: str
    target: str
    label: str
    tooltip: str
    kind: EdgeKind = "defined"
    count: int = 0
    enabled: bool | None = None
    last: bool = False
    ltail: str | None = None
    lhead: str | None = None
    implicit: bool = False


@dataclass(frozen=True, slots=True)
class GraphModel:
    """Everything ``diagram()`` draws; ``initial`` is the node the start arrow points at."""

    title: str
    initial: str
    initial_cluster: str | None
    nodes: tuple[StateNode, ...]
    clusters: tuple[StateCluster, ...]
    edges: tuple[TransitionEdge, ...]


def classify(definition: WorkflowDefinition, move: Move) -> tuple[EdgeKind, TransitionDef | None]:
    """How ``definition`` explains a recorded move, and the transition it took if any.

    A transition to ``PREVIOUS_STATE`` explains a move to any atomic state (where it returns
    depends on the history before the move).

    Example:
        >>> from descartes_nb import LIFECYCLE
        >>> classify(LIFECYCLE, ("Idle", "Start", "Running"))[0]
        'defined'
        >>> classify(LIFECYCLE, ("Idle", "Complete", "Completed"))
        ('undefined', None)
    """
    source, event, target = move
    if not definition.has_state(source) or not definition.has_state(target):
        return "undefined", None
    taken = _taken(definition, source, event, target)
    if taken is not None:
        return "defined", taken
    if definition.is_terminal(source) or not _is_atomic(definition, target):
        return "undefined", None
    if event == ROLLBACK:
        return "undo", None
    if source == target:
        return "internal", None
    return "undefined", None


def _taken(
    definition: WorkflowDefinition, source: str, event: str, target: str
) -> TransitionDef | None:
    """The transition that took ``event`` from ``source`` to ``target``, if one can have."""
    if _is_atomic(definition, source):
        for t, step in engine.candidates(definition, source, event):
            if step.target == target or (
                step.target == PREVIOUS_STATE and _is_atomic(definition, target)
            ):
                return t
        return None
    # A statechart's move from a compound state (a parallel one, while in its regions):
    # a transition of a state at or under ``source``, or above it, on that event.
    around = {source, *definition.ancestors(source)}
    found = [
        t
        for t in definition.transitions
        if t.event
        and matches(t.event, event)
        and (t.source in around or source in definition.ancestors(t.source))
    ]
    landing = next((t for t in found if _lands(definition, t, source, target)), None)
    # Else the event's transition led on through a done event, an eventless transition or a
    # raised event (the join of a parallel state): the move is still the definition's.
    return landing or (found[0] if found else None)


def _lands(definition: WorkflowDefinition, t: TransitionDef, source: str, target: str) -> bool:
    """Whether ``t`` can have left the workflow in ``target`` (its innermost state)."""
    if not t.targets:
        return target == source
    return any(
        end == target or target in definition.ancestors(end) or end in definition.ancestors(target)
        for end in t.targets
    )


def _is_atomic(definition: WorkflowDefinition, name: str) -> bool:
    return definition.has_state(name) and not definition.children(name)
