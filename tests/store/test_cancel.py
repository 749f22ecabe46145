"""Cancelling a change at any await leaves memory equal to the store, and the machine working.

The rule (``WorkflowStateMachine``, ``SqliteWorkflowStore.save_change``): a change not yet
written when its caller is cancelled is withdrawn (nothing stored, nothing applied); a change
already being written is finished, applied in memory if it was committed, and then the
CancelledError is raised.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import descartes_nb as dn
from descartes_nb import WorkflowState as S

from .conftest import query

Operation = Callable[[dn.WorkflowStateMachine], Coroutine[Any, Any, object]]

# What a cancelled caller may be doing: an event, a context edit, a rollback (of "Start").
OPERATIONS: dict[str, Operation] = {
    "process_event": lambda sm: sm.process_event("Pause"),
    "set_context": lambda sm: sm.set_context("step", 2),
    "rollback": lambda sm: sm.rollback(),
}
operations = pytest.mark.parametrize("operation", list(OPERATIONS))
commit_paths = pytest.mark.parametrize(
    "loop_commits", [True, False], ids=["loop-commits", "thread-commits"]
)


async def settle() -> None:
    """Let every task made ready run up to its next wait.

    asyncio runs ready tasks first in, first out: a few turns take a new task to its first
    wait, and group commit's writer task from there to the database.
    """
    for _ in range(5):
        await asyncio.sleep(0)


def stored_version(path: Path | str, workflow_id: str) -> int:
    [(version,)] = query(Path(path), "SELECT version FROM workflows WHERE id = ?", workflow_id)
    assert isinstance(version, int)
    return version


async def assert_memory_equals_store(sm: dn.WorkflowStateMachine, store) -> None:
    assert await store.load_workflow(sm.workflow_id) == sm.serialize()


async def assert_goes_on_working(sm: dn.WorkflowStateMachine, store) -> None:
    version = sm.version
    await sm.set_context("after", "cancellation")
    await sm.process_event(dn.WorkflowEvent.custom("still-working"))
    assert sm.version == version + 2
    await assert_memory_equals_store(sm, store)


class Gate(dn.StateHandler):
    """A handler that waits in on_transition until the gate opens."""

    def __init__(self) -> None:
        self.opened = asyncio.Event()
        self.waiting = 0

    async def on_transition(self, from_state, to_state, event):
        self.waiting += 1
        await self.opened.wait()


@pytest.fixture
async def blocked_store(db_path: Path, request: pytest.FixtureRequest):
    """A store whose writes must wait: another connection takes the write lock on demand."""
    config = dn.StateStoreConfig(
        loop_commits=getattr(request, "param", True), busy_timeout=timedelta(minutes=5)
    )
    async with dn.SqliteWorkflowStore(db_path, config) as store:
        yield store


def take_write_lock(path: Path | str) -> sqlite3.Connection:
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    return other


# -- the group-commit queue: withdrawn -----------------------------------------------------------


@operations
async def test_a_change_cancelled_while_queued_is_withdrawn(durable, store, operation):
    sm, other = durable(), durable()
    await sm.process_event("Start")
    await other.process_event("Start")
    first = asyncio.create_task(other.process_event("Pause"))  # may be written at once
    task = asyncio.create_task(OPERATIONS[operation](sm))  # in the same turn: it queues
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await first
    await store.close()  # waits for every write in flight
    await store.open()
    assert (sm.state, sm.version, dict(sm.context)) == (S.RUNNING, 1, {})
    assert stored_version(store.path, sm.workflow_id) == 1  # nothing was written
    await assert_memory_equals_store(sm, store)
    await assert_goes_on_working(sm, store)
    assert (await store.load_workflow(other.workflow_id)).state == S.PAUSED


# -- a write on the connection's thread: finished -----------------------------------------------


@pytest.mark.parametrize("blocked_store", [True, False], indirect=True, ids=["loop", "thread"])
@operations
async def test_a_change_cancelled_while_being_written_is_finished_and_applied(
    blocked_store, operation
):
    store = blocked_store
    sm = dn.WorkflowStateMachine("w", store=store)
    await sm.process_event("Start")
    other = take_write_lock(store.path)  # the write waits on the thread for busy_timeout
    try:
        task = asyncio.create_task(OPERATIONS[operation](sm))
        await settle()
        assert not task.done()
        for _ in range(2):  # cancelled again while it waits: it still waits
            task.cancel()
            await settle()
            assert not task.done()  # waiting for its write: a cancellation cannot stop it
    finally:
        other.execute("ROLLBACK")
        other.close()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sm.version == 2  # committed, and applied before the CancelledError
    assert stored_version(store.path, "w") == 2
    await assert_memory_equals_store(sm, store)
    await assert_goes_on_working(sm, store)


@pytest.mark.parametrize("blocked_store", [True, False], indirect=True, ids=["loop", "thread"])
async def test_a_change_cancelled_while_being_written_and_refused_changes_nothing(
    blocked_store,
):
    store = blocked_store
    sm = dn.WorkflowStateMachine("w", store=store)
    await sm.process_event("Start")
    before = sm.serialize()
    other = take_write_lock(store.path)
    try:
        task = asyncio.create_task(sm.process_event("Pause"))
        await settle()
        task.cancel()
        # Another writer moves the workflow on meanwhile: the write in flight conflicts.
        other.execute("UPDATE workflows SET version = version + 1 WHERE id = 'w'")
    finally:
        other.execute("COMMIT")
        other.close()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sm.serialize() == before  # the write failed: nothing to apply
    assert stored_version(store.path, "w") == 2  # the other writer's version, nothing of ours


async def test_wait_for_timing_out_on_a_locked_database_keeps_memory_equal_to_store(db_path):
    """The issue's reproduction: the lock is released after wait_for has timed out."""
    config = dn.StateStoreConfig(busy_timeout=timedelta(minutes=5))
    async with dn.SqliteWorkflowStore(db_path, config) as store:
        sm = dn.WorkflowStateMachine("w", store=store)
        await sm.process_event("Start")
        other = take_write_lock(db_path)
        # The timers fire in order: wait_for's timeout first, then the release.
        asyncio.get_running_loop().call_later(0.5, other.execute, "ROLLBACK")
        try:
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(sm.process_event("Pause"), 0.2)
        finally:
            other.close()
        assert (sm.state, sm.version) == (S.PAUSED, 2)
        await assert_memory_equals_store(sm, store)
        await assert_goes_on_working(sm, store)


