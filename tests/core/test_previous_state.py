"""PREVIOUS_STATE: a transition target read from the history when the event is processed."""

from __future__ import annotations

import pytest

import descartes_nb as dn
from descartes_nb.core._definition import PREVIOUS_STATE

from ..conftest import ExitEnterTrace

T = dn.TransitionDef


def returning_definition() -> dn.WorkflowDefinition:
    """Two working states (one nested in a compound state) that fail into Failed."""
    return dn.WorkflowDefinition(
        "returning",
        states=(
            dn.StateDef("plan"),
            dn.StateDef("build"),
            dn.StateDef("compile", parent="build"),
            dn.StateDef("link", parent="build"),
            dn.StateDef("done", terminal=True),
            dn.StateDef("Failed", terminal=True),
        ),
        initial_state="plan",
        transitions=(
            T("plan", "go", "build"),
            T("compile", "next", "link"),
            T("link", "next", "done"),
            T("plan", "Fail", "Failed"),
            T("build", "Fail", "Failed"),
            T("Failed", "Retry", PREVIOUS_STATE),
        ),
    )


@pytest.mark.parametrize("handler", [None, ExitEnterTrace()], ids=["lock-free", "with-handler"])
async def test_previous_state_target_returns_to_where_the_failure_happened(make_workflow, handler):
    sm = make_workflow(returning_definition(), handler=handler)
    await sm.process_event(dn.WorkflowEvent.fail("no plan"))
    entry = await sm.process_event("Retry")
    assert (entry.from_state, entry.to_state) == ("Failed", "plan")
    await sm.process_event("go")
    await sm.process_event("next")
    assert sm.configuration == {"build", "link"}
    await sm.process_event("Fail")  # bubbles from link to build
    assert sm.state == "Failed"
    entry = await sm.process_event("Retry")
    assert (entry.from_state, entry.to_state) == ("Failed", "link")
    assert sm.configuration == {"build", "link"}
    if handler is not None:
        assert handler.calls[-2:] == [("enter", "build"), ("enter", "link")]


async def test_previous_state_survives_serialization(make_workflow, clock):
    sm = make_workflow(returning_definition())
    await sm.process_event("go")
    await sm.process_event("Fail")
    text = sm.serialize().to_json()
    sm2 = dn.WorkflowStateMachine.deserialize(
        dn.SerializedWorkflow.from_json(text), definition=returning_definition(), clock=clock
    )
    entry = await sm2.process_event("Retry")
    assert entry.to_state == "compile"


def back_definition() -> dn.WorkflowDefinition:
    return dn.WorkflowDefinition(
        "back",
        states=(dn.StateDef("a"), dn.StateDef("b"), dn.StateDef("end", terminal=True)),
        initial_state="a",
        transitions=(T("a", "go", "b"), T("b", "back", PREVIOUS_STATE), T("b", "stop", "end")),
    )


async def test_previous_state_lost_to_eviction_is_refused_and_changes_nothing(make_workflow):
    sm = make_workflow(back_definition(), max_history=1)
    await sm.process_event("go")
    await sm.process_event(dn.WorkflowEvent.custom("note"))  # internal: evicts the go entry
    before = (sm.state, list(sm.history), sm.version)
    with pytest.raises(dn.InvalidTransitionError, match="no state change is left in the 1"):
        await sm.process_event("back")
    assert (sm.state, list(sm.history), sm.version) == before


async def test_previous_state_return_can_be_rolled_back(make_workflow):
    sm = make_workflow(back_definition())
    await sm.process_event("go")
    await sm.process_event("back")
    assert sm.state == "a"
    await sm.rollback()
    assert sm.state == "b"
    await sm.process_event("back")
    assert sm.state == "a"


def test_previous_state_is_no_state_name():
    with pytest.raises(dn.DefinitionError, match="'@previous' is reserved") as info:
        dn.WorkflowDefinition(
            "x",
            states=(dn.StateDef(PREVIOUS_STATE),),
            initial_state=PREVIOUS_STATE,
            transitions=(),
        )
    assert info.value.problems[0].key == "name"
