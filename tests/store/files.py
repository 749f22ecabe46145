"""Database files for the read-only tests: ours, other programs', empty; their fingerprints."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
from pathlib import Path

import descartes_nb as dn

from .conftest import child_environment

# Whatever a kind of file holds, the inspection commands must leave every byte of it.
KINDS = ("zero-byte", "foreign", "foreign-wal", "ours-wal", "ours-rollback")
NOT_OURS = {
    "zero-byte": "is not a descartes_nb database: it holds no tables",
    "foreign": "is not a descartes_nb database: it has no 'workflows' table "
    "(its tables: ['people'])",
}
NOT_OURS["foreign-wal"] = NOT_OURS["foreign"]


async def write_workflows(path: Path, count: int = 3) -> None:
    """``count`` lifecycle workflows, ``job-0``..., each started and given a context key."""
    async with dn.SqliteWorkflowStore(path) as store:
        for i in range(count):
            sm = dn.WorkflowStateMachine(f"job-{i}", store=store)
            await sm.process_event("Start")
            await sm.set_context("step", i)


def set_journal_mode(path: Path, mode: str) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        assert conn.execute(f"PRAGMA journal_mode = {mode}").fetchone()[0] == mode.lower()
    finally:
        conn.close()


def make_foreign(path: Path, journal: str = "DELETE", *sql: str) -> Path:
    """Another program's database: a table of people (and ``sql``), in journal mode ``journal``."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute(f"PRAGMA journal_mode = {journal}")
        conn.execute("CREATE TABLE people (name TEXT PRIMARY KEY, age INTEGER)")
        conn.execute("INSERT INTO people VALUES ('ada', 36), ('alan', 41)")
        for statement in sql:
            conn.execute(statement)
    finally:
        conn.close()
    return path


async def make_kind(directory: Path, kind: str) -> Path:
    """A database file of ``kind`` (one of ``KINDS``) in ``directory``, no one using it."""
    path = directory / f"{kind}.db"
    if kind == "zero-byte":
        path.write_bytes(b"")
    elif kind.startswith("foreign"):
        make_foreign(path, "WAL" if kind == "foreign-wal" else "DELETE")
    else:
        await write_workflows(path)
        if kind == "ours-rollback":
            set_journal_mode(path, "DELETE")
    return path


def is_wal(kind: str) -> bool:
    return kind.endswith("wal")


def crashed_writer(path: Path, count: int) -> None:
    """A writer that commits ``count`` workflows and dies without closing: a -wal is left."""
    code = (
        "import asyncio, os, sys\n"
        "import descartes_nb as dn\n"
        "async def main(path, count):\n"
        "    store = await dn.SqliteWorkflowStore(path).open()\n"
        "    for i in range(count):\n"
        "        await dn.WorkflowStateMachine(f'late-{i}', store=store).process_event('Start')\n"
        "    os._exit(0)\n"
        "asyncio.run(main(sys.argv[1], int(sys.argv[2])))\n"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(path), str(count)],
        check=True,
        timeout=60,
        env=child_environment(),
    )
    assert Path(f"{path}-wal").stat().st_size > 0


def fingerprint(directory: Path) -> dict[str, str]:
    """Every file of ``directory`` by name: the SHA-256 of its bytes."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in directory.iterdir()}


def assert_left_alone(before: dict[str, str], directory: Path, db: Path, *, wal: bool) -> None:
    """Every file is as it was, and no file is new, but for a database in WAL mode.

    Reading a database in WAL mode needs its -shm index, which SQLite makes next to it
    when it can (with an empty -wal log) and leaves there. The index holds no data (a
    reader keeps marks in it), so it is not compared.
    """
    after = fingerprint(directory)
    if not wal:
        assert after == before
        return
    index, log = f"{db.name}-shm", f"{db.name}-wal"
    assert {n: h for n, h in after.items() if n in before and n != index} == {
        n: h for n, h in before.items() if n != index
    }
    new = set(after) - set(before)
    assert new <= {index, log}, new
    if log in new:
        assert (directory / log).stat().st_size == 0
