"""store.changes(): the history entries committed by any process, in commit order."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import descartes_nb as dn

from .conftest import Backend, child_environment

HERE = Path(__file__).parent
COUNTER = dn.load_definitions(HERE / "fleet.toml")["counter"]


@pytest.fixture
async def store(
    backend: Backend,
) -> AsyncIterator[dn.SqliteWorkflowStore | dn.PostgresWorkflowStore]:
    async with backend.open() as opened:
        yield opened


async def _tick(sm: dn.WorkflowStateMachine, times: int) -> None:
    for n in range(times):
        await sm.process_event("tick", {"n": n})


async def test_a_follower_in_another_process_sees_every_change_in_commit_order(
    backend: Backend, store: dn.SqliteWorkflowStore | dn.PostgresWorkflowStore
) -> None:
    workflows, ticks = 4, 15
    machines = [dn.WorkflowStateMachine(f"c{i}", COUNTER) for i in range(workflows)]
    for sm in machines:
        await sm.attach_store(store)
    follower = await asyncio.create_subprocess_exec(
        *(sys.executable, str(HERE / "follow_child.py"), backend.target),
        str(workflows * (ticks + 1)),
        stdout=asyncio.subprocess.PIPE,
        env=child_environment(),
    )
    try:
        assert follower.stdout is not None
        assert await asyncio.wait_for(follower.stdout.readline(), 30) == b"ready\n"
        async with asyncio.TaskGroup() as group:  # concurrent workflows: grouped commits
            for sm in machines:
                group.create_task(_tick(sm, ticks))
        sent = await store.send_event("c0", "stop")  # and a worker's change
        await dn.Worker(store, {"counter": COUNTER}).run_once()
        await sent.result()
        for sm in machines[1:]:
            await sm.process_event("stop")
        out = await asyncio.wait_for(follower.stdout.read(), 30)
        assert await follower.wait() == 0
    finally:
        if follower.returncode is None:
            follower.kill()
            await follower.wait()
    seen = [dn.CommittedChange(*json.loads(line)) for line in out.decode().splitlines()]
    for sm in machines:
        mine = [c for c in seen if c.workflow_id == sm.workflow_id]
        stored = await store.get_workflow_history(sm.workflow_id)
        assert [(c.seq, c.state, c.event) for c in mine] == [
            (e.seq, e.to_state, e.event) for e in stored
        ]
        assert [c.version for c in mine] == list(range(1, ticks + 2))


async def test_changes_started_with_async_with_sees_what_is_committed_inside(
    store: dn.SqliteWorkflowStore | dn.PostgresWorkflowStore,
) -> None:
    sm = dn.WorkflowStateMachine("c1", COUNTER)
    await sm.attach_store(store)
    await sm.process_event("tick")  # before: not followed
    async with store.changes(poll_interval=0.01) as feed:
        await sm.process_event("tick", {"n": 2})
        change = await asyncio.wait_for(anext(feed), 10)
    assert change == dn.CommittedChange("c1", 2, 2, "Counting", "tick")


def test_changes_refuses_a_bad_poll_interval(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="got -1"):
        dn.SqliteWorkflowStore(tmp_path / "w.db").changes(poll_interval=-1)
