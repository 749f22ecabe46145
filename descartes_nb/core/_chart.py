"""A definition compiled into a tree the interpreter walks: kinds, document order, ancestry.

``ROOT`` stands for SCXML's ``<scxml>`` element: the compound parent of the top-level states.
It is never active itself (never in a configuration), but transition domains may be it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Literal

from ._definition import DONE_PREFIX, EVENTLESS, TransitionDef, WorkflowDefinition

ROOT: Final = ""
Kind = Literal["atomic", "compound", "parallel", "final", "history"]


@dataclass(frozen=True, slots=True)
class Node:
    """One state of the tree, with what the interpreter asks of it."""

    name: str
    kind: Kind
    order: int  # position in document order (a pre-order walk of the tree)
    parent: str | None  # ROOT for a top-level state, None for ROOT itself
    children: tuple[str, ...]  # real states, document order (history pseudo-states apart)
    histories: tuple[str, ...]  # history pseudo-state children
    initial: tuple[str, ...]  # what entering a compound state enters by default
    ancestors: tuple[str, ...]  # proper ancestors, innermost first, ROOT last
    transitions: tuple[TransitionDef, ...]  # its own, document order
    deep: bool = False  # a deep history pseudo-state
    default: tuple[str, ...] = ()  # a history pseudo-state's default targets
    raise_on_entry: tuple[str, ...] = ()
    raise_on_exit: tuple[str, ...] = ()


class Chart:
    """The tree of one definition (built once, cached on the definition)."""

    __slots__ = ("atomic", "by_name", "eventless", "has_chart_features", "roots")

    def __init__(self, d: WorkflowDefinition) -> None:
        children: dict[str, list[str]] = {ROOT: []}
        for s in d.states:
            children.setdefault(s.name, [])
            children.setdefault(s.parent or ROOT, []).append(s.name)
        transitions: dict[str, list[TransitionDef]] = {}
        for t in d.transitions:
            transitions.setdefault(t.source, []).append(t)
        order = _preorder(children)
        self.by_name: dict[str, Node] = {}
        self.by_name[ROOT] = _root(d, children[ROOT])
        for name in sorted(children.keys() - {ROOT}, key=order.__getitem__):
            self.by_name[name] = _node(d, name, order[name], children, transitions)
        self.atomic = frozenset(n for n, node in self.by_name.items() if node.kind in _LEAVES)
        self.roots = tuple(children[ROOT])
        self.eventless = any(t.event == EVENTLESS for t in d.transitions)
        self.has_chart_features = d.is_statechart

    def node(self, name: str) -> Node:
        return self.by_name[name]

    def is_descendant(self, state: str, ancestor: str) -> bool:
        """Whether ``state`` is a proper descendant of ``ancestor``."""
        return ancestor in self.by_name[state].ancestors

    def in_order(self, states: Iterable[str]) -> list[str]:
        """``states`` in document order (entry order)."""
        return sorted(states, key=lambda s: self.by_name[s].order)

    def innermost(self, configuration: frozenset[str]) -> str:
        """The innermost state that contains every active atomic state (``sm.state``)."""
        leaves = [s for s in configuration if s in self.atomic]
        if len(leaves) == 1:
            return leaves[0]
        if not leaves:  # a partial configuration: its deepest state
            return max(configuration, key=lambda s: len(self.by_name[s].ancestors), default=ROOT)
        first, *others = leaves
        for ancestor in self.by_name[first].ancestors:
            if ancestor == ROOT or all(self.is_descendant(s, ancestor) for s in others):
                return ancestor
        return ROOT

    def configuration_problem(self, configuration: frozenset[str]) -> str | None:
        """What makes ``configuration`` illegal, or None when it is legal.

        Legal: every state known and not a history pseudo-state, ancestors active, exactly
        one active child per active compound state, every region of an active parallel
        state active, one top-level state.
        """
        unknown = sorted(s for s in configuration if s not in self.by_name or s == ROOT)
        if unknown:
            return f"unknown states {unknown}"
        for name in self.in_order(configuration):
            node = self.by_name[name]
            if node.kind == "history":
                return f"{name!r} is a history pseudo-state"
            if node.parent not in (ROOT, None) and node.parent not in configuration:
                return f"{name!r} is active without its parent {node.parent!r}"
            active = [c for c in node.children if c in configuration]
            if node.kind == "compound" and len(active) != 1:
                return f"compound state {name!r} has {len(active)} active children {active}"
            if node.kind == "parallel" and len(active) != len(node.children):
                return (
                    f"parallel state {name!r} has regions {active} active of {list(node.children)}"
                )
        top = [s for s in configuration if self.by_name[s].parent == ROOT]
        if len(top) != 1:
            return f"{len(top)} top-level states are active {sorted(top)}"
        return None

    def is_in_final(self, state: str, configuration: frozenset[str]) -> bool:
        """SCXML's isInFinalState.

        A compound state with an active final child, or a parallel state whose every region
        is in a final state.
        """
        node = self.by_name[state]
        if node.kind == "compound":
            return any(
                c in configuration and self.by_name[c].kind == "final" for c in node.children
            )
        if node.kind == "parallel":
            return all(self.is_in_final(c, configuration) for c in node.children)
        return False


_LEAVES: Final = frozenset({"atomic", "final"})


def done_event(state: str) -> str:
    return DONE_PREFIX + state


def _preorder(children: Mapping[str, list[str]]) -> dict[str, int]:
    order: dict[str, int] = {}
    stack = list(reversed(children[ROOT]))
    while stack:
        name = stack.pop()
        if name in order:
            continue  # a parent cycle (the definition refuses those)
        order[name] = len(order)
        stack.extend(reversed(children.get(name, ())))
    return order


def _root(d: WorkflowDefinition, top: list[str]) -> Node:
    return Node(ROOT, "compound", -1, None, tuple(top), (), (d.initial_state,), (), ())


def _node(
    d: WorkflowDefinition,
    name: str,
    order: int,
    children: Mapping[str, list[str]],
    transitions: Mapping[str, list[TransitionDef]],
) -> Node:
    s = d.state(name)
    kids = children[name]
    real = tuple(c for c in kids if d.state(c).history is None)
    histories = tuple(c for c in kids if d.state(c).history is not None)
    kind: Kind
    if s.history is not None:
        kind = "history"
    elif s.parallel:
        kind = "parallel"
    elif real:
        kind = "compound"
    elif s.final:
        kind = "final"
    else:
        kind = "atomic"
    initial = (s.initial or real[0],) if kind == "compound" else ()
    return Node(
        name,
        kind,
        order,
        s.parent or ROOT,
        real,
        histories,
        initial,
        (*d.ancestors(name), ROOT),
        tuple(transitions.get(name, ())),
        deep=s.history == "deep",
        default=(s.default,) if s.default else (),
        raise_on_entry=s.raise_on_entry,
        raise_on_exit=s.raise_on_exit,
    )
