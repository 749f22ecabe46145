"""Store fixtures: a database file in tmp_path and an open store on it."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path

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
