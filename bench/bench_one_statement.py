"""Prototype for the SQLite write redesign (issue 13 item 4): a change as one statement.

An ``INSTEAD OF INSERT`` trigger on a view checks the workflow's version (the optimistic
lock), updates its row and inserts the transition, so a change is one statement: one trip to
aiosqlite's thread through its public API (``execute``; no second connection on the loop,
foreign keys on). Against raw ``sqlite3`` inserting the same transition rows (WAL,
synchronous NORMAL, a fresh file per run), one workflow (a commit per change) and 100
workflows (100 changes per transaction: ``executemany`` between ``BEGIN IMMEDIATE`` and
``COMMIT``). Bare statements: the machine and row encoding around them are not included.

Run: .venv/bin/python bench/bench_one_statement.py [--rounds N] [--transitions N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiosqlite

CONTEXT = {"owner": "ana@example.org", "ticket": "OPS-4211", "notes": "n" * 133, "step": 3}
CONTEXT_TEXT = json.dumps(CONTEXT, separators=(",", ":"))
STAMP = "2026-11-25T10:00:00.000000Z"
SCHEMA = """
PRAGMA journal_mode = WAL;
CREATE TABLE workflows (key INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, state TEXT NOT NULL,
    context TEXT NOT NULL, version INTEGER NOT NULL, transition_count INTEGER NOT NULL,
    updated_at TEXT NOT NULL);
CREATE TABLE transitions (
    workflow INTEGER NOT NULL REFERENCES workflows (key) ON DELETE CASCADE,
    seq INTEGER NOT NULL, from_state TEXT NOT NULL, to_state TEXT NOT NULL,
    event TEXT NOT NULL, event_data TEXT, timestamp TEXT NOT NULL,
    duration_us INTEGER NOT NULL, context TEXT NOT NULL, context_before TEXT);
CREATE UNIQUE INDEX transitions_workflow_seq ON transitions (workflow, seq);
CREATE VIEW changes AS SELECT w.id, w.state, w.context, w.version, w.updated_at, t.seq,
    t.from_state, t.event, t.duration_us FROM workflows AS w JOIN transitions AS t
    ON t.workflow = w.key;
CREATE TRIGGER change INSTEAD OF INSERT ON changes BEGIN
    SELECT RAISE(ABORT, 'descartes_nb: version conflict') WHERE NOT EXISTS
        (SELECT 1 FROM workflows WHERE id = NEW.id AND version = NEW.version - 1);
    UPDATE workflows SET state = NEW.state, context = NEW.context, version = NEW.version,
        transition_count = NEW.seq, updated_at = NEW.updated_at WHERE id = NEW.id;
    INSERT INTO transitions VALUES ((SELECT key FROM workflows WHERE id = NEW.id), NEW.seq,
        NEW.from_state, NEW.state, NEW.event, NULL, NEW.updated_at, NEW.duration_us,
        NEW.context, NULL);
END;
"""
CHANGE = "INSERT INTO changes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
RAW = "INSERT INTO transitions VALUES (?, ?, 'Running', 'Paused', 'Pause', NULL, ?, 1000, ?, NULL)"


def change(workflow_id: str, seq: int) -> tuple[object, ...]:
    before, after = ("Running", "Paused") if seq % 2 else ("Paused", "Running")
    event = "Pause" if seq % 2 else "Resume"
    return (workflow_id, after, CONTEXT_TEXT, seq, STAMP, seq, before, event, 1000)


def make(path: Path, ids: list[str]) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(SCHEMA)
    conn.executemany(
        "INSERT INTO workflows VALUES (NULL, ?, 'Running', ?, 0, 0, ?)",
        [(wid, CONTEXT_TEXT, STAMP) for wid in ids],
    )
    conn.close()


def raw(path: Path, n: int, per_transaction: int) -> float:
    make(path, [str(uuid.uuid4()) for _ in range(per_transaction)])
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = NORMAL")
    start = time.perf_counter()
    for seq in range(1, n // per_transaction + 1):
        conn.execute("BEGIN")
        rows = [(key, seq, STAMP, CONTEXT_TEXT) for key in range(1, per_transaction + 1)]
        conn.executemany(RAW, rows)
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return n // per_transaction * per_transaction / elapsed


async def raw_one(path: Path, n: int) -> float:
    return raw(path, n, 1)


async def raw_100(path: Path, n: int) -> float:
    return raw(path, n, 100)


async def one_statement(path: Path, n: int) -> float:
    make(path, ["w"])
    async with aiosqlite.connect(path, isolation_level=None) as db:
        await db.execute("PRAGMA synchronous = NORMAL")
        await db.execute("PRAGMA foreign_keys = ON")
        start = time.perf_counter()
        for seq in range(1, n + 1):
            await db.execute(CHANGE, change("w", seq))  # its own implicit transaction
        return n / (time.perf_counter() - start)


async def one_statement_100(path: Path, n: int) -> float:
    ids = [str(uuid.uuid4()) for _ in range(100)]
    make(path, ids)
    async with aiosqlite.connect(path, isolation_level=None) as db:
        await db.execute("PRAGMA synchronous = NORMAL")
        await db.execute("PRAGMA foreign_keys = ON")
        start = time.perf_counter()
        for seq in range(1, n // 100 + 1):
            await db.execute("BEGIN IMMEDIATE")
            await db.executemany(CHANGE, [change(wid, seq) for wid in ids])
            await db.execute("COMMIT")
        return n // 100 * 100 / (time.perf_counter() - start)


Contender = Callable[[Path, int], Awaitable[float]]


async def medians(contenders: dict[str, Contender], rounds: int, n: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(rounds):
            for i, (name, run) in enumerate(contenders.items()):
                samples[name].append(await run(Path(tmp) / f"{r}-{i}.db", n))
    return {name: statistics.median(values) for name, values in samples.items()}


async def main_async(rounds: int, n: int) -> None:
    one = await medians({"raw": raw_one, "one statement": one_statement}, rounds, n)
    many = await medians({"raw": raw_100, "one statement": one_statement_100}, rounds, n * 4)
    for label, rates in (("one workflow", one), ("100 per transaction", many)):
        for name, rate in rates.items():
            print(f"  {label:20} {name:14} {rate:10,.0f} /s")
        print(
            f"  {label}: one statement / raw sqlite3 = {rates['one statement'] / rates['raw']:.0%}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--transitions", type=int, default=2000)
    args = parser.parse_args()
    asyncio.run(main_async(args.rounds, args.transitions))


if __name__ == "__main__":
    main()
