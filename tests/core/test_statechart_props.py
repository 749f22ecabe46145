"""Properties of the interpreter: (a) random statecharts driven by random events stay legal and
round-trip through JSON; (c) on flat definitions it agrees with the engine it replaced."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import descartes_nb as dn
from descartes_nb import StateDef as St
from descartes_nb import TransitionDef as T
from descartes_nb.core._definition import PREVIOUS_STATE
from descartes_nb.core._interpreter import interpreter_of

from ..conftest import ExitEnterTrace
from ..strategies import CHART_EVENTS, statecharts
from . import flat_reference as reference

START = datetime(2026, 3, 1, tzinfo=UTC)
EVENTS = st.lists(st.sampled_from([e for e in CHART_EVENTS if e] + ["note", "Retry"]), max_size=10)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_legal(sm: dn.WorkflowStateMachine) -> None:
    chart = interpreter_of(sm.definition).chart
    assert chart.configuration_problem(sm.configuration) is None, sorted(sm.configuration)
    assert chart.innermost(sm.configuration) == sm.state


def machine(definition: dn.WorkflowDefinition) -> dn.WorkflowStateMachine | None:
    """A machine, or None when the chart cannot even enter its initial configuration."""
    try:
        return dn.WorkflowStateMachine("prop", definition, clock=dn.ManualClock(start=START))
    except dn.DefinitionError as exc:
        if "did not settle" not in str(exc):
            raise
        return None


@SETTINGS
@given(statecharts(), EVENTS)
def test_random_statecharts_stay_legal_and_round_trip(definition, events):
    asyncio.run(_drive(definition, events))


async def _drive(definition: dn.WorkflowDefinition, events: list[str]) -> None:
    sm = machine(definition)
    if sm is None:
        return
    assert_legal(sm)
    for name in events:
        before = sm.serialize()
        try:
            entry = await sm.process_event(name)
        except dn.WorkflowError:
            assert sm.serialize() == before  # a refusal or an unsettled step changes nothing
            continue
        assert_legal(sm)
        if definition.is_statechart:  # (a flat definition's entries record no moves)
            assert entry.configuration == sm.configuration
        text = sm.serialize().to_json()
        again = dn.WorkflowStateMachine.deserialize(
            dn.SerializedWorkflow.from_json(text), definition=definition, clock=sm.clock
        )
        assert again.serialize() == sm.serialize()
        assert again.configuration == sm.configuration


# ---- (c): flat definitions, against the engine the interpreter replaced -----------------


@st.composite
def flat_definitions(draw) -> dn.WorkflowDefinition:
    """Compound states (a tree), transitions between any states, some guarded on the
    context, some back to the previous state: everything a flat definition could do."""
    size = draw(st.integers(2, 7))
    names = [f"S{i}" for i in range(size)]
    states = [St(names[0])]
    for i in range(1, size):
        states.append(St(names[i], parent=draw(st.sampled_from([None, *names[:i]]))))
    transitions = []
    for _ in range(draw(st.integers(1, 3 * size))):
        source = names[draw(st.integers(0, size - 1))]
        target = draw(st.sampled_from([*names, PREVIOUS_STATE]))
        event = draw(st.sampled_from(["a", "b", "c"]))
        wanted = draw(st.none() | st.integers(0, 2))
        guard = None if wanted is None else _guard(wanted)
        transitions.append(T(source, event, target, guard=guard))
    return dn.WorkflowDefinition(
        "flat", states=tuple(states), initial_state=names[0], transitions=tuple(transitions)
    )


def _guard(wanted: int) -> dn.core._definition.Guard:
    def guard(context, data):
        return context.get("n") == wanted

    return guard


@SETTINGS
@given(
    flat_definitions(),
    st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 2)), max_size=12),
)
def test_flat_definitions_step_as_the_old_engine_did(definition, steps):
    asyncio.run(_compare(definition, steps))


async def _compare(definition: dn.WorkflowDefinition, steps: list[tuple[str, int]]) -> None:
    trace = ExitEnterTrace()
    sm = dn.WorkflowStateMachine("flat", definition, handler=trace)
    await sm.start()
    state = reference.initial_state(definition)
    assert sm.state == state
    previous: list[str] = []  # the states left, as the old machine read them from its history
    for event, n in steps:
        await sm.set_context("n", n)
        trace.calls.clear()
        expected = _old_step(definition, state, event, {"n": n}, previous)
        if expected is None:
            try:
                await sm.process_event(event)
            except dn.WorkflowError:
                assert sm.state == state
                continue
            raise AssertionError(f"{event!r} in {state!r}: the old engine refused it")
        await sm.process_event(event)
        assert sm.state == expected.target
        assert sm.configuration == expected.configuration
        assert trace.calls == [("exit", s) for s in expected.exited] + [
            ("enter", s) for s in expected.entered
        ]
        if expected.target != state:
            previous.append(state)
        state = expected.target


def _old_step(definition, state, event, context, previous):
    for t, step in reference.candidates(definition, state, event):
        if t.guard is None or t.guard(context, None):
            if step.target == PREVIOUS_STATE:
                if not previous:
                    return None
                return reference.resolve_previous(definition, step, previous[-1])
            return step
    return None