# -- before the store: the machine's lock and the handlers --------------------------------------


@pytest.mark.parametrize("operation", ["process_event", "rollback"])  # set_context: no handler
async def test_a_change_cancelled_inside_a_handler_changes_nothing(durable, store, operation):
    gate = Gate()
    sm = durable(handler=gate)
    gate.opened.set()
    await sm.process_event("Start")
    gate.opened.clear()
    before = sm.serialize()
    task = asyncio.create_task(OPERATIONS[operation](sm))
    await settle()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert gate.waiting == 2
    assert sm.serialize() == before
    await assert_memory_equals_store(sm, store)
    gate.opened.set()
    await assert_goes_on_working(sm, store)


@operations
async def test_a_change_cancelled_while_waiting_for_the_machine_lock_changes_nothing(
    durable, store, operation
):
    gate = Gate()
    sm = durable(handler=gate)
    gate.opened.set()
    await sm.process_event("Start")
    gate.opened.clear()
    holder = asyncio.create_task(sm.process_event(dn.WorkflowEvent.custom("hold")))
    await settle()  # in its handler, holding the machine's lock
    task = asyncio.create_task(OPERATIONS[operation](sm))
    await settle()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    gate.opened.set()
    entry = await holder
    assert sm.history[-1] == entry  # only the holder's change happened
    assert sm.version == 2
    await assert_memory_equals_store(sm, store)
    await assert_goes_on_working(sm, store)


