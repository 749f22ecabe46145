"""A workflow's diagram as plain data (states, clusters, edges), before drawing.

Pure: no graphviz here. ``build_model()`` lays a definition out, painted with an
``Observation`` (a machine's state and history, or what a history frame recorded); recorded
moves are matched to the definition's transitions the way the engine would have taken them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from ..core import _engine as engine
from ..core._definition import TransitionDef, WorkflowDefinition
from ..core._events import ROLLBACK

Move = tuple[str, str, str]
"""One recorded move: ``(from_state, event, to_state)``."""

EdgeKind = Literal["defined", "undo", "internal", "undefined"]
"""A defined transition; a rollback; an internal event (state unchanged); a move the
definition does not allow."""


@dataclass(frozen=True, slots=True)
class Observation:
    """What is known about runs of a definition, to paint its diagram with.

    Attributes:
        title: a caption for the diagram.
        active: the current configuration (empty when there is no current state).
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
    """A state drawn as a node (a collapsed compound state is one too)."""

    id: str
    state: str
    lines: tuple[str, ...]
    tooltip: str
    terminal: bool = False
    active: bool = False
    collapsed: bool = False
    known: bool = True
    cluster: str | None = None


@dataclass(frozen=True, slots=True)
class StateCluster:
    """A compound state drawn as a cluster around its children."""

    id: str
    state: str
    tooltip: str
    active: bool = False
    parent: str | None = None


