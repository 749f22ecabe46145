"""`descartes-nb worker --db URL [--definitions FILE]`: serves a store until SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

import descartes_nb as dn

from .store.conftest import child_environment

FLEET = Path(__file__).parent / "store" / "fleet.toml"


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_db_url"))
    return str(tmp_path / "fleet.db")


@asynccontextmanager
async def worker(db: str, *options: str) -> AsyncIterator[asyncio.subprocess.Process]:
    """``descartes-nb worker`` in a child process, once it says it is serving ``db``."""
    child = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "descartes_nb.cli", "worker", "--db", db, "--poll", "0.05"),
        *options,
        stdout=asyncio.subprocess.PIPE,
        env=child_environment(),
    )
    try:
        assert child.stdout is not None
        serving = (await asyncio.wait_for(child.stdout.readline(), 30)).decode()
        assert "serving" in serving
        assert ":***@" in serving or "postgresql" not in serving  # no password shown
        yield child
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()


async def test_worker_command_processes_sent_events_and_stops_on_sigterm(db: str) -> None:
    async with dn.open_store(db) as store:
        counter = dn.load_definitions(FLEET)["counter"]
        await dn.WorkflowStateMachine("c1", counter).attach_store(store)
        async with worker(db, "--definitions", str(FLEET)) as child:
            assert child.stdout is not None
            sent = await store.send_event("c1", "tick", {"n": 1})
            entry = await asyncio.wait_for(sent.result(), 30)
            assert entry is not None
            assert (entry.seq, entry.event_data) == (1, {"n": 1})
            child.send_signal(signal.SIGTERM)
            out = (await asyncio.wait_for(child.stdout.read(), 30)).decode()
            assert await child.wait() == 0
            assert "stopped: 1 events, 0 timers (0 refused)" in out


async def test_worker_command_without_definitions_serves_lifecycle_workflows(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "workflows.db")
    async with dn.open_store(db) as store:
        await dn.WorkflowStateMachine("build-101").attach_store(store)
        async with worker(db) as child:
            sent = await store.send_event("build-101", "Start")
            entry = await asyncio.wait_for(sent.result(), 30)
            assert entry is not None
            assert (entry.from_state, entry.to_state) == ("Idle", "Running")
            child.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(child.wait(), 30) == 0
