"""Store benchmark: durable transitions, bytes on disk and recovery, against raw SQLite.

Every contender writes the same row shape (a 36-character workflow id, a 200-byte JSON
context) to a fresh file in WAL mode with synchronous=NORMAL, side by side in one process,
interleaved round after round; the median round is reported.

- one workflow, one commit per transition: descartes_nb (``await sm.process_event`` on a
  machine built with ``store=``) against raw ``sqlite3`` inserting the same rows with one
  commit per row, naive aiosqlite (``await execute`` + ``await commit`` per row), and one
  aiosqlite round trip that writes nothing (the floor of any commit on aiosqlite's thread);
  descartes_nb runs with its defaults (commits on the event loop's thread) and with
  ``loop_commits=False`` (every commit on the connection's thread);
- 100 workflows processing events concurrently: descartes_nb (100 tasks, group commit),
  both ways, against raw ``sqlite3`` inserting in batches of 100 rows per transaction;
  the ratios the targets are judged on; raw ``sqlite3`` doing the same work as a change of
  ours (the transition INSERT and an UPDATE of the workflow row, as the PostgreSQL figures
  do) is printed beside them;
- bytes on disk per stored transition (100 workflows x 200 transitions, after a checkpoint);
- ``recover_all_workflows`` on 1,000 and 10,000 workflows of 20 transitions each.

PostgreSQL (``--postgres``, see bench/store_postgres.py): the same figures against raw
asyncpg, on the server of ``DESCARTES_NB_PG_URL`` or a throwaway one (tests/pgserver.py).

Run: .venv/bin/python bench/bench_store.py [--rounds N] [--transitions N] [--workflows N]
     [--postgres] [--only sqlite|postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Final

import aiosqlite

import descartes_nb as dn

CONTEXT = {"owner": "ana@example.org", "ticket": "OPS-4211", "notes": "n" * 133, "step": 3}
CONTEXT_TEXT = json.dumps(CONTEXT, separators=(",", ":"))
assert len(CONTEXT_TEXT.encode()) == 200, len(CONTEXT_TEXT)
STAMP = "2026-11-25T10:00:00.000000Z"
RAW_TABLE = """
CREATE TABLE transitions (
    workflow_id TEXT NOT NULL, seq INTEGER NOT NULL, from_state TEXT NOT NULL,
    to_state TEXT NOT NULL, event TEXT NOT NULL, event_data TEXT, timestamp TEXT NOT NULL,
    duration_us INTEGER NOT NULL, context TEXT NOT NULL
);
CREATE UNIQUE INDEX transitions_workflow_seq ON transitions (workflow_id, seq);
CREATE TABLE workflows (
    id TEXT PRIMARY KEY, state TEXT NOT NULL, context TEXT NOT NULL, version INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
"""
INSERT = "INSERT INTO transitions VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?)"
# The same work as a change of ours: the transition, and the workflow row at the new version.
UPDATE = "UPDATE workflows SET state = ?, context = ?, version = ?, updated_at = ? WHERE id = ?"
PRAGMAS = ("PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL")


def raw_row(workflow_id: str, seq: int) -> tuple[object, ...]:
    states = ("Running", "Paused") if seq % 2 else ("Paused", "Running")
    return (workflow_id, seq, *states, "Pause" if seq % 2 else "Resume", STAMP, 1000, CONTEXT_TEXT)


def raw_connection(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in PRAGMAS:
        conn.execute(pragma)
    conn.executescript(RAW_TABLE)
    return conn


# -- contenders: each returns transitions per second ------------------------------------------


async def raw_per_row(path: Path, n: int) -> float:
    conn = raw_connection(path)
    wid = str(uuid.uuid4())
    start = time.perf_counter()
    for seq in range(1, n + 1):
        conn.execute("BEGIN")
        conn.execute(INSERT, raw_row(wid, seq))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return n / elapsed


def raw_workflows(conn: sqlite3.Connection, count: int) -> list[str]:
    ids = [str(uuid.uuid4()) for _ in range(count)]
    rows = [(wid, "Running", CONTEXT_TEXT, 0, STAMP) for wid in ids]
    conn.executemany("INSERT INTO workflows VALUES (?, ?, ?, ?, ?)", rows)
    return ids


def raw_update(workflow_id: str, seq: int) -> tuple[object, ...]:
    return ("Paused" if seq % 2 else "Running", CONTEXT_TEXT, seq, STAMP, workflow_id)


async def raw_change_per_row(path: Path, n: int) -> float:
    conn = raw_connection(path)
    (wid,) = raw_workflows(conn, 1)
    start = time.perf_counter()
    for seq in range(1, n + 1):
        conn.execute("BEGIN")
        conn.execute(INSERT, raw_row(wid, seq))
        conn.execute(UPDATE, raw_update(wid, seq))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return n / elapsed


async def raw_changes_batches_of_100(path: Path, n: int) -> float:
    conn = raw_connection(path)
    ids = raw_workflows(conn, 100)
    start = time.perf_counter()
    for seq in range(1, n // 100 + 1):
        conn.execute("BEGIN")
        conn.executemany(INSERT, [raw_row(wid, seq) for wid in ids])
        conn.executemany(UPDATE, [raw_update(wid, seq) for wid in ids])
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return n // 100 * 100 / elapsed


async def aiosqlite_per_row(path: Path, n: int) -> float:
    raw_connection(path).close()
    async with aiosqlite.connect(path) as db:
        for pragma in PRAGMAS:
            await db.execute(pragma)
        wid = str(uuid.uuid4())
        start = time.perf_counter()
        for seq in range(1, n + 1):
            await db.execute(INSERT, raw_row(wid, seq))
            await db.commit()
        return n / (time.perf_counter() - start)


async def aiosqlite_round_trip(path: Path, n: int) -> float:
    """The floor for anything that commits on aiosqlite's thread: one trip, no work."""
    async with aiosqlite.connect(path) as db:
        start = time.perf_counter()
        for _ in range(n):
            await db.execute("SELECT 1")
        return n / (time.perf_counter() - start)


THREAD_COMMITS = dn.StateStoreConfig(loop_commits=False)


async def ours_one_workflow(
    path: Path, n: int, config: dn.StateStoreConfig | None = None
) -> float:
    async with dn.SqliteWorkflowStore(path, config) as store:
        sm = dn.WorkflowStateMachine(str(uuid.uuid4()), store=store, context=CONTEXT)
        await sm.process_event("Start")
        start = time.perf_counter()
        for _ in range(n // 2):
            await sm.process_event("Pause")
            await sm.process_event("Resume")
        return n // 2 * 2 / (time.perf_counter() - start)


async def raw_batches_of_100(path: Path, n: int) -> float:
    conn = raw_connection(path)
    ids = [str(uuid.uuid4()) for _ in range(100)]
    start = time.perf_counter()
    for seq in range(1, n // 100 + 1):
        conn.execute("BEGIN")
        conn.executemany(INSERT, [raw_row(wid, seq) for wid in ids])
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return n // 100 * 100 / elapsed


async def cycle(sm: dn.WorkflowStateMachine, transitions: int) -> None:
    for _ in range(transitions // 2):
        await sm.process_event("Pause")
        await sm.process_event("Resume")


async def ours_100_workflows(
    path: Path, n: int, config: dn.StateStoreConfig | None = None
) -> float:
    async with dn.SqliteWorkflowStore(path, config) as store:
        machines = [
            dn.WorkflowStateMachine(str(uuid.uuid4()), store=store, context=CONTEXT)
            for _ in range(100)
        ]
        await asyncio.gather(*(sm.process_event("Start") for sm in machines))
        per_workflow = n // 100 // 2 * 2
        start = time.perf_counter()
        await asyncio.gather(*(cycle(sm, per_workflow) for sm in machines))
        return per_workflow * 100 / (time.perf_counter() - start)


Contender = Callable[[Path, int], Awaitable[float]]


async def median_rates(
    contenders: dict[str, Contender], rounds: int, n: int, tmp: Path
) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for r in range(rounds):
        for i, (name, run) in enumerate(contenders.items()):
            samples[name].append(await run(tmp / f"rate-{n}-{r}-{i}.db", n))
    return {name: statistics.median(values) for name, values in samples.items()}


# -- bytes on disk and recovery -------------------------------------------------------------


def file_bytes(path: Path) -> int:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return path.stat().st_size


async def fill(path: Path, workflows: int, transitions: int) -> None:
    """Store ``workflows`` workflows of ``transitions`` transitions, 500 at a time."""
    async with dn.SqliteWorkflowStore(path) as store:
        for first in range(0, workflows, 500):
            machines = [
                dn.WorkflowStateMachine(str(uuid.uuid4()), store=store, context=CONTEXT)
                for _ in range(min(500, workflows - first))
            ]
            await asyncio.gather(*(sm.process_event("Start") for sm in machines))
            await asyncio.gather(*(cycle(sm, transitions - 1) for sm in machines))
            if transitions % 2 == 0:
                await asyncio.gather(*(sm.process_event("Pause") for sm in machines))


async def bytes_per_transition(tmp: Path) -> tuple[float, float]:
    ours = tmp / "bytes-ours.db"
    await fill(ours, 100, 200)
    raw = tmp / "bytes-raw.db"
    conn = raw_connection(raw)
    ids = [str(uuid.uuid4()) for _ in range(100)]
    for seq in range(1, 201):
        conn.execute("BEGIN")
        conn.executemany(INSERT, [raw_row(wid, seq) for wid in ids])
        conn.execute("COMMIT")
    conn.close()
    return file_bytes(ours) / 20_000, file_bytes(raw) / 20_000


# A release that builds and tests at once: each event moves one region (issue 12).
CHART: Final = dn.load_definitions(
    """
[workflow.release]
initial_state = "Checks"
[workflow.release.states.Checks]
parallel = true
on = { hold = "Held" }
[workflow.release.states.Held]
on = { resume = "Again", ship = "Shipped" }
[workflow.release.states.Shipped]
terminal = true
[workflow.release.states.Build]
parent = "Checks"
[workflow.release.states.Compiling]
parent = "Build"
on = { built = "Linking" }
[workflow.release.states.Linking]
parent = "Build"
on = { built = "Compiling" }
[workflow.release.states.Test]
parent = "Checks"
[workflow.release.states.Unit]
parent = "Test"
on = { tested = "Browser" }
[workflow.release.states.Browser]
parent = "Test"
on = { tested = "Unit" }
[workflow.release.states.Again]
parent = "Test"
history = "shallow"
"""
)["release"]


async def chart_bytes_per_transition(tmp: Path) -> float:
    """Bytes per transition of statechart workflows (configuration and moves in each row)."""
    path = tmp / "bytes-chart.db"
    async with dn.SqliteWorkflowStore(path) as store:
        machines = [
            dn.WorkflowStateMachine(str(uuid.uuid4()), CHART, store=store, context=CONTEXT)
            for _ in range(100)
        ]
        for i in range(200):
            event = "built" if i % 2 else "tested"
            await asyncio.gather(*(sm.process_event(event) for sm in machines))
    return file_bytes(path) / 20_000


async def recovery_seconds(path: Path, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        async with dn.SqliteWorkflowStore(path) as store:
            gc.collect()  # each round starts from the same heap, not the last round's garbage
            start = time.perf_counter()
            report = await dn.WorkflowRecovery(store).recover_all_workflows()
            times.append(time.perf_counter() - start)
            assert report.ok, report
            del report
    return statistics.median(times)


async def main_async(args: argparse.Namespace, tmp: Path) -> None:
    n = args.transitions
    print(f"durable transitions per second (median of {args.rounds} interleaved rounds)")
    one = await median_rates(
        {
            "raw sqlite3, commit per row": raw_per_row,
            "raw sqlite3, INSERT + UPDATE, commit per change": raw_change_per_row,
            "aiosqlite, commit per row": aiosqlite_per_row,
            "aiosqlite, SELECT 1 round trip (no write)": aiosqlite_round_trip,
            "descartes_nb, one workflow": ours_one_workflow,
            "descartes_nb, one workflow, loop_commits=False": functools.partial(
                ours_one_workflow, config=THREAD_COMMITS
            ),
        },
        args.rounds,
        n,
        tmp,
    )
    for name, rate in one.items():
        print(f"  {name:48} {rate:9,.0f} /s {1e6 / rate:7.1f} us")
    raw = one["raw sqlite3, commit per row"]
    ratio = one["descartes_nb, one workflow"] / raw
    print(f"  descartes_nb / raw sqlite3: {ratio:.0%} (target >= 50%)")
    same_work = one["raw sqlite3, INSERT + UPDATE, commit per change"]
    same = one["descartes_nb, one workflow"] / same_work
    print(f"  descartes_nb / raw sqlite3 doing the same work (INSERT + UPDATE): {same:.0%}")
    floor = one["aiosqlite, SELECT 1 round trip (no write)"] / raw
    print(f"  one aiosqlite round trip alone / raw sqlite3: {floor:.0%}")
    many = await median_rates(
        {
            "raw sqlite3, 100 rows per transaction": raw_batches_of_100,
            "raw sqlite3, 100 INSERT + UPDATE per transaction": raw_changes_batches_of_100,
            "descartes_nb, 100 concurrent workflows": ours_100_workflows,
            "descartes_nb, 100 workflows, loop_commits=False": functools.partial(
                ours_100_workflows, config=THREAD_COMMITS
            ),
        },
        args.rounds,
        n * 4,
        tmp,
    )
    for name, rate in many.items():
        print(f"  {name:48} {rate:9,.0f} /s {1e6 / rate:7.1f} us")
    ratio = (
        many["descartes_nb, 100 concurrent workflows"]
        / many["raw sqlite3, 100 rows per transaction"]
    )
    print(f"  descartes_nb / raw sqlite3 batched: {ratio:.0%} (target >= 50%)")
    same = (
        many["descartes_nb, 100 concurrent workflows"]
        / many["raw sqlite3, 100 INSERT + UPDATE per transaction"]
    )
    print(f"  descartes_nb / raw sqlite3 doing the same work, batched: {same:.0%}")

    ours_bytes, raw_bytes = await bytes_per_transition(tmp)
    print("bytes on disk per stored transition (100 workflows x 200, 200-byte context)")
    print(f"  descartes_nb {ours_bytes:6.0f} (target <= 400); raw table {raw_bytes:6.0f}")
    chart_bytes = await chart_bytes_per_transition(tmp)
    print(f"  statechart workflows (two regions, 6-state configurations) {chart_bytes:6.0f}")

    print("recover_all_workflows, 20 transitions each (median of 5)")
    timings = {}
    for workflows in (args.workflows // 10, args.workflows):
        path = tmp / f"recover-{workflows}.db"
        await fill(path, workflows, 20)
        timings[workflows] = await recovery_seconds(path, 5)
        print(f"  {workflows:6,} workflows {timings[workflows]:7.3f} s")
    small, large = timings.values()
    print(f"  10x the workflows: {large / small:.1f}x the time (target <= ~10x; <= 2 s at 10,000)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--transitions", type=int, default=4000)
    parser.add_argument("--workflows", type=int, default=10_000)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL figures too")
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    args = parser.parse_args()
    if args.only != "postgres":
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(main_async(args, Path(tmp)))
    if args.postgres or args.only == "postgres":
        postgres(args)


def postgres(args: argparse.Namespace) -> None:
    """The PostgreSQL figures, on DESCARTES_NB_PG_URL's server or a throwaway one."""
    import store_postgres

    url = os.environ.get("DESCARTES_NB_PG_URL")
    if url:
        asyncio.run(store_postgres.report(url, args.rounds, args.transitions, args.workflows))
        return
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.pgserver import PostgresServer

    with PostgresServer() as server:
        run = store_postgres.report(server.url, args.rounds, args.transitions, args.workflows)
        asyncio.run(run)


if __name__ == "__main__":
    main()
