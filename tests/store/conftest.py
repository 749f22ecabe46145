"""Store fixtures: a database file in tmp_path and an open store on it; the backends."""

from __future__ import annotations

import dataclasses
import os
import re
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import asyncpg
import pytest

import descartes_nb as dn


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "workflows.db"


@pytest.fixture(params=[True, False], ids=["loop-commits", "thread-commits"])
async def store(
    request: pytest.FixtureRequest, db_path: Path, clock: dn.ManualClock
) -> AsyncIterator[dn.SqliteWorkflowStore]:
    """An open store; every test runs twice: changes committed on the loop, or not."""
    config = dn.StateStoreConfig(loop_commits=request.param)
    async with dn.SqliteWorkflowStore(db_path, config, clock=clock) as opened:
        yield opened


@pytest.fixture
def durable(
    store: dn.SqliteWorkflowStore, make_workflow: Callable[..., dn.WorkflowStateMachine]
) -> Callable[..., dn.WorkflowStateMachine]:
    """Make machines that commit every change to ``store``."""

    def make(definition: dn.WorkflowDefinition = dn.LIFECYCLE, **options: object):
        return make_workflow(definition, store=store, **options)

    return make


def query(path: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    """Run SQL on the file with a plain sqlite3 connection (another connection)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def child_environment() -> dict[str, str]:
    """The environment for a child Python: this checkout first on the import path."""
    root = str(Path(__file__).resolve().parents[2])
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path}


def file_size(path: Path) -> int:
    """The size of a file in bytes (a sync helper: tests stat files between awaits)."""
    return path.stat().st_size


class Backend:
    """One store backend of the contract suite: how to open its stores and query its tables.

    ``query`` takes SQL with ``?`` placeholders on either backend; rows come back as tuples
    (PostgreSQL returns times as datetimes, SQLite as ISO text).
    """

    def __init__(self, name: str, target: str, *, loop_commits: bool = False) -> None:
        self.name = name
        self.target = target
        self.loop_commits = loop_commits

    def __repr__(self) -> str:
        return f"<Backend {self.name}>"

    @property
    def is_postgres(self) -> bool:
        return self.name == "postgres"

    def open(
        self, config: dn.StateStoreConfig | None = None, **options: object
    ) -> dn.SqliteWorkflowStore | dn.PostgresWorkflowStore:
        """A store on this backend's database (not yet open)."""
        config = config or dn.StateStoreConfig()
        if not self.is_postgres:
            config = dataclasses.replace(config, loop_commits=self.loop_commits)
        return dn.open_store(self.target, config, **options)  # type: ignore[arg-type]

    async def query(self, sql: str, *params: object) -> list[tuple[object, ...]]:
        """Run SQL on another connection than the store's."""
        if not self.is_postgres:
            return query(Path(self.target), sql, *params)
        numbered = iter(range(1, len(params) + 1))
        sql = re.sub(r"\?", lambda _: f"${next(numbered)}", sql)
        conn = await asyncpg.connect(self.target, timeout=30)
        try:
            return [tuple(row) for row in await conn.fetch(sql, *params)]
        finally:
            await conn.close()


@pytest.fixture(params=["sqlite-loop", "sqlite-thread", "postgres"])
def backend(request: pytest.FixtureRequest, db_path: Path) -> Backend:
    """Every backend a store contract test runs on: SQLite (commits on the loop or on the
    connection's thread) and PostgreSQL (a fresh database of the test server)."""
    if request.param == "postgres":
        return Backend("postgres", request.getfixturevalue("pg_db_url"))
    return Backend(request.param, str(db_path), loop_commits=request.param == "sqlite-loop")


@pytest.fixture
async def any_store(
    backend: Backend, clock: dn.ManualClock
) -> AsyncIterator[dn.SqliteWorkflowStore | dn.PostgresWorkflowStore]:
    """An open store on each backend (contract tests name it ``store``)."""
    async with backend.open(clock=clock) as opened:
        yield opened
