"""validate(): what a definition that can run may still get wrong (the rules are its doc)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import timedelta
from typing import Final, Literal

from ..errors import DefinitionProblem
from ._definition import (
    DONE_PREFIX,
    PREVIOUS_STATE,
    ComparableGuard,
    RetryPolicy,
    StateDef,
    TransitionDef,
    WorkflowDefinition,
)
from ._events import FAILURE_EVENTS, RETRY, TIMEOUT
from ._validate_chart import chart_problems, enter, reachable, real_children

_BACKOFFS: Final = ("exponential", "fixed")


def validate(definition: WorkflowDefinition, *, strict: bool = True) -> list[DefinitionProblem]:
    """Return the problems of a definition that can run but is probably wrong.

    Rules, each problem naming the workflow, state and key:

    - statechart shapes (``_validate_chart.py``): a parallel state without regions or with
      an initial child; a state of more than one kind (parallel, final, history); a final
      state with children or transitions out, or as a region of a parallel state; a
      history state at the top, in a state with no other children, with children,
      transitions out, a timeout, retry or raised events, or a default that is not a
      descendant of its parent; a ``default`` on a state that is not a history state; a
      transition whose targets cannot be active together (several targets must lie in
      different regions of parallel states);
    - a state the initial state cannot reach (a warning when ``strict=False``): entering a
      state enters its initial child (its first child when none is named), every region of
      a parallel state, a history state's default; done and eventless transitions count;
      a history state counts as reached when some transition targets it;
    - a non-terminal state with no way out (a warning when ``strict=False``);
    - a state from which no terminal state can be reached (a warning when ``strict=False``);
    - a workflow whose initial state can reach no terminal state;
    - transitions for the same state and event that shadow each other or whose guards
      overlap (a ``ComparableGuard`` says whether it overlaps another; other guards overlap
      when they are the same object or have the same label);
    - a timeout that is not positive, on a terminal state, or where ``Timeout`` is not
      accepted;
    - a retry policy with bad values, or on a state whose failures never reach a ``Retry``.

    Implicit transitions (``TransitionDef.implicit``, such as the uniform ``Fail`` and
    ``Timeout`` of Swarm.toml workflows) do not count as a way out or a way to a terminal
    state.

    Args:
        definition: the definition to check.
        strict: when False, unreachable states, dead ends and states that cannot lead to a
            terminal state are warnings (``severity="warning"``) rather than errors.

    Returns:
        Every problem found (none is raised), errors and warnings.
    """
    d = definition
    shape: Literal["error", "warning"] = "error" if strict else "warning"
    problems = list(chart_problems(d))
    graph = _Graph(d)
    problems.extend(_unreachable(d, graph, shape))
    dead = [p for p in _dead_ends(d) if p.state is None or p.state in graph.reachable]
    problems.extend(_with_severity(dead, shape))
    problems.extend(_terminal_problems(d, graph, {p.state for p in dead}, shape))
    problems.extend(_shadowed(d))
    for state in d.states:
        problems.extend(_timeout_problems(d, graph, state))
        if state.retry is not None:
            problems.extend(_retry_problems(d, graph, state, state.retry))
    return problems


def _with_severity(
    problems: Iterable[DefinitionProblem], severity: Literal["error", "warning"]
) -> Iterator[DefinitionProblem]:
    for p in problems:
        yield DefinitionProblem(p.message, p.workflow, p.state, p.key, severity)


# -- the shape of the graph ---------------------------------------------------------------


class _Graph:
    """Reachability between atomic states, through all and through explicit transitions.

    Entering a state enters its default descendants (every region of a parallel state);
    a transition on ``done.state.<id>`` counts as a way out of the final states below
    ``<id>`` only.
    """

    def __init__(self, d: WorkflowDefinition) -> None:
        self.d = d
        self.leaves = [n for n in d.state_names if _is_atomic(d, n)]
        self.reachable = reachable(d)
        explicit = {leaf: self._targets(leaf) for leaf in self.leaves}
        predecessors: dict[str, set[str]] = {leaf: set() for leaf in self.leaves}
        for leaf, targets in explicit.items():
            for target in targets:
                predecessors[target].add(leaf)
        for leaf in self.leaves:  # a return to the previous state goes back where it came from
            if self._returns(leaf):
                explicit[leaf] |= predecessors[leaf]
        self.explicit = explicit

    def chain(self, leaf: str) -> list[TransitionDef]:
        """The transitions that handle events in ``leaf``: its own, then its ancestors'."""
        return [
            t for name in (leaf, *self.d.ancestors(leaf)) for t in self.d.transitions_from(name)
        ]

    def descend(self, name: str) -> set[str]:
        """The atomic states a transition to ``name`` makes active."""
        entered: set[str] = set()
        enter(self.d, name, entered)
        return {leaf for leaf in entered if _is_atomic(self.d, leaf)}

    def _targets(self, leaf: str) -> set[str]:
        final = self.d.state(leaf).final
        return {
            entered
            for t in self.chain(leaf)
            if not t.implicit and (final or not t.event.startswith(DONE_PREFIX))
            for target in t.targets
            if target != PREVIOUS_STATE
            for entered in self.descend(target)
        }

    def _returns(self, leaf: str) -> bool:
        return any(not t.implicit and t.target == PREVIOUS_STATE for t in self.chain(leaf))

    def forward(self, start: Iterable[str]) -> set[str]:
        """The atomic states explicit transitions lead to from ``start`` (itself included)."""
        seen = set(start)
        todo = list(seen)
        while todo:
            for target in self.explicit[todo.pop()] - seen:
                seen.add(target)
                todo.append(target)
        return seen

    def finishing(self) -> set[str]:
        """The atomic states from which explicit transitions can reach a terminal state."""
        done = {leaf for leaf in self.leaves if self.d.is_terminal(leaf)}
        changed = True
        while changed:
            changed = False
            for leaf in self.leaves:
                if leaf not in done and self.explicit[leaf] & done:
                    done.add(leaf)
                    changed = True
        return done


