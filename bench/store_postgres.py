"""The PostgreSQL part of bench/bench_store.py: descartes_nb against raw asyncpg, one process.

Every contender gets a fresh database on the same server and writes the same row shape
(a 36-character workflow id, a 200-byte JSON context):

- one workflow, one transaction per transition: descartes_nb (``await sm.process_event``)
  against raw asyncpg doing the same work (INSERT the transition and UPDATE the workflow row
  in one transaction; target >= 60%);
- 100 workflows processing events concurrently (group commit) against raw asyncpg writing
  100 changes per transaction (target >= 50%);
- 1, 2 and 4 writer processes on one database, 100 workflows each: the total rate, and
  that every acknowledged transition is stored (no update lost);
- bytes per stored transition (``pg_total_relation_size``, 100 workflows x 200);
- ``recover_all_workflows`` of 10,000 workflows x 20 transitions (target <= 2 s);
- ``load_history_frame`` of 1,000,000 transitions against asyncpg's rows put into a
  DataFrame as ``pandas.read_sql`` does (``DataFrame.from_records``; pandas' read_sql itself
  needs SQLAlchemy and a sync driver for PostgreSQL) plus the same conversions (no slower).

``python bench/store_postgres.py writer URL WORKFLOWS TRANSITIONS`` is one writer process.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from urllib.parse import urlsplit

import asyncpg
import pandas as pd

import descartes_nb as dn
from descartes_nb import notebook as dnb

CONTEXT = {"owner": "ana@example.org", "ticket": "OPS-4211", "notes": "n" * 133, "step": 3}
CONTEXT_TEXT = json.dumps(CONTEXT, separators=(",", ":"))
STAMP = datetime(2026, 11, 25, 10, tzinfo=UTC)
RAW_TABLES = """
CREATE TABLE workflows (id text PRIMARY KEY, state text NOT NULL, context json NOT NULL,
    version bigint NOT NULL, updated_at timestamptz NOT NULL);
CREATE TABLE transitions (workflow_id text NOT NULL, seq bigint NOT NULL,
    from_state text NOT NULL, to_state text NOT NULL, event text NOT NULL, event_data json,
    timestamp timestamptz NOT NULL, duration_us bigint NOT NULL, context json NOT NULL,
    PRIMARY KEY (workflow_id, seq));
