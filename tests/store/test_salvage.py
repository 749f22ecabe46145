"""Damaged files: every workflow whose pages are intact is read, the others are named.

The files are real: many workflows written concurrently (so their rows interleave on the
pages), checkpointed into the main file by closing the store, then garbage written over
chosen b-tree leaf pages. Which workflows a page holds is read from the file itself.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from pathlib import Path

import pytest

import descartes_nb as dn

from . import pages
from .conftest import query

WORKFLOWS = 300
DAMAGED = "a page holding its rows is damaged (database disk image is malformed)"


async def run_one(store: dn.SqliteWorkflowStore, i: int) -> None:
    sm = dn.WorkflowStateMachine(f"job-{i:03}", store=store)
    await sm.process_event("Start")
    await sm.set_context("step", i)
    await sm.process_event("Pause")
    await sm.process_event("Resume")


async def write_many(path: Path) -> dict[str, object]:
    """WORKFLOWS workflows, run at once; what is stored, by id."""
    async with dn.SqliteWorkflowStore(path) as store:
        await asyncio.gather(*(run_one(store, i) for i in range(WORKFLOWS)))
        return dict(await store.load_all_workflows())


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    """A sound file of WORKFLOWS workflows, and what each holds."""
    path = tmp_path_factory.mktemp("salvage") / "original.db"
    stored = dn.run_sync(write_many(path))
    assert not Path(f"{path}-wal").exists()  # closing checkpointed everything into the file
    return path, stored


def leaves(path: Path, name: str) -> list[int]:
    return pages.leaf_pages(path.read_bytes(), pages.root_page(path, name))


def workflows_on(path: Path, table: str, damaged: list[int]) -> set[str]:
    """The workflows with a row of ``table`` on one of the ``damaged`` pages."""
    data = path.read_bytes()
    rows = {r for page in damaged for r in pages.rowids(data, page)}
    owner = "key" if table == "workflows" else "workflow"
    sql = f"SELECT t.rowid, w.id FROM {table} AS t JOIN workflows AS w ON w.key = t.{owner}"
    return {str(wid) for rowid, wid in query(path, sql) if rowid in rows}


# What is damaged: (table or index, which of its leaf pages); the tables' rows name the
# workflows lost. Damaged index pages lose none: the table is read another way.
SCENARIOS = {
    "transition rows": [("transitions", 3), ("transitions", -4)],
    "workflow rows": [("workflows", 5)],
    "both": [("transitions", 1), ("workflows", -2)],
    "index of transitions": [("transitions_workflow_seq", 1)],
    "index of ids": [("sqlite_autoindex_workflows_1", 0)],
}


@pytest.mark.parametrize("read_only", [True, False], ids=["reader", "writer"])
@pytest.mark.parametrize("damage", SCENARIOS.values(), ids=SCENARIOS.keys())
async def test_a_damaged_page_fails_only_the_workflows_whose_rows_it_holds(
    tmp_path, original, damage, read_only
):
    source, stored = original
    db = tmp_path / "damaged.db"
    shutil.copy(source, db)
    damaged = [leaves(source, name)[i] for name, i in damage]
    lost = set()
    for name, page in zip([n for n, _ in damage], damaged, strict=True):
        if name in ("workflows", "transitions"):
            lost |= workflows_on(source, name, [page])
    pages.write_garbage(db, damaged)

    async with dn.SqliteWorkflowStore(db, read_only=read_only) as store:
        problems = await store.check_integrity()
        report = await dn.WorkflowRecovery(store).recover_all_workflows()
    for page in damaged:
        assert any(f"Page {page}:" in line for line in problems), (page, problems)
    assert [f.workflow_id for f in report.failures] == sorted(lost)
    assert {f.reason for f in report.failures} <= {DAMAGED}
    assert sorted(report.workflows) == sorted(set(stored) - lost)
    for wid, sm in report.workflows.items():
        assert sm.serialize() == stored[wid]
    if any(name in ("workflows", "transitions") for name, _ in damage):
        assert 0 < len(lost) < WORKFLOWS  # the scenario damages what it says


async def test_a_file_whose_workflows_cannot_be_found_raises_store_error(tmp_path, original):
    db = tmp_path / "damaged.db"
    shutil.copy(original[0], db)
    roots = [pages.root_page(db, name) for name in ("workflows", "sqlite_autoindex_workflows_1")]
    pages.write_garbage(db, roots)
    async with dn.SqliteWorkflowStore(db, read_only=True) as store:
        with pytest.raises(dn.StoreError, match="is damaged") as info:
            await store.load_all_workflows()
        assert "while loading all workflows" in str(info.value)
        assert isinstance(info.value.__cause__, sqlite3.DatabaseError)


async def test_a_workflow_the_index_names_but_the_table_lacks_is_reported(tmp_path):
    db = tmp_path / "workflows.db"
    async with dn.SqliteWorkflowStore(db) as store:
        await dn.WorkflowStateMachine("real", store=store).process_event("Start")
    # Point the index of ids at another b-tree, one that also names a workflow 'ghost'.
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("CREATE TABLE names (id TEXT)")
    conn.execute("CREATE INDEX names_id ON names (id)")
    conn.execute("INSERT INTO names (rowid, id) VALUES (1, 'real'), (99, 'ghost')")
    [(root,)] = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'names_id'")
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute(
        "UPDATE sqlite_master SET rootpage = ? WHERE name = 'sqlite_autoindex_workflows_1'",
        (root,),
    )
    conn.close()
    pages.write_garbage(db, leaves(db, "transitions"))  # so that salvage takes over
    async with dn.SqliteWorkflowStore(db, read_only=True) as store:
        loaded = dict(await store.load_all_workflows())
    assert sorted(loaded) == ["ghost", "real"]
    assert isinstance(loaded["ghost"], dn.StoreError)
    assert "its row is missing from the workflows table" in str(loaded["ghost"])
    assert str(loaded["real"]) == DAMAGED
