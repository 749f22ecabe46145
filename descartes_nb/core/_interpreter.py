"""The statechart interpreter: every rule of W3C SCXML's Appendix D, pure and synchronous.

``macrostep`` decides what one event does: the transitions it enables (document order, a
descendant's transition preempting its ancestors', conflicts resolved by exit sets), the
states exited (innermost first) and entered (outermost first), the history memory, the done
events, then eventless transitions and raised events until the configuration is stable
(``Macrostep``, every rule in one place). It never awaits and changes nothing: it returns a
``Step``, the plan the machine carries out
(handlers, store, memory). Guards are the only user code it calls; they see the context as
it was when the event arrived.

A ``Step`` that depended on no guard and no history is remembered per (configuration, event),
so a repeated decision (every event of a flat workflow, after the first) is a dict lookup.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from typing import Final, cast

from ..errors import DefinitionError
from ._chart import ROOT, Chart, done_event
from ._definition import DONE_PREFIX, EVENTLESS, PREVIOUS_STATE, TransitionDef, WorkflowDefinition
from ._step import (
    MAX_MICROSTEPS,
    NO_MEMORY,
    GuardCheck,
    Memory,
    Microstep,
    NoPreviousState,
    Step,
    Unsettled,
    matches,
)


class Interpreter:
    """The decisions for one definition; one instance per definition, shared by machines."""

    __slots__ = ("chart", "definition", "direct", "has_timers", "initial", "remembered")

    def __init__(self, definition: WorkflowDefinition) -> None:
        self.definition = definition
        self.chart = Chart(definition)
        self.remembered: dict[tuple[frozenset[str], Memory, str], Step] = {}
        # A flat definition's configuration follows from its state: the same steps keyed by
        # (state, event), a cheaper key (None for a statechart).
        self.direct: dict[tuple[str, str], Step] | None = (
            None if self.chart.has_chart_features else {}
        )
        self.has_timers = any(
            s.timeout is not None or s.retry is not None for s in definition.states
        )
        try:
            self.initial = self.start(NO_MEMORY, _no_guard)
        except Unsettled as exc:
            raise DefinitionError(
                f"definition {definition.name!r}: entering the initial configuration {exc}",
                workflow=definition.name,
                key="initial_state",
            ) from None

    def start(self, memory: Memory, check: GuardCheck) -> Step:
        """Enter the initial configuration, then settle (eventless transitions, raises)."""
        run = Macrostep(self.chart, frozenset(), memory, check, None)
        run.enter_initial()
        run.settle()
        return run.step(ROOT)

    def macrostep(
        self,
        configuration: frozenset[str],
        memory: Memory,
        event: str,
        data: object,
        check: GuardCheck,
        previous: Callable[[], str | None] | None = None,
    ) -> Step | None:
        """What ``event`` does in ``configuration``, or None when no transition takes it.

        Raises:
            Unsettled: the macrostep did not settle within ``MAX_MICROSTEPS``.
            InvalidTransitionError: a transition to ``PREVIOUS_STATE`` found no previous
                state (raised by ``previous``).
            Whatever ``check`` raises (a failing guard).
        """
        key = (configuration, memory, event)
        found = self.remembered.get(key)
        if found is not None:
            return found
        run = Macrostep(self.chart, configuration, memory, check, previous, data)
        if not run.take(event, external=True):
            return None
        run.settle()
        step = run.step(self.chart.innermost(configuration))
        if run.is_reusable and len(self.remembered) < 10_000:
            self.remembered[key] = step
            if self.direct is not None:
                self.direct[(step.source, event)] = step
        return step

    def jump(self, configuration: frozenset[str], to: frozenset[str], memory: Memory) -> Step:
        """The plan of going straight from ``configuration`` to ``to`` (rollback's move).

        It exits the states only ``configuration`` has and enters those only ``to`` has;
        ``memory`` is the history memory to restore.
        """
        chart = self.chart
        source, target = chart.innermost(configuration), chart.innermost(to)
        exited = tuple(reversed(chart.in_order(configuration - to)))
        entered = tuple(chart.in_order(to - configuration))
        micro = Microstep((), exited, entered, source, target)
        recorded = chart.has_chart_features
        return Step(source, target, (micro,), exited, entered, to, memory, recorded)

    def plan(self, transitions: list[TransitionDef], configuration: frozenset[str]) -> Step:
        """The plan of taking ``transitions`` together in ``configuration`` (one microstep)."""
        run = Macrostep(self.chart, configuration, NO_MEMORY, _no_guard, None)
        run.microstep(transitions)
        return run.step(self.chart.innermost(configuration))

    def stay(self, configuration: frozenset[str], memory: Memory) -> Step:
        """The plan of an event no transition takes (a custom event, recorded as internal)."""
        state = self.chart.innermost(configuration)
        recorded = self.chart.has_chart_features
        return Step(state, state, (), (), (), configuration, memory, recorded)

    def enabled_events(self, configuration: frozenset[str], check: GuardCheck) -> list[str]:
        """Events some transition would take now (guards see no event data).

        Innermost states' events first; eventless transitions and the ``done.state``
        events the chart raises itself are left out.
        """
        events: list[str] = []
        for t in self.candidates(configuration):
            if t.event == EVENTLESS or t.event.startswith(DONE_PREFIX) or t.event in events:
                continue
            if t.guard is None or check(t, None):
                events.append(t.event)
        return events

    def candidates(self, configuration: frozenset[str]) -> Iterable[TransitionDef]:
        """Transitions of the active states, innermost states first, then document order."""
        nodes = sorted(
            (self.chart.node(s) for s in configuration),
            key=lambda n: (-len(n.ancestors), n.order),
        )
        for node in nodes:
            yield from node.transitions


def interpreter_of(definition: WorkflowDefinition) -> Interpreter:
    """The interpreter of ``definition``, made on first use and kept on it."""
    found = definition._compiled
    if not isinstance(found, Interpreter):
        found = Interpreter(definition)
        object.__setattr__(definition, "_compiled", found)  # a cache on a frozen value
    return found


def _no_guard(t: TransitionDef, data: object) -> bool:
    return t.guard is None


_UNREAD: Final = object()


class Macrostep:
    """One macrostep in progress (Appendix D's mainEventLoop for one external event)."""

    def __init__(
        self,
        chart: Chart,
        configuration: frozenset[str],
        memory: Memory,
        check: GuardCheck,
        previous: Callable[[], str | None] | None,
        data: object = None,
    ) -> None:
        self.chart = chart
        self.config = set(configuration)
        self.memory = dict(memory)
        self.check = check
        self.previous = previous
        self.previous_found: str | object | None = _UNREAD
        self.external = False
        self.data = data
        self.queue: deque[str] = deque()
        self.microsteps: list[Microstep] = []
        self.is_reusable = True

    # -- the loop ----------------------------------------------------------------------

    def take(self, event: str, *, external: bool = False) -> bool:
        self.external = external
        enabled = self.select(event, self.data if external else None)
        self.external = False
        if enabled:
            self.microstep(enabled)
        return bool(enabled)

    def settle(self) -> None:
        while True:
            if len(self.microsteps) > MAX_MICROSTEPS:
                raise Unsettled(
                    f"did not settle after {MAX_MICROSTEPS} microsteps: an "
                    "eventless transition or raised event loops "
                    f"(last transitions: {[_show(t) for t in self.microsteps[-1].transitions]})"
                )
            enabled = self.select(EVENTLESS, None) if self.chart.eventless else []
            if enabled:
                self.microstep(enabled)
            elif self.queue:
                self.take(self.queue.popleft())
            else:
                return

    def step(self, source: str) -> Step:
        configuration = frozenset(self.config)
        exited = tuple(s for m in self.microsteps for s in m.exited)
        entered = tuple(s for m in self.microsteps for s in m.entered)
        memory = tuple(sorted(self.memory.items()))
        target = self.chart.innermost(configuration)
        micro = tuple(self.microsteps)
        recorded = self.chart.has_chart_features
        return Step(source, target, micro, exited, entered, configuration, memory, recorded)

    # -- selection ---------------------------------------------------------------------

    def select(self, event: str, data: object) -> list[TransitionDef]:
        enabled: list[TransitionDef] = []
        atomic = self.chart.in_order(s for s in self.config if s in self.chart.atomic)
        for leaf in atomic:
            found = self.first_enabled(leaf, event, data)
            if found is not None and found not in enabled:
                enabled.append(found)
        return self.without_conflicts(enabled) if len(enabled) > 1 else enabled

    def first_enabled(self, leaf: str, event: str, data: object) -> TransitionDef | None:
        for name in (leaf, *self.chart.node(leaf).ancestors):
            for t in self.chart.node(name).transitions:
                if event == EVENTLESS:
                    if t.event != EVENTLESS:
                        continue
                elif t.event == EVENTLESS or not matches(t.event, event):
                    continue
                if t.guard is not None:
                    self.is_reusable = False
                    if not self.check(t, data):
                        continue
                if PREVIOUS_STATE in t.targets and self.previous_state() is None:
                    if self.external:
                        raise NoPreviousState(t)
                    continue  # raised or eventless: as if it were not there
                return t
        return None

    def without_conflicts(self, enabled: list[TransitionDef]) -> list[TransitionDef]:
        kept: list[TransitionDef] = []
        for t1 in enabled:
            exits1 = self.exit_set([t1])
            preempted = False
            replaced: list[TransitionDef] = []
            for t2 in kept:
                if exits1 & self.exit_set([t2]):
                    if self.chart.is_descendant(t1.source, t2.source):
                        replaced.append(t2)
                    else:
                        preempted = True
                        break
            if not preempted:
                kept = [t for t in kept if t not in replaced] + [t1]
        return kept

    # -- one microstep -----------------------------------------------------------------

    def microstep(self, enabled: list[TransitionDef]) -> None:
        source = self.chart.innermost(frozenset(self.config)) if self.config else ROOT
        exited = self.exit_states(enabled)
        for t in enabled:
            self.queue.extend(t.raises)
        entered = self.enter_states(enabled)
        target = self.chart.innermost(frozenset(self.config))
        self.microsteps.append(Microstep(tuple(enabled), exited, entered, source, target))

    def exit_states(self, enabled: list[TransitionDef]) -> tuple[str, ...]:
        leaving = self.exit_set(enabled)
        order = tuple(reversed(self.chart.in_order(leaving)))
        for state in order:
            node = self.chart.node(state)
            for h in node.histories:
                self.is_reusable = False
                self.memory[h] = self.remembered_by(h, state)
        for state in order:
            self.queue.extend(self.chart.node(state).raise_on_exit)
            self.config.discard(state)
        return order

    def remembered_by(self, history: str, parent: str) -> tuple[str, ...]:
        if self.chart.node(history).deep:
            found = (s for s in self.config if s in self.chart.atomic)
            return tuple(
                self.chart.in_order(s for s in found if self.chart.is_descendant(s, parent))
            )
        return tuple(
            self.chart.in_order(s for s in self.config if self.chart.node(s).parent == parent)
        )

    def enter_states(self, enabled: list[TransitionDef]) -> tuple[str, ...]:
        entering: set[str] = set()
        for t in enabled:
            for target in self.targets(t):
                self.add_descendants(target, entering)
            domain = self.domain(t)
            for target in self.effective_targets(t):
                self.add_ancestors(target, domain, entering)
        return self.activate(entering)

    def activate(self, entering: set[str]) -> tuple[str, ...]:
        """Enter ``entering`` in document order.

        Raises their entry events, and the done events of the parents of final states.
        """
        order = tuple(self.chart.in_order(entering))
        for state in order:
            self.config.add(state)
            node = self.chart.node(state)
            self.queue.extend(node.raise_on_entry)
            if node.kind == "final" and node.parent not in (ROOT, None):
                self.completed(node.parent or ROOT)
        return order

    def completed(self, parent: str) -> None:
        self.queue.append(done_event(parent))
        grandparent = self.chart.node(parent).parent
        if (
            grandparent
            and self.chart.node(grandparent).kind == "parallel"
            and self.chart.is_in_final(grandparent, frozenset(self.config))
        ):
            self.queue.append(done_event(grandparent))

    # -- exit and entry sets -----------------------------------------------------------

    def exit_set(self, enabled: list[TransitionDef]) -> set[str]:
        leaving: set[str] = set()
        for t in enabled:
            if t.target is None:
                continue
            domain = self.domain(t)
            leaving.update(s for s in self.config if self.chart.is_descendant(s, domain))
        return leaving

    def domain(self, t: TransitionDef) -> str:
        targets = self.effective_targets(t)
        source = self.chart.node(t.source)
        if (
            t.internal
            and source.kind == "compound"
            and all(self.chart.is_descendant(s, t.source) for s in targets)
        ):
            return t.source
        return self.lcca((t.source, *targets))

    def lcca(self, states: tuple[str, ...]) -> str:
        first, *others = states
        for ancestor in self.chart.node(first).ancestors:
            if self.chart.node(ancestor).kind == "compound" and all(
                self.chart.is_descendant(s, ancestor) for s in others
            ):
                return ancestor
        return ROOT

    def targets(self, t: TransitionDef) -> tuple[str, ...]:
        if PREVIOUS_STATE not in t.targets:
            return t.targets
        previous = self.previous_state()
        assert previous is not None  # (first_enabled took no such transition otherwise)
        return tuple(previous if s == PREVIOUS_STATE else s for s in t.targets)

    def previous_state(self) -> str | None:
        """The state before the current one, from the history (read once per macrostep)."""
        self.is_reusable = False
        if self.previous_found is _UNREAD:
            self.previous_found = None if self.previous is None else self.previous()
        return cast(str | None, self.previous_found)

    def effective_targets(self, t: TransitionDef) -> list[str]:
        found: list[str] = []
        for target in self.targets(t):
            self.add_effective(target, found)
        return found

    def add_effective(self, target: str, found: list[str]) -> None:
        node = self.chart.node(target)
        if node.kind != "history":
            found.append(target)
            return
        self.is_reusable = False
        for s in self.memory.get(target) or node.default or (node.parent or ROOT,):
            self.add_effective(s, found)

    def add_descendants(self, state: str, entering: set[str]) -> None:
        node = self.chart.node(state)
        if node.kind == "history":
            self.is_reusable = False
            parent = node.parent or ROOT
            for s in self.memory.get(state) or node.default or (parent,):
                if s == parent:  # nothing remembered, no default: the parent's own entry
                    if parent != ROOT:
                        entering.add(parent)
                    self.add_descendants_of_parent(parent, entering)
                else:
                    self.add_descendants(s, entering)
                    self.add_ancestors(s, parent, entering)
            return
        entering.add(state)
        if node.kind == "compound":
            for s in node.initial:
                self.add_descendants(s, entering)
                self.add_ancestors(s, state, entering)
        elif node.kind == "parallel":
            self.enter_regions(node.children, entering)

    def add_descendants_of_parent(self, parent: str, entering: set[str]) -> None:
        node = self.chart.node(parent)
        if node.kind == "parallel":
            self.enter_regions(node.children, entering)
            return
        initial = node.initial
        if initial and self.chart.node(initial[0]).kind == "history":
            initial = node.children[:1]  # a history with nothing to say: the first child
        for s in initial:
            self.add_descendants(s, entering)
            self.add_ancestors(s, parent, entering)

    def add_ancestors(self, state: str, ancestor: str, entering: set[str]) -> None:
        for a in self.chart.node(state).ancestors:
            if a in (ancestor, ROOT):
                return
            entering.add(a)
            if self.chart.node(a).kind == "parallel":
                self.enter_regions(self.chart.node(a).children, entering)

    def enter_regions(self, regions: tuple[str, ...], entering: set[str]) -> None:
        for region in regions:
            if not any(self.chart.is_descendant(s, region) for s in entering):
                self.add_descendants(region, entering)

    def enter_initial(self) -> None:
        entering: set[str] = set()
        self.add_descendants_of_parent(ROOT, entering)
        order = self.activate(entering)
        target = self.chart.innermost(frozenset(self.config))
        self.microsteps.append(Microstep((), (), order, ROOT, target))


def _show(t: TransitionDef) -> str:
    return f"{t.source} --{t.event or '(eventless)'}--> {list(t.targets)}"