"""
INSERT = "INSERT INTO transitions VALUES ($1, $2, $3, $4, $5, NULL, $6, $7, $8)"
UPDATE = (
    "UPDATE workflows SET state = $2, context = $3, version = $4, updated_at = $5 WHERE id = $1"
)


def raw_change(wid: str, seq: int) -> tuple[tuple[object, ...], tuple[object, ...]]:
    states = ("Running", "Paused") if seq % 2 else ("Paused", "Running")
    event = "Pause" if seq % 2 else "Resume"
    return (wid, seq, *states, event, STAMP, 1000, CONTEXT_TEXT), (
        wid,
        states[1],
        CONTEXT_TEXT,
        seq,
        STAMP,
    )


@asynccontextmanager
async def fresh_database(url: str) -> AsyncIterator[str]:
    """A new empty database on the server of ``url``, dropped afterwards."""
    name = f"bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(url)
    await admin.execute(f"CREATE DATABASE {name} TEMPLATE template0")
    try:
        yield urlsplit(url)._replace(path=f"/{name}").geturl()
    finally:
        await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
        await admin.close()


async def raw_workflows(url: str, count: int) -> tuple[asyncpg.Connection, list[str]]:
    conn = await asyncpg.connect(url)
    await conn.execute(RAW_TABLES)
    ids = [str(uuid.uuid4()) for _ in range(count)]
    await conn.executemany(
        "INSERT INTO workflows VALUES ($1, 'Running', $2, 0, $3)",
        [(wid, CONTEXT_TEXT, STAMP) for wid in ids],
    )
    return conn, ids


async def raw_one(url: str, n: int) -> float:
    conn, [wid] = await raw_workflows(url, 1)
    start = time.perf_counter()
    for seq in range(1, n + 1):
        insert, update = raw_change(wid, seq)
        async with conn.transaction():
            await conn.execute(INSERT, *insert)
            await conn.execute(UPDATE, *update)
    elapsed = time.perf_counter() - start
    await conn.close()
    return n / elapsed


async def raw_batches_of_100(url: str, n: int) -> float:
    conn, ids = await raw_workflows(url, 100)
    start = time.perf_counter()
    for seq in range(1, n // 100 + 1):
        changes = [raw_change(wid, seq) for wid in ids]
        async with conn.transaction():
            await conn.executemany(INSERT, [c[0] for c in changes])
            await conn.executemany(UPDATE, [c[1] for c in changes])
    elapsed = time.perf_counter() - start
    await conn.close()
    return n // 100 * 100 / elapsed


async def cycle(sm: dn.WorkflowStateMachine, transitions: int) -> None:
    for _ in range(transitions // 2):
        await sm.process_event("Pause")
        await sm.process_event("Resume")


async def ours(url: str, n: int, workflows: int = 1) -> float:
    async with dn.open_store(url) as store:
        machines = [
            dn.WorkflowStateMachine(str(uuid.uuid4()), store=store, context=CONTEXT)
            for _ in range(workflows)
        ]
        await asyncio.gather(*(sm.process_event("Start") for sm in machines))
        each = n // workflows // 2 * 2
        start = time.perf_counter()
        await asyncio.gather(*(cycle(sm, each) for sm in machines))
        return each * workflows / (time.perf_counter() - start)


async def ours_100(url: str, n: int) -> float:
    return await ours(url, n, 100)


Contender = Callable[[str, int], Awaitable[float]]


async def median_rates(
    url: str, contenders: dict[str, Contender], rounds: int, n: int
) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, run in contenders.items():
            async with fresh_database(url) as db:
                samples[name].append(await run(db, n))
    return {name: statistics.median(values) for name, values in samples.items()}


async def writer(url: str, workflows: int, transitions: int) -> None:
    """One writer process: waits for 'go', then cycles its own workflows; prints its acks."""
    async with dn.open_store(url) as store:
        machines = [
            dn.WorkflowStateMachine(str(uuid.uuid4()), store=store, context=CONTEXT)
            for _ in range(workflows)
        ]
        await asyncio.gather(*(sm.process_event("Start") for sm in machines))
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        await asyncio.gather(*(cycle(sm, transitions) for sm in machines))
        print(sum(sm.history.last_seq for sm in machines), flush=True)


async def processes(url: str, count: int, transitions: int) -> tuple[float, bool]:
    """Total rate of ``count`` writer processes (100 workflows each); whether none lost any."""
    async with fresh_database(url) as db:
        children = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                __file__,
                "writer",
                db,
                "100",
                str(transitions),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )
            for _ in range(count)
        ]
        for child in children:
            assert child.stdout is not None
            assert await child.stdout.readline() == b"ready\n"
        start = time.perf_counter()
        outputs = await asyncio.gather(*(child.communicate(b"go\n") for child in children))
        elapsed = time.perf_counter() - start
        acked = sum(int(out) for out, _ in outputs)
        conn = await asyncpg.connect(db)
        stored = await conn.fetchval("SELECT sum(transition_count) FROM workflows")
        rows = await conn.fetchval("SELECT count(*) FROM transitions")
        await conn.close()
    written = acked - 100 * count  # the Starts came before the clock
    return written / elapsed, acked == stored == rows


async def fill(store: dn.WorkflowStore, workflows: int, transitions: int) -> None:
    for first in range(0, workflows, 500):
        machines = [
            dn.WorkflowStateMachine(str(uuid.uuid4()), store=store, context=CONTEXT)
            for _ in range(min(500, workflows - first))
        ]
        await asyncio.gather(*(sm.process_event("Start") for sm in machines))
        await asyncio.gather(*(cycle(sm, transitions - 1) for sm in machines))
        if transitions % 2 == 0:
            await asyncio.gather(*(sm.process_event("Pause") for sm in machines))


async def bytes_per_transition(url: str) -> tuple[float, float]:
    size = "SELECT pg_total_relation_size('transitions') + pg_total_relation_size('workflows')"
    async with fresh_database(url) as db:
        async with dn.open_store(db) as store:
            await fill(store, 100, 200)
        conn = await asyncpg.connect(db)
        await conn.execute("VACUUM ANALYZE")
        ours_bytes = await conn.fetchval(size)
        await conn.close()
    async with fresh_database(url) as db:
        conn, ids = await raw_workflows(db, 100)
        for seq in range(1, 201):
            await conn.executemany(INSERT, [raw_change(wid, seq)[0] for wid in ids])
        await conn.execute("VACUUM ANALYZE")
        raw_bytes = await conn.fetchval(size)
        await conn.close()
    return ours_bytes / 20_000, raw_bytes / 20_000


async def recovery_seconds(url: str, workflows: int, rounds: int) -> float:
    async with fresh_database(url) as db, dn.open_store(db) as store:
        await fill(store, workflows, 20)
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            report = await dn.WorkflowRecovery(store).recover_all_workflows()
            times.append(time.perf_counter() - start)
            assert report.ok, report
            assert len(report.workflows) == workflows
        return statistics.median(times)


# 1,000 workflows x 1,000 transitions, written by the server (the store writes such rows too;
# filling through it would take minutes): contexts change every 10th transition.
BULK = """
INSERT INTO workflows (id, definition, state, context, version, transition_count,
    retry_attempts, max_history, created_at, updated_at, state_entered_at)
