"""PostgreSQL failing under a store: killed backends, restarts, timeouts, a stopped server.

Each failure raises ``StoreError`` saying what happened (never an asyncpg error), leaves the
machine as it was, and the next call works again on a new connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import asyncpg
import pytest

import descartes_nb as dn
from descartes_nb import WorkflowState as S


def snapshot(sm: dn.WorkflowStateMachine):
    return (sm.state, dict(sm.context), list(sm.history), sm.metadata, sm.version)


@asynccontextmanager
async def row_locked(url: str, workflow_id: str) -> AsyncIterator[asyncpg.Connection]:
    """Another connection holding the lock on a workflow's row until the block ends."""
    conn = await asyncpg.connect(url, timeout=30)
    transaction = conn.transaction()
    await transaction.start()
    await conn.execute("SELECT 1 FROM workflows WHERE id = $1 FOR UPDATE", workflow_id)
    try:
        yield conn
    finally:
        if not conn.is_closed():
            await transaction.rollback()
            await conn.close()


async def waiting_pid(blocker: asyncpg.Connection) -> int:
    """The server process of the connection waiting for the blocker's lock."""
    for _ in range(600):
        pid = await blocker.fetchval(
            "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database()"
        )
        if pid is not None:
            return int(pid)
        await asyncio.sleep(0.01)  # polling the server: the write is on its way to the lock
    pytest.fail("no connection ever waited for the lock")


async def started(store, clock) -> dn.WorkflowStateMachine:
    sm = dn.WorkflowStateMachine("w", store=store, clock=clock, context={"k": 1})
    await sm.process_event("Start")
    return sm


async def test_a_backend_killed_mid_write_raises_store_error_and_the_next_call_reconnects(
    pg_db_url, clock
):
    async with dn.open_store(pg_db_url) as store:
        sm = await started(store, clock)
        before = snapshot(sm)
        async with row_locked(pg_db_url, "w") as blocker:
            change = asyncio.create_task(sm.process_event("Pause"))
            pid = await waiting_pid(blocker)
            assert await blocker.fetchval("SELECT pg_terminate_backend($1)", pid)
            with pytest.raises(dn.StoreError, match="the connection to it was lost") as info:
                await change
        assert isinstance(info.value.__cause__, asyncpg.PostgresError | asyncpg.InterfaceError)
        assert snapshot(sm) == before
        assert await store.load_workflow("w") == sm.serialize()
        await sm.process_event("Pause")
        assert (await store.load_workflow("w")).state == S.PAUSED


async def test_a_statement_timeout_raises_store_error_and_changes_nothing(pg_db_url, clock):
    config = dn.StateStoreConfig(statement_timeout=timedelta(milliseconds=200))
    async with dn.open_store(pg_db_url, config) as store:
        sm = await started(store, clock)
        before = snapshot(sm)
        async with row_locked(pg_db_url, "w"):
            for change in (sm.process_event("Pause"), sm.set_context("k", 2), sm.rollback()):
                with pytest.raises(dn.StoreError, match=r"cancelled the statement .*statement_t"):
                    await change
                assert snapshot(sm) == before
        await sm.process_event("Pause")
        assert await store.load_workflow("w") == sm.serialize()


async def test_a_lock_held_past_busy_timeout_raises_store_error(pg_db_url, clock):
    config = dn.StateStoreConfig(busy_timeout=timedelta(milliseconds=200))
    async with dn.open_store(pg_db_url, config) as store:
        sm = await started(store, clock)
        before = snapshot(sm)
        async with row_locked(pg_db_url, "w"):
            with pytest.raises(dn.StoreError, match="locked by another connection") as info:
                await sm.process_event("Pause")
            assert getattr(info.value.__cause__, "sqlstate", None) == "55P03"
            with pytest.raises(dn.StoreError, match="locked by another connection"):
                await store.create_checkpoint("w")
        assert snapshot(sm) == before
        await sm.process_event("Pause")


async def test_a_server_restart_mid_write_raises_store_error_and_the_store_reconnects(
    pg_server, pg_db_url, clock
):
    async with dn.open_store(pg_db_url, dn.StateStoreConfig(pool_size=2)) as store:
        sm = await started(store, clock)
        before = snapshot(sm)
        async with row_locked(pg_db_url, "w") as blocker:
            change = asyncio.create_task(sm.process_event("Pause"))
            await waiting_pid(blocker)
            await asyncio.to_thread(pg_server.restart)  # immediate: as after a crash
            with pytest.raises(dn.StoreError, match=r"shut down or restarted|connection"):
                await change
        assert snapshot(sm) == before
        await sm.process_event("Pause")  # every pooled connection was replaced
        assert await store.load_workflow("w") == sm.serialize()


async def test_a_stopped_server_raises_store_error_until_it_is_back(pg_server, pg_db_url, clock):
    async with dn.open_store(pg_db_url) as store:
        sm = await started(store, clock)
        before = snapshot(sm)
        await asyncio.to_thread(pg_server.stop)
        for _ in range(2):  # the first finds its connection gone, the next cannot connect
            with pytest.raises(dn.StoreError, match=r"cannot be reached|shut down|lost") as info:
                await sm.process_event("Pause")
            assert not isinstance(info.value, asyncpg.PostgresError)
            assert snapshot(sm) == before
        with pytest.raises(dn.StoreError, match="cannot be reached"):
            await store.list_workflows()
        await asyncio.to_thread(pg_server.start)
        await sm.process_event("Pause")
        assert await store.load_workflow("w") == sm.serialize()


async def test_a_change_cancelled_while_being_written_is_finished_then_applied(pg_db_url, clock):
    async with dn.open_store(pg_db_url) as store:
        sm = await started(store, clock)
        async with row_locked(pg_db_url, "w") as blocker:
            change = asyncio.create_task(sm.process_event("Pause"))
            await waiting_pid(blocker)
            change.cancel()
            await asyncio.sleep(0)
            assert not change.done()  # the write it started is finished first
        with pytest.raises(asyncio.CancelledError):
            await change
        # It was committed once the lock went, so the machine applied it: store and memory
        # agree.
        assert sm.state == S.PAUSED
        assert await store.load_workflow("w") == sm.serialize()
