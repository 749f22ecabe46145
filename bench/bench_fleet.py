"""The fleet (issue 14): throughput of 1, 2 and 4 worker processes, send-to-commit delay, timers.

    python bench/bench_fleet.py [--events 600] [--samples 200]

SQLite only for now (the fleet on PostgreSQL is not built yet). Workers are
``descartes-nb worker`` processes on one file in a temporary folder:

- events per second: EVENTS sent events to 20 workflows, processed by 1, 2 and 4 workers
  started together (from the first start to the last commit);
- send -> commit: one idle worker; one event at a time, from before ``send_event`` to the
  committed entry's timestamp (median and 99th percentile);
- timer lateness: from a Timeout's due time to its entry's timestamp.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import descartes_nb as dn

ROOT = Path(__file__).resolve().parent.parent
TOML = """
[workflow.counter]
initial_state = "Counting"
[workflow.counter.states.Counting.on]
tick = "Counting"
stop = "Stopped"
[workflow.counter.states.Stopped]
terminal = true

[workflow.timed]
initial_state = "Idle"
[workflow.timed.states.Idle.on]
start = "Working"
[workflow.timed.states.Working]
timeout = "100ms"
[workflow.timed.states.Working.on]
finish = "Done"
[workflow.timed.states.Done]
terminal = true
"""
POLL = 0.2


def start_workers(db: str, toml: Path, n: int) -> list[subprocess.Popen[bytes]]:
    command = [sys.executable, "-m", "descartes_nb.cli", "worker", "--db", db]
    command += ["--definitions", str(toml), "--poll", str(POLL)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return [subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL) for _ in range(n)]


def stop(workers: list[subprocess.Popen[bytes]]) -> None:
    for w in workers:
        w.terminate()
    for w in workers:
        w.wait(20)


async def throughput(folder: Path, toml: Path, workers: int, events: int) -> float:
    definitions = dn.load_definitions(toml)
    db = str(folder / f"throughput-{workers}.db")
    async with dn.SqliteWorkflowStore(db) as store:
        for i in range(20):
            await dn.WorkflowStateMachine(f"c{i}", definitions["counter"]).attach_store(store)
        sent = [await store.send_event(f"c{n % 20}", "tick") for n in range(events)]
        began = time.perf_counter()
        fleet = start_workers(db, toml, workers)
        try:
            for s in sent:
                await s.result()
            took = time.perf_counter() - began
        finally:
            stop(fleet)
    return events / took


async def delays(folder: Path, toml: Path, samples: int) -> tuple[list[float], list[float]]:
    definitions = dn.load_definitions(toml)
    db = str(folder / "delay.db")
    async with dn.SqliteWorkflowStore(db) as store:
        await dn.WorkflowStateMachine("c", definitions["counter"]).attach_store(store)
        for i in range(20):
            await dn.WorkflowStateMachine(f"t{i}", definitions["timed"]).attach_store(store)
        fleet = start_workers(db, toml, 1)
        try:
            await (await store.send_event("c", "tick")).result()  # the worker is up
            send = []
            for _ in range(samples):
                before = datetime.now(UTC)
                entry = await (await store.send_event("c", "tick")).result()
                assert entry is not None
                send.append((entry.timestamp - before) / timedelta(milliseconds=1))
            late = []
            for i in range(20):
                started = await (await store.send_event(f"t{i}", "start")).result()
                assert started is not None
                while (await store.load_workflow(f"t{i}")).state != "Failed":  # noqa: ASYNC110
                    await asyncio.sleep(0.02)  # another process commits it
                timeout = (await store.get_workflow_history(f"t{i}"))[-1]
                due = started.timestamp + timedelta(milliseconds=100)
                late.append((timeout.timestamp - due) / timedelta(milliseconds=1))
        finally:
            stop(fleet)
    return send, late


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=600)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        toml = folder / "fleet.toml"
        toml.write_text(TOML)
        print(
            f"SQLite, {args.events} sent events to 20 workflows, worker poll {POLL * 1000:.0f} ms"
        )
        rates = {}
        for workers in (1, 2, 4):
            rates[workers] = await throughput(folder, toml, workers, args.events)
            print(
                f"  {workers} worker(s): {rates[workers]:7.0f} events/s "
                f"({rates[workers] / rates[1]:.2f}x one worker)"
            )
        send, late = await delays(folder, toml, args.samples)
        print(
            f"send_event -> committed entry, one idle worker ({len(send)} events): "
            f"median {statistics.median(send):.1f} ms, p99 {p99(send):.1f} ms"
        )
        print(
            f"timer lateness (20 Timeouts of 100 ms): median {statistics.median(late):.1f} ms, "
            f"max {max(late):.1f} ms (poll interval {POLL * 1000:.0f} ms)"
        )


if __name__ == "__main__":
    asyncio.run(main())