SELECT 'wf-' || lpad(w::text, 4, '0'), 'lifecycle', 'Running', '{"step":99}', 1000, 1000, 0,
    1000, $1, $1, $1 FROM generate_series(1, 1000) AS w;
"""
BULK_TRANSITIONS = """
INSERT INTO transitions (workflow, seq, from_state, to_state, event, event_data, timestamp,
    duration_us, context, context_before)
SELECT w.key, s, CASE WHEN s % 2 = 1 THEN 'Idle' ELSE 'Running' END,
    CASE WHEN s % 2 = 1 THEN 'Running' ELSE 'Idle' END,
    CASE WHEN s % 2 = 1 THEN 'Start' ELSE 'Pause' END,
    CASE WHEN s % 100 = 0 THEN '{"by":"ana"}'::json END,
    $1::timestamptz + s * interval '1 second', 1000000,
    ('{"step":' || (s / 10) || '}')::json, NULL
FROM workflows AS w, generate_series(1, 1000) AS s
"""
STATES = ["Idle", "Running", "Paused", "Completed", "Failed"]
EVENTS = ["Start", "Pause", "Resume", "Complete", "Fail", "Timeout", "Retry", "Rollback"]


def frame_from_records(rows: list[asyncpg.Record]) -> pd.DataFrame:
    """What ``pandas.read_sql`` does with a cursor's rows, then the history frame's types."""
    columns = [
        "workflow_id",
        "seq",
        "from_state",
        "to_state",
        "event",
        "event_data",
        "timestamp",
        "duration_us",
        "context",
        "exited",
        "entered",
        "configuration",
    ]
    frame = pd.DataFrame.from_records(rows, columns=columns)
    data = frame["event_data"].map(json.loads, na_action="ignore").astype(object)
    return pd.DataFrame(
        {
            "workflow_id": frame["workflow_id"].astype("str"),
            "seq": frame["seq"].astype("int64"),
            "timestamp": pd.to_datetime(frame["timestamp"], utc=True).dt.as_unit("us"),
            "from_state": pd.Categorical(frame["from_state"], categories=STATES),
            "to_state": pd.Categorical(frame["to_state"], categories=STATES),
            "event": pd.Categorical(frame["event"], categories=EVENTS),
            "event_data": data.where(data.notna(), None),
            "duration": pd.to_timedelta(frame["duration_us"], unit="us").dt.as_unit("us"),
            "context": frame["context"].map(json.loads),
            "exited": _moves(frame["exited"], tuple),
            "entered": _moves(frame["entered"], tuple),
            "configuration": _moves(frame["configuration"], frozenset),
        }
    )


def _moves(texts: pd.Series, kind: type) -> list[object]:
    """A statechart's move column (JSON arrays of state names; NULL when empty)."""
    empty = kind()
    return [empty if text is None else kind(json.loads(text)) for text in texts]


