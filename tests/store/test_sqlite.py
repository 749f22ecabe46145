"""SqliteWorkflowStore: opening, durable changes, group commit, conflicts, reads and deletes."""

from __future__ import annotations

import gc
import sqlite3
import subprocess
import sys
from datetime import timedelta

import pytest

import descartes_nb as dn
from descartes_nb import WorkflowState as S
from descartes_nb.store._schema import SCHEMA_VERSION

from .conftest import child_environment, query


def snapshot(sm: dn.WorkflowStateMachine):
    """Everything a failed change must leave unchanged."""
    return (sm.state, dict(sm.context), list(sm.history), sm.metadata, sm.version)


# -- opening -------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["path", "str", "absolute url", "relative url"])
async def test_store_opens_paths_and_sqlite_urls(tmp_path, monkeypatch, form):
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "a.db"
    given = {
        "path": target,
        "str": str(target),
        "absolute url": f"sqlite:///{target}",
        "relative url": "sqlite:///a.db",
    }[form]
    async with dn.SqliteWorkflowStore(given) as store:
        assert store.is_open
        await dn.WorkflowStateMachine("w", store=store).process_event("Start")
    assert query(target, "SELECT id, state FROM workflows") == [("w", "Running")]
    assert not store.is_open


@pytest.mark.parametrize(
    "bad", ["postgresql://db/x", "sqlite://relative.db", "sqlite:///", "sqlite:memory", ""]
)
def test_store_refuses_other_urls_and_names_them(bad):
    with pytest.raises(ValueError, match="database") as info:
        dn.SqliteWorkflowStore(bad)
    assert repr(bad) in str(info.value)


def test_store_refuses_a_config_of_the_wrong_type(db_path):
    with pytest.raises(TypeError, match="StateStoreConfig"):
        dn.SqliteWorkflowStore(db_path, {"history_limit": 3})  # type: ignore[arg-type]


async def test_open_uses_wal_and_creates_a_readable_schema(store, db_path):
    assert query(db_path, "PRAGMA journal_mode") == [("wal",)]
    assert query(db_path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    names = {row[0] for row in query(db_path, "SELECT name FROM sqlite_master")}
    assert {"workflows", "transitions", "checkpoints", "history"} <= names
    assert store.path == str(db_path)
    assert repr(store) == f"<SqliteWorkflowStore {str(db_path)!r} open>"


async def test_initialize_schema_is_idempotent(store, db_path):
    before = query(db_path, "SELECT sql FROM sqlite_master ORDER BY name")
    assert await store.initialize_schema() == 0
    assert await store.initialize_schema() == 0
    assert query(db_path, "SELECT sql FROM sqlite_master ORDER BY name") == before


async def test_open_is_idempotent_and_close_is_harmless_twice(db_path):
    store = dn.SqliteWorkflowStore(db_path)
    assert await store.open() is store
    assert await store.open() is store
    await store.close()
    await store.close()
    assert not store.is_open


async def test_newer_schema_raises_and_leaves_the_file_alone(db_path):
    async with dn.SqliteWorkflowStore(db_path):
        pass
    query(db_path, "PRAGMA user_version = 99")
    before = db_path.read_bytes()
    store = dn.SqliteWorkflowStore(db_path)
    with pytest.raises(dn.SchemaVersionError, match="schema version 99") as info:
        await store.open()
    assert f"versions 0 to {SCHEMA_VERSION}" in str(info.value)
    assert not store.is_open
    assert db_path.read_bytes() == before


async def test_a_file_that_is_not_sqlite_raises_store_error_and_is_not_changed(db_path):
    db_path.write_bytes(b"name,state\nbuild-1,Running\n" * 200)
    before = db_path.read_bytes()
    store = dn.SqliteWorkflowStore(db_path)
    with pytest.raises(dn.StoreError, match="not a SQLite database") as info:
        await store.open()
    assert isinstance(info.value.__cause__, sqlite3.DatabaseError)
    assert not store.is_open
    assert db_path.read_bytes() == before


async def test_a_directory_cannot_be_opened(tmp_path):
    with pytest.raises(dn.StoreError, match="failed while opening") as info:
        await dn.SqliteWorkflowStore(tmp_path).open()
    assert isinstance(info.value.__cause__, sqlite3.Error)


def test_unclosed_store_warns_resource_warning(db_path):
    # In a child process: the interpreter must also exit, with the connection's thread.
    code = (
        "import asyncio, gc, sys, descartes_nb as dn\n"
        "async def main():\n"
        "    store = dn.SqliteWorkflowStore(sys.argv[1])\n"
        "    await store.open()\n"
        "    del store\n"
        "    gc.collect()\n"
        "asyncio.run(main())\n"
    )
    result = subprocess.run(
        [sys.executable, "-W", "always::ResourceWarning", "-c", code, str(db_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=child_environment(),
    )
    assert "ResourceWarning: <SqliteWorkflowStore" in result.stderr
    assert "was never closed; use 'async with'" in result.stderr


async def test_a_closed_store_refuses_work(db_path):
    store = dn.SqliteWorkflowStore(db_path)
    with pytest.raises(dn.StoreError, match="is not open"):
        await store.load_workflow("w")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"history_limit": 0}, "history_limit"),
        ({"history_limit": 2.5}, "history_limit"),
        ({"history_max_age": timedelta(0)}, "history_max_age"),
        ({"history_max_age": 60}, "history_max_age"),
        ({"synchronous": "SOMETIMES"}, "synchronous"),
        ({"busy_timeout": timedelta(seconds=-1)}, "busy_timeout"),
        ({"busy_timeout": 5}, "busy_timeout"),
        ({"max_batch": 0}, "max_batch"),
        ({"loop_commits": 1}, "loop_commits must be True or False"),
    ],
)
def test_config_refuses_bad_values_and_shows_them(options, message):
    with pytest.raises(ValueError, match=message) as info:
        dn.StateStoreConfig(**options)
    assert repr(next(iter(options.values()))) in str(info.value)


