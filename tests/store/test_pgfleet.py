"""The fleet on PostgreSQL when connections are lost: followers say so, workers reconnect."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

import descartes_nb as dn

COUNTER = dn.load_definitions(Path(__file__).with_name("fleet.toml"))["counter"]


WORKER_QUERIES = ("SELECT EXISTS (SELECT 1 FROM timers", "SELECT min(due_at) FROM timers")


async def _backend_pid(url: str, *queries: str) -> int:
    """The server process of the connection whose last statement starts with one of
    ``queries``."""
    conn = await asyncpg.connect(url)
    try:
        for _ in range(500):
            pid = await conn.fetchval(
                "SELECT pid FROM pg_stat_activity WHERE query LIKE ANY($1::text[]) LIMIT 1",
                [q.replace("%", r"\%").replace("_", r"\_") + "%" for q in queries],
            )
            if pid is not None:
                return int(pid)
            await asyncio.sleep(0.01)
    finally:
        await conn.close()
    raise AssertionError(f"no connection ran any of {queries!r}")


async def _gone(url: str, pid: int) -> bool:
    """Whether the server process ``pid`` has ended (waiting up to 5 s for it to go)."""
    conn = await asyncpg.connect(url)
    try:
        for _ in range(500):
            if not await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid
            ):
                return True
            await asyncio.sleep(0.01)
        return False
    finally:
        await conn.close()


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
            # the worker's own connection: idle, it asks for due work and the next due time
            pid = await _backend_pid(pg_db_url, *WORKER_QUERIES)
            await asyncio.to_thread(pg_server.kill_backend, pid)
            sent = await store.send_event("c1", "tick")
            entry = await asyncio.wait_for(sent.result(), 10)
            assert entry is not None
            assert entry.seq == 1
            # Processed after the kill, so on a new connection; the killed one is gone. (Which
            # statement the new connection ran last depends on timing: not asserted.)
            assert await _gone(pg_db_url, pid)
        finally:
            worker.stop()
            await serving
        assert worker.stats.events == 1
