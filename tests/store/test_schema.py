"""The schema: numbered migrations in PRAGMA user_version, applied once and atomically."""

from __future__ import annotations

import asyncio

import pytest

import descartes_nb as dn
from descartes_nb.store._schema import MIGRATIONS, SCHEMA_VERSION

from .conftest import query


def columns(path, table):
    return [row[1] for row in query(path, f"PRAGMA table_info({table})")]


async def test_schema_is_plain_tables_a_sqlite_shell_can_read(store, db_path):
    assert len(MIGRATIONS) == SCHEMA_VERSION
    assert columns(db_path, "workflows") == [
        "key", "id", "definition", "state", "context", "version", "transition_count",
        "retry_attempts", "max_history", "created_at", "updated_at", "state_entered_at",
        "configuration", "memory",
    ]  # fmt: skip
    assert columns(db_path, "transitions") == [
        "workflow", "seq", "from_state", "to_state", "event", "event_data", "timestamp",
        "duration_us", "context", "context_before", "exited", "entered", "configuration",
        "memory",
    ]  # fmt: skip
    assert "label" in columns(db_path, "checkpoints")


async def test_history_view_names_workflows_by_id(durable, db_path):
    sm = durable()
    await sm.process_event("Start")
    await sm.process_event("Pause")
    rows = query(db_path, "SELECT workflow_id, seq, event FROM history ORDER BY seq")
    assert rows == [(sm.workflow_id, 1, "Start"), (sm.workflow_id, 2, "Pause")]


async def test_two_stores_opening_a_new_file_at_once_migrate_it_once(db_path):
    stores = [dn.SqliteWorkflowStore(db_path) for _ in range(4)]
    await asyncio.gather(*(s.open() for s in stores))
    try:
        assert query(db_path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
        assert [await s.initialize_schema() for s in stores] == [0, 0, 0, 0]
    finally:
        await asyncio.gather(*(s.close() for s in stores))


async def test_a_failing_migration_is_rolled_back_whole(db_path):
    query(db_path, "CREATE TABLE transitions (x)")  # in the way of migration 1
    with pytest.raises(dn.StoreError, match="table transitions already exists"):
        await dn.SqliteWorkflowStore(db_path).open()
    assert query(db_path, "PRAGMA user_version") == [(0,)]
    assert query(db_path, "SELECT name FROM sqlite_master") == [("transitions",)]
