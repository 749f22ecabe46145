"""Statecharts in stores: configurations, moves and history memory, on every backend.

A statechart workflow stopped in a parallel or history-bearing state is stored with its
configuration and memory, and comes back exactly (load, history, checkpoints, recovery). A
damaged value is reported as other damaged rows are, never a crash.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

import descartes_nb as dn
from descartes_nb.cli import main

from .conftest import query

FIXTURES = Path(__file__).parent.parent / "fixtures"
CHART = dn.load_definitions(FIXTURES / "valid_statechart.toml")["chart"]


@pytest.fixture
def store(any_store):
    return any_store


async def drive(sm: dn.WorkflowStateMachine, clock: dn.ManualClock, *events: str) -> None:
    for event in events:
        await clock.advance(timedelta(seconds=1))
        await sm.process_event(event)


async def check_stored_exactly(store, sm: dn.WorkflowStateMachine) -> None:
    assert await store.load_workflow(sm.workflow_id) == sm.serialize()
    assert await store.get_workflow_history(sm.workflow_id) == list(sm.history)
    recovered = await dn.WorkflowRecovery(store, [CHART]).recover_workflow(sm.workflow_id)
    assert recovered.serialize() == sm.serialize()
    assert recovered.configuration == sm.configuration


async def test_a_workflow_in_a_parallel_state_comes_back_exactly(durable, store, clock):
    sm = durable(CHART)
    await drive(sm, clock, "next")
    assert {"Work", "Left", "LDone", "Right", "R2"} <= sm.configuration
    assert sm.state == "Work"
    await check_stored_exactly(store, sm)
    await sm.set_context("note", 1)  # a change without an entry keeps the configuration
    await check_stored_exactly(store, sm)


async def test_history_memory_is_stored_and_brings_the_workflow_back(durable, store, clock):
    sm = durable(CHART)
    await drive(sm, clock, "again", "pause")
    assert sm.state == "Pause"
    assert sm.serialize().memory == (("Again", ("R1",)), ("Back", ("R1",)))
    await check_stored_exactly(store, sm)
    recovery = dn.WorkflowRecovery(store, [CHART], clock=clock)
    recovered = await recovery.recover_workflow(sm.workflow_id)
    live = dn.WorkflowStateMachine.deserialize(sm.serialize(), definition=CHART, clock=clock)
    await clock.advance(timedelta(seconds=1))
    # Through the shallow history: back to R1, which it remembers (its default is R2).
    await recovered.process_event("skip")
    await live.process_event("skip")
    assert recovered.serialize() == live.serialize()
    assert "R1" in recovered.configuration
    await check_stored_exactly(store, recovered)


async def test_rows_hold_json_arrays_and_null_for_flat_definitions(durable, store, backend):
    chart, flat = durable(CHART), durable()
    await chart.process_event("next")
    await flat.process_event("Start")
    rows = {
        wid: tuple(None if v is None else str(v) for v in rest)
        for wid, *rest in await backend.query(
            "SELECT w.id, t.exited, t.entered, t.configuration, t.memory, w.configuration "
            "FROM workflows AS w JOIN transitions AS t ON t.workflow = w.key"
        )
    }
    assert rows[flat.workflow_id] == (None, None, None, None, None)
    exited, entered, configuration, memory, header = rows[chart.workflow_id]
    assert exited == '["R1","L1"]'
    assert entered == '["LDone","R2"]'
    assert configuration == header == '["LDone","Left","R2","Right","Work"]'
    assert memory is None  # nothing remembered yet


async def test_save_workflow_writes_the_whole_statechart(durable, store, clock, make_workflow):
    sm = make_workflow(CHART)
    await drive(sm, clock, "again", "pause")
    await store.save_workflow(sm)
    await check_stored_exactly(store, sm)
    await drive(sm, clock, "skip")  # the shallow history, continued by a later save
    await store.save_workflow(sm)
    await check_stored_exactly(store, sm)


async def test_restoring_a_checkpoint_restores_configuration_and_memory(durable, store, clock):
    sm = durable(CHART)
    await drive(sm, clock, "pause")
    checkpoint = await store.create_checkpoint(sm.workflow_id, label="paused")
    paused = sm.serialize()
    await drive(sm, clock, "resume", "next")
    await store.restore_checkpoint(sm.workflow_id, checkpoint.checkpoint_id)
    stored = await store.load_workflow(sm.workflow_id)
    assert (stored.state, stored.configuration, stored.memory) == (
        paused.state,
        paused.configuration,
        paused.memory,
    )
    restore = stored.history[-1]
    assert restore.event == "Restore"
    assert restore.configuration == paused.configuration
    assert set(restore.exited) == sm.configuration - paused.configuration
    assert set(restore.entered) == paused.configuration - sm.configuration
    recovered = await dn.WorkflowRecovery(store, [CHART]).recover_workflow(sm.workflow_id)
    assert recovered.configuration == paused.configuration
    await recovered.process_event("skip")
    assert "R1" in recovered.configuration  # remembered, not the default R2


DAMAGE = [
    pytest.param("transitions", "configuration", "not json", "is not JSON", id="not-json"),
    pytest.param("transitions", "exited", '{"a": 1}', "JSON array of state names", id="object"),
    pytest.param("transitions", "entered", "[1, 2]", "JSON array of state names", id="numbers"),
    pytest.param("transitions", "configuration", "[]", "at least one state", id="empty"),
    pytest.param("transitions", "memory", '["a"]', "JSON object of history", id="memory-list"),
    pytest.param("workflows", "configuration", '"Work"', "JSON array", id="header-text"),
    pytest.param("workflows", "memory", '{"Back": "R2"}', "JSON array", id="header-memory"),
]


@pytest.mark.parametrize(("table", "column", "text", "message"), DAMAGE)
async def test_an_unreadable_value_is_reported_not_a_crash(
    durable, store, backend, clock, table, column, text, message
):
    if backend.is_postgres and text == "not json":
        pytest.skip("PostgreSQL refuses text that is not JSON in a json column")
    sm, other = durable(CHART), durable(CHART)
    await drive(sm, clock, "again", "pause")
    await drive(other, clock, "next")
    key = "key" if table == "workflows" else "workflow"
    await backend.query(
        f"UPDATE {table} SET {column} = ? WHERE {key} = (SELECT key FROM workflows WHERE id = ?)",
        text,
        sm.workflow_id,
    )
    with pytest.raises(dn.SerializationError, match=message):
        await store.load_workflow(sm.workflow_id)
    report = await dn.WorkflowRecovery(store, [CHART]).recover_all_workflows()
    assert list(report.workflows) == [other.workflow_id]
    [failure] = report.failures
    assert failure.workflow_id == sm.workflow_id
    assert message in failure.reason


WRONG = [
    pytest.param("configuration", '["Work", "Left", "L1"]', "cannot be active", id="illegal"),
    pytest.param("configuration", '["Nowhere"]', "unknown states", id="unknown"),
    pytest.param("exited", '["Nowhere"]', "exited state 'Nowhere'", id="unknown-exited"),
    pytest.param("memory", '{"Pause": ["R2"]}', "not a history state", id="not-history"),
    pytest.param("memory", '{"Back": ["Nowhere"]}', "must be states", id="unknown-memory"),
]


@pytest.mark.parametrize(("column", "text", "message"), WRONG)
async def test_states_that_do_not_fit_the_definition_fail_recovery(
    durable, store, backend, clock, column, text, message
):
    sm = durable(CHART)
    await drive(sm, clock, "again", "pause")
    await backend.query(
        f"UPDATE transitions SET {column} = ? WHERE seq = 2 AND workflow = "
        "(SELECT key FROM workflows WHERE id = ?)",
        text,
        sm.workflow_id,
    )
    with pytest.raises(dn.RecoveryError, match=message):
        await dn.WorkflowRecovery(store, [CHART]).recover_workflow(sm.workflow_id)
    report = await dn.WorkflowRecovery(store, [CHART]).recover_all_workflows()
    assert [f.workflow_id for f in report.failures] == [sm.workflow_id]


async def damaged_chart_file(path: Path, clock: dn.ManualClock) -> None:
    """Workflows 'a' (its seq 2 exited holds a number) and 'b' (sound) in ``path``."""
    async with dn.SqliteWorkflowStore(path, clock=clock) as store:
        sm, other = (dn.WorkflowStateMachine(w, CHART, store=store, clock=clock) for w in "ab")
        await drive(sm, clock, "again", "pause")
        await drive(other, clock, "next")
    query(path, "UPDATE transitions SET exited = '[\"L1\", 7]' WHERE seq = 2 AND workflow = 1")


async def test_a_damaged_statechart_row_is_named_by_a_read_only_store(tmp_path, clock):
    path = tmp_path / "charts.db"
    await damaged_chart_file(path, clock)
    async with dn.SqliteWorkflowStore(path, read_only=True) as reader:
        loaded = dict(await reader.load_all_workflows())
    assert isinstance(loaded["b"], dn.SerializedWorkflow)
    assert isinstance(loaded["a"], dn.SerializationError)
    assert "workflow 'a' history seq 2 exited must be a JSON array of state names" in str(
        loaded["a"]
    )


def test_a_damaged_statechart_row_is_named_by_history_inspection(tmp_path, capsys, clock):
    path = tmp_path / "charts.db"
    dn.run_sync(damaged_chart_file(path, clock))
    assert main(["history", str(path)]) == 1
    unreadable = [line for line in capsys.readouterr().out.splitlines() if "unreadable" in line]
    assert len(unreadable) == 1
    assert unreadable[0].split()[0] == "a"
