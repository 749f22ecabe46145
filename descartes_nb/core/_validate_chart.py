"""validate(), the statechart part: kinds of states, history, targets, what entering enters.

The rules follow the W3C SCXML recommendation, with one reading to note: a history state
may be a child of a compound state or of a parallel state (SCXML allows both parents; in a
parallel state, shallow history remembers the regions, deep history every active
descendant), never at the top. A state is atomic when it has no children other than
history pseudo-states, which are never active themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Final

from ..errors import DefinitionProblem
from ._definition import PREVIOUS_STATE, StateDef, TransitionDef, WorkflowDefinition

_NOT_FOR_HISTORY: Final = ("terminal", "timeout", "retry")


def real_children(d: WorkflowDefinition, name: str) -> tuple[str, ...]:
    """The children of ``name`` that can be active (its history pseudo-states left out)."""
    return tuple(c for c in d.children(name) if d.state(c).history is None)


def enter(d: WorkflowDefinition, target: str, into: set[str]) -> None:
    """Add to ``into`` what entering ``target`` by a transition makes active.

    That is the target, its ancestors, the default descendants of it and of every parallel
    ancestor's other regions; a history target adds its default (or its parent's default
    entry). ``into`` also holds the history states that were targets.
    """
    if target == PREVIOUS_STATE or target in into:
        return
    into.add(target)
    for ancestor in d.ancestors(target):
        if ancestor not in into:
            into.add(ancestor)
            if d.state(ancestor).parallel:
                for region in real_children(d, ancestor):
                    enter_default(d, region, into)
    state = d.state(target)
    if state.history is None:
        _enter_descendants(d, target, into)
    elif state.default is not None:
        enter(d, state.default, into)
    elif state.parent is not None:
        _enter_descendants(d, state.parent, into)


def enter_default(d: WorkflowDefinition, name: str, into: set[str]) -> None:
    """Add ``name`` and its default descendants to ``into``."""
    if name not in into:
        into.add(name)
        _enter_descendants(d, name, into)


def _enter_descendants(d: WorkflowDefinition, name: str, into: set[str]) -> None:
    state = d.state(name)
    children = real_children(d, name)
    if state.parallel:
        for region in children:
            enter_default(d, region, into)
    elif state.initial is not None:
        enter(d, state.initial, into)
    elif children:
        enter_default(d, children[0], into)


def reachable(d: WorkflowDefinition) -> set[str]:
    """Every state some run can make active, and every history state some run targets.

    Entering the initial state, then following every transition (done and eventless ones
    included) whose source is active, until nothing new is entered.
    """
    active: set[str] = set()
    enter(d, d.initial_state, active)
    by_source: dict[str, list[TransitionDef]] = {}
    for t in d.transitions:
        by_source.setdefault(t.source, []).append(t)
    todo = list(active)
    while todo:
        for t in by_source.get(todo.pop(), ()):
            for target in t.targets:
                before = set(active)
                enter(d, target, active)
                todo.extend(active - before)
    return active


def chart_problems(d: WorkflowDefinition) -> Iterator[DefinitionProblem]:
    """The statechart rules: kinds of states, history states, several targets at once."""
    for s in d.states:
        yield from _kind_problems(d, s)
        if s.history is not None:
            yield from _history_problems(d, s)
        elif s.default is not None:
            yield _problem(d, s, "default", "only a history state has a default")
    for t in d.transitions:
        yield from _source_problems(d, t)
        if len(t.targets) > 1:
            yield from _target_problems(d, t)


def _problem(d: WorkflowDefinition, s: StateDef, key: str, message: str) -> DefinitionProblem:
    return DefinitionProblem(
        f"state {s.name!r}, key {key!r}: {message}", workflow=d.name, state=s.name, key=key
    )


def _kind_problems(d: WorkflowDefinition, s: StateDef) -> Iterator[DefinitionProblem]:
    kinds = [k for k, on in (("parallel", s.parallel), ("final", s.final)) if on]
    if s.history is not None:
        kinds.append("history")
    if len(kinds) > 1:
        yield _problem(d, s, kinds[1], f"a state is one kind at most, this one is {kinds}")
        return
    children = d.children(s.name)
    if s.parallel and not real_children(d, s.name):
        yield _problem(d, s, "parallel", "a parallel state needs regions (child states)")
    if s.parallel and s.initial is not None:
        yield _problem(
            d, s, "initial", "a parallel state enters all its regions, it has no initial child"
        )
    if s.final and s.parent is not None and d.has_state(s.parent) and d.state(s.parent).parallel:
        why = f"a region of parallel state {s.parent!r} cannot be final (as in SCXML)"
        yield _problem(d, s, "final", why)
    if s.final and children:
        yield _problem(d, s, "final", f"a final state cannot have children: {list(children)}")
    for name in (*s.raise_on_entry, *s.raise_on_exit):
        if not isinstance(name, str) or not name:
            yield _problem(d, s, "raise", f"a raised event needs a name, got {name!r}")


def _history_problems(d: WorkflowDefinition, s: StateDef) -> Iterator[DefinitionProblem]:
    if s.history not in ("shallow", "deep"):
        yield _problem(d, s, "history", f"must be 'shallow' or 'deep', got {s.history!r}")
    parent = s.parent
    if parent is None:
        where = "a history state belongs in a compound or parallel state, not at the top"
        yield _problem(d, s, "history", where)
    elif not real_children(d, parent):
        yield _problem(
            d, s, "history", f"its parent {parent!r} has no other child state to remember"
        )
    if children := d.children(s.name):
        yield _problem(d, s, "history", f"a history state cannot have children: {list(children)}")
    for key in _NOT_FOR_HISTORY:
        if getattr(s, key) not in (None, False):
            yield _problem(d, s, key, "does not apply to a history state (a pseudo-state)")
    if s.raise_on_entry or s.raise_on_exit:
        yield _problem(d, s, "raise", "a history state is never entered or exited itself")
    default = s.default
    if default is None or parent is None or not d.has_state(default):
        return
    if default == s.name or parent not in d.ancestors(default):
        why = f"{default!r} is not a descendant of {parent!r}, the state it remembers"
        yield _problem(d, s, "default", why)


def _source_problems(d: WorkflowDefinition, t: TransitionDef) -> Iterator[DefinitionProblem]:
    if not d.has_state(t.source) or t.implicit:
        return
    s = d.state(t.source)
    kind = "history" if s.history is not None else "final" if s.final else None
    if kind is None:
        return
    why = (
        "it is a pseudo-state; give where it leads with 'default'"
        if kind == "history"
        else "it completes its parent; put transitions on the parent"
    )
    yield DefinitionProblem(
        f"{kind} state {s.name!r} cannot have transitions (event {t.event!r}): {why}",
        workflow=d.name,
        state=s.name,
        key=t.event,
        event=t.event,
    )


def _target_problems(d: WorkflowDefinition, t: TransitionDef) -> Iterator[DefinitionProblem]:
    targets = t.targets
    where = f"transition {t.source!r} --{t.event!r}--> {list(targets)!r}"
    message = None
    if PREVIOUS_STATE in targets:
        message = f"{PREVIOUS_STATE!r} must be the only target"
    elif len(set(targets)) < len(targets):
        message = "a state is named twice"
    elif all(d.has_state(x) for x in targets):
        message = _clash(d, targets)
    if message is not None:
        yield DefinitionProblem(
            f"{where}: {message}", workflow=d.name, state=t.source, key=t.event, event=t.event
        )


def _clash(d: WorkflowDefinition, targets: Iterable[str]) -> str | None:
    """Why some two targets cannot be active together, or None when all can."""
    names = list(targets)
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            a, b = _as_active(d, first), _as_active(d, second)
            if a == b or a in d.ancestors(b) or b in d.ancestors(a):
                return f"{first!r} and {second!r} are one inside the other"
            above_b = d.ancestors(b)
            common = next((x for x in d.ancestors(a) if x in above_b), None)
            if common is None or not d.state(common).parallel:
                shared = (
                    "no parallel state holds both"
                    if common is None
                    else (f"{common!r} is not parallel")
                )
                return (
                    f"{first!r} and {second!r} cannot be active together ({shared}; several "
                    "targets must be in different regions of a parallel state)"
                )
    return None


def _as_active(d: WorkflowDefinition, name: str) -> str:
    """A history state stands for its parent's children, so for its parent here."""
    state = d.state(name)
    return state.parent if state.history is not None and state.parent is not None else name