async def frames(url: str, rounds: int) -> tuple[float, float]:
    """Median seconds of load_history_frame and of fetch + from_records + conversions."""
    async with fresh_database(url) as db, dn.open_store(db) as store:
        conn = await asyncpg.connect(db)
        await conn.execute(BULK, STAMP)
        await conn.execute(BULK_TRANSITIONS, STAMP)
        ours_s, raw_s = [], []
        for _ in range(rounds):
            start = time.perf_counter()
            mine = await dnb.load_history_frame(store, definitions=dn.LIFECYCLE)
            ours_s.append(time.perf_counter() - start)
            start = time.perf_counter()
            rows = await conn.fetch("SELECT * FROM history ORDER BY workflow_id, seq")
            theirs = frame_from_records(rows)
            raw_s.append(time.perf_counter() - start)
            assert len(mine) == len(theirs) == 1_000_000
            del mine, theirs, rows
        await conn.close()
    return statistics.median(ours_s), statistics.median(raw_s)


async def report(url: str, rounds: int, n: int, workflows: int) -> None:
    """Print every PostgreSQL figure (bench_store.py --postgres)."""
    print(f"PostgreSQL: durable transitions per second (median of {rounds} rounds)")
    one = await median_rates(
        url,
        {
            "raw asyncpg, INSERT + UPDATE per transaction": raw_one,
            "descartes_nb, one workflow": ours,
        },
        rounds,
        n,
    )
    many = await median_rates(
        url,
        {
            "raw asyncpg, 100 changes per transaction": raw_batches_of_100,
            "descartes_nb, 100 concurrent workflows": ours_100,
        },
        rounds,
        n * 4,
    )
    for name, rate in {**one, **many}.items():
        print(f"  {name:48} {rate:9,.0f} /s {1e6 / rate:7.1f} us")
    ratio = one["descartes_nb, one workflow"] / one["raw asyncpg, INSERT + UPDATE per transaction"]
    print(f"  one workflow, descartes_nb / raw asyncpg: {ratio:.0%} (target >= 60%)")
    ratio = (
        many["descartes_nb, 100 concurrent workflows"]
        / many["raw asyncpg, 100 changes per transaction"]
    )
    print(f"  100 workflows, descartes_nb / raw asyncpg batched: {ratio:.0%} (target >= 50%)")
    for count in (1, 2, 4):
        rate, whole = await processes(url, count, n // 10)
        print(
            f"  {count} writer processes x 100 workflows: {rate:9,.0f} /s in total, "
            f"{'no update lost' if whole else 'UPDATES LOST'}"
        )
    ours_bytes, raw_bytes = await bytes_per_transition(url)
    print(
        f"bytes per stored transition: descartes_nb {ours_bytes:.0f}; raw tables {raw_bytes:.0f}"
    )
    seconds = await recovery_seconds(url, workflows, 3)
    print(f"recover_all_workflows, {workflows:,} x 20: {seconds:.2f} s (target <= 2 s)")
    mine, theirs = await frames(url, 3)
    print(
        f"load_history_frame of 1,000,000: {mine:.2f} s; fetch + from_records + "
        f"conversions {theirs:.2f} s ({theirs / mine:.2f}x; target: no slower)"
    )


if __name__ == "__main__":
    _, url, count, transitions = sys.argv[1:]
    asyncio.run(writer(url, int(count), int(transitions)))