def _is_atomic(d: WorkflowDefinition, name: str) -> bool:
    s = d.state(name)
    return s.history is None and not s.parallel and not real_children(d, name)


def _unreachable(
    d: WorkflowDefinition, graph: _Graph, severity: Literal["error", "warning"]
) -> Iterator[DefinitionProblem]:
    for name in d.state_names:
        if name not in graph.reachable:
            yield DefinitionProblem(
                f"state {name!r} cannot be reached from initial state {d.initial_state!r}",
                workflow=d.name,
                state=name,
                severity=severity,
            )


def _dead_ends(d: WorkflowDefinition) -> Iterator[DefinitionProblem]:
    sources = {t.source for t in d.transitions if not t.implicit}
    for s in d.states:
        has_exit = any(name in sources for name in (s.name, *d.ancestors(s.name)))
        ends = s.terminal or s.final or s.history is not None
        if not ends and not has_exit and _is_atomic(d, s.name):
            yield DefinitionProblem(
                f"state {s.name!r} is not terminal and has no way out",
                workflow=d.name,
                state=s.name,
            )


def _terminal_problems(
    d: WorkflowDefinition,
    graph: _Graph,
    dead: set[str | None],
    severity: Literal["error", "warning"],
) -> Iterator[DefinitionProblem]:
    if not d.terminal_states:
        return
    if not any(d.is_terminal(leaf) for leaf in graph.forward(graph.descend(d.initial_state))):
        yield DefinitionProblem(
            "no terminal state can be reached",
            workflow=d.name,
            key="initial_state",
        )
        return
    finishing = graph.finishing()
    for leaf in graph.leaves:
        if leaf in graph.reachable and leaf not in finishing and leaf not in dead:
            yield DefinitionProblem(
                f"state {leaf!r} cannot lead to a terminal state (from it the workflow "
                f"reaches only {sorted(graph.forward([leaf]))})",
                workflow=d.name,
                state=leaf,
                severity=severity,
            )


# -- transitions that compete -------------------------------------------------------------


def _shadowed(d: WorkflowDefinition) -> Iterator[DefinitionProblem]:
    groups: dict[tuple[str, str], list[TransitionDef]] = {}
    for t in d.transitions:
        groups.setdefault((t.source, t.event), []).append(t)
    for (source, event), group in groups.items():
        for i, first in enumerate(group):
            for later in group[i + 1 :]:
                message = _competition(source, event, first, later)
                if message:
                    yield DefinitionProblem(
                        message, workflow=d.name, state=source, key=event, event=event
                    )


