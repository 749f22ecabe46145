"""Workflow definitions as frozen data: states, transitions, guards; and validate()."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType
from typing import Any, Final, Literal, Protocol, runtime_checkable

from ..errors import DefinitionError, DefinitionProblem
from . import _display as display
from ._duration import format_duration
from ._events import ROLLBACK
from ._jsonvalue import JSONValue

PREVIOUS_STATE: Final = "@previous"
"""A transition target: the state the workflow was in before it entered the current one.

It is read from the history when the event is processed (the ``from_state`` of the newest
entry that changed state), so ``TransitionDef("Failed", "Retry", PREVIOUS_STATE)`` returns a
workflow to the state it failed in. It cannot be a state's name.
"""
EVENTLESS: Final = ""
"""The event of an eventless transition: taken as soon as its source is active and its guard
allows, after the event that led there (SCXML's transitions without ``event``)."""
DONE_PREFIX: Final = "done.state."
"""``done.state.<id>`` is raised when compound state ``<id>`` enters a final child, and when
every region of parallel state ``<id>`` is in a final state."""
HistoryKind = Literal["shallow", "deep"]
_SHOWN_TRANSITIONS: Final = 20

Guard = Callable[[Mapping[str, JSONValue], JSONValue], bool]
"""A sync predicate over the context and the event data: ``guard(context, data) -> bool``."""


@runtime_checkable
class ComparableGuard(Protocol):
    """A guard that can tell whether it and another guard may both be true.

    Validation asks it, to report transitions on one event whose guards overlap; the guard
    expressions of Swarm.toml implement it. Other guards are compared by identity and label.
    """

    def __call__(self, context: Mapping[str, JSONValue], data: JSONValue, /) -> bool:
        """Evaluate the guard."""
        ...

    def may_overlap(self, other: object) -> bool | None:
        """Whether some context and data make both guards true; None when it cannot tell."""
        ...


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How a state that failed is retried automatically."""

    max_attempts: int = 3
    backoff: Literal["exponential", "fixed"] = "exponential"
    initial: timedelta = timedelta(seconds=1)
    max: timedelta = timedelta(minutes=1)
    jitter: float = 0.0

    def __repr__(self) -> str:
        return (
            f"RetryPolicy(max_attempts={self.max_attempts}, backoff={self.backoff!r}, "
            f"initial={_duration_text(self.initial)!r}, max={_duration_text(self.max)!r}, "
            f"jitter={self.jitter!r})"
        )


def _duration_text(value: object) -> str:
    """A duration as Swarm.toml writes it, or as it is when it is no valid duration."""
    if isinstance(value, timedelta) and value >= timedelta(0):
        return format_duration(value)
    return str(value)


@dataclass(frozen=True, slots=True)
class StateDef:
    """One state of a definition.

    ``parent`` makes this state a child of a compound state; ``initial`` names the child a
    compound state enters by default (its first child when not given). The statechart kinds:

    - ``parallel``: its children are regions, all active at once;
    - ``final``: entering it completes its parent (``done.state.<parent>``); ``terminal``
      marks a state the whole workflow ends in (a final state at the top);
    - ``history``: a pseudo-state child of a compound state that, as a target, re-enters the
      children active when the parent was last left (``"shallow"``: the direct child,
      ``"deep"``: every descendant), or ``default`` when the parent was never left;
    - ``raise_on_entry`` / ``raise_on_exit``: events raised on the internal queue when the
      state is entered / exited (SCXML's ``<onentry><raise/></onentry>``).
    """

    name: str
    terminal: bool = False
    description: str = ""
    parent: str | None = None
    initial: str | None = None
    timeout: timedelta | None = None
    retry: RetryPolicy | None = None
    parallel: bool = False
    final: bool = False
    history: HistoryKind | None = None
    default: str | None = None
    raise_on_entry: tuple[str, ...] = ()
    raise_on_exit: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _plain_fields(self, "name", "parent", "initial", "default")
        object.__setattr__(self, "raise_on_entry", tuple(self.raise_on_entry))
        object.__setattr__(self, "raise_on_exit", tuple(self.raise_on_exit))

    @property
    def is_pseudo(self) -> bool:
        """Whether this is a history pseudo-state (never active itself)."""
        return self.history is not None


@dataclass(frozen=True, slots=True)
class TransitionDef:
    """``source --event [guard]--> target``; ``guard_label`` is the guard as users read it.

    ``implicit`` marks a transition a loader added rather than one the user wrote (such as
    the ``Fail`` and ``Timeout`` transitions every Swarm.toml workflow gets); validation
    does not count implicit transitions as a way out, and exports leave them out.

    Statechart forms: ``event`` may be ``EVENTLESS``; ``target`` may be None (a targetless
    transition: no state is exited or entered) and ``more_targets`` names further targets,
    one per region of a parallel state; ``internal`` (SCXML ``type="internal"``) does not
    exit a compound source; ``raises`` are events put on the internal queue when it is
    taken. An event name is an SCXML descriptor: ``error`` matches ``error`` and
    ``error.store``, ``*`` matches every event.
    """

    source: str
    event: str
    target: str | None
    guard: Guard | None = field(default=None, compare=False)
    guard_label: str | None = None
    implicit: bool = False
    internal: bool = False
    more_targets: tuple[str, ...] = ()
    raises: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _plain_fields(self, "source", "event", "target")
        object.__setattr__(self, "more_targets", tuple(self.more_targets))
        object.__setattr__(self, "raises", tuple(self.raises))

    @property
    def targets(self) -> tuple[str, ...]:
        """Every target, in order (empty for a targetless transition)."""
        return () if self.target is None else (self.target, *self.more_targets)

    @property
    def is_eventless(self) -> bool:
        """Whether the transition is taken without an event."""
        return self.event == EVENTLESS

    @property
    def guard_text(self) -> str | None:
        """The guard as users read it: ``guard_label``, else the function's name."""
        if self.guard is None:
            return None
        return self.guard_label or getattr(self.guard, "__name__", "guard")

    @property
    def label(self) -> str:
        """The event name, with the guard in brackets when there is one."""
        guard = self.guard_text
        if guard is None:
            return self.event
        return f"[{guard}]" if self.is_eventless else f"{self.event} [{guard}]"


def _plain_fields(obj: object, *names: str) -> None:
    """Store each named str field as a plain ``str``, a ``StrEnum`` member as its value.

    Every state and event name a definition hands out (``sm.state``, history entries,
    handler arguments) is then a plain string that prints as one; the enum member still
    compares equal to it (``WorkflowState.RUNNING == "Running"``).
    """
    for name in names:
        value = getattr(obj, name)
        if isinstance(value, str) and type(value) is not str:
            object.__setattr__(obj, name, str.__str__(value))


@dataclass(frozen=True, slots=True)
class WorkflowDefinition:
    """A frozen workflow definition; a ``WorkflowStateMachine`` runs one instance of it.

    Raises:
        DefinitionError: the definition cannot run (unknown initial state, source, target or
            parent, duplicate state names, a reserved event name); every problem is listed.

    Example:
        >>> d = WorkflowDefinition(
        ...     "door",
        ...     states=(StateDef("Closed"), StateDef("Open")),
        ...     initial_state="Closed",
        ...     transitions=(TransitionDef("Closed", "open", "Open"),),
        ... )
        >>> d.events
        frozenset({'open'})
    """

    name: str
    states: tuple[StateDef, ...]
    initial_state: str
    transitions: tuple[TransitionDef, ...]
    description: str = ""
    _by_name: Mapping[str, StateDef] = field(init=False, repr=False, compare=False)
    _compiled: Any = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _plain_fields(self, "name", "initial_state")
        object.__setattr__(self, "states", tuple(self.states))
        object.__setattr__(self, "transitions", tuple(self.transitions))
        object.__setattr__(self, "_by_name", MappingProxyType({s.name: s for s in self.states}))
        problems = _structural_problems(self)
        if problems:
            raise DefinitionError(
                "; ".join(p.message for p in problems),
                workflow=self.name,
                state=problems[0].state,
                key=problems[0].key,
                problems=problems,
            )

    @property
    def state_names(self) -> tuple[str, ...]:
        """Every state name, in definition order."""
        return tuple(self._by_name)

    @property
    def events(self) -> frozenset[str]:
        """Every event name some transition uses (eventless transitions aside)."""
        return frozenset(t.event for t in self.transitions if t.event != EVENTLESS)

    @property
    def terminal_states(self) -> frozenset[str]:
        """The states a workflow ends in: marked terminal, or final at the top."""
        return frozenset(s.name for s in self.states if self.is_terminal(s.name))

    @property
    def is_statechart(self) -> bool:
        """Whether any statechart feature is used.

        Parallel, final or history states, raised events, or transitions that are eventless,
        internal, targetless or have several targets.
        """
        return any(
            s.parallel or s.final or s.history or s.raise_on_entry or s.raise_on_exit
            for s in self.states
        ) or any(
            t.is_eventless or t.internal or len(t.targets) != 1 or t.raises
            for t in self.transitions
        )

    def state(self, name: str) -> StateDef:
        """Return the state called ``name``.

        Raises:
            KeyError: no such state.
        """
        return self._by_name[name]

    def has_state(self, name: str) -> bool:
        """Whether ``name`` is a state of this definition."""
        return name in self._by_name

    def is_terminal(self, name: str) -> bool:
        """Whether ``name`` is a terminal state (``terminal``, or ``final`` at the top)."""
        s = self._by_name[name]
        return s.terminal or (s.final and s.parent is None)

    def children(self, name: str) -> tuple[str, ...]:
        """The direct children of a compound state (empty for an atomic state)."""
        return tuple(s.name for s in self.states if s.parent == name)

    def ancestors(self, name: str) -> tuple[str, ...]:
        """The proper ancestors of ``name``, innermost first."""
        chain: list[str] = []
        parent = self._by_name[name].parent
        while parent is not None and parent not in chain:
            chain.append(parent)
            parent = self._by_name[parent].parent
        return tuple(chain)

    def transitions_from(self, name: str) -> tuple[TransitionDef, ...]:
        """The transitions whose source is ``name`` (ancestors' transitions not included)."""
        return tuple(t for t in self.transitions if t.source == name)

    def _repr_mimebundle_(
        self, include: Collection[str] | None = None, exclude: Collection[str] | None = None
    ) -> dict[str, Any]:
        lines = [
            f"<WorkflowDefinition {self.name!r}: {len(self.states)} states, "
            f"{len(self.transitions)} transitions, initial {str(self.initial_state)!r}, "
            f"terminal {sorted(map(str, self.terminal_states))}>"
        ]
        shown = self.transitions[:_SHOWN_TRANSITIONS]
        lines.extend(f"  {t.source} --{t.label}--> {t.target}" for t in shown)
        if len(self.transitions) > len(shown):
            lines.append(f"  ... and {len(self.transitions) - len(shown)} more transitions")
        return display.mimebundle(self, "\n".join(lines), include, exclude)


def _structural_problems(d: WorkflowDefinition) -> list[DefinitionProblem]:
    problems = list(_name_problems(d))
    if problems:
        return problems  # the checks below need str names
    known = sorted(d._by_name)
    if d.initial_state not in d._by_name:
        problems.append(
            DefinitionProblem(
                f"initial state {d.initial_state!r} is not a state (states: {known})",
                workflow=d.name,
                key="initial_state",
            )
        )
    for s in d.states:
        problems.extend(_parent_problems(d, s, known))
    problems.extend(_parent_cycles(d))
    for t in d.transitions:
        problems.extend(_transition_problems(d, t, known))
    return problems


def _name_problems(d: WorkflowDefinition) -> Iterable[DefinitionProblem]:
    if not isinstance(d.name, str) or not d.name:
        yield DefinitionProblem(
            f"a workflow needs a non-empty str name, got {d.name!r}", key="name"
        )
    names = [s.name for s in d.states]
    reported: set[str] = set()
    for name in names:
        if not isinstance(name, str) or not name:
            yield DefinitionProblem(
                f"a state needs a non-empty str name, got {name!r}",
                workflow=str(d.name),
                key="name",
            )
        elif name == PREVIOUS_STATE:
            yield DefinitionProblem(
                f"state name {name!r} is reserved (as a target it means the previous state)",
                workflow=str(d.name),
                state=name,
                key="name",
            )
        elif names.count(name) > 1 and name not in reported:
            reported.add(name)
            yield DefinitionProblem(
                f"state {name!r} is defined {names.count(name)} times",
                workflow=str(d.name),
                state=name,
            )
    if not names:
        yield DefinitionProblem(
            "a workflow needs at least one state", workflow=str(d.name), key="states"
        )


def _parent_problems(
    d: WorkflowDefinition, s: StateDef, known: list[str]
) -> Iterable[DefinitionProblem]:
    if s.parent is not None and s.parent not in d._by_name:
        yield DefinitionProblem(
            f"state {s.name!r} has unknown parent {s.parent!r} (states: {known})",
            workflow=d.name,
            state=s.name,
            key="parent",
        )
    if s.default is not None and s.default not in d._by_name:
        yield DefinitionProblem(
            f"history state {s.name!r} has unknown default {s.default!r} (states: {known})",
            workflow=d.name,
            state=s.name,
            key="default",
        )
    if s.initial is not None and d._by_name.get(s.initial, s).parent != s.name:
        yield DefinitionProblem(
            f"initial child {s.initial!r} of state {s.name!r} is not one of its children",
            workflow=d.name,
            state=s.name,
            key="initial",
        )


def _parent_cycles(d: WorkflowDefinition) -> Iterable[DefinitionProblem]:
    for s in d.states:
        seen = {s.name}
        parent = s.parent
        while parent is not None and parent in d._by_name:
            if parent in seen:
                yield DefinitionProblem(
                    f"state {s.name!r} is its own ancestor",
                    workflow=d.name,
                    state=s.name,
                    key="parent",
                )
                break
            seen.add(parent)
            parent = d._by_name[parent].parent


def _transition_problems(
    d: WorkflowDefinition, t: TransitionDef, known: list[str]
) -> Iterable[DefinitionProblem]:
    shown = t.target if len(t.targets) < 2 else list(t.targets)
    where = f"transition {t.source!r} --{t.event!r}--> {shown!r}"
    if t.source not in d._by_name:
        yield DefinitionProblem(
            f"{where}: unknown source state (states: {known})",
            workflow=d.name,
            state=t.source,
            key="source",
        )
    for target in t.targets:
        if target not in d._by_name and target != PREVIOUS_STATE:
            yield DefinitionProblem(
                f"{where}: unknown target state {target!r} (states: {known})",
                workflow=d.name,
                state=t.source,
                key=t.event,
                event=t.event,
            )
    if not isinstance(t.event, str):
        yield DefinitionProblem(
            f"{where}: an event needs a str name (EVENTLESS, '', for an eventless one)",
            workflow=d.name,
            state=t.source,
            key="event",
        )
    elif t.event == ROLLBACK:
        yield DefinitionProblem(
            f"{where}: {ROLLBACK!r} is reserved (it undoes the last "
            "transition) and cannot be mapped",
            workflow=d.name,
            state=t.source,
            key=t.event,
        )
