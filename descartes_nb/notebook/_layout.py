"""build_model(): a definition and an observation laid out as a GraphModel (pure data).

Edges between the same two drawn states merge into one, a line per event; a transition with
several targets draws an arrow per target, a targetless one a loop on its source; a done
transition (``done.state.X`` from X) leaves X's border, labelled ``done``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import timedelta

from ..core._definition import DONE_PREFIX, PREVIOUS_STATE, TransitionDef, WorkflowDefinition
from ._model import (
    EdgeKind,
    GraphModel,
    NodeKind,
    Observation,
    StateCluster,
    StateNode,
    TransitionEdge,
    classify,
)

_EdgeKey = tuple[str, str, EdgeKind]
_RETURN = PREVIOUS_STATE + "/"  # the name of the return node in a cluster: "@previous/<parent>"


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


def transition_label(t: TransitionDef) -> str:
    """What an arrow says: the event and guard; ``done`` for a state's done transition."""
    if t.event == DONE_PREFIX + t.source:
        guard = t.guard_text
        return "done" if guard is None else f"done [{guard}]"
    return t.label


@dataclass
class _EdgeDraft:
    """An edge while transitions and moves are still being added to it."""

    kind: EdgeKind
    counts: dict[str, int] = field(default_factory=dict)  # label -> times taken, in order
    tooltips: list[str] = field(default_factory=list)
    explicit: bool = False  # some transition a user wrote, or an observed move
    enabled: bool | None = None
    last: bool = False

    def label(self) -> str:
        lines = [f"{label} ×{n}" if n else label for label, n in self.counts.items()]
        return "\n".join(line for line in lines if line)

    def tooltip(self) -> str:
        total = sum(self.counts.values())
        times = {0: "", 1: " (taken once)"}.get(total, f" (taken {total} times)")
        return "\n".join(self.tooltips) + times


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
        self.returns: dict[str, str] = {}  # return node name -> node id
        self.edges: dict[_EdgeKey, _EdgeDraft] = {}

    def build(self) -> GraphModel:
        for i, t in enumerate(self.d.transitions):
            enabled = None if self.obs.enabled is None else i in self.obs.enabled
            for target in t.targets or (t.source,):  # a targetless one: a loop on its source
                self._add(t.source, target, transition_label(t), "defined", 0, enabled, t)
        for s in self.d.states:
            if s.history and s.default and self._visible(s.name) == s.name:
                self._add(s.name, s.default, "", "default", 0)
        for move, count in self.obs.counts.items():
            kind, taken = classify(self.d, move)
            if taken is None:
                drafts = [self._add(move[0], move[2], move[1], kind, count)]
            else:
                label = transition_label(taken)
                drafts = [
                    self._add(taken.source, target, label, kind, count, transition=taken)
                    for target in taken.targets or (taken.source,)
                ]
            for draft in drafts:
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

    def _entered_child(self, name: str) -> str:
        """The child a compound state enters by default (history pseudo-states are not)."""
        children = self.d.children(name)
        real = [c for c in children if not self.d.state(c).is_pseudo]
        return self.d.state(name).initial or (real or children)[0]

    def _anchor(self, name: str) -> tuple[str, str | None]:
        """The node an arrow to (or from) ``name`` attaches to, and the cluster it clips at."""
        shown = self._visible(name)
        if not self._is_cluster(shown):
            return self._node_id(shown), None
        inner = shown
        while self._is_cluster(inner):
            inner = self._entered_child(inner)
        return self._anchor(inner)[0], f"cluster_{self.ids[shown]}"

    def _node_id(self, name: str) -> str:
        if name in self.ids:
            return self.ids[name]
        if name.startswith(_RETURN):
            return self.returns.setdefault(name, f"r{len(self.returns)}")
        return self.unknown.setdefault(name, f"u{len(self.unknown)}")

    def _key(self, source: str, target: str, kind: EdgeKind) -> _EdgeKey | None:
        """The drawn edge a move between these states lands on; None if collapsing hides it."""
        shown_source, shown_target = self._visible(source), self._visible(target)
        if target == PREVIOUS_STATE:  # to the return node beside the (drawn) source
            parent = self.d.state(shown_source).parent if self.d.has_state(source) else None
            shown_target = _RETURN + (parent or "")
        hidden = shown_source == shown_target and shown_source in self.collapsed
        if hidden and (source, target) != (shown_source, shown_source):
            return None
        return shown_source, shown_target, kind

    def _add(
        self,
        source: str,
        target: str,
        label: str,
        kind: EdgeKind,
        count: int,
        enabled: bool | None = None,
        transition: TransitionDef | None = None,
    ) -> _EdgeDraft | None:
        key = self._key(source, target, kind)
        if key is None:
            return None
        draft = self.edges.setdefault(key, _EdgeDraft(kind))
        draft.counts[label] = draft.counts.get(label, 0) + count
        draft.explicit = draft.explicit or transition is None or not transition.implicit
        if enabled is not None:
            draft.enabled = bool(draft.enabled) or enabled
        shown = "the previous state" if target == PREVIOUS_STATE else target
        tooltip = f"{source} --{label}--> {shown}" if label else f"{source} --> {shown}"
        if tooltip not in draft.tooltips:
            draft.tooltips.append(tooltip)
        return draft

    def _edge(self, key: _EdgeKey, draft: _EdgeDraft) -> TransitionEdge:
        source, ltail = self._anchor(key[0])
        target, lhead = self._anchor(key[1])
        # An arrow to a state inside its source's box (or from one inside its target's) is
        # not clipped at that box: it starts (ends) inside it, as graphviz draws it anyway.
        if ltail is not None and self._is_inside(key[1], key[0]):
            ltail = None
        if lhead is not None and self._is_inside(key[0], key[1]):
            lhead = None
        return TransitionEdge(
            source=source,
            target=target,
            label=draft.label(),
            tooltip=draft.tooltip(),
            kind=draft.kind,
            count=sum(draft.counts.values()),
            enabled=draft.enabled,
            last=draft.last,
            ltail=ltail if ltail != lhead else None,
            lhead=lhead if ltail != lhead else None,
            implicit=not draft.explicit,
        )

    def _nodes(self) -> tuple[StateNode, ...]:
        nodes = [self._node(s.name) for s in self.d.states if self._is_node(s.name)]
        nodes.extend(
            StateNode(node_id, name, (name,), f"{name} (not in {self.d.name!r})", known=False)
            for name, node_id in self.unknown.items()
        )
        for name, node_id in self.returns.items():
            parent = name.removeprefix(_RETURN)
            tooltip = "back to the state it came from (the previous state)"
            cluster = f"cluster_{self.ids[parent]}" if parent else None
            node = StateNode(node_id, "H", ("H",), tooltip, cluster=cluster, kind="previous")
            nodes.append(node)
        return tuple(nodes)

    def _is_node(self, name: str) -> bool:
        return self._visible(name) == name and not self._is_cluster(name)

    def _node(self, name: str) -> StateNode:
        state = self.d.state(name)
        name = str(name)  # plain str, not a StrEnum member
        if state.history is not None:
            return self._history_node(name)
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
            terminal=state.terminal or state.final,
            active=name in self.obs.active,
            collapsed=name in self.collapsed,
            cluster=f"cluster_{self.ids[state.parent]}" if state.parent else None,
        )

    def _history_node(self, name: str) -> StateNode:
        state = self.d.state(name)
        deep = state.history == "deep"
        kind: NodeKind = "deep_history" if deep else "history"
        tooltip = f"{name}: {'deep' if deep else 'shallow'} history of {state.parent}"
        if state.default:
            tooltip += f" (default: {state.default})"
        if state.description:
            tooltip += f"\n{state.description}"
        return StateNode(
            id=self.ids[name],
            state=name,
            lines=("H*" if deep else "H",),
            tooltip=tooltip,
            cluster=f"cluster_{self.ids[state.parent]}" if state.parent else None,
            kind=kind,
        )

    def _is_inside(self, name: str, box: str) -> bool:
        """Whether state ``name`` is a descendant of ``box`` (a walk up, not a search)."""
        return self.d.has_state(name) and box in self.d.ancestors(name)

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
                parallel=s.parallel,
                region=s.parent is not None and self.d.state(s.parent).parallel,
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
