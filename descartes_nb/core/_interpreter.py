"""The statechart interpreter: every rule of W3C SCXML's Appendix D, pure and synchronous.

``macrostep`` decides what one event does (the rules themselves are in ``_macrostep``). It
never awaits and changes nothing: it returns a ``Step``, the plan the machine carries out
(handlers, store, memory). Guards are the only user code it calls; they see the context as
it was when the event arrived.

A ``Step`` that depended on no guard and no history is remembered per (configuration, event),
so a repeated decision (every event of a flat workflow, after the first) is a dict lookup.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ..errors import DefinitionError
from ._chart import ROOT, Chart
from ._definition import DONE_PREFIX, EVENTLESS, TransitionDef, WorkflowDefinition
from ._macrostep import Macrostep
from ._step import NO_MEMORY, GuardCheck, Memory, Microstep, Step, Unsettled


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
