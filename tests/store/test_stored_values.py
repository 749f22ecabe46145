"""Stored values: what is stored equals what is in memory; what cannot be kept is reported."""

from __future__ import annotations

import pytest

import descartes_nb as dn
from descartes_nb.core._jsonvalue import FrozenDict, FrozenList

from ..test_recovery import stored_pair
from .conftest import query

DEEP = "[" * 5000 + "]" * 5000

DAMAGE = {
    "context nested beyond the parser": (
        f"UPDATE workflows SET context = '{{\"x\": {DEEP}}}'",
        "nests deeper than the 100 levels allowed",
    ),
    "context nested beyond the limit": (
        'UPDATE workflows SET context = \'{"x": ' + "[" * 150 + "]" * 150 + "}'",
        "deeper than the 100 levels allowed",
    ),
    "context int too long": (
        'UPDATE workflows SET context = \'{"n": ' + "9" * 700 + "}'",
        "more than 640 digits",
    ),
    "event data nested too deep": (
        f"UPDATE transitions SET event_data = '{DEEP}' WHERE seq = 2",
        "nests deeper than the 100 levels allowed",
    ),
    "version out of range": (
        f"UPDATE workflows SET version = {2**53}",
        "version must be an int >= 0 and <= 9007199254740991",
    ),
    "timestamp out of range": (
        "UPDATE transitions SET timestamp = '9999-12-31T00:00:00.000000Z' WHERE seq = 1",
        "timestamp '9999-12-31T00:00:00+00:00' is out of range",
    ),
}


@pytest.mark.parametrize(("sql", "reason"), DAMAGE.values(), ids=DAMAGE.keys())
async def test_values_a_workflow_cannot_hold_are_reported_not_fatal(
    store, clock, db_path, sql, reason
):
    healthy = await stored_pair(store, clock, "ok")
    await stored_pair(store, clock, "damaged")
    key = query(db_path, "SELECT key FROM workflows WHERE id = 'damaged'")[0][0]
    column = "workflow" if "transitions" in sql else "key"
    query(db_path, f"{sql} {'AND' if 'WHERE' in sql else 'WHERE'} {column} = ?", key)

    report = await dn.WorkflowRecovery(store).recover_all_workflows()
    assert report.workflows["ok"].serialize() == healthy.serialize()
    [failure] = report.failures
    assert failure.workflow_id == "damaged"
    assert reason in failure.reason


async def test_loaded_workflows_and_history_are_read_only(durable, store):
    sm = durable(context={"items": [1, {"a": [2]}]})
    await sm.process_event("Start", {"by": ["ana"]})
    loaded = await store.load_workflow(sm.workflow_id)
    [entry] = await store.get_workflow_history(sm.workflow_id)
    for value in (loaded.context, entry.context, entry.context_before, entry.event_data):
        assert type(value) in (FrozenDict, FrozenList)
    with pytest.raises(TypeError, match="read-only"):
        loaded.context["items"].append(3)
    assert loaded.context == sm.context
    assert entry.event_data == {"by": ["ana"]}


async def test_store_and_memory_agree_after_every_kind_of_change(durable, store, clock):
    class Tally(dn.StateHandler):
        def on_enter(self, state, ctx):
            ctx.setdefault("seen", []).append(str(state))

    sm = durable(handler=Tally(), context={"items": []})
    for change in (
        lambda: sm.process_event("Start", {"n": 10**600}),
        lambda: sm.set_context("items", [{"deep": [[1]]}]),
        lambda: sm.process_event("Pause"),
        lambda: sm.rollback(),
    ):
        await change()
        stored = await store.load_workflow(sm.workflow_id)
        assert stored.context == sm.context
        assert stored.version == sm.version
    restored = dn.WorkflowStateMachine.deserialize(
        await store.load_workflow(sm.workflow_id), clock=clock
    )
    assert restored.serialize() == sm.serialize()
