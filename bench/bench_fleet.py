"""The fleet (issue 14): throughput of 1, 2 and 4 worker processes, send-to-commit delay, timers.

    python bench/bench_fleet.py [--events 600] [--samples 200] [--only sqlite|postgres]

SQLite on a file in a temporary folder; PostgreSQL on the server of ``DESCARTES_NB_PG_URL``
or a throwaway one (tests/pgserver.py), a fresh database per measure. Workers are
``descartes-nb worker`` processes:

- events per second: EVENTS sent events to 20 workflows, processed by 1, 2 and 4 workers;
  the workers are started and warmed up, stopped (SIGSTOP) while the events are sent, and
  timed from SIGCONT to the last outcome;
- send -> commit: one idle worker; one event at a time, from before ``send_event`` to the
  committed entry's timestamp (median and 99th percentile);
- timer lateness: from a Timeout's due time to its entry's timestamp;
- commit -> changes(): a follower process (``python bench/bench_fleet.py follow DB N``)
  prints when ``changes()`` gives it each entry; from before ``process_event`` here to that
  (an upper bound: the commit is a little later; the clocks of one machine).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

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
BACKENDS = ("sqlite", "postgres")


class Databases:
    """Fresh databases of one backend: files in a folder, or databases on a server."""

    def __init__(self, backend: str, folder: Path, server_url: str | None) -> None:
        self.backend = backend
        self.folder = folder
        self.server_url = server_url
        self.made: list[str] = []

    async def new(self, name: str) -> str:
        if self.server_url is None:
            return str(self.folder / f"{name}.db")
        import asyncpg

        database = f"bench_fleet_{secrets.token_hex(4)}"
        admin = await asyncpg.connect(self.server_url)
        try:
            await admin.execute(f"CREATE DATABASE {database} TEMPLATE template0")
        finally:
            await admin.close()
        self.made.append(database)
        return urlsplit(self.server_url)._replace(path=f"/{database}").geturl()

    async def drop_all(self) -> None:
        if self.server_url is None or not self.made:
            return
        import asyncpg

        admin = await asyncpg.connect(self.server_url)
        try:
            for database in self.made:
                await admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        finally:
            await admin.close()


def start_workers(db: str, toml: Path, n: int) -> list[subprocess.Popen[bytes]]:
    command = [sys.executable, "-m", "descartes_nb.cli", "worker", "--db", db]
    command += ["--definitions", str(toml), "--poll", str(POLL)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return [subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL) for _ in range(n)]


def stop(workers: list[subprocess.Popen[bytes]]) -> None:
    for w in workers:
        w.send_signal(signal.SIGCONT)
        w.terminate()
    for w in workers:
        w.wait(20)


async def throughput(dbs: Databases, toml: Path, workers: int, events: int) -> float:
    definitions = dn.load_definitions(toml)
    db = await dbs.new(f"throughput-{workers}")
    async with dn.open_store(db) as store:
        for i in range(20):
            await dn.WorkflowStateMachine(f"c{i}", definitions["counter"]).attach_store(store)
        fleet = start_workers(db, toml, workers)
        try:
            warm = [await store.send_event(f"c{i}", "tick") for i in range(20)]
            for s in warm:
                await s.result()
            for w in fleet:
                w.send_signal(signal.SIGSTOP)
            sent = [await store.send_event(f"c{n % 20}", "tick") for n in range(events)]
            began = time.perf_counter()
            for w in fleet:
                w.send_signal(signal.SIGCONT)
            for s in sent:
                await s.result()
            took = time.perf_counter() - began
        finally:
            stop(fleet)
    return events / took


async def delays(dbs: Databases, toml: Path, samples: int) -> tuple[list[float], list[float]]:
    definitions = dn.load_definitions(toml)
    db = await dbs.new("delay")
    async with dn.open_store(db) as store:
        await dn.WorkflowStateMachine("c", definitions["counter"]).attach_store(store)
        for i in range(20):
            await dn.WorkflowStateMachine(f"t{i}", definitions["timed"]).attach_store(store)
        fleet = start_workers(db, toml, 1)
        try:
            await (await store.send_event("c", "tick")).result()  # the worker is up
            send = []
            for _ in range(samples):
                await asyncio.sleep(0.01)  # the worker is idle again, waiting
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


async def follow_delays(dbs: Databases, toml: Path, samples: int) -> list[float]:
    """Commit -> changes() in another process, one entry every 20-60 ms."""
    definitions = dn.load_definitions(toml)
    db = await dbs.new("follow")
    async with dn.open_store(db) as store:
        sm = dn.WorkflowStateMachine("c", definitions["counter"])
        await sm.attach_store(store)
        follower = await asyncio.create_subprocess_exec(
            *(sys.executable, __file__, "follow", db, str(samples)),
            stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert follower.stdout is not None
        assert await follower.stdout.readline() == b"ready\n"
        committed = {}
        for _ in range(samples):
            await asyncio.sleep(random.uniform(0.02, 0.06))
            before = time.time()  # the commit is after: the delay is at most what is shown
            entry = await sm.process_event("tick")
            committed[entry.seq] = before
        out = await follower.stdout.read()
        await follower.wait()
    heard = [line.split() for line in out.decode().splitlines()]
    return [(float(at) - committed[int(seq)]) * 1000 for seq, at in heard]


async def follow(db: str, count: int) -> None:
    """The follower process: print 'SEQ TIME' as changes() gives each entry."""
    async with dn.open_store(db) as store, store.changes() as feed:
        print("ready", flush=True)
        for _ in range(count):
            change = await anext(feed)
            print(change.seq, time.time(), flush=True)


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


async def report(backend: str, server_url: str | None, events: int, samples: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        toml = folder / "fleet.toml"
        toml.write_text(TOML)
        dbs = Databases(backend, folder, server_url)
        try:
            await _report(dbs, toml, events, samples)
        finally:
            await dbs.drop_all()


async def _report(dbs: Databases, toml: Path, events: int, samples: int) -> None:
    print(f"{dbs.backend}: {events} sent events to 20 workflows, worker poll {POLL * 1000:.0f} ms")
    rates = {}
    for workers in (1, 2, 4):
        rates[workers] = await throughput(dbs, toml, workers, events)
        print(
            f"  {workers} worker(s): {rates[workers]:7.0f} events/s "
            f"({rates[workers] / rates[1]:.2f}x one worker)"
        )
    send, late = await delays(dbs, toml, samples)
    print(
        f"  send_event -> committed entry, one idle worker ({len(send)} events): "
        f"median {statistics.median(send):.1f} ms, p99 {p99(send):.1f} ms"
    )
    print(
        f"  timer lateness (20 Timeouts of 100 ms): median {statistics.median(late):.1f} ms, "
        f"max {max(late):.1f} ms (poll interval {POLL * 1000:.0f} ms)"
    )
    heard = await follow_delays(dbs, toml, samples)
    print(
        f"  commit -> changes() in another process ({len(heard)} entries, at most): "
        f"median {statistics.median(heard):.1f} ms, p99 {p99(heard):.1f} ms"
    )


def main() -> None:
    if sys.argv[1:2] == ["follow"]:
        asyncio.run(follow(sys.argv[2], int(sys.argv[3])))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=600)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--only", choices=BACKENDS)
    args = parser.parse_args()
    if args.only != "postgres":
        asyncio.run(report("sqlite", None, args.events, args.samples))
    if args.only == "sqlite":
        return
    url = os.environ.get("DESCARTES_NB_PG_URL")
    if url:
        asyncio.run(report("postgres", url, args.events, args.samples))
        return
    sys.path.insert(0, str(ROOT))
    from tests.pgserver import PostgresServer

    with PostgresServer() as server:
        asyncio.run(report("postgres", server.url, args.events, args.samples))


if __name__ == "__main__":
    main()
