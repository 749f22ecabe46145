"""Opens that fail leave the file as it was, journal mode included; writers still migrate."""

from __future__ import annotations

import pytest

import descartes_nb as dn
from descartes_nb.store._schema import SCHEMA_VERSION

from .conftest import query
from .files import fingerprint, make_foreign, make_kind, set_journal_mode, write_workflows


@pytest.mark.parametrize("journal", ["DELETE", "WAL"])
async def test_a_foreign_database_our_tables_cannot_join_is_left_as_it_was(tmp_path, journal):
    db = make_foreign(tmp_path / "app.db", journal, "CREATE TABLE transitions (x)")
    before = fingerprint(tmp_path)
    store = dn.SqliteWorkflowStore(db)
    with pytest.raises(dn.StoreError, match="table transitions already exists"):
        await store.open()
    assert not store.is_open
    assert query(db, "PRAGMA journal_mode") == [(journal.lower(),)]
    assert fingerprint(tmp_path) == before


async def test_a_foreign_database_using_user_version_is_not_taken_for_a_newer_schema(tmp_path):
    db = make_foreign(tmp_path / "app.db", "DELETE", "PRAGMA user_version = 7")
    before = fingerprint(tmp_path)
    for read_only in (False, True):
        with pytest.raises(dn.StoreError, match="is not a descartes_nb database") as info:
            await dn.SqliteWorkflowStore(db, read_only=read_only).open()
        assert not isinstance(info.value, dn.SchemaVersionError)
    assert fingerprint(tmp_path) == before


async def test_a_newer_schema_in_rollback_mode_keeps_its_journal_mode(tmp_path):
    db = tmp_path / "workflows.db"
    await write_workflows(db)
    set_journal_mode(db, "DELETE")
    query(db, f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = fingerprint(tmp_path)
    with pytest.raises(dn.SchemaVersionError):
        await dn.SqliteWorkflowStore(db).open()
    assert query(db, "PRAGMA journal_mode") == [("delete",)]
    assert fingerprint(tmp_path) == before


async def test_a_writer_still_makes_an_empty_or_rollback_file_ours_and_wal(tmp_path):
    for kind in ("zero-byte", "ours-rollback"):
        db = await make_kind(tmp_path, kind)
        async with dn.SqliteWorkflowStore(db) as store:
            await dn.WorkflowStateMachine("new", store=store).process_event("Start")
        assert query(db, "PRAGMA journal_mode") == [("wal",)]
        assert query(db, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
