"""WorkflowRecovery: rebuilding without handlers, and reporting damaged workflows."""

from __future__ import annotations

import re

import pytest

import descartes_nb as dn
from descartes_nb import WorkflowState as S

from .store.conftest import query


class Recorder(dn.StateHandler):
    def __init__(self) -> None:
        self.calls: list[str] = []

    def on_enter(self, state, ctx):
        self.calls.append(f"enter {state}")


async def test_recover_workflow_rebuilds_everything_without_running_handlers(
    durable, store, clock, review_definition
):
    handler = Recorder()
    sm = durable(review_definition, handler=handler, context={"approvals": 0})
    await sm.process_event("submit")
    await sm.set_context("approvals", 2)
    calls = list(handler.calls)
    recovery = dn.WorkflowRecovery(
        store, [review_definition], handlers={"review": handler}, clock=clock
    )
    recovered = await recovery.recover_workflow(sm.workflow_id)
    assert handler.calls == calls  # nothing ran while rebuilding
    assert recovered.serialize() == sm.serialize()
    assert recovered.metadata == sm.metadata
    await recovered.process_event("approve")  # the handler is attached, the store too
    assert handler.calls[-1] == "enter approved"
    assert (await store.load_workflow(sm.workflow_id)).state == "approved"
    assert recovered.store is store


async def test_recovery_accepts_definitions_as_a_mapping(durable, store, review_definition):
    sm = durable(review_definition)
    await sm.process_event("submit")
    recovery = dn.WorkflowRecovery(store, {"review": review_definition})
    assert (await recovery.recover_workflow(sm.workflow_id)).state == "review"
    with pytest.raises(TypeError, match="WorkflowDefinition"):
        dn.WorkflowRecovery(store, {"review": "not a definition"})  # type: ignore[arg-type]


async def test_recover_workflow_of_a_missing_id_raises_not_found(store):
    with pytest.raises(dn.WorkflowNotFoundError, match="'ghost'"):
        await dn.WorkflowRecovery(store).recover_workflow("ghost")


# -- damaged data -----------------------------------------------------------------------------

DAMAGE = {
    "garbage JSON in a transition": (
        "UPDATE transitions SET context = '{\"oops' WHERE seq = 2",
        "seq 2 context is not JSON",
    ),
    "garbage JSON in the header": (
        "UPDATE workflows SET context = 'not json'",
        "context is not JSON",
    ),
    "unknown state": (
        "UPDATE workflows SET state = 'Exploded'",
        "state 'Exploded' is not a state of 'lifecycle'",
    ),
    "unknown state in history": (
        "UPDATE transitions SET to_state = 'Limbo' WHERE seq = 1",
        "to_state 'Limbo' is not a state",
    ),
    "missing transition": (
        "DELETE FROM transitions WHERE seq = 3",
        "seq 4: context_before is NULL but the row before it (seq 3) is missing",
    ),
    "missing transition before one with its own context_before": (
        "DELETE FROM transitions WHERE seq = 2",
        "history is broken between seq 1 (to 'Running') and seq 3 (from 'Paused')",
    ),
    "missing newest transitions": (
        "DELETE FROM transitions WHERE seq >= 3",
        "do not match the last history entry",
    ),
    "all transitions missing": (
        "DELETE FROM transitions",
        "transition_count is 4 but none of its transitions is stored",
    ),
    "unknown definition": (
        "UPDATE workflows SET definition = 'payroll'",
        "runs definition 'payroll', which is not registered (known: ['lifecycle'])",
    ),
    "bad time": (
        "UPDATE transitions SET timestamp = 'last tuesday' WHERE seq = 1",
        "seq 1 timestamp is not an ISO-8601 time: 'last tuesday'",
    ),
    "time without offset": (
        "UPDATE workflows SET created_at = '2026-03-01T09:00:00'",
        "created_at must carry a UTC offset",
    ),
    "version as text": (
        "UPDATE workflows SET version = 'seven'",
        "version must be a count, got 'seven'",
    ),
    "seq as text": (
        "UPDATE transitions SET seq = 'two' WHERE seq = 2",
        "seq and duration_us must be integers",
    ),
    "broken duration": (
        "UPDATE transitions SET duration_us = duration_us + 1 WHERE seq = 3",
        "has duration",
    ),
}