@dataclass(frozen=True, slots=True)
class TransitionEdge:
    """An arrow: one or more transitions (or observed moves) between two drawn states."""

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

    Example:
        >>> from descartes_nb import LIFECYCLE
        >>> classify(LIFECYCLE, ("Idle", "Start", "Running"))[0]
        'defined'
        >>> classify(LIFECYCLE, ("Idle", "Complete", "Completed"))
        ('undefined', None)
    """
    source, event, target = move
    if not _is_atomic(definition, source):
        return "undefined", None
    for t, step in engine.candidates(definition, source, event):
        if step.target == target:
            return "defined", t
    if definition.is_terminal(source) or not _is_atomic(definition, target):
        return "undefined", None
    if event == ROLLBACK:
        return "undo", None
    if source == target:
        return "internal", None
    return "undefined", None


def _is_atomic(definition: WorkflowDefinition, name: str) -> bool:
    return definition.has_state(name) and not definition.children(name)


def build_model(
    definition: WorkflowDefinition,
    observation: Observation,
    collapse: bool | Collection[str] = False,
) -> GraphModel:
    """Lay out ``definition`` as a ``GraphModel`` painted with ``observation``.

    Raises:
        ValueError: ``collapse`` names a state that is not compound.
    """
    return _Builder(definition, observation, _collapsed(definition, collapse)).build()


def _collapsed(definition: WorkflowDefinition, collapse: bool | Collection[str]) -> set[str]:
    compound = [s for s in definition.state_names if definition.children(s)]
    if collapse is True:
        return set(compound)
    if collapse is False:
        return set()
    if isinstance(collapse, str):
        collapse = [collapse]
    for name in collapse:
        if name not in compound:
            raise ValueError(
                f"cannot collapse {name!r}: it is not a compound state of "
                f"{definition.name!r} (compound states: {compound})"
            )
    return set(collapse)


@dataclass
class _EdgeDraft:
    """An edge while moves are still being added to it."""

    kind: EdgeKind
    label: str
    tooltips: list[str]
    count: int = 0
    enabled: bool | None = None
    last: bool = False


class _Builder:
    """Turns a definition and an observation into a GraphModel."""

    def __init__(
        self, definition: WorkflowDefinition, observation: Observation, collapsed: set[str]
    ) -> None:
        self.d = definition
        self.obs = observation
        self.collapsed = collapsed
        self.ids = {name: f"s{i}" for i, name in enumerate(definition.state_names)}
        self.unknown: dict[str, str] = {}
        self.edges: dict[tuple[str, str, str, EdgeKind], _EdgeDraft] = {}

    def build(self) -> GraphModel:
        for i, t in enumerate(self.d.transitions):
            enabled = None if self.obs.enabled is None else i in self.obs.enabled
            for target in t.targets or (t.source,):  # a targetless one: a loop on its source
                self._add(t.source, target, t.label, "defined", 0, enabled)
        for move, count in self.obs.counts.items():
            kind, taken = classify(self.d, move)
            if taken is None:
                draft = self._add(move[0], move[2], move[1], kind, count)
            else:
                target = taken.target or taken.source
                draft = self._add(taken.source, target, taken.label, kind, count)
            if draft is not None and move == self.obs.last:
                draft.last = True
        initial, initial_cluster = self._anchor(self.d.initial_state)
        edges = tuple(self._edge(key, draft) for key, draft in self.edges.items())
        return GraphModel(
            title=self.obs.title,
            initial=initial,
            initial_cluster=initial_cluster,
            nodes=self._nodes(),  # after the edges, which name the unknown states
            clusters=self._clusters(),
            edges=edges,
        )

    def _visible(self, name: str) -> str:
        """The drawn state standing for ``name``: its outermost collapsed ancestor, or itself."""
        if not self.d.has_state(name):
            return name
        for state in (*reversed(self.d.ancestors(name)), name):
            if state in self.collapsed:
                return state
        return name

    def _is_cluster(self, name: str) -> bool:
        return (
            self.d.has_state(name) and bool(self.d.children(name)) and (name not in self.collapsed)
        )

    def _anchor(self, name: str) -> tuple[str, str | None]:
        """The node an arrow to (or from) ``name`` attaches to, and the cluster it clips at."""
        shown = self._visible(name)
        if not self._is_cluster(shown):
            return self._node_id(shown), None
        inner = shown
        while self._is_cluster(inner):
            inner = self.d.state(inner).initial or self.d.children(inner)[0]
        return self._anchor(inner)[0], f"cluster_{self.ids[shown]}"

    def _node_id(self, name: str) -> str:
        if name in self.ids:
            return self.ids[name]
        return self.unknown.setdefault(name, f"u{len(self.unknown)}")

    def _key(
        self, source: str, target: str, label: str, kind: EdgeKind
    ) -> tuple[str, str, str, EdgeKind] | None:
        """The drawn edge a move between these states lands on; None if collapsing hides it."""
        shown_source, shown_target = self._visible(source), self._visible(target)
        hidden = shown_source == shown_target and shown_source in self.collapsed
        if hidden and (source, target) != (shown_source, shown_source):
            return None
        return shown_source, shown_target, label, kind

    def _add(
        self,
        source: str,
        target: str,
        label: str,
        kind: EdgeKind,
        count: int,
        enabled: bool | None = None,
    ) -> _EdgeDraft | None:
        key = self._key(source, target, label, kind)
        if key is None:
            return None
        draft = self.edges.setdefault(key, _EdgeDraft(kind, label, []))
        draft.count += count
        if enabled is not None:
            draft.enabled = bool(draft.enabled) or enabled
        tooltip = f"{source} --{label}--> {target}"
        if tooltip not in draft.tooltips:
            draft.tooltips.append(tooltip)
        return draft

    def _edge(self, key: tuple[str, str, str, EdgeKind], draft: _EdgeDraft) -> TransitionEdge:
        source, ltail = self._anchor(key[0])
        target, lhead = self._anchor(key[1])
        counted = f" ×{draft.count}" if draft.count else ""
        times = {0: "", 1: " (taken once)"}.get(draft.count, f" (taken {draft.count} times)")
        return TransitionEdge(
            source=source,
            target=target,
            label=draft.label + counted,
            tooltip="\n".join(draft.tooltips) + times,
            kind=draft.kind,
            count=draft.count,
            enabled=draft.enabled,
            last=draft.last,
            ltail=ltail if ltail != lhead else None,
            lhead=lhead if ltail != lhead else None,
        )

    def _nodes(self) -> tuple[StateNode, ...]:
        nodes = [self._node(s.name) for s in self.d.states if self._is_node(s.name)]
        nodes.extend(
            StateNode(node_id, name, (name,), f"{name} (not in {self.d.name!r})", known=False)
            for name, node_id in self.unknown.items()
        )
        return tuple(nodes)

    def _is_node(self, name: str) -> bool:
        return self._visible(name) == name and not self._is_cluster(name)

    def _node(self, name: str) -> StateNode:
        state = self.d.state(name)
        name = str(name)  # plain str, not a StrEnum member
        lines = [name]
        hidden = len(self._descendants(name)) if name in self.collapsed else 0
        if hidden:
            lines.append(f"(+{hidden} inside)")
        if name in self.obs.mean_time:
            lines.append(f"mean {_short_time(self.obs.mean_time[name])}")
        return StateNode(
            id=self.ids[name],
            state=name,
            lines=tuple(lines),
            tooltip=state.description or name,
            terminal=state.terminal,
            active=name in self.obs.active,
            collapsed=name in self.collapsed,
            cluster=f"cluster_{self.ids[state.parent]}" if state.parent else None,
        )

    def _descendants(self, name: str) -> list[str]:
        return [s for s in self.d.state_names if name in self.d.ancestors(s)]

    def _clusters(self) -> tuple[StateCluster, ...]:
        return tuple(
            StateCluster(
                id=f"cluster_{self.ids[s.name]}",
                state=str(s.name),
                tooltip=s.description or str(s.name),
                active=s.name in self.obs.active,
                parent=f"cluster_{self.ids[s.parent]}" if s.parent else None,
            )
            for s in self.d.states
            if self._visible(s.name) == s.name and self._is_cluster(s.name)
        )


def _short_time(value: timedelta) -> str:
    """A duration as people read it: ``4m 12s``, ``1h 05m``, ``2d 3h``, ``850ms``."""
    seconds = value.total_seconds()
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s"
