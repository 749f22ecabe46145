"""Statechart semantics (W3C SCXML, Appendix D): one small test per rule."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

import descartes_nb as dn
from descartes_nb import EVENTLESS
from descartes_nb import StateDef as St
from descartes_nb import TransitionDef as T
from descartes_nb.core._definition import HistoryKind

from ..conftest import ExitEnterTrace


def chart(states, transitions, initial) -> dn.WorkflowDefinition:
    return dn.WorkflowDefinition(
        "chart", states=states, initial_state=initial, transitions=transitions
    )


@pytest.fixture
def release() -> dn.WorkflowDefinition:
    """Checks forks into Build and Test regions; done.state.Checks joins them into Deploy."""
    return chart(
        (
            St("Checks", parallel=True),
            St("Build", parent="Checks"),
            St("Compiling", parent="Build"),
            St("Built", parent="Build", final=True),
            St("Test", parent="Checks"),
            St("Testing", parent="Test"),
            St("Tested", parent="Test", final=True),
            St("Deploy"),
            St("Done", final=True),
        ),
        (
            T("Compiling", "compiled", "Built"),
            T("Testing", "passed", "Tested"),
            T("Checks", "done.state.Checks", "Deploy"),
            T("Checks", "abort", "Done"),
            T("Deploy", "ship", "Done"),
        ),
        "Checks",
    )


def test_parallel_state_enters_every_region_in_document_order(release):
    sm = dn.WorkflowStateMachine("r", release)
    assert sm.configuration == {"Checks", "Build", "Compiling", "Test", "Testing"}
    assert sm.state == "Checks"  # the innermost state holding both active leaves
    assert sm.allowed_events() == ["compiled", "passed", "abort"]


async def test_entry_outermost_first_and_exit_innermost_first(release):
    trace = ExitEnterTrace()
    sm = dn.WorkflowStateMachine("r", release, handler=trace)
    await sm.start()
    assert trace.calls == [
        ("enter", "Checks"),
        ("enter", "Build"),
        ("enter", "Compiling"),
        ("enter", "Test"),
        ("enter", "Testing"),
    ]
    trace.calls.clear()
    await sm.process_event("abort")
    assert trace.calls == [
        ("exit", "Testing"),
        ("exit", "Test"),
        ("exit", "Compiling"),
        ("exit", "Build"),
        ("exit", "Checks"),
        ("enter", "Done"),
    ]


async def test_done_state_of_a_parallel_state_when_every_region_is_final(release):
    sm = dn.WorkflowStateMachine("r", release)
    first = await sm.process_event("compiled")
    assert sm.configuration == {"Checks", "Build", "Built", "Test", "Testing"}
    assert first.exited == ("Compiling",)
    assert first.entered == ("Built",)
    second = await sm.process_event("passed")  # Test is done too: done.state.Checks fires
    assert sm.state == "Deploy"
    assert second.configuration == {"Deploy"}
    assert second.entered == ("Tested", "Deploy")
    assert second.exited == ("Testing", "Tested", "Test", "Built", "Build", "Checks")
    assert (second.from_state, second.to_state) == ("Checks", "Deploy")


async def test_done_state_of_a_compound_state_entering_a_final_child():
    d = chart(
        (
            St("Job", initial="Work"),
            St("Work", parent="Job"),
            St("End", parent="Job", final=True),
            St("After"),
        ),
        (T("Work", "finish", "End"), T("Job", "done.state.Job", "After")),
        "Job",
    )
    sm = dn.WorkflowStateMachine("j", d)
    await sm.process_event("finish")
    assert sm.configuration == {"After"}


async def test_a_descendants_transition_preempts_its_ancestors():
    d = chart(
        (St("P", initial="A"), St("A", parent="P"), St("B", parent="P"), St("Out")),
        (T("P", "go", "Out"), T("A", "go", "B")),
        "P",
    )
    sm = dn.WorkflowStateMachine("p", d)
    await sm.process_event("go")
    assert sm.state == "B"
    await sm.process_event("go")  # B has none of its own: P's is taken
    assert sm.state == "Out"


async def test_conflicting_transitions_are_resolved_in_document_order():
    # Both regions leave the parallel state on "stop": their exit sets intersect, so only the
    # first in document order (region L's) is taken.
    d = chart(
        (
            St("Par", parallel=True),
            St("L", parent="Par"),
            St("L1", parent="L"),
            St("R", parent="Par"),
            St("R1", parent="R"),
            St("ByLeft"),
            St("ByRight"),
        ),
        (T("L1", "stop", "ByLeft"), T("R1", "stop", "ByRight")),
        "Par",
    )
    sm = dn.WorkflowStateMachine("c", d)
    entry = await sm.process_event("stop")
    assert sm.state == "ByLeft"
    assert entry.entered == ("ByLeft",)


async def test_transitions_in_two_regions_are_taken_together():
    d = chart(
        (
            St("Par", parallel=True),
            St("L", parent="Par"),
            St("L1", parent="L"),
            St("L2", parent="L"),
            St("R", parent="Par"),
            St("R1", parent="R"),
            St("R2", parent="R"),
        ),
        (T("L1", "tick", "L2"), T("R1", "tick", "R2")),
        "Par",
    )
    sm = dn.WorkflowStateMachine("t", d)
    entry = await sm.process_event("tick")
    assert sm.configuration == {"Par", "L", "L2", "R", "R2"}
    assert entry.exited == ("R1", "L1")  # one microstep: reverse document order
    assert entry.entered == ("L2", "R2")


def _editor(kind: HistoryKind) -> dn.WorkflowDefinition:
    return chart(
        (
            St("Editing", initial="Draft"),
            St("H", parent="Editing", history=kind, default="Review"),
            St("Draft", parent="Editing", initial="Typing"),
            St("Typing", parent="Draft"),
            St("Spelling", parent="Draft"),
            St("Review", parent="Editing"),
            St("Break"),
        ),
        (
            T("Typing", "check", "Spelling"),
            T("Editing", "pause", "Break"),
            T("Break", "back", "H"),
            T("Break", "fresh", "Editing"),
        ),
        "Editing",
    )


@pytest.mark.parametrize(("kind", "leaf"), [("shallow", "Typing"), ("deep", "Spelling")])
async def test_history_shallow_remembers_the_child_deep_every_descendant(kind, leaf):
    sm = dn.WorkflowStateMachine("e", _editor(kind))
    await sm.process_event("check")
    await sm.process_event("pause")
    entry = await sm.process_event("back")
    assert sm.configuration == {"Editing", "Draft", leaf}
    assert entry.memory == (("H", ("Draft",) if kind == "shallow" else ("Spelling",)),)


async def test_history_default_when_nothing_is_remembered():
    d = chart(
        (
            St("Editing", initial="Draft"),
            St("H", parent="Editing", history="shallow", default="Review"),
            St("Draft", parent="Editing"),
            St("Review", parent="Editing"),
            St("Start"),
        ),
        (T("Start", "resume", "H"),),
        "Start",
    )
    sm = dn.WorkflowStateMachine("n", d)
    await sm.process_event("resume")
    assert sm.configuration == {"Editing", "Review"}


async def test_internal_transition_does_not_exit_its_source_external_does():
    def d(internal: bool) -> dn.WorkflowDefinition:
        return chart(
            (St("P", initial="A"), St("A", parent="P"), St("B", parent="P")),
            (T("P", "go", "B", internal=internal),),
            "P",
        )

    for internal, expected in [(True, ["A"]), (False, ["A", "P"])]:
        trace = ExitEnterTrace()
        sm = dn.WorkflowStateMachine("i", d(internal), handler=trace)
        await sm.start()
        trace.calls.clear()
        await sm.process_event("go")
        assert [s for kind, s in trace.calls if kind == "exit"] == expected


async def test_targetless_transition_changes_no_state_but_runs_on_transition():
    d = chart((St("A"),), (T("A", "ping", None),), "A")
    seen: list[tuple[object, ...]] = []

    class H(dn.StateHandler):
        def on_transition(self, from_state, to_state, event):
            seen.append((from_state, to_state, event.name))

        def on_exit(self, state, ctx):
            seen.append(("exit", state))

    sm = dn.WorkflowStateMachine("t", d, handler=H())
    entry = await sm.process_event("ping")
    assert (entry.exited, entry.entered) == ((), ())
    assert seen == [("A", "A", "ping")]


async def test_eventless_transitions_and_raised_events_run_to_completion():
    d = chart(
        (St("A"), St("B"), St("C"), St("D", raise_on_entry=("arrived",)), St("E")),
        (
            T("A", "go", "B", raises=("next",)),
            T("B", EVENTLESS, "C", guard=lambda ctx, data: ctx.get("fast") is True),
            T("B", "next", "D"),
            T("D", "arrived", "E"),
        ),
        "A",
    )
    sm = dn.WorkflowStateMachine("e", d)
    entry = await sm.process_event("go")  # B, then the raised "next" to D, whose entry raises
    assert sm.state == "E"
    assert entry.entered == ("B", "D", "E")
    assert len(sm.history) == 1  # one entry for the whole macrostep
    fast = dn.WorkflowStateMachine("f", d, context={"fast": True})
    await fast.process_event("go")  # the eventless B -> C comes before the raised event
    assert fast.state == "C"


async def test_an_eventless_loop_is_bounded_and_changes_nothing():
    d = chart(
        (St("A"), St("B"), St("C")),
        (T("A", "go", "B"), T("B", EVENTLESS, "C"), T("C", EVENTLESS, "B")),
        "A",
    )
    sm = dn.WorkflowStateMachine("loop", d)
    with pytest.raises(dn.WorkflowError, match="did not settle after 1000 microsteps"):
        await sm.process_event("go")
    assert (sm.state, len(sm.history), sm.version) == ("A", 0, 0)


async def test_event_names_match_scxml_descriptors():
    d = chart(
        (St("A"), St("Err"), St("Any")),
        (T("A", "error", "Err"), T("Err", "*", "Any")),
        "A",
    )
    sm = dn.WorkflowStateMachine("m", d)
    await sm.process_event(dn.WorkflowEvent.custom("error.store"))
    assert sm.state == "Err"
    await sm.process_event(dn.WorkflowEvent.custom("whatever"))
    assert sm.state == "Any"
    nope = dn.WorkflowStateMachine("n", d)
    await nope.process_event(dn.WorkflowEvent.custom("errors"))  # not a descriptor match
    assert nope.state == "A"


async def test_several_targets_enter_one_state_per_region():
    d = chart(
        (
            St("Off"),
            St("Par", parallel=True),
            St("L", parent="Par"),
            St("L1", parent="L"),
            St("L2", parent="L"),
            St("R", parent="Par"),
            St("R1", parent="R"),
            St("R2", parent="R"),
        ),
        (T("Off", "on", "L2", more_targets=("R2",)),),
        "Off",
    )
    sm = dn.WorkflowStateMachine("m", d)
    await sm.process_event("on")
    assert sm.configuration == {"Par", "L", "L2", "R", "R2"}


async def test_rollback_undoes_a_whole_macrostep_history_memory_included():
    sm = dn.WorkflowStateMachine("e", _editor("deep"))
    await sm.process_event("check")
    await sm.process_event("pause")
    remembered = sm.history[-1].memory
    await sm.process_event("back")
    await sm.rollback()
    assert sm.configuration == {"Break"}
    assert sm.history[-1].memory == remembered
    await sm.rollback()
    assert sm.configuration == {"Editing", "Draft", "Spelling"}
    assert sm.history[-1].memory == ()


async def test_serialization_round_trips_configuration_and_memory(release):
    sm = dn.WorkflowStateMachine("r", _editor("deep"))
    await sm.process_event("check")
    await sm.process_event("pause")
    text = sm.serialize().to_json()
    again = dn.WorkflowStateMachine.deserialize(
        dn.SerializedWorkflow.from_json(text), definition=sm.definition
    )
    assert again.serialize() == sm.serialize()
    await again.process_event("back")
    assert again.configuration == {"Editing", "Draft", "Spelling"}
    par = dn.WorkflowStateMachine("p", release)
    await par.process_event("compiled")
    back = dn.WorkflowStateMachine.deserialize(par.serialize(), definition=release)
    assert back.configuration == par.configuration


def test_deserialize_refuses_an_illegal_configuration(release):
    sm = dn.WorkflowStateMachine("r", release)
    broken = dataclasses.replace(
        sm.serialize(), configuration=frozenset({"Checks", "Build", "Compiling"})
    )
    with pytest.raises(dn.SerializationError, match="parallel state 'Checks' has regions"):
        dn.WorkflowStateMachine.deserialize(broken, definition=release)


async def test_history_without_default_or_memory_enters_its_parent_as_by_default():
    d = chart(
        (
            St("Start"),
            St("P", initial="A"),
            St("A", parent="P"),
            St("H", parent="P", history="deep"),
        ),
        (T("Start", "go", "H"),),
        "Start",
    )
    sm = dn.WorkflowStateMachine("h", d)
    entry = await sm.process_event("go")
    assert sm.configuration == {"P", "A"}
    assert entry.entered == ("P", "A")


async def test_timeouts_inside_regions_are_rearmed_by_deserialize():
    d = chart(
        (
            St("Par", parallel=True),
            St("L", parent="Par"),
            St("L1", parent="L", timeout=timedelta(minutes=10)),
            St("L2", parent="L"),
            St("R", parent="Par"),
            St("R1", parent="R"),
            St("R2", parent="R"),
        ),
        (T("R1", "go", "R2"), T("L1", "Timeout", "L2")),
        "Par",
    )
    clock = dn.ManualClock(start=datetime(2026, 3, 1, tzinfo=UTC))
    sm = dn.WorkflowStateMachine("t", d, clock=clock)
    await clock.advance(timedelta(minutes=4))
    await sm.process_event("go")
    again = dn.WorkflowStateMachine.deserialize(sm.serialize(), definition=d, clock=clock)
    sm.cancel_timers()
    await clock.advance(timedelta(minutes=6))  # L1 was entered 10 minutes ago
    assert again.configuration == {"Par", "L", "L2", "R", "R2"}
    assert again.history[-1].event == "Timeout"