def _competition(
    source: str, event: str, first: TransitionDef, later: TransitionDef
) -> str | None:
    """Why ``later`` competes with ``first`` (tried before it), or None if it does not."""
    if first.guard is None and later.guard is None:
        return f"state {source!r} has two unguarded transitions on event {event!r}"
    if first.guard is None:
        return (
            f"state {source!r} has a transition on event {event!r} to {later.target!r} "
            f"that can never be taken: the one to {first.target!r} before it has no guard"
        )
    if later.guard is None:
        return None  # a guarded transition followed by a default: the usual "else"
    if isinstance(first.guard, ComparableGuard):
        overlap = first.guard.may_overlap(later.guard)
    else:
        overlap = first.guard is later.guard or first.guard_text == later.guard_text
    if not overlap:
        return None
    return (
        f"state {source!r} has overlapping guards on event {event!r}: "
        f"{first.guard_text!r} (to {first.target!r}) and {later.guard_text!r} "
        f"(to {later.target!r}) can both be true"
    )


# -- timeouts and retries -----------------------------------------------------------------


def _problem(d: WorkflowDefinition, s: StateDef, key: str, message: str) -> DefinitionProblem:
    return DefinitionProblem(
        f"state {s.name!r}, key {key!r}: {message}", workflow=d.name, state=s.name, key=key
    )


def _timeout_problems(
    d: WorkflowDefinition, graph: _Graph, s: StateDef
) -> Iterator[DefinitionProblem]:
    if s.timeout is None:
        return
    if not isinstance(s.timeout, timedelta) or s.timeout <= timedelta(0):
        yield _problem(d, s, "timeout", f"must be a positive duration, got {s.timeout!r}")
        return
    if s.terminal:
        yield _problem(d, s, "timeout", "a terminal state cannot time out")
        return
    for leaf in _leaves_under(d, s.name):
        if not any(t.event == TIMEOUT for t in graph.chain(leaf)):
            yield _problem(d, s, "timeout", f"state {leaf!r} has no transition on event 'Timeout'")


def _leaves_under(d: WorkflowDefinition, name: str) -> list[str]:
    children = real_children(d, name)
    if not children:
        return [name]
    return [leaf for child in children for leaf in _leaves_under(d, child)]


def _retry_problems(
    d: WorkflowDefinition, graph: _Graph, s: StateDef, r: RetryPolicy
) -> Iterator[DefinitionProblem]:
    if isinstance(r.max_attempts, bool) or not isinstance(r.max_attempts, int):
        yield _problem(d, s, "retry.max_attempts", f"must be an int, got {r.max_attempts!r}")
    elif r.max_attempts < 1:
        yield _problem(d, s, "retry.max_attempts", f"must be >= 1, got {r.max_attempts!r}")
    if r.backoff not in _BACKOFFS:
        yield _problem(d, s, "retry.backoff", f"got {r.backoff!r} (allowed: {list(_BACKOFFS)})")
    for key, value in (("initial", r.initial), ("max", r.max)):
        if not isinstance(value, timedelta) or value <= timedelta(0):
            yield _problem(d, s, f"retry.{key}", f"must be a positive duration, got {value!r}")
    durations = (r.initial, r.max)
    positive = all(isinstance(x, timedelta) and x > timedelta(0) for x in durations)
    if positive and r.max < r.initial:
        yield _problem(d, s, "retry.max", f"{r.max} is shorter than initial {r.initial}")
    jitter_ok = isinstance(r.jitter, int | float) and not isinstance(r.jitter, bool)
    if not jitter_ok or not 0 <= r.jitter <= 1:
        yield _problem(d, s, "retry.jitter", f"must be a number from 0 to 1, got {r.jitter!r}")
    if not _failure_reaches_retry(d, graph, s.name):
        yield _problem(
            d,
            s,
            "retry",
            "never applies: neither 'Fail' nor 'Timeout' leads from this state to a state "
            "with a 'Retry' transition",
        )


def _failure_reaches_retry(d: WorkflowDefinition, graph: _Graph, name: str) -> bool:
    for leaf in _leaves_under(d, name):
        for event in FAILURE_EVENTS:
            first = next((t for t in graph.chain(leaf) if t.event == event), None)
            if first is None or first.target is None or first.target == PREVIOUS_STATE:
                continue
            for entered in graph.descend(first.target):
                if any(t.event == RETRY for t in graph.chain(entered)):
                    return True
    return False
