"""Read-only stores, and opens that fail: a store that only reads never changes a byte."""

from __future__ import annotations

import sqlite3

import pytest

import descartes_nb as dn

from .conftest import query
from .files import (
    KINDS,
    NOT_OURS,
    assert_left_alone,
    fingerprint,
    is_wal,
    make_foreign,
    make_kind,
    set_journal_mode,
    write_workflows,
)

OURS = [k for k in KINDS if k.startswith("ours")]


@pytest.mark.parametrize("kind", OURS)
async def test_read_only_store_reads_everything_and_changes_nothing(tmp_path, kind):
    db = await make_kind(tmp_path, kind)
    async with dn.SqliteWorkflowStore(db) as writer:
        expected = {wid: await writer.load_workflow(wid) for wid in await writer.list_workflows()}
        await writer.create_checkpoint("job-1", "before")
    if kind == "ours-rollback":
        set_journal_mode(db, "DELETE")  # the writer switched it back to WAL
    before = fingerprint(tmp_path)
    async with dn.SqliteWorkflowStore(db, read_only=True) as store:
        assert store.read_only
        assert repr(store) == f"<SqliteWorkflowStore {str(db)!r} open read-only>"
        assert await store.list_workflows() == ["job-0", "job-1", "job-2"]
        assert dict(await store.load_all_workflows()) == expected
        assert await store.load_workflow("job-2") == expected["job-2"]
        assert [e.event for e in await store.get_workflow_history("job-1")] == ["Start"]
        assert len((await store.load_history_columns()).seq) == 3
        assert [c.label for c in await store.list_checkpoints("job-1")] == ["before"]
        assert await store.check_integrity() == []
        assert await store.initialize_schema() == 0
        report = await dn.WorkflowRecovery(store).recover_all_workflows()
        assert report.ok
        assert report.workflows["job-1"].context == {"step": 1}
    assert_left_alone(before, tmp_path, db, wal=is_wal(kind))


async def write_attempts(store: dn.SqliteWorkflowStore, sm: dn.WorkflowStateMachine):
    """Every way to write to a store, each a coroutine factory, by name."""
    entry = sm.history[-1]
    return {
        "process_event": lambda: sm.process_event("Pause"),
        "set_context": lambda: sm.set_context("step", 99),
        "rollback": sm.rollback,
        "save_workflow": lambda: store.save_workflow(dn.WorkflowStateMachine("new-1")),
        "save_transition": lambda: store.save_transition("job-1", entry),
        "delete_workflow": lambda: store.delete_workflow("job-1"),
        "create_checkpoint": lambda: store.create_checkpoint("job-1"),
        "restore_checkpoint": lambda: store.restore_checkpoint("job-1", 1),
        "attach_store": lambda: dn.WorkflowStateMachine("new-2").attach_store(store),
    }


@pytest.mark.parametrize("loop_commits", [True, False], ids=["loop-commits", "thread-commits"])
async def test_read_only_store_refuses_every_write_and_changes_nothing(tmp_path, loop_commits):
    db = tmp_path / "workflows.db"
    await write_workflows(db)
    async with dn.SqliteWorkflowStore(db) as writer:
        await writer.create_checkpoint("job-1")
    before = fingerprint(tmp_path)
    config = dn.StateStoreConfig(loop_commits=loop_commits)
    async with dn.SqliteWorkflowStore(db, config, read_only=True) as store:
        sm = await dn.WorkflowRecovery(store).recover_workflow("job-1")
        snapshot = sm.serialize()
        for name, attempt in (await write_attempts(store, sm)).items():
            with pytest.raises(dn.StoreError, match="a store opened read-only") as info:
                await attempt()
            assert f"database {str(db)!r}" in str(info.value), name
            assert "open it without read_only=True" in str(info.value), name
            assert isinstance(info.value.__cause__, sqlite3.OperationalError), name
        assert sm.serialize() == snapshot
        assert await store.list_workflows() == ["job-0", "job-1", "job-2"]
    assert_left_alone(before, tmp_path, db, wal=True)


@pytest.mark.parametrize("kind", ["zero-byte", "foreign", "foreign-wal"])
async def test_read_only_store_refuses_what_is_not_a_descartes_nb_database(tmp_path, kind):
    db = await make_kind(tmp_path, kind)
    before = fingerprint(tmp_path)
    store = dn.SqliteWorkflowStore(db, read_only=True)
    with pytest.raises(dn.StoreError) as info:
        await store.open()
    assert str(info.value) == (
        f"{str(db)!r} {NOT_OURS[kind]}; descartes_nb reads the files a SqliteWorkflowStore writes"
    )
    assert not isinstance(info.value, dn.SchemaVersionError)
    assert not store.is_open
    assert_left_alone(before, tmp_path, db, wal=is_wal(kind))


async def test_tables_of_our_names_without_our_schema_version_are_not_ours(tmp_path):
    db = make_foreign(
        tmp_path / "lookalike.db",
        "DELETE",
        "CREATE TABLE workflows (id)",
        "CREATE TABLE transitions (id)",
        "CREATE TABLE checkpoints (id)",
    )
    before = fingerprint(tmp_path)
    with pytest.raises(dn.StoreError, match=r"not made by descartes_nb \(PRAGMA user_version"):
        await dn.SqliteWorkflowStore(db, read_only=True).open()
    assert fingerprint(tmp_path) == before


async def test_read_only_store_refuses_a_newer_schema(tmp_path):
    db = tmp_path / "workflows.db"
    await write_workflows(db)
    query(db, "PRAGMA user_version = 99")
    before = fingerprint(tmp_path)
    with pytest.raises(dn.SchemaVersionError, match="schema version 99, newer"):
        await dn.SqliteWorkflowStore(db, read_only=True).open()
    assert_left_alone(before, tmp_path, db, wal=True)


def test_read_only_store_needs_a_file_and_a_bool():
    with pytest.raises(ValueError, match="a read-only store needs a database file"):
        dn.SqliteWorkflowStore(":memory:", read_only=True)
    with pytest.raises(TypeError, match="read_only must be True or False, got 'yes'"):
        dn.SqliteWorkflowStore("workflows.db", read_only="yes")  # type: ignore[arg-type]


async def test_read_only_store_of_a_missing_file_creates_nothing(tmp_path):
    with pytest.raises(dn.StoreError, match="unable to open database file"):
        await dn.SqliteWorkflowStore(tmp_path / "none.db", read_only=True).open()
    assert list(tmp_path.iterdir()) == []


async def test_read_only_store_sees_a_live_writer_and_leaves_its_log_alone(tmp_path):
    db = tmp_path / "workflows.db"
    async with dn.SqliteWorkflowStore(db) as writer:
        sm = dn.WorkflowStateMachine("live", store=writer)
        await sm.process_event("Start")
        assert (tmp_path / "workflows.db-wal").stat().st_size > 0  # the change is in the log
        async with dn.SqliteWorkflowStore(db, read_only=True) as reader:
            assert (await reader.load_workflow("live")).state == "Running"
            await sm.process_event("Pause")  # the writer goes on while the reader is open
            assert (await reader.load_workflow("live")).state == "Paused"
            before = fingerprint(tmp_path)
            assert (await reader.load_workflow("live")).version == 2
        assert_left_alone(before, tmp_path, db, wal=True)
