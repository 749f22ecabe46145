"""The fleet with real processes: workers share a store's timers and sent events, and die.

Each worker is ``fleet_child.py`` (``dn.Worker`` with a handler that holds each event a
moment). Workflows: ``timed`` ones, started by a sent event and then driven by their own
timers only (Timeout, Retry, 3 times, then a last Timeout), and ``counter`` ones that take
numbered ``tick`` events. Whatever the workers do and however they die, every sent event
must be processed exactly once and in the order sent, every timer fired exactly once, and
every history unbroken.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

import descartes_nb as dn

HERE = Path(__file__).parent
DEFINITIONS = dn.load_definitions(HERE / "fleet.toml")
TIMED_STORY = ["start", "Timeout", "Retry", "Timeout", "Retry", "Timeout", "Retry", "Timeout"]
Store = dn.SqliteWorkflowStore | dn.PostgresWorkflowStore
KILLS = 20 if os.environ.get("CI") else 6


class Fleet:
    """Worker processes on one database; their output lines go to one queue."""

    def __init__(self, db: str, hold: float) -> None:
        self.db = db
        self.hold = hold
        self.children: list[asyncio.subprocess.Process] = []
        self.lines: asyncio.Queue[tuple[asyncio.subprocess.Process, str]] = asyncio.Queue()
        self.readers: list[asyncio.Task[None]] = []

    async def start(self) -> asyncio.subprocess.Process:
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            str(HERE / "fleet_child.py"),
            self.db,
            str(self.hold),
            stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(HERE.parent.parent)},
        )
        self.children.append(child)
        self.readers.append(asyncio.create_task(self._read(child)))
        return child

    async def _read(self, child: asyncio.subprocess.Process) -> None:
        assert child.stdout is not None
        async for line in child.stdout:
            await self.lines.put((child, line.decode().strip()))

    async def kill_one_holding(self) -> None:
        """SIGKILL a worker just after it said it holds an event, and start another."""
        while True:
            child, line = await asyncio.wait_for(self.lines.get(), 20)
            if line.startswith("hold") and child.returncode is None:
                break
        child.kill()
        await child.wait()
        assert child.returncode == -signal.SIGKILL
        await self.start()

    async def stop(self) -> list[int]:
        """SIGTERM every live worker; their exit statuses (0: clean)."""
        live = [c for c in self.children if c.returncode is None]
        for child in live:
            child.send_signal(signal.SIGTERM)
        codes = [await asyncio.wait_for(c.wait(), 20) for c in live]
        for reader in self.readers:
            await reader
        return codes

    def close(self) -> None:
        for child in self.children:
            if child.returncode is None:
                child.kill()


@pytest.fixture(params=["sqlite", "postgres"])
def fleet_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The database the fleet shares: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_db_url"))
    return str(tmp_path / "fleet.db")


async def _populate(store: Store, timed: int, counters: int) -> None:
    for i in range(timed):
        await dn.WorkflowStateMachine(f"timed-{i}", DEFINITIONS["timed"]).attach_store(store)
    for i in range(counters):
        await dn.WorkflowStateMachine(f"counter-{i}", DEFINITIONS["counter"]).attach_store(store)


async def _send_all(
    store: Store,
    timed: int,
    counters: int,
    ticks: int,
) -> dict[str, list[dn.SentEvent]]:
    """Send start to the timed workflows and numbered ticks to the counters, interleaved."""
    sent: dict[str, list[dn.SentEvent]] = {}
    for i in range(timed):
        sent[f"timed-{i}"] = [await store.send_event(f"timed-{i}", "start")]
    for n in range(ticks):
        for i in range(counters):
            wid = f"counter-{i}"
            sent.setdefault(wid, []).append(await store.send_event(wid, "tick", {"n": n}))
    return sent


async def _settled(store: Store, timed: int) -> None:
    """Wait until every timed workflow told its whole story (written by other processes)."""
    pending = {f"timed-{i}" for i in range(timed)}
    while pending:
        for wid in list(pending):
            if (await store.load_workflow(wid)).transition_count >= len(TIMED_STORY):
                pending.discard(wid)
        await asyncio.sleep(0.05)


async def _check(
    store: Store,
    sent: dict[str, list[dn.SentEvent]],
    timed: int,
    ticks: int,
) -> None:
    for wid, events in sent.items():
        entries = [await asyncio.wait_for(s.result(), 30) for s in events]
        assert [e.seq for e in entries if e is not None] == list(range(1, len(events) + 1))
        history = await store.get_workflow_history(wid)
        if wid.startswith("counter"):
            assert [e.event_data for e in history] == [{"n": n} for n in range(ticks)]
    for i in range(timed):
        history = await store.get_workflow_history(f"timed-{i}")
        assert [e.event for e in history] == TIMED_STORY
        assert (await store.load_workflow(f"timed-{i}")).state == "Failed"
    report = await dn.WorkflowRecovery(store, DEFINITIONS).recover_all_workflows()
    assert report.ok, report


async def run_fleet(db: str, workers: int, *, kills: int = 0, hold: float = 0.002) -> None:
    timed, counters, ticks = 6, 4, 25 if kills else 12
    async with dn.open_store(db) as store:
        await _populate(store, timed, counters)
        fleet = Fleet(db, hold)
        try:
            for _ in range(workers):
                await fleet.start()
            sent = await _send_all(store, timed, counters, ticks)
            for _ in range(kills):
                await fleet.kill_one_holding()
            await asyncio.wait_for(_settled(store, timed), 60)
            await _check(store, sent, timed, ticks)
            assert await fleet.stop() == [0] * workers
        finally:
            fleet.close()


@pytest.mark.parametrize("workers", [2, 4])
async def test_fleet_workers_share_timers_and_sent_events(fleet_db: str, workers: int) -> None:
    await run_fleet(fleet_db, workers)


async def test_fleet_sigkill_loses_nothing_and_processes_once(fleet_db: str) -> None:
    await run_fleet(fleet_db, 2, kills=KILLS, hold=0.02)
