"""run_sync(): runs coroutines from scripts, refuses inside a running loop."""

from __future__ import annotations

import pytest

import descartes_nb as dn


def test_run_sync_runs_a_coroutine_to_completion():
    sm = dn.WorkflowStateMachine("script")
    entry = dn.run_sync(sm.process_event("Start"))
    assert entry.to_state == "Running"


async def test_run_sync_inside_a_running_loop_raises():
    sm = dn.WorkflowStateMachine("cell")
    with pytest.raises(dn.EventLoopRunningError, match="use `await` instead") as info:
        dn.run_sync(sm.process_event("Start"))
    assert isinstance(info.value, RuntimeError)
    assert sm.state == "Idle"  # the coroutine never ran
