"""Real crashes and real concurrency: SIGKILLed writers, and processes on one database.

Each test runs on SQLite (a file) and on PostgreSQL (a fresh database of the test server).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import random
import signal
import sys
from collections import defaultdict
from pathlib import Path

import pytest

import descartes_nb as dn

from .conftest import child_environment

CHILD = str(Path(__file__).with_name("child.py"))
CHART = dn.load_definitions(Path(__file__).parent.parent / "fixtures" / "valid_statechart.toml")[
    "chart"
]
KILLS = {"sqlite": 50, "postgres": 20} if os.environ.get("CI") else {"sqlite": 12, "postgres": 6}
# Processes writing the same workflows at once.
CONTENDERS = {"sqlite": 2, "postgres": 4}

pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """(backend, database): a SQLite file, or a PostgreSQL URL."""
    if request.param == "postgres":
        return "postgres", request.getfixturevalue("pg_db_url")
    return "sqlite", str(tmp_path / "workflows.db")


async def start_child(*args: object) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        CHILD,
        *map(str, args),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=child_environment(),
    )


async def read_line(child: asyncio.subprocess.Process) -> str:
    assert child.stdout is not None
    line = await child.stdout.readline()
    if not line:
        assert child.stderr is not None
        error = (await child.stderr.read()).decode()
        pytest.fail(f"child ended early (code {await child.wait()}):\n{error}")
    return line.decode()


async def run_until_killed(db: str, after_acks: int, loop_commits: bool, *mode: str) -> list[str]:
    """Start a crash child, SIGKILL it after ``after_acks`` acks; every complete line."""
    child = await start_child("crash", db, 4, int(loop_commits), *mode)
    lines: list[str] = []
    if after_acks:
        assert await read_line(child) == "ready\n"
        while len(lines) < after_acks:
            lines.append(await read_line(child))
    child.send_signal(signal.SIGKILL)
    assert child.stdout is not None
    rest = (await child.stdout.read()).decode()  # written before it died: acknowledged too
    lines += rest.splitlines(keepends=True)
    assert await child.wait() == -signal.SIGKILL
    return [line for line in lines if line.endswith("\n") and line.startswith("ack ")]


async def check_everything_acknowledged_is_stored(
    db: str,
    acked: dict[str, set[int]],
    versions: dict[str, int],
    definitions: list[dn.WorkflowDefinition] | None = None,
) -> None:
    async with dn.open_store(db) as store:
        assert await store.check_integrity() == []
        report = await dn.WorkflowRecovery(store, definitions or []).recover_all_workflows()
        assert report.ok, str(report)  # recovery checked every chain
        for workflow_id, seqs in acked.items():
            stored = [e.seq for e in await store.get_workflow_history(workflow_id)]
            assert stored == list(range(1, len(stored) + 1))
            assert seqs <= set(stored), f"{workflow_id}: lost {sorted(seqs - set(stored))}"
            assert report.workflows[workflow_id].version >= versions[workflow_id]


async def test_sigkill_at_random_moments_loses_no_acknowledged_transition(database):
    backend, db = database
    rng = random.Random(20261125)
    acked: dict[str, set[int]] = defaultdict(set)
    versions: dict[str, int] = defaultdict(int)
    for kill in range(KILLS[backend]):
        # Now and then the kill comes before the child is ready: while it opens the file,
        # migrates the schema or recovers.
        after = 0 if kill % 7 == 3 else rng.randint(1, 400)
        # SQLite: every other child commits on its event loop's thread, the others on
        # aiosqlite's.
        for line in await run_until_killed(db, after, loop_commits=kill % 2 == 0):
            _, workflow_id, seq, version = line.split()
            acked[workflow_id].add(int(seq))
            versions[workflow_id] = max(versions[workflow_id], int(version))
        await check_everything_acknowledged_is_stored(db, acked, versions)
    assert sum(map(len, acked.values())) > KILLS[backend]  # it did work between the kills


CHART_KILLS = {"sqlite": 5, "postgres": 3}


async def test_sigkill_of_statechart_workflows_recovers_each_exactly(database):
    """Workflows in parallel regions and history states, killed mid-run, come back exactly:
    a recovered workflow at the version last acknowledged equals the machine that acked it
    (its configuration, history memory and moves included)."""
    backend, db = database
    rng = random.Random(20261202)
    acked: dict[str, set[int]] = defaultdict(set)
    versions: dict[str, int] = defaultdict(int)
    compared = 0
    for kill in range(CHART_KILLS[backend]):
        snapshots: dict[str, tuple[int, str]] = {}
        lines = await run_until_killed(db, rng.randint(20, 200), kill % 2 == 0, "chart")
        for line in lines:
            _, workflow_id, seq, version, snapshot = line.split(" ", 4)
            acked[workflow_id].add(int(seq))
            versions[workflow_id] = max(versions[workflow_id], int(version))
            snapshots[workflow_id] = (int(version), snapshot)
        async with dn.open_store(db) as store:
            recovery = dn.WorkflowRecovery(store, [CHART])
            report = await recovery.recover_all_workflows()
            assert report.ok, str(report)
            for workflow_id, (last, snapshot) in snapshots.items():
                recovered = report.workflows[workflow_id]
                assert recovered.version >= last
                if recovered.version == last:  # nothing committed after the last ack
                    stored = recovered.serialize()
                    stored = dataclasses.replace(stored, history=stored.history[-3:])
                    assert stored == dn.SerializedWorkflow.from_json(snapshot)
                    compared += 1
        await check_everything_acknowledged_is_stored(db, acked, versions, [CHART])
    assert compared > 0  # of 4 workflows per kill; the others had committed a change unacked
    # They were caught in parallel regions or after leaving a state with history.
    states = [sm.serialize() for sm in report.workflows.values()]
    assert any(len(s.configuration) > 3 or s.memory for s in states)


async def test_processes_on_the_same_workflows_lose_no_update(database):
    backend, db = database
    async with dn.open_store(db) as store:
        for i in range(3):
            await dn.WorkflowStateMachine(f"shared-{i}", store=store).process_event("Start")
    seeds = range(1, CONTENDERS[backend] + 1)
    children = [await start_child("contend", db, 3, 400, seed) for seed in seeds]
    for child in children:
        assert await read_line(child) == "ready\n"
    for child in children:
        assert child.stdin is not None
        child.stdin.write(b"go\n")
        await child.stdin.drain()
    outputs = await asyncio.gather(*(child.communicate() for child in children))
    for child, (_, error) in zip(children, outputs, strict=True):
        assert child.returncode == 0, error.decode()
        assert error == b""  # every refusal was a ConcurrentModificationError, caught
    acks: dict[str, list[int]] = defaultdict(list)
    conflicts = 0
    for out, _ in outputs:
        for line in out.decode().splitlines():
            kind, workflow_id, *seq = line.split()
            if kind == "ack":
                acks[workflow_id].append(int(seq[0]))
            else:
                conflicts += 1
    assert conflicts > 0  # they did step on each other
    async with dn.open_store(db) as store:
        report = await dn.WorkflowRecovery(store).recover_all_workflows()
        assert report.ok, str(report)
        for workflow_id, seqs in acks.items():
            # Each stored transition was acknowledged by exactly one process: none was
            # written twice, none acknowledged and then overwritten.
            stored = [e.seq for e in await store.get_workflow_history(workflow_id)]
            assert sorted(seqs) == stored[1:] == list(range(2, len(stored) + 1))
        assert sum(map(len, acks.values())) + conflicts == 400 * len(children)
