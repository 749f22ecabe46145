"""WorkflowOrchestrator: registry, routing, broadcast that reports every result."""

from __future__ import annotations

import asyncio

import pytest

import descartes_nb as dn


@pytest.fixture
async def orchestrator(make_workflow):
    orch = dn.WorkflowOrchestrator()
    for _ in range(3):
        await orch.register_workflow(make_workflow())
    return orch


async def test_register_get_list_and_unregister(orchestrator, make_workflow):
    assert orchestrator.list_workflows() == ["wf-1", "wf-2", "wf-3"]
    assert orchestrator.get_workflow("wf-2").workflow_id == "wf-2"
    assert "wf-2" in orchestrator
    assert len(orchestrator) == 3
    removed = await orchestrator.unregister_workflow("wf-2")
    assert removed.workflow_id == "wf-2"
    assert orchestrator.list_workflows() == ["wf-1", "wf-3"]
    assert [sm.workflow_id for sm in orchestrator] == ["wf-1", "wf-3"]
    assert repr(orchestrator) == "<WorkflowOrchestrator 2 workflows>"


async def test_duplicate_and_missing_ids_raise_named_errors(orchestrator):
    with pytest.raises(dn.DuplicateWorkflowError, match="'wf-1' is already registered"):
        await orchestrator.register_workflow(dn.WorkflowStateMachine("wf-1"))
    with pytest.raises(dn.WorkflowNotFoundError, match="no workflow 'nope'") as info:
        orchestrator.get_workflow("nope")
    assert isinstance(info.value, LookupError)
    assert "wf-1" in str(info.value)
    with pytest.raises(dn.WorkflowNotFoundError):
        await orchestrator.process_event("nope", "Start")
    with pytest.raises(dn.WorkflowNotFoundError):
        await orchestrator.unregister_workflow("nope")


async def test_process_event_routes_to_one_workflow(orchestrator):
    entry = await orchestrator.process_event("wf-2", "Start")
    assert entry.to_state == dn.WorkflowState.RUNNING
    states = [m.state for m in orchestrator.get_all_metadata()]
    assert states == ["Idle", "Running", "Idle"]


async def test_broadcast_reports_each_result_and_does_not_stop_at_failures(orchestrator):
    await orchestrator.process_event("wf-2", "Start")
    results = await orchestrator.broadcast("Start")
    assert list(results) == ["wf-1", "wf-2", "wf-3"]
    assert isinstance(results["wf-1"], dn.StateHistoryEntry)
    assert isinstance(results["wf-2"], dn.InvalidTransitionError)
    assert isinstance(results["wf-3"], dn.StateHistoryEntry)
    assert [sm.state for sm in orchestrator] == ["Running"] * 3


async def test_broadcast_with_handler_failures_reports_them(make_workflow):
    class Fragile(dn.StateHandler):
        def on_enter(self, state, ctx):
            raise OSError("disk gone")

    orch = dn.WorkflowOrchestrator()
    await orch.register_workflow(make_workflow(handler=Fragile()))
    await orch.register_workflow(make_workflow())
    results = await orch.broadcast(dn.WorkflowEvent.START)
    assert isinstance(results["wf-1"], dn.HandlerError)
    assert isinstance(results["wf-2"], dn.StateHistoryEntry)
    assert results["wf-2"].to_state == "Running"


async def test_broadcast_on_empty_orchestrator_is_empty():
    assert await dn.WorkflowOrchestrator().broadcast("Start") == {}


async def test_subscribers_hear_registrations_and_removals(make_workflow):
    orch = dn.WorkflowOrchestrator()
    heard: list[list[str]] = []
    unsubscribe = orch.subscribe(lambda o: heard.append(o.list_workflows()))
    await orch.register_workflow(make_workflow())
    await orch.register_workflow(make_workflow())
    await orch.unregister_workflow("wf-1")
    await asyncio.sleep(0)
    assert heard == [["wf-2"], ["wf-2"], ["wf-2"]]  # each runs after the change, on the loop
    unsubscribe()
    unsubscribe()
    await orch.register_workflow(make_workflow())
    await asyncio.sleep(0)
    assert len(heard) == 3