async def stored_pair(store, clock, workflow_id):
    """A workflow with four transitions, the context changed before the third."""
    sm = dn.WorkflowStateMachine(workflow_id, store=store, clock=clock)
    await sm.process_event("Start")
    await sm.process_event("Pause")
    await sm.set_context("k", "v")
    await sm.process_event("Resume")
    await sm.process_event("Pause")
    return sm


@pytest.mark.parametrize(("sql", "reason"), DAMAGE.values(), ids=DAMAGE.keys())
async def test_damaged_workflows_are_reported_not_fatal(store, clock, db_path, sql, reason):
    healthy = [await stored_pair(store, clock, f"ok-{i}") for i in range(3)]
    await stored_pair(store, clock, "damaged")
    key = query(db_path, "SELECT key FROM workflows WHERE id = 'damaged'")[0][0]
    table = "transitions" if "transitions" in sql else "workflows"
    column = "workflow" if table == "transitions" else "key"
    where = "WHERE" if "WHERE" not in sql else "AND"
    query(db_path, f"{sql} {where} {column} = ?", key)

    report = await dn.WorkflowRecovery(store).recover_all_workflows()
    assert not report.ok
    assert sorted(report.workflows) == ["ok-0", "ok-1", "ok-2"]
    for sm in healthy:
        assert report.workflows[sm.workflow_id].serialize() == sm.serialize()
    [failure] = report.failures
    assert failure.workflow_id == "damaged"
    assert reason in failure.reason
    assert isinstance(failure.error, dn.RecoveryError)
    assert f"'damaged': {failure.reason}" in str(report)
    with pytest.raises(dn.RecoveryError, match="'damaged' cannot be recovered") as info:
        await dn.WorkflowRecovery(store).recover_workflow("damaged")
    assert reason in str(info.value)
    assert info.value.__cause__ is not None or "not registered" in reason or "none of" in reason


async def test_every_stored_workflow_is_either_recovered_or_reported(store, clock, db_path):
    for i in range(6):
        await stored_pair(store, clock, f"w{i}")
    query(db_path, "UPDATE workflows SET state = 'Nowhere' WHERE id IN ('w1', 'w4')")
    report = await dn.WorkflowRecovery(store).recover_all_workflows()
    failed = [f.workflow_id for f in report.failures]
    assert failed == ["w1", "w4"]
    assert sorted([*report.workflows, *failed]) == await store.list_workflows()
    assert report.workflows["w0"].state == S.PAUSED


@pytest.mark.parametrize("read_only", [False, True], ids=["writer", "reader"])
@pytest.mark.parametrize("keep", [100, 4096, 0.5], ids=["100 bytes", "1 page", "half"])
async def test_a_truncated_file_gives_store_error_never_a_raw_one(db_path, clock, keep, read_only):
    async with dn.SqliteWorkflowStore(db_path, clock=clock) as store:
        for i in range(40):
            await stored_pair(store, clock, f"w{i:02}-" + "x" * 200)
    data = db_path.read_bytes()
    db_path.write_bytes(data[: int(len(data) * keep) if isinstance(keep, float) else keep])
    with pytest.raises(dn.StoreError) as info:
        async with dn.SqliteWorkflowStore(db_path, read_only=read_only) as store:
            await dn.WorkflowRecovery(store).recover_all_workflows()
    assert str(db_path) in str(info.value)
    assert re.search("is not a SQLite database|is damaged", str(info.value))
    assert info.value.__cause__ is not None


async def test_an_empty_file_opens_as_a_new_database(db_path):
    db_path.write_bytes(b"")
    async with dn.SqliteWorkflowStore(db_path) as store:
        report = await dn.WorkflowRecovery(store).recover_all_workflows()
        assert (report.ok, len(report.workflows), await store.check_integrity()) == (True, 0, [])