# -- many workflows at once ---------------------------------------------------------------------


@pytest.mark.parametrize("synchronous", ["NORMAL", "FULL"])
@commit_paths
async def test_half_of_a_burst_cancelled_leaves_no_workflow_diverged(
    db_path, synchronous, loop_commits
):
    config = dn.StateStoreConfig(synchronous=synchronous, loop_commits=loop_commits)
    async with dn.SqliteWorkflowStore(db_path, config) as store:
        machines = [dn.WorkflowStateMachine(f"w-{i:03d}", store=store) for i in range(200)]
        await asyncio.gather(*(sm.process_event("Start") for sm in machines))
        tasks = [asyncio.create_task(sm.process_event("Pause")) for sm in machines]
        await asyncio.sleep(0)
        for task in tasks[::2]:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        diverged = [
            sm.workflow_id
            for sm in machines
            if await store.load_workflow(sm.workflow_id) != sm.serialize()
        ]
        assert diverged == []
        assert sum(isinstance(r, asyncio.CancelledError) for r in results) == 100
        # Cancelled while queued: the first task wrote at once (loop commits) or not at all.
        assert {sm.state for sm in machines[1::2]} == {S.PAUSED}
        await asyncio.gather(*(sm.process_event(dn.WorkflowEvent.custom("on")) for sm in machines))
        for sm in machines:
            await assert_memory_equals_store(sm, store)


# -- whole transactions failing or interrupted ---------------------------------------------------


async def test_a_failed_transaction_fails_each_of_its_changes_and_nothing_else(db_path):
    config = dn.StateStoreConfig(busy_timeout=timedelta(0))  # a locked database fails at once
    async with dn.SqliteWorkflowStore(db_path, config) as store:
        machines = [dn.WorkflowStateMachine(f"w{i}", store=store) for i in range(3)]
        await asyncio.gather(*(sm.process_event("Start") for sm in machines))
        other = take_write_lock(db_path)
        try:
            results = await asyncio.gather(
                *(sm.process_event("Pause") for sm in machines), return_exceptions=True
            )
        finally:
            other.close()
        assert all(isinstance(r, dn.StoreError) and "is locked" in str(r) for r in results)
        assert len({id(r) for r in results}) == 3  # each caller has its own copy
        for sm in machines:
            assert sm.state == S.RUNNING
            await assert_memory_equals_store(sm, store)
            await assert_goes_on_working(sm, store)


async def test_a_writer_interrupted_by_loop_shutdown_leaves_no_caller_waiting(db_path):
    """What asyncio.run does to the tasks left at its end: it cancels them all, the store's
    writer task too. Every caller gets its CancelledError; none waits forever."""
    config = dn.StateStoreConfig(max_batch=1)  # one change in flight, the others queued
    async with dn.SqliteWorkflowStore(db_path, config) as store:
        machines = [dn.WorkflowStateMachine(f"w{i}", store=store) for i in range(3)]
        await asyncio.gather(*(sm.process_event("Start") for sm in machines))
        other = take_write_lock(db_path)
        try:
            tasks = [asyncio.create_task(sm.process_event("Pause")) for sm in machines]
            await settle()  # the first change waits for the lock on the thread
            for task in asyncio.all_tasks():
                if task in tasks or task.get_name() == "descartes_nb group commit":
                    task.cancel()
            # Another writer moves every workflow on: the write in flight will conflict.
            other.execute("UPDATE workflows SET version = version + 1")
        finally:
            other.execute("COMMIT")
            other.close()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(r, asyncio.CancelledError) for r in results)
        await store.close()  # waits for the thread
        await store.open()
        for sm in machines:
            stored = await store.load_workflow(sm.workflow_id)
            assert (sm.state, sm.version) == (S.RUNNING, 1)
            assert (stored.state, stored.transition_count, stored.version) == (S.RUNNING, 1, 2)
