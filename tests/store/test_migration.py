"""The statechart migration: databases written before it open, upgrade and read as before.

``tests/fixtures/schema1.db`` and ``schema2.db`` were written by descartes_nb at schema
versions 1 and 2 (see ``tests/fixtures/make_schema1_db.py``); on PostgreSQL a version 1
database is made here with migration 1's own statements.
"""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest

import descartes_nb as dn
from descartes_nb.store import _pgschema, _schema

from .conftest import query

FIXTURES = Path(__file__).parent.parent / "fixtures"
CHART = dn.load_definitions(FIXTURES / "valid_statechart.toml")["chart"]
# What the schema 1 file holds (make_schema1_db.py): id -> (state, version, transitions).
SCHEMA1 = {"build-1": ("Failed", 7, 6), "done-3": ("Completed", 2, 2), "idle-2": ("Idle", 0, 0)}


@pytest.fixture(params=[1, 2], ids=["schema1", "schema2"])
def old_file(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    path = tmp_path / "old.db"
    shutil.copyfile(FIXTURES / f"schema{request.param}.db", path)
    return path


def summary(report: dn.RecoveryReport) -> dict[str, tuple[str, int, int]]:
    return {
        wid: (sm.state, sm.version, sm.metadata.transition_count)
        for wid, sm in report.workflows.items()
    }


async def test_a_schema_1_file_opens_read_only_with_a_clear_error(old_file):
    [(version,)] = query(old_file, "PRAGMA user_version")
    assert isinstance(version, int)
    assert version < _schema.SCHEMA_VERSION
    with pytest.raises(dn.SchemaVersionError, match=f"schema version {version}, older than"):
        await dn.SqliteWorkflowStore(old_file, read_only=True).open()
    assert query(old_file, "PRAGMA user_version") == [(version,)]


async def test_a_schema_1_file_upgrades_and_reads_as_before(old_file, clock):
    rows_before = query(old_file, "SELECT * FROM transitions ORDER BY workflow, seq")
    async with dn.SqliteWorkflowStore(old_file, clock=clock) as store:
        assert query(old_file, "PRAGMA user_version") == [(_schema.SCHEMA_VERSION,)]
        report = await dn.WorkflowRecovery(store, clock=clock).recover_all_workflows()
        assert report.ok, str(report)
        assert summary(report) == SCHEMA1
        build = report.workflows["build-1"]
        assert [e.event for e in build.history] == [
            "Start", "Pause", "Resume", "Fail", "Retry", "Rollback",
        ]  # fmt: skip
        assert all(not e.configuration for e in build.history)  # flat: the states say it
        assert await store.load_workflow("build-1") == build.serialize()
        # Its checkpoint, taken before the upgrade, still restores.
        await store.restore_checkpoint("build-1", "running")
        assert (await store.load_workflow("build-1")).state == "Running"
        # A statechart workflow is stored in the upgraded file with all it needs.
        sm = dn.WorkflowStateMachine("chart-4", CHART, store=store, clock=clock)
        await clock.advance(timedelta(seconds=1))
        await sm.process_event("pause")
        assert await store.load_workflow("chart-4") == sm.serialize()
    rows_after = query(old_file, "SELECT * FROM transitions ORDER BY workflow, seq")
    kept = {row[:2] for row in rows_before}
    assert [row[:10] for row in rows_after if row[:2] in kept] == rows_before  # not rewritten
    assert all(row[10:] == (None,) * 4 for row in rows_after if row[0] != 4)
    assert query(old_file, "SELECT configuration FROM history WHERE workflow_id = 'chart-4'")


async def test_a_schema_1_postgres_database_upgrades(pg_db_url, clock):
    conn = await asyncpg.connect(pg_db_url, timeout=30)
    try:
        await conn.execute(_pgschema._LEDGER)
        _name, statements = _pgschema.MIGRATIONS[0]
        for statement in statements:
            await conn.execute(statement)
        await conn.execute(
            "INSERT INTO schema_migrations (version, name) VALUES (1, $1)",
            _pgschema.MIGRATIONS[0][0],
        )
        await conn.execute(
            "INSERT INTO workflows (id, definition, state, context, version, transition_count, "
            "retry_attempts, max_history, created_at, updated_at, state_entered_at) VALUES "
            "('old-1', 'lifecycle', 'Running', '{\"a\": 1}', 1, 1, 0, 1000, "
            "'2026-03-01T09:00:00Z', '2026-03-01T09:00:05Z', '2026-03-01T09:00:05Z')"
        )
        await conn.execute(
            "INSERT INTO transitions (workflow, seq, from_state, to_state, event, event_data, "
            "timestamp, duration_us, context, context_before) SELECT key, 1, 'Idle', "
            "'Running', 'Start', NULL, '2026-03-01T09:00:05Z', 5000000, '{\"a\": 1}', "
            "'{\"a\": 1}' FROM workflows"
        )
    finally:
        await conn.close()
    with pytest.raises(dn.SchemaVersionError, match="schema version 1, older than"):
        await dn.PostgresWorkflowStore(pg_db_url, read_only=True).open()
    async with dn.PostgresWorkflowStore(pg_db_url, clock=clock) as store:
        report = await dn.WorkflowRecovery(store, clock=clock).recover_all_workflows()
        assert report.ok, str(report)
        old = report.workflows["old-1"]
        assert (old.state, dict(old.context), len(old.history)) == ("Running", {"a": 1}, 1)
        sm = dn.WorkflowStateMachine("chart-2", CHART, store=store, clock=clock)
        await sm.process_event("pause")
        assert await store.load_workflow("chart-2") == sm.serialize()
