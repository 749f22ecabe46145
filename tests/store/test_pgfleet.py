"""The fleet on PostgreSQL when connections are lost: followers say so, workers reconnect."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

import descartes_nb as dn

COUNTER = dn.load_definitions(Path(__file__).with_name("fleet.toml"))["counter"]


async def _backend_pid(url: str, query: str) -> int:
    """The server process of the connection whose last statement starts with ``query``."""
    conn = await asyncpg.connect(url)
    try:
        for _ in range(500):
            pid = await conn.fetchval(
                "SELECT pid FROM pg_stat_activity WHERE starts_with(query, $1) LIMIT 1", query
            )
            if pid is not None:
                return int(pid)
            await asyncio.sleep(0.01)
    finally:
        await conn.close()
    raise AssertionError(f"no connection ran {query!r}")


async def test_a_follower_whose_connection_is_lost_raises_store_error(pg_server, pg_db_url):
    async with dn.open_store(pg_db_url) as store, store.changes() as feed:
        pid = await _backend_pid(pg_db_url, 'LISTEN "descartes_nb_changes"')
        await asyncio.to_thread(pg_server.kill_backend, pid)
        with pytest.raises(dn.StoreError, match="changes committed since may be missed"):
            await asyncio.wait_for(anext(feed), 10)


async def test_a_worker_whose_connection_is_lost_connects_anew(pg_server, pg_db_url):
    async with dn.open_store(pg_db_url) as store:
        await dn.WorkflowStateMachine("c1", COUNTER).attach_store(store)
        worker = dn.Worker(store, {"counter": COUNTER}, poll_interval=0.01)
        serving = asyncio.create_task(worker.run())
        try:
            pid = await _backend_pid(pg_db_url, "SELECT EXISTS (SELECT 1 FROM timers")
            await asyncio.to_thread(pg_server.kill_backend, pid)
            sent = await store.send_event("c1", "tick")
            entry = await asyncio.wait_for(sent.result(), 10)
            assert entry is not None
            assert entry.seq == 1
            assert await _backend_pid(pg_db_url, "SELECT EXISTS (SELECT 1 FROM timers") != pid
        finally:
            worker.stop()
            await serving
        assert worker.stats.events == 1