# -- durable changes -------------------------------------------------------------------------


async def test_a_failed_write_raises_store_error_and_changes_nothing(db_path, clock):
    config = dn.StateStoreConfig(busy_timeout=timedelta(0))
    async with dn.SqliteWorkflowStore(db_path, config) as store:
        sm = dn.WorkflowStateMachine("w", store=store, clock=clock)
        await sm.process_event("Start")
        before = snapshot(sm)
        blocker = sqlite3.connect(db_path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # another connection holds the write lock
        try:
            for change in (sm.process_event("Pause"), sm.set_context("k", 1), sm.rollback()):
                with pytest.raises(dn.StoreError, match="is locked by another connection") as info:
                    await change
                assert isinstance(info.value.__cause__, sqlite3.OperationalError)
                assert snapshot(sm) == before
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert await store.load_workflow("w") == sm.serialize()
        await sm.process_event("Pause")  # the lock is gone: writes work again
        assert (await store.load_workflow("w")).state == S.PAUSED


async def test_a_write_the_database_refuses_raises_store_error_and_changes_nothing(
    durable, store, db_path
):
    sm = durable()
    await sm.process_event("Start")
    before = snapshot(sm)
    # A trigger whose table is gone: SQLite fails every insert of a transition.
    for sql in (
        "CREATE TABLE audit (workflow INTEGER)",
        "CREATE TRIGGER audited AFTER INSERT ON transitions "
        "BEGIN INSERT INTO audit VALUES (new.workflow); END",
        "DROP TABLE audit",
    ):
        query(db_path, sql)
    with pytest.raises(dn.StoreError, match=r"failed while writing changes: no such table"):
        await sm.process_event("Pause")
    assert snapshot(sm) == before
    assert await store.load_workflow(sm.workflow_id) == sm.serialize()
    query(db_path, "DROP TRIGGER audited")
    await sm.process_event("Pause")
    assert (await store.load_workflow(sm.workflow_id)).state == S.PAUSED


# -- group commit and conflicts ----------------------------------------------------------------


# -- whole workflows and single entries ----------------------------------------------------------


# -- reads ----------------------------------------------------------------------------------------
def serialized_alive() -> int:
    gc.collect()
    return sum(isinstance(o, dn.SerializedWorkflow) for o in gc.get_objects())


async def test_what_a_store_read_is_not_kept_alive_by_its_thread(durable, store):
    for _ in range(3):
        await durable().process_event("Start")
    before = serialized_alive()
    loaded = await store.load_all_workflows()
    assert len(loaded) == 3
    del loaded
    # aiosqlite's thread holds its last result until its next job: not ours, emptied.
    assert serialized_alive() == before


def pragmas(conn: sqlite3.Connection) -> list[object]:
    names = ("synchronous", "busy_timeout", "journal_mode", "foreign_keys")
    return [conn.execute(f"PRAGMA {name}").fetchone()[0] for name in names]


@pytest.mark.parametrize(
    ("level", "number"), [("OFF", 0), ("NORMAL", 1), ("FULL", 2), ("EXTRA", 3)]
)
async def test_config_sets_the_connection_pragmas(db_path, level, number):
    config = dn.StateStoreConfig(synchronous=level, busy_timeout=timedelta(milliseconds=1500))
    async with dn.SqliteWorkflowStore(db_path, config) as store:
        # Read on the store's own connection: pragmas are per connection.
        assert await store._run("reading pragmas", pragmas) == [number, 1500, "wal", 1]
