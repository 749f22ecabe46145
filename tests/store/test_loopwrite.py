"""Commits on the event loop's thread: when they happen, and that they never stall the loop."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import timedelta
from pathlib import Path

import pytest

import descartes_nb as dn
from descartes_nb import WorkflowState as S

from .conftest import file_size, query


async def cycle(sm: dn.WorkflowStateMachine, transitions: int) -> None:
    for _ in range(transitions // 2):
        await sm.process_event("Pause")
        await sm.process_event("Resume")


async def test_a_lone_caller_commits_every_change_on_the_loop(db_path, clock):
    async with dn.SqliteWorkflowStore(db_path, clock=clock) as store:
        sm = dn.WorkflowStateMachine("lone", store=store, clock=clock)
        await sm.process_event("Start")
        await cycle(sm, 10)
        await sm.set_context("k", 1)
        assert store.stats == dn.StoreStats(
            changes=12, transactions=12, conflicts=0, loop_transactions=12
        )
        assert query(db_path, "SELECT state, version FROM workflows") == [(S.RUNNING, 12)]


@pytest.mark.parametrize(
    "config",
    [
        dn.StateStoreConfig(loop_commits=False),
        dn.StateStoreConfig(synchronous="FULL"),
        dn.StateStoreConfig(synchronous="EXTRA"),
    ],
    ids=["loop_commits=False", "FULL", "EXTRA"],
)
async def test_commits_that_sync_or_are_turned_off_stay_on_the_connection_thread(
    db_path, clock, config
):
    async with dn.SqliteWorkflowStore(db_path, config, clock=clock) as store:
        sm = dn.WorkflowStateMachine("synced", store=store, clock=clock)
        await sm.process_event("Start")
        await cycle(sm, 4)
        assert (store.stats.changes, store.stats.loop_transactions) == (5, 0)
        assert await store.load_workflow("synced") == sm.serialize()


async def test_an_in_memory_database_has_one_connection_only(clock):
    async with dn.SqliteWorkflowStore(":memory:", clock=clock) as store:
        sm = dn.WorkflowStateMachine("m", store=store, clock=clock)
        await sm.process_event("Start")
        assert store.stats.loop_transactions == 0
        assert await store.load_workflow("m") == sm.serialize()


async def test_after_a_burst_a_lone_caller_commits_on_the_loop_again(db_path, clock):
    async with dn.SqliteWorkflowStore(db_path, clock=clock) as store:
        machines = [dn.WorkflowStateMachine(f"b{i}", store=store, clock=clock) for i in range(5)]
        await asyncio.gather(*(sm.process_event("Start") for sm in machines))
        burst = store.stats
        await cycle(machines[0], 4)
        after = store.stats
        # The first change after a burst queues (it may have company); alone in its
        # transaction, it shows the burst is over, and the next ones go at once.
        assert after.transactions - burst.transactions == 4
        assert after.loop_transactions - burst.loop_transactions == 4


def hold_write_lock(path: Path) -> sqlite3.Connection:
    """Another connection that takes the database's write lock and keeps it."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    return conn


async def test_a_locked_database_makes_the_change_wait_off_the_loop(db_path, clock):
    async with dn.SqliteWorkflowStore(db_path, clock=clock) as store:
        sm = dn.WorkflowStateMachine("locked", store=store, clock=clock)
        await sm.process_event("Start")
        holder = hold_write_lock(db_path)
        task = asyncio.create_task(sm.process_event("Pause"))
        # This coroutine runs on the same loop: were the change waiting for the lock on
        # the loop's thread, nothing could release it, and the change would fail.
        await asyncio.sleep(0.2)
        assert not task.done()
        assert sm.state == S.RUNNING
        holder.execute("COMMIT")
        holder.close()
        entry = await task
        assert (entry.to_state, sm.state) == (S.PAUSED, S.PAUSED)
        assert (store.stats.transactions, store.stats.loop_transactions) == (2, 1)
        assert await store.load_workflow("locked") == sm.serialize()


async def test_a_lock_held_past_the_busy_timeout_fails_the_change_and_changes_nothing(
    db_path, clock
):
    config = dn.StateStoreConfig(busy_timeout=timedelta(milliseconds=100))
    async with dn.SqliteWorkflowStore(db_path, config, clock=clock) as store:
        sm = dn.WorkflowStateMachine("stuck", store=store, clock=clock)
        await sm.process_event("Start")
        before = (sm.state, sm.version, list(sm.history))
        holder = hold_write_lock(db_path)
        try:
            with pytest.raises(dn.StoreError, match="is locked by another connection"):
                await sm.process_event("Pause")
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert (sm.state, sm.version, list(sm.history)) == before
        assert await store.load_workflow("stuck") == sm.serialize()
        await sm.process_event("Pause")  # the lock is gone: on the loop again
        assert store.stats.loop_transactions == 2


async def test_the_connection_thread_checkpoints_the_log_of_loop_commits(db_path, clock):
    wal = Path(f"{db_path}-wal")
    async with dn.SqliteWorkflowStore(db_path, clock=clock) as store:
        sm = dn.WorkflowStateMachine("long", store=store, clock=clock)
        await sm.set_context("notes", "n" * 2000)  # a page per transition, at least
        await sm.process_event("Start")
        await cycle(sm, 98)  # no checkpoint yet: the log holds all of it
        per_transaction = file_size(wal) / 100
        for _ in range(1450):
            await cycle(sm, 2)
            await asyncio.sleep(0)  # a turn of the loop, as any real caller gives
        assert store.stats.transactions == 3000
        # A checkpoint holds the write lock: changes meeting it went to the thread.
        assert store.stats.loop_transactions > 2900
        # Unchecked, the log would hold all 3,000; it starts over after each checkpoint.
        assert file_size(wal) < 1000 * per_transaction
        assert query(db_path, "SELECT count(*) FROM transitions") == [(2999,)]


def sleep_on_thread(_conn: sqlite3.Connection, seconds: float) -> None:
    """Stand-in for a large read: keeps the connection's thread busy."""
    time.sleep(seconds)


async def test_a_checkpoint_does_not_hold_changes_behind_other_work_on_the_thread(db_path, clock):
    async with dn.SqliteWorkflowStore(db_path, clock=clock) as store:
        sm = dn.WorkflowStateMachine("busy", store=store, clock=clock)
        await sm.process_event("Start")
        first = asyncio.create_task(store._run("a large read", sleep_on_thread, 0.3))
        await asyncio.sleep(0)
        await cycle(sm, 256)  # a checkpoint falls due; its first pass waits behind the read
        await asyncio.sleep(0)
        second = asyncio.create_task(store._run("another read", sleep_on_thread, 0.3))
        await first
        # The first pass is done, and the second read still runs: pausing loop commits now
        # would make these changes wait for it.
        while not second.done():
            await cycle(sm, 2)
            await asyncio.sleep(0.01)
        stats = store.stats
        assert stats.transactions > 258
        assert stats.loop_transactions == stats.transactions


def foreign_keys(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA foreign_keys").fetchone()[0])


async def test_loop_commits_check_the_same_constraints_as_the_connection_thread(db_path):
    async with dn.SqliteWorkflowStore(db_path) as store:
        loop_commits = store._writes.loop_commits
        assert loop_commits is not None
        assert foreign_keys(loop_commits._conn) == 1
        assert await store._run("reading pragmas", foreign_keys) == 1
